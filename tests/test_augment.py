"""Koch's affine distortions: ranges, identity, reproducibility, plausible drawings."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from oneshot_lib.data import augment
from oneshot_lib.data.augment import Distortions


def ring(size: int = 105, radius: float = 20.0, width: float = 3.0) -> np.ndarray:
    """(size, size) float32 ink ring centred in the image: a stand-in for a drawing."""
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    return (np.abs(np.hypot(x, y) - radius) < width / 2).astype(np.float32)


def bounding_box(image: np.ndarray) -> tuple[int, int, int, int]:
    rows, columns = np.nonzero(image > 0.5)
    return rows.min(), rows.max(), columns.min(), columns.max()


def test_components_stay_in_koch_ranges_and_are_applied_half_the_time():
    components = {k: v.numpy() for k, v in augment.random_components(4000, 0).items()}
    assert np.abs(components["rotation"]).max() <= np.radians(10) + 1e-6
    for name in ("shear_x", "shear_y"):
        assert np.abs(components[name]).max() <= 0.3 + 1e-6
    for name in ("scale_x", "scale_y"):
        assert 0.8 - 1e-6 <= components[name].min() and components[name].max() <= 1.2 + 1e-6
    for name in ("shift_x", "shift_y"):
        assert np.abs(components[name]).max() <= 2 + 1e-6
    for name, values in components.items():
        identity = 1.0 if name.startswith("scale") else 0.0
        assert 0.46 < np.mean(values == identity) < 0.54, name  # 4000 draws: standard error 0.008


def test_identity_when_every_component_is_left_out():
    images = np.stack([ring(), ring(radius=10)])
    np.testing.assert_array_equal(augment.distort(images, 1, augment.IDENTITY).numpy(), images)
    degenerate = Distortions(rotation=0, shear=0, scale=(1, 1), translation=0, probability=1)
    np.testing.assert_allclose(augment.distort(images, 1, degenerate).numpy(), images, atol=1e-5)


def test_a_pure_shift_moves_the_drawing_by_whole_pixels():
    components = {name: tf.constant([1.0 if name.startswith("scale") else 0.0]) for name in augment.COMPONENTS}
    components["shift_x"], components["shift_y"] = tf.constant([2.0]), tf.constant([-1.0])
    image = ring()[None]
    moved = augment.apply_transforms(image, augment.projective_transforms(components, 105, 105)).numpy()
    np.testing.assert_array_equal(moved[0, :-1, 2:], image[0, 1:, :-2])  # right 2, up 1


def test_same_seed_same_distortions_other_seed_others():
    images = np.repeat(ring()[None], 8, axis=0)
    first = augment.distort(images, (5, 7)).numpy()
    np.testing.assert_array_equal(first, augment.distort(images, (5, 7)).numpy())
    assert not np.array_equal(first, augment.distort(images, (5, 8)).numpy())
    assert len({array.tobytes() for array in first}) > 1  # each image its own distortion


def test_a_distorted_drawing_stays_a_plausible_drawing():
    original = ring()
    distorted = augment.distort(np.repeat(original[None], 200, axis=0), 11).numpy()
    ink = distorted.sum(axis=(1, 2)) / original.sum()
    # Ink area scales with det A = s_x s_y (1 - rho_x rho_y), in [0.64 * 0.91, 1.44 * 1.09] = [0.58, 1.57]:
    # within those bounds, no stroke fell off the image or vanished.
    assert 0.55 < ink.min() and ink.max() < 1.6
    assert 0.95 < np.median(ink) < 1.05
    rows, columns = np.mgrid[:105, :105]
    centre = (105 - 1) / 2
    centroid_rows = (distorted * rows).sum(axis=(1, 2)) / distorted.sum(axis=(1, 2))
    centroid_columns = (distorted * columns).sum(axis=(1, 2)) / distorted.sum(axis=(1, 2))
    assert np.abs(centroid_rows - centre).max() < 2.2 and np.abs(centroid_columns - centre).max() < 2.2
    top, bottom, left, right = bounding_box(original)
    for image in distorted:
        t, b, le, r = bounding_box(image)
        assert 0.7 < (b - t) / (bottom - top) < 1.5 and 0.7 < (r - le) / (right - left) < 1.5


def test_distort_runs_inside_tf_data_and_keeps_a_channel_axis():
    images = np.stack([ring(), ring(radius=12)])[..., None]
    dataset = tf.data.Dataset.from_tensors(images).map(lambda x: augment.distort(x, (1, 2)))
    from_graph = next(iter(dataset)).numpy()
    assert from_graph.shape == images.shape
    np.testing.assert_allclose(from_graph, augment.distort(images, (1, 2)).numpy(), atol=1e-6)


@pytest.mark.parametrize(
    "bad",
    [dict(probability=1.5), dict(scale=(1.2, 0.8)), dict(shear=1.0), dict(rotation=-1.0)],
    ids=["probability", "scale", "shear", "rotation"],
)
def test_impossible_ranges_are_rejected(bad):
    with pytest.raises(ValueError):
        Distortions(**bad)


def test_salt_and_pepper_replaces_the_fraction_half_ink_half_paper_and_repeats():
    grey = np.full((4, 105, 105, 1), 0.5, np.float32)
    noisy = augment.salt_and_pepper(grey, 0.2, seed=3).numpy()
    assert noisy.shape == grey.shape and noisy.dtype == np.float32
    replaced = noisy != 0.5
    assert set(np.unique(noisy[replaced])) == {0.0, 1.0}
    assert 0.18 < replaced.mean() < 0.22  # 44,100 pixels: a fixed seed, a loose bound
    assert 0.45 < (noisy[replaced] == 1.0).mean() < 0.55
    np.testing.assert_array_equal(noisy, augment.salt_and_pepper(grey, 0.2, seed=3).numpy())
    assert not np.array_equal(noisy, augment.salt_and_pepper(grey, 0.2, seed=4).numpy())
    np.testing.assert_array_equal(augment.salt_and_pepper(grey, 0.0, seed=3).numpy(), grey)


@pytest.mark.parametrize("fraction", [-0.1, 1.5])
def test_salt_and_pepper_refuses_a_fraction_outside_zero_to_one(fraction):
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        augment.salt_and_pepper(np.zeros((1, 8, 8)), fraction, seed=0)
