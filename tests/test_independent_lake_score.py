"""The independent scorer of Lake's trials: its resize, its shifts on paper, its reading of a zip like all_runs.zip."""

from __future__ import annotations

import io
import json
import zipfile

import h5py
import numpy as np
import pytest
from PIL import Image

from benchmarks import independent_lake_score as independent


def test_area_resize_averages_whole_blocks():
    images = np.arange(16, dtype=np.float64).reshape(1, 4, 4)
    np.testing.assert_array_equal(independent.area_resize(images, 2), [[[2.5, 4.5], [10.5, 12.5]]])


def test_area_resize_weighs_partly_covered_pixels_by_the_part_covered():
    # 3 -> 2: each output pixel covers 1.5 input pixels each way: the corner one whole input pixel,
    # half of two edge ones and a quarter of the centre, over an area of 2.25.
    images = np.zeros((1, 3, 3), bool)
    images[0, 1, 1] = True  # the centre only
    np.testing.assert_allclose(independent.area_resize(images, 2), np.full((1, 2, 2), 0.25 / 2.25), rtol=1e-6)
    images = np.zeros((1, 3, 3), bool)
    images[0, 0, 0] = True
    expected = np.array([[[1 / 2.25, 0], [0, 0]]], np.float32)
    np.testing.assert_allclose(independent.area_resize(images, 2), expected, rtol=1e-6)
    assert independent.area_resize(images, 2).dtype == np.float32


def test_area_resize_matches_tensorflow_area_resize_from_105_to_28():
    tf = pytest.importorskip("tensorflow")
    ink = np.random.default_rng(0).random((3, 105, 105)) < 0.2
    theirs = tf.image.resize(ink[..., None].astype(np.float32), (28, 28), "area").numpy()[..., 0]
    np.testing.assert_allclose(independent.area_resize(ink, 28), theirs, atol=1e-6)


def test_paper_shifts_move_the_drawing_on_the_5x5_grid_without_wrapping():
    image = np.zeros((1, 9, 9), bool)
    image[0, 4, 4] = True
    copies = independent.paper_shifts(image, 2, 5)
    assert copies.shape == (25, 1, 9, 9) and copies.dtype == bool
    where = {tuple(int(v) - 4 for v in np.argwhere(copy[0])[0]) for copy in copies}
    assert where == {(dy, dx) for dy in (-4, -2, 0, 2, 4) for dx in (-4, -2, 0, 2, 4)}
    # a copy moved by (dy, dx) holds at (y, x) what the image holds at (y - dy, x - dx)
    assert copies[5 * 4 + 2, 0, 8, 4]  # dy = +4, dx = 0: the pixel moved down to row 8
    edge = np.zeros((1, 9, 9), bool)
    edge[0, 0, 0] = True  # moved up or left by 2 or 4 it leaves the paper, and nothing comes back
    assert independent.paper_shifts(edge, 2, 5).sum(axis=(1, 2, 3)).tolist() == [
        int(dy >= 0 and dx >= 0) for dy in (-4, -2, 0, 2, 4) for dx in (-4, -2, 0, 2, 4)
    ]


def test_paper_shifts_of_zero_pixels_are_the_images_alone():
    images = np.random.default_rng(1).random((2, 5, 5))
    np.testing.assert_array_equal(independent.paper_shifts(images, 0, 5), images[None])


def png(ink: np.ndarray) -> bytes:
    """A 1-bit PNG like Lake's: black (0) ink on white paper."""
    buffer = io.BytesIO()
    Image.fromarray(np.where(ink, 0, 255).astype(np.uint8)).convert("1").save(buffer, "PNG")
    return buffer.getvalue()


def drawing(number: int) -> np.ndarray:
    """A distinct 6x6 drawing: ``number`` + 1 ink pixels in the first row(s)."""
    ink = np.zeros(36, bool)
    ink[: number + 1] = True
    return ink.reshape(6, 6)


def tiny_runs_zip(path, labels: dict[str, str] | None = None) -> None:
    """Two runs of three trials laid out like all_runs.zip; test image k of each run is a drawing of
    the character of training image ``(k + 1) % 3`` (its class_labels.txt lines in file order)."""
    with zipfile.ZipFile(path, "w") as zipped:
        for run in ("run01", "run02"):
            lines = []
            for k in range(3):
                test, train = f"{run}/test/item{k + 1:02d}.png", f"{run}/training/class{(k + 1) % 3 + 1:02d}.png"
                zipped.writestr(test, png(drawing((k + 1) % 3)))
                zipped.writestr(train, png(drawing((k + 1) % 3)))
                lines.append(f"{test} {train}")
            text = labels.get(run, "\n".join(lines)) if labels else "\n".join(lines)
            zipped.writestr(f"{run}/class_labels.txt", text + "\n")


