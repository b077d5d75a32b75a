"""Task and pair sampling: distinct classes and drawings, protocols, and impossible requests."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_split

from oneshot_lib.data.tasks import (
    check_whole_number,
    sample_pair_indices,
    sample_task,
    sample_task_indices,
    tasks_like_runs,
)


def test_task_shapes_and_labels(split):
    task = sample_task(split, n_way=5, k_shot=3, n_query=2, rng=0)
    assert task.support.shape == (15, 105, 105) and task.support.dtype == bool
    assert task.query.shape == (10, 105, 105)
    assert sorted(task.support_labels.tolist()) == sorted([0, 1, 2, 3, 4] * 3)
    assert task.query_labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert len(set(task.characters.tolist())) == 5


def test_support_and_query_drawings_are_distinct():
    indices = sample_task_indices(synthetic_split(), 300, n_way=4, k_shot=5, n_query=15, rng=1)
    drawings = np.concatenate([indices.support_drawings, indices.query_drawings], axis=2)
    assert all(len(set(row)) == 20 for row in drawings.reshape(-1, 20).tolist())


def test_images_come_from_the_right_characters(split):
    indices = sample_task_indices(split, 3, n_way=3, k_shot=2, rng=2)
    task = indices.task(split, 1)
    for position, label in enumerate(task.support_labels):
        character = indices.characters[1, label]
        assert any((task.support[position] == split.images[character, d]).all() for d in range(20))


def test_within_alphabet_tasks_stay_in_one_alphabet(split):
    indices = sample_task_indices(split, 200, n_way=4, within_alphabet=True, rng=3)
    alphabets = split.alphabet_ids[indices.characters]
    assert (alphabets == alphabets[:, :1]).all()
    # Only alphabets 0 (6 characters) and 1 (4) have 4 characters; both get chosen.
    assert set(alphabets[:, 0].tolist()) == {0, 1}


def test_answer_position_carries_no_information(split):
    """Where query i's answer sits in the support set is uniform over positions."""
    indices = sample_task_indices(split, 4000, n_way=5, rng=4)
    positions = np.array([np.flatnonzero(indices.task(split, t).support_labels == 0)[0] for t in range(4000)])
    counts = np.bincount(positions, minlength=5)
    assert counts.min() > 700 and counts.max() < 900  # expected 800 each


def test_sampling_is_seeded(split):
    a = sample_task_indices(split, 10, n_way=5, rng=7)
    b = sample_task_indices(split, 10, n_way=5, rng=7)
    np.testing.assert_array_equal(a.characters, b.characters)
    np.testing.assert_array_equal(a.support_order, b.support_order)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_way": 1}, "n_way must be at least 2"),
        ({"n_way": 14}, "n_way=14 is more characters than 'synthetic' can give: it has 13"),
        ({"n_way": 7, "within_alphabet": True}, "its largest alphabet has 6"),
        ({"n_way": 5, "k_shot": 15, "n_query": 6}, "only 20"),
        ({"n_way": 5, "k_shot": 0}, "at least 1"),
    ],
)
def test_impossible_tasks_say_why(split, kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_task(split, **kwargs)


def test_empty_split_is_rejected(split):
    empty = split.select([])
    with pytest.raises(ValueError, match="is empty"):
        sample_task(empty, 2)


def test_pairs_are_half_same_with_distinct_drawings(split):
    pairs = sample_pair_indices(split, 1000, rng=5)
    same = pairs.same == 1
    assert same.sum() == 500
    assert (pairs.left[same, 0] == pairs.right[same, 0]).all()
    assert (pairs.left[same, 1] != pairs.right[same, 1]).all()
    assert (pairs.left[~same, 0] != pairs.right[~same, 0]).all()
    left, right = pairs.images(split)
    assert left.shape == right.shape == (1000, 105, 105)


def test_hard_negatives_share_an_alphabet(split):
    pairs = sample_pair_indices(split, 1000, hard_negatives=True, rng=6)
    different = pairs.same == 0
    ids = split.alphabet_ids
    assert (ids[pairs.left[different, 0]] == ids[pairs.right[different, 0]]).all()
    assert (pairs.left[different, 0] != pairs.right[different, 0]).all()
    # Easy negatives mostly cross alphabets.
    easy = sample_pair_indices(split, 1000, rng=6)
    assert (ids[easy.left[easy.same == 0, 0]] != ids[easy.right[easy.same == 0, 0]]).mean() > 0.5


def test_bad_pair_requests(split):
    with pytest.raises(ValueError, match="even"):
        sample_pair_indices(split, 7)
    with pytest.raises(ValueError, match="2 characters per alphabet"):
        sample_pair_indices(synthetic_split((3, 1)), 10, hard_negatives=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_way": 5.5}, TypeError, r"n_way must be an int.*float 5\.5"),
        ({"n_way": "5"}, TypeError, r"n_way must be an int.*str '5'"),
        ({"n_way": 5.0}, TypeError, r"n_way must be an int.*float 5\.0"),
        ({"n_way": True}, TypeError, r"n_way must be an int.*bool True"),
        ({"n_way": 5, "k_shot": 1.0}, TypeError, r"k_shot must be an int.*float 1\.0"),
        ({"n_way": 5, "n_query": "2"}, TypeError, r"n_query must be an int.*str '2'"),
        ({"n_way": 5, "n_query": 0}, ValueError, r"n_query must be at least 1 \(got 0\)"),
    ],
)
def test_task_arguments_must_be_integers(split, kwargs, error, message):
    with pytest.raises(error, match=message):
        sample_task(split, **kwargs)


