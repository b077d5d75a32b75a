"""Identity probes: the right partners are drawn, and each transform is what it says."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_split

from oneshot_lib.scoring import identity


def test_partners_are_the_same_character_by_another_drawer_and_another_character_of_its_alphabet():
    data = synthetic_split((3, 4), drawings=3, seed=0)
    pairs = identity.identity_pairs(data, 50, seed=1)
    flat = data.images.reshape(-1, 105, 105)

    def position(image):
        return int(np.flatnonzero((flat == image).all(axis=(1, 2)))[0])

    where = {name: [position(image) for image in pairs[name]] for name in pairs}
    rows = {name: np.array(where[name]) // 3 for name in pairs}
    drawers = {name: np.array(where[name]) % 3 for name in pairs}
    assert np.array_equal(rows["drawing"], rows["same"]) and np.all(drawers["drawing"] != drawers["same"])
    assert np.all(rows["other"] != rows["drawing"])
    assert np.array_equal(data.alphabet_ids[rows["other"]], data.alphabet_ids[rows["drawing"]])


def test_each_transform_family_does_what_its_name_says():
    image = np.zeros((1, 105, 105), bool)
    image[0, 10, 20] = True
    turned = identity.TRANSFORMS["quarter turn"](image)
    assert turned[0, 105 - 1 - 20, 10]  # anticlockwise: (row, col) -> (W-1-col, row)
    assert identity.TRANSFORMS["mirror (left-right)"](image)[0, 10, 105 - 1 - 20]
    assert identity.TRANSFORMS["mirror (upside down)"](image)[0, 105 - 1 - 10, 20]
    assert identity.TRANSFORMS["half turn"](image)[0, 105 - 1 - 10, 105 - 1 - 20]
    blob = np.zeros((2, 105, 105), bool)
    blob[:, 40:60, 40:60] = True
    distorted = identity.TRANSFORMS["Koch's distortion"](blob)
    assert distorted.shape == blob.shape and distorted.dtype == bool
    assert abs(int(distorted.sum()) - int(blob.sum())) < 0.6 * blob.sum()  # moved and stretched, not lost


def test_scores_come_per_partner_and_a_symmetric_drawing_equals_its_mirror():
    data = synthetic_split((3, 3), drawings=2, seed=2)
    data.images[..., 53:] = data.images[..., :52][..., ::-1]  # every drawing mirror-symmetric left-right

    def negative_ink_difference(query, support):
        return -np.abs(query.reshape(len(query), 1, -1).astype(int) - support.reshape(1, len(support), -1)).sum(-1)

    scores = identity.identity_scores(negative_ink_difference, data, n=6, seed=0)
    assert list(scores) == [*identity.TRANSFORMS, identity.SAME_CHARACTER, identity.OTHER_CHARACTER]
    assert all(value.shape == (6,) and value.dtype == np.float64 for value in scores.values())
    np.testing.assert_array_equal(scores["mirror (left-right)"], 0.0)
    assert np.all(scores["quarter turn"] < 0)


def test_alphabets_of_one_character_are_refused():
    with pytest.raises(ValueError, match="two characters per alphabet"):
        identity.identity_pairs(synthetic_split((1, 3), drawings=2), 4)


@pytest.mark.parametrize(("n", "error"), [(0, ValueError), (-3, ValueError), (2.5, TypeError)])
def test_identity_needs_at_least_one_drawing(n, error):
    with pytest.raises(error, match="n must be"):
        identity.identity_scores(lambda query, support: np.zeros((len(query), len(support))), synthetic_split(), n=n)


def test_identity_holds_scorers_to_the_contract():
    zeros = lambda query, support: np.zeros((len(query), len(support)))  # noqa: E731
    with pytest.raises(ValueError, match=r"returned an array of shape \(3,\), expected \(3, 3\)"):
        identity.identity_scores(lambda query, support: np.zeros(len(query)), synthetic_split(), n=3)
    with pytest.raises(ValueError, match="NaN scores"):
        identity.identity_scores(
            lambda query, support: np.full((len(query), len(support)), np.nan), synthetic_split(), n=3
        )
    with pytest.raises(ValueError, match="seed must be a whole number, 0 or more"):
        identity.identity_scores(zeros, synthetic_split(), seed=-1)


def test_transforms_can_be_chosen_and_applied_to_another_drawing_of_the_character():
    data = synthetic_split((3, 3), drawings=3, seed=4)

    def negative_ink_difference(query, support):
        return -np.abs(query.reshape(len(query), 1, -1).astype(int) - support.reshape(1, len(support), -1)).sum(-1)

    unchanged = {"unchanged": lambda images: images}
    own = identity.identity_scores(negative_ink_difference, data, n=5, seed=0, transforms=unchanged)
    another = identity.identity_scores(
        negative_ink_difference, data, n=5, seed=0, transforms=unchanged, transformed="same"
    )
    assert list(own) == ["unchanged", identity.SAME_CHARACTER, identity.OTHER_CHARACTER]
    np.testing.assert_array_equal(own["unchanged"], 0.0)  # a drawing against itself
    np.testing.assert_array_equal(another["unchanged"], another[identity.SAME_CHARACTER])
    np.testing.assert_array_equal(own[identity.OTHER_CHARACTER], another[identity.OTHER_CHARACTER])
    with pytest.raises(ValueError, match="transformed must be one of"):
        identity.identity_scores(negative_ink_difference, data, n=5, transformed="other")


def test_paired_scores_are_the_diagonal_of_the_whole_score_matrix():
    rng = np.random.default_rng(0)
    drawings, partners = rng.random((7, 105, 105)) < 0.1, rng.random((7, 105, 105)) < 0.1

    def negative_ink_difference(query, support):
        return -np.abs(query.reshape(len(query), 1, -1).astype(int) - support.reshape(1, len(support), -1)).sum(-1)

    whole = np.diag(negative_ink_difference(drawings, partners))
    np.testing.assert_array_equal(identity.paired_scores(negative_ink_difference, drawings, partners, block=3), whole)