def test_read_runs_pairs_each_sorted_test_image_with_its_training_image(tmp_path):
    tiny_runs_zip(tmp_path / "all_runs.zip")
    runs = independent.read_runs(tmp_path / "all_runs.zip")
    assert [run.name for run in runs] == ["run01", "run02"]
    run = runs[1]
    assert run.test_files == [f"run02/test/item{k:02d}.png" for k in (1, 2, 3)]
    assert run.train_files == [f"run02/training/class{k:02d}.png" for k in (1, 2, 3)]
    assert run.answers.tolist() == [1, 2, 0]
    assert run.test.dtype == bool and run.test.shape == (3, 6, 6)
    np.testing.assert_array_equal(run.test[0], drawing(1))  # ink is the black pixels
    np.testing.assert_array_equal(run.train[run.answers], run.test)


def test_read_runs_follows_the_labels_whatever_their_line_order(tmp_path):
    shuffled = (
        "run01/test/item03.png run01/training/class01.png\n"
        "run01/test/item01.png run01/training/class02.png\n"
        "run01/test/item02.png run01/training/class03.png"
    )
    tiny_runs_zip(tmp_path / "all_runs.zip", {"run01": shuffled})
    assert independent.read_runs(tmp_path / "all_runs.zip")[0].answers.tolist() == [1, 2, 0]


@pytest.mark.parametrize(
    "labels, message",
    [
        ("run01/test/item01.png", "not '<test file> <training file>'"),
        (
            "run01/test/item01.png run01/training/class02.png\nrun01/test/item02.png run01/training/class02.png",
            "answers two test files with one training file",
        ),
        ("run01/test/item01.png run01/training/class09.png", "run01/training/class09.png, which the zip does not hold"),
    ],
)
def test_read_runs_refuses_labels_that_do_not_pair_the_files(tmp_path, labels, message):
    tiny_runs_zip(tmp_path / "all_runs.zip", {"run01": labels})
    with pytest.raises(ValueError, match=message):
        independent.read_runs(tmp_path / "all_runs.zip")


def test_read_runs_refuses_a_zip_without_runs(tmp_path):
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zipped:
        zipped.writestr("images/a.png", png(drawing(0)))
    with pytest.raises(ValueError, match="no runNN/class_labels.txt"):
        independent.read_runs(tmp_path / "other.zip")


def test_score_picks_the_training_image_of_highest_cosine(tmp_path):
    tiny_runs_zip(tmp_path / "all_runs.zip")
    runs = independent.read_runs(tmp_path / "all_runs.zip")

    def pixels(images, training=False):  # the resized image itself as the embedding
        return np.asarray(images).reshape(len(images), -1)

    scored = independent.score(pixels, 3, runs, 1, 3)
    np.testing.assert_array_equal(scored.predicted, [run.answers for run in runs])
    assert scored.per_run.tolist() == [1.0, 1.0] and scored.ties == 0
    assert independent.stderr(np.array([0.5, 1.0])) == pytest.approx(0.25)


def test_build_network_reads_a_keras_weights_file_laid_out_by_layer_groups(tmp_path):
    """A one-block network from a file laid out as Keras 3 saves the library's models, against numpy."""
    rng = np.random.default_rng(2)
    kernel, bias = rng.normal(size=(3, 3, 1, 2)), rng.normal(size=2)
    gamma, beta, mean, variance = rng.normal(size=2), rng.normal(size=2), rng.normal(size=2), rng.random(2) + 0.5
    with h5py.File(tmp_path / "best.weights.h5", "w") as file:
        for key, name, arrays in [
            ("conv2d", "conv1", [kernel, bias]),
            ("batch_normalization", "batchnorm1", [gamma, beta, mean, variance]),
            ("re_lu", "relu1", []),
        ]:
            group = file.create_group(f"embedding/layers/{key}/vars")
            group.attrs["name"] = name
            for index, array in enumerate(arrays):
                group.create_dataset(str(index), data=array.astype(np.float32))
    model = {"config": {"image_size": 4, "filters": 2, "blocks": 1}}
    (tmp_path / "config.json").write_text(json.dumps({"model": model}))
    network, side = independent.build_network(tmp_path)
    assert side == 4

    image = rng.random((4, 4))
    padded = np.pad(image, 1)
    convolved = np.einsum("yxij,ijf->yxf", np.lib.stride_tricks.sliding_window_view(padded, (3, 3)), kernel[:, :, 0])
    normalised = (convolved + bias - mean) / np.sqrt(variance + independent.BATCHNORM_EPSILON) * gamma + beta
    pooled = np.maximum(normalised, 0).reshape(2, 2, 2, 2, 2).max(axis=(1, 3))  # (y, x, filter)
    out = np.asarray(network(image[None, :, :, None].astype(np.float32), training=False))
    np.testing.assert_allclose(out[0], pooled.reshape(-1), rtol=1e-4, atol=1e-5)

    (tmp_path / "config.json").write_text(json.dumps({"model": {"config": {**model["config"], "blocks": 2}}}))
    with pytest.raises(ValueError, match=r"the weights hold \['conv1'\], config.json says 2 blocks of 2 filters"):
        independent.build_network(tmp_path)