@pytest.mark.parametrize(
    ("n_tasks", "error", "message"),
    [
        (0, ValueError, r"n_tasks must be at least 1 \(got 0\)"),
        (-3, ValueError, r"n_tasks must be at least 1 \(got -3\)"),
        (2.0, TypeError, r"n_tasks must be an int.*float 2\.0"),
        ("3", TypeError, r"n_tasks must be an int.*str '3'"),
    ],
)
def test_n_tasks_must_be_a_positive_integer(split, n_tasks, error, message):
    with pytest.raises(error, match=message):
        sample_task_indices(split, n_tasks, n_way=3)


def test_numpy_integers_are_accepted(split):
    indices = sample_task_indices(split, np.int64(3), n_way=np.int32(4), k_shot=np.int64(2), n_query=np.uint8(1))
    assert indices.support_drawings.shape == (3, 4, 2) and indices.query_drawings.shape == (3, 4, 1)
    assert len(sample_pair_indices(split, np.int64(6), rng=0).same) == 6


def test_n_pairs_must_be_an_integer(split):
    with pytest.raises(TypeError, match=r"n_pairs must be an int.*float 8\.0"):
        sample_pair_indices(split, 8.0)


def test_shared_drawers_give_every_class_the_same_support_and_query_drawers():
    data = synthetic_split((6, 5), drawings=10, seed=0)
    tasks = sample_task_indices(data, 50, 4, 2, 3, within_alphabet=True, shared_drawers=True, rng=1)
    assert (tasks.support_drawings == tasks.support_drawings[:, :1]).all()
    assert (tasks.query_drawings == tasks.query_drawings[:, :1]).all()
    for support, query in zip(tasks.support_drawings[:, 0], tasks.query_drawings[:, 0], strict=True):
        assert not set(support) & set(query)
    assert len({tuple(s) for s in tasks.support_drawings[:, 0]}) > 10  # drawers vary from task to task


def test_drawers_limit_the_drawings_used():
    data = synthetic_split((6, 5), drawings=10, seed=0)
    tasks = sample_task_indices(data, 40, 3, 1, 1, shared_drawers=True, drawers=range(3), rng=2)
    used = np.concatenate([tasks.support_drawings.ravel(), tasks.query_drawings.ravel()])
    assert set(used) <= {0, 1, 2} and len(set(used)) == 3
    with pytest.raises(ValueError, match="only 2 are allowed"):
        sample_task_indices(data, 1, 3, 1, 2, drawers=[0, 1], rng=0)
    with pytest.raises(ValueError, match="drawing numbers in"):
        sample_task_indices(data, 1, 3, drawers=[0, 10], rng=0)


def test_the_default_draws_are_unchanged_by_the_drawer_options():
    data = synthetic_split((6, 5), drawings=10, seed=0)
    plain = sample_task_indices(data, 5, 3, 2, 2, rng=7)
    explicit = sample_task_indices(data, 5, 3, 2, 2, shared_drawers=False, drawers=None, rng=7)
    np.testing.assert_array_equal(plain.support_drawings, explicit.support_drawings)
    np.testing.assert_array_equal(plain.query_drawings, explicit.query_drawings)


def test_tasks_like_runs_keep_each_runs_alphabet_and_drawers():
    data = synthetic_split((6, 5), drawings=10, seed=0)
    # Two runs of 3 characters: alphabet 0 with drawers 2 (support) and 7 (queries); alphabet 1 with 4 and 1.
    run_support = np.array([[[0, 2], [1, 2], [2, 2]], [[6, 4], [7, 4], [8, 4]]])
    run_query = np.array([[[1, 7], [0, 7], [2, 7]], [[8, 1], [6, 1], [7, 1]]])
    tasks = tasks_like_runs(data, run_support, run_query, 5, rng=3)
    assert tasks.characters.shape == (10, 3)
    assert set(data.alphabet_ids[tasks.characters[:5]].ravel()) == {0}
    assert set(data.alphabet_ids[tasks.characters[5:]].ravel()) == {1}
    assert (tasks.support_drawings[:5] == 2).all() and (tasks.query_drawings[:5] == 7).all()
    assert (tasks.support_drawings[5:] == 4).all() and (tasks.query_drawings[5:] == 1).all()
    mixed = run_support.copy()
    mixed[0, 0, 1] = 3
    with pytest.raises(ValueError, match="mixes alphabets or drawers"):
        tasks_like_runs(data, mixed, run_query, 1, rng=0)


@pytest.mark.parametrize("seed", [-1, 2.5, "0", True, [3, -1]])
def test_a_seed_that_is_not_a_whole_number_from_0_gets_an_error_saying_so(split, seed):
    from oneshot_lib.models import episodic, pairs
    from oneshot_lib.scoring import evaluate, identity

    attempts = {
        "accuracy": lambda: evaluate.accuracy(lambda q, s: np.zeros((len(q), len(s))), split, 3, n_tasks=2, seed=seed),
        "sample_task_indices": lambda: sample_task_indices(split, 2, 3, rng=seed),
        "sample_characters": lambda: split.sample_characters(0.5, seed=seed),
        "identity_pairs": lambda: identity.identity_pairs(split, 2, seed=seed),
        "pair_dataset": lambda: pairs.pair_dataset(split, 4, seed=seed),
        "episode_dataset": lambda: episodic.episode_dataset(split, 3, 1, 1, seed=seed),
    }
    for name, attempt in attempts.items():
        with pytest.raises(ValueError, match="seed must be a whole number, 0 or more") as refused:
            attempt()
        assert refused.type is ValueError, name


@pytest.mark.parametrize("value", [1.0, True, "3", None, -1])
def test_a_whole_number_check_refuses_what_is_not_one_naming_the_argument(value):
    with pytest.raises(ValueError, match=r"steps must be a whole number of at least 0 \(0: none\), got"):
        check_whole_number("steps", value, 0, " (0: none)")
    check_whole_number("steps", np.int64(3), 0)
