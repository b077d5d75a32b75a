"""Evaluation: ties never favour the right answer, k-shot aggregation, Lake's runs."""

from __future__ import annotations

import numpy as np
import pytest

from oneshot_lib.data.lake import LakeRun
from oneshot_lib.data.tasks import sample_task_indices
from oneshot_lib.scoring import baselines, contract, embedding_cache, evaluate, rules
from oneshot_lib.scoring.baselines import ConstantScorer, PixelNearestNeighbour, pairwise_squared_l2

constant = ConstantScorer()


def diagonal(query, support):
    """Cheats if query i's answer were always support i."""
    return np.eye(len(query), len(support))


class Oracle:
    """Knows the images: the score is minus the number of differing pixels."""

    name = "oracle"

    def scores(self, query, support):
        return -(query[:, None] != support[None]).sum(axis=(2, 3)).astype(float)


def identical_images_split(split):
    """Every drawing of a character identical, so the oracle is always right."""
    images = np.repeat(split.images[:, :1], 20, axis=1)
    return type(split)(images, split.alphabets, split.characters, "identical")


@pytest.mark.parametrize("scorer", [constant, diagonal], ids=["constant", "diagonal"])
def test_uninformative_scorers_get_chance(split, scorer):
    result = evaluate.accuracy(scorer, split, n_way=5, n_tasks=2000, seed=1)
    assert abs(result.mean - 0.2) < 0.02  # 10,000 queries: standard error 0.004


def test_oracle_gets_everything_right(split):
    result = evaluate.accuracy(Oracle(), identical_images_split(split), n_way=5, k_shot=2, n_tasks=20)
    assert result.mean == 1.0 and result.stderr == 0.0


def test_lake_runs_accuracy_per_run(split):
    support = split.images[:10].reshape(-1, 105, 105)[::10]  # 20 different drawings
    order = np.random.default_rng(0).permutation(20)
    perfect = evaluate.lake_runs(Oracle(), [LakeRun(support, support[order], order)])
    assert perfect.mean == 1.0 and perfect.n_tasks == 1
    guessing = evaluate.lake_runs(constant, [LakeRun(support, support[order], order)] * 50)
    assert abs(guessing.mean - 0.05) < 0.02  # 1,000 queries at chance 1/20


def test_accuracy_formats_with_stderr():
    result = evaluate.Accuracy.from_tasks(np.array([0.5, 1.0]))
    assert str(result) == "75.0% ± 25.0% (2 tasks)"
    assert str(evaluate.Accuracy.from_tasks(np.array([0.5, 1.0]), unit="runs")).endswith("(2 runs)")
    assert float(result) == 0.75


def test_n_way_curve_keys(split):
    curve = evaluate.n_way_curve(constant, split, [2, 3], n_tasks=5)
    assert list(curve) == [2, 3]


def _argmax_predictions(query, support):
    """A classifier's answers, (Q,), where a scorer must return (Q, S) scores."""
    return PixelNearestNeighbour().scores(query, support).argmax(1)


class _EmbeddingWithWrongCompare:
    name = "wrong compare"

    def embed(self, images):
        return images.reshape(len(images), -1).astype(float)

    def compare(self, query, support):
        return -pairwise_squared_l2(query, support).T  # (S, Q)


class _WrongClassScorer:
    name = "wrong class scores"

    def class_scores(self, query, support, support_labels, n_way):
        return np.zeros((len(query), len(support)))  # (Q, S), not (Q, n_way)

    def scores(self, query, support):
        return np.zeros((len(query), len(support)))


class _WrongClassComparer(_EmbeddingWithWrongCompare):
    name = "wrong class comparer"

    def compare(self, query, support):
        return np.zeros((len(query), len(support)))

    def compare_classes(self, query, support, support_labels, n_way):
        return np.zeros((len(query), n_way + 1))


@pytest.mark.parametrize(
    ("scorer", "message"),
    [
        (_argmax_predictions, r"'_argmax_predictions'.*scores\(query, support\).*\(10,\).*expected \(10, 20\)"),
        (lambda q, s: np.zeros((len(s), len(q))), r"'<lambda>'.*\(20, 10\).*expected \(10, 20\)"),
        (lambda q, s: np.zeros((len(q), len(s), 1)), r"'<lambda>'.*\(10, 20, 1\).*expected \(10, 20\)"),
        (_EmbeddingWithWrongCompare(), r"'wrong compare'.*compare\(.*\(20, 10\).*expected \(10, 20\)"),
        (_WrongClassScorer(), r"'wrong class scores'.*class_scores\(.*\(10, 20\).*expected \(10, 10\)"),
        (_WrongClassComparer(), r"'wrong class comparer'.*compare_classes\(.*\(10, 11\).*expected \(10, 10\)"),
    ],
    ids=["predictions", "transposed", "3-d", "compare", "class_scores", "compare_classes"],
)
def test_scores_of_the_wrong_shape_are_refused(split, scorer, message):
    with pytest.raises(ValueError, match=message):
        evaluate.accuracy(scorer, split, n_way=10, k_shot=2, n_tasks=2)


def test_lake_runs_refuses_predictions_for_scores(split):
    support = split.images[:10].reshape(-1, 105, 105)[::10]
    runs = [LakeRun(support, support, np.arange(20))]
    with pytest.raises(ValueError, match=r"'_argmax_predictions'.*\(20,\).*expected \(20, 20\)"):
        evaluate.lake_runs(_argmax_predictions, runs)


class _Vandal:
    """Scores like the oracle, then inks every image (and label) it was shown."""

    name = "vandal"

    def scores(self, query, support):
        scores = Oracle().scores(query, support)
        query[:] = True
        support[:] = True
        return scores

    def embed(self, images):
        images[:] = True
        return images.reshape(len(images), -1).astype(float)

    def compare(self, query, support):
        query[:] = 0.0
        return -pairwise_squared_l2(query, support)

    def class_scores(self, query, support, support_labels, n_way):
        support_labels[:] = 0
        return np.zeros((len(query), n_way))


def test_scorers_cannot_change_lake_runs(split):
    support = split.images[:10].reshape(-1, 105, 105)[::10]
    order = np.random.default_rng(0).permutation(20)
    run = LakeRun(support.copy(), support[order], order)
    with pytest.raises(ValueError, match="read-only"):
        evaluate.lake_runs(_Vandal(), [run, run])
    np.testing.assert_array_equal(run.support, support)
    np.testing.assert_array_equal(run.query, support[order])


def _honest_embed(images):
    return images.reshape(len(images), -1).astype(float)


@pytest.mark.parametrize(
    "methods",
    [
        {"scores": _Vandal.scores},
        {"class_scores": _Vandal.class_scores, "scores": _Vandal.scores},
        {"embed": _Vandal.embed, "compare": _Vandal.compare},
        {"embed": staticmethod(_honest_embed), "compare": _Vandal.compare},
    ],
    ids=["scores", "class_scores", "embed", "compare"],
)
def test_scorers_get_read_only_inputs_in_accuracy(split, methods):
    """The same contract on sampled tasks: a scorer that writes into its inputs fails loudly."""
    scorer = type("PartialVandal", (), methods)()
    images = split.images.copy()
    with pytest.raises(ValueError, match="read-only"):
        evaluate.accuracy(scorer, split, n_way=3, k_shot=2, n_tasks=2)
    np.testing.assert_array_equal(split.images, images)


def test_no_tasks_is_an_error_not_nan(split):
    with pytest.raises(ValueError, match=r"n_tasks must be at least 1 \(got 0\)"):
        evaluate.accuracy(constant, split, n_way=5, n_tasks=0)


@pytest.mark.parametrize("name", ["PixelNearestNeighbour", "ModifiedHausdorff", "BlogNearestNeighbour"])
def test_nearest_neighbour_baselines_declare_the_nearest_drawing_rule(split, name):
    scorer = getattr(baselines, name)()
    assert isinstance(scorer, contract.ClassScorer)
    query, support = split.images[:2, 0], split.images[:3, 1:3].reshape(6, 105, 105)
    labels = np.repeat(np.arange(3), 2)
    expected = scorer.scores(query, support).reshape(2, 3, 2).max(axis=2)
    np.testing.assert_array_equal(scorer.class_scores(query, support, labels, 3), expected)


def test_k_shot_accuracy_uses_the_nearest_drawing(split):
    """On k-shot tasks, pixel nearest neighbour's accuracy is that of the nearest-drawing rule."""
    nearest = evaluate.accuracy(PixelNearestNeighbour(), split, 4, k_shot=3, n_tasks=30, seed=2)
    by_hand = []
    rng = np.random.default_rng(2)
    tasks = sample_task_indices(split, 30, 4, 3, 1, rng=rng)
    for index in range(30):
        task = tasks.task(split, index)
        scores = PixelNearestNeighbour().scores(task.query, task.support)
        per_class = rules.nearest_class_scores(scores, task.support_labels, 4)
        by_hand.append(rules.predict(per_class, np.arange(4), 4, rng) == task.query_labels)
    assert nearest.mean == pytest.approx(np.mean(by_hand))


class _RowInk:
    """An embedding scorer: ink per row as the embedding, minus the squared distance as the score."""

    name = "row ink"

    def embed(self, images):
        return images.sum(axis=2).astype(float)  # (n, 105)

    def compare(self, query, support):
        return -pairwise_squared_l2(query, support)

    def scores(self, query, support):
        return self.compare(self.embed(query), self.embed(support))


class _RowInkPrototypes(_RowInk):
    """The same embedding with a class rule of its own: minus the squared distance to the class's mean embedding."""

    name = "row ink prototypes"

    def compare_classes(self, query, support, support_labels, n_way):
        prototypes = np.stack([support[support_labels == label].mean(axis=0) for label in range(n_way)])
        return self.compare(query, prototypes)

    def class_scores(self, query, support, support_labels, n_way):
        return self.compare_classes(self.embed(query), self.embed(support), support_labels, n_way)


def _k_shot_task(split, seed=0):
    """A 4-way 3-shot task with two queries per class."""
    return sample_task_indices(split, 1, 4, 3, 2, rng=seed).task(split, 0)


def test_class_scores_of_applies_each_scorers_own_rule(split):
    task = _k_shot_task(split)
    query, support, labels = task.query, task.support, task.support_labels
    pixel = PixelNearestNeighbour()
    rule = _RowInkPrototypes()
    expected = {
        "nearest drawing": (pixel, rules.nearest_class_scores(pixel.scores(query, support), labels, 4)),
        "mean of a function's scores": (pixel.scores, rules.class_scores(pixel.scores(query, support), labels, 4)),
        "mean of compare": (_RowInk(), rules.class_scores(_RowInk().scores(query, support), labels, 4)),
        "compare_classes": (rule, rule.compare_classes(rule.embed(query), rule.embed(support), labels, 4)),
    }
    for name, (scorer, scores) in expected.items():
        np.testing.assert_array_equal(rules.class_scores_of(scorer, query, support, labels, 4), scores, err_msg=name)
    # The rules differ on this task: the nearest drawing is not the mean, nor the prototype a mean of scores.
    assert not np.array_equal(expected["nearest drawing"][1], expected["mean of a function's scores"][1])
    assert not np.array_equal(expected["compare_classes"][1], expected["mean of compare"][1])


@pytest.mark.parametrize(
    "scorer",
    [PixelNearestNeighbour(), PixelNearestNeighbour().scores, _RowInk(), _RowInkPrototypes()],
    ids=["nearest drawing", "function", "embedding", "embedding with a class rule"],
)
def test_accuracy_decides_by_class_scores_of(split, scorer):
    """accuracy (by images or by embeddings) picks exactly what class_scores_of's scores pick."""
    measured = evaluate.accuracy(scorer, split, 4, k_shot=3, n_tasks=12, seed=5)
    rng = np.random.default_rng(5)
    tasks = sample_task_indices(split, 12, 4, 3, 1, rng=rng)
    by_hand = []
    for index in range(12):
        task = tasks.task(split, index)
        per_class = rules.class_scores_of(scorer, task.query, task.support, task.support_labels, 4)
        by_hand.append(np.mean(rules.predict(per_class, np.arange(4), 4, rng) == task.query_labels))
    np.testing.assert_array_equal(measured.per_task, by_hand)


def test_class_scores_of_refuses_class_scores_of_the_wrong_shape(split):
    task = _k_shot_task(split)
    with pytest.raises(ValueError, match=r"'wrong class scores'.*class_scores\(.*\(8, 12\).*expected \(8, 4\)"):
        rules.class_scores_of(_WrongClassScorer(), task.query, task.support, task.support_labels, 4)


class _CountingRowInk(_RowInk):
    """_RowInk that counts the images it embeds."""

    def __init__(self):
        self.embedded = 0

    def embed(self, images):
        self.embedded += len(images)
        return super().embed(images)


def test_cached_embeddings_embed_each_distinct_image_once_with_the_same_accuracy(split):
    plain, counting = _CountingRowInk(), _CountingRowInk()
    cached = embedding_cache.cache_embeddings(counting)
    assert not isinstance(cached, contract.ClassComparer) and cached.name == "row ink"
    for n_way, seed in ((5, 0), (5, 1), (3, 0)):
        expected = evaluate.accuracy(plain, split, n_way, n_tasks=20, seed=seed)
        measured = evaluate.accuracy(cached, split, n_way, n_tasks=20, seed=seed)
        np.testing.assert_array_equal(measured.per_task, expected.per_task)
    assert counting.embedded == len(cached) < plain.embedded
    images = split.images[:2, :3].reshape(-1, *split.images.shape[2:])
    np.testing.assert_array_equal(cached.embed(images[::-1]), plain.embed(images[::-1]))
    np.testing.assert_array_equal(cached.scores(images[:2], images), plain.scores(images[:2], images))
    assert cached.embed(images[:0]).shape == (0, images.shape[1])
    assert cached.embedded == counting.embedded  # other attributes are the wrapped scorer's


def test_cached_embeddings_keep_the_class_rule(split):
    scorer = _RowInkPrototypes()
    cached = embedding_cache.cache_embeddings(scorer)
    assert isinstance(cached, contract.ClassComparer)
    expected = evaluate.accuracy(scorer, split, 4, 3, n_tasks=10, seed=0)
    assert evaluate.accuracy(cached, split, 4, 3, n_tasks=10, seed=0).per_task.tolist() == expected.per_task.tolist()
    assert not hasattr(embedding_cache.cache_embeddings(_RowInk()), "compare_classes")


def test_caching_needs_an_embedding_scorer():
    with pytest.raises(TypeError, match="embed and compare"):
        embedding_cache.cache_embeddings(PixelNearestNeighbour())


def test_lake_runs_of_no_runs_is_an_error_not_nan():
    with pytest.raises(ValueError, match="no runs"):
        evaluate.lake_runs(constant, [])


def test_n_way_curve_of_no_n_is_an_error(split):
    with pytest.raises(ValueError, match="no N"):
        evaluate.n_way_curve(constant, split, [])


def test_nan_scores_name_the_scorer(split):
    def broken(query, support):
        return np.full((len(query), len(support)), np.nan)

    with pytest.raises(ValueError, match=r"scorer 'broken': scores\(query, support\) returned NaN scores"):
        evaluate.accuracy(broken, split, 3, n_tasks=2)


def test_many_tasks_are_drawn_a_bounded_number_at_a_time(split, monkeypatch):
    """n_tasks=10**7 used to draw every task at once (a 49 GiB array of random keys)."""
    expected = evaluate.accuracy(PixelNearestNeighbour(), split, 3, n_tasks=12, seed=4)
    drawn = []
    original = evaluate.sample_task_indices

    def counted(data, n_tasks, *args, **kwargs):
        drawn.append(n_tasks)
        return original(data, n_tasks, *args, **kwargs)

    monkeypatch.setattr(evaluate, "TASKS_PER_DRAW", 5)
    monkeypatch.setattr(evaluate, "sample_task_indices", counted)
    chunked = evaluate.accuracy(PixelNearestNeighbour(), split, 3, n_tasks=12, seed=4)
    assert drawn == [5, 5, 2] and chunked.n_tasks == 12
    assert 0.0 <= chunked.mean <= 1.0
    monkeypatch.setattr(evaluate, "TASKS_PER_DRAW", 12)  # all at once: exactly the tasks drawn before
    at_once = evaluate.accuracy(PixelNearestNeighbour(), split, 3, n_tasks=12, seed=4)
    np.testing.assert_array_equal(at_once.per_task, expected.per_task)


def test_progress_is_shown_when_asked_and_never_by_default_off_a_terminal(split, capsys):
    evaluate.accuracy(constant, split, 3, n_tasks=4)
    evaluate.lake_runs(constant, [LakeRun(split.images[:3, 0], split.images[:3, 1], np.arange(3))])
    assert capsys.readouterr() == ("", "")  # pytest's stderr is no terminal, like a notebook's
    evaluate.accuracy(constant, split, 3, n_tasks=4, progress=True)
    shown = capsys.readouterr()
    assert shown.out == "" and "\r4/4 tasks" in shown.err and shown.err.endswith("\n")
    evaluate.lake_runs(constant, [LakeRun(split.images[:3, 0], split.images[:3, 1], np.arange(3))], progress=True)
    assert "1/1 runs" in capsys.readouterr().err


def test_automatic_progress_waits_for_a_terminal_and_a_few_seconds():
    class Terminal:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return True

        def write(self, text):
            self.text += text

        def flush(self):
            pass

    terminal = Terminal()
    quick = evaluate.Progress(3, "tasks", stream=terminal)
    quick.advance()
    assert terminal.text == ""  # under PROGRESS_AFTER_SECONDS: silent
    quick.start -= evaluate.PROGRESS_AFTER_SECONDS
    quick.advance()
    quick.close()
    assert terminal.text.startswith("\r2/3 tasks") and terminal.text.endswith("\n")


@pytest.mark.parametrize("seed", [-1, 2.5, True])
def test_seeds_that_numpy_cannot_take_are_named(split, seed):
    run = LakeRun(split.images[:3, 0], split.images[:3, 1], np.arange(3))
    message = "seed must be a whole number, 0 or more"
    with pytest.raises(ValueError, match=message):
        evaluate.accuracy(constant, split, 3, n_tasks=2, seed=seed)
    with pytest.raises(ValueError, match=message):
        evaluate.lake_runs(constant, [run], seed=seed)
    with pytest.raises(ValueError, match=message):
        baselines.RandomScorer(seed)
    with pytest.raises(ValueError, match=message):
        evaluate.accuracy_on_tasks(constant, split, sample_task_indices(split, 2, 3, rng=0), rng=seed)


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (np.arange(2), r"run 0: answers must be 3 ints, one per query; got int64 \(2,\)"),
        (np.arange(3) + 1, r"run 0: answers must index its 3 support images; got 1..3"),
        (np.arange(3.0), r"answers must be 3 ints.*float64"),
    ],
)
def test_malformed_runs_are_refused_naming_the_run(split, answers, message):
    with pytest.raises(ValueError, match=message):
        evaluate.lake_runs(constant, [LakeRun(split.images[:3, 0], split.images[:3, 1], answers)])


def test_a_run_must_be_a_lake_run(split):
    with pytest.raises(ValueError, match="run 0 is a ndarray, not a LakeRun"):
        evaluate.lake_runs(constant, [split.images[:3, 0]])


def test_an_accuracy_of_no_tasks_is_an_error():
    with pytest.raises(ValueError, match="no tasks to average"):
        evaluate.Accuracy.from_tasks([])


def test_one_task_prints_without_a_nan_standard_error():
    assert str(evaluate.Accuracy.from_tasks([0.5])) == "50.0% (1 task, so no standard error)"
    assert str(evaluate.Accuracy.from_tasks([1.0], unit="runs")) == "100.0% (1 run, so no standard error)"


def test_progress_ends_its_line_when_the_evaluation_fails(split, capsys):
    calls = []

    def fails_on_the_second_task(query, support):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("broken scorer")
        return np.zeros((len(query), len(support)))

    with pytest.raises(RuntimeError, match="broken scorer"):
        evaluate.accuracy(fails_on_the_second_task, split, 3, n_tasks=4, progress=True)
    shown = capsys.readouterr().err
    assert shown.startswith("\r1/4 tasks") and shown.endswith("\n")


def test_scores_that_are_not_numbers_name_the_scorer(split):
    def words(query, support):
        return np.full((len(query), len(support)), "same")

    with pytest.raises(ValueError, match=r"scorer 'words': scores\(query, support\) returned scores that are not"):
        evaluate.lake_runs(words, [LakeRun(split.images[:3, 0], split.images[:3, 1], np.arange(3))])


def test_paired_difference_is_the_mean_and_standard_error_of_per_task_differences():
    first = evaluate.Accuracy.from_tasks([1.0, 0.5, 0.75, 0.5])
    second = evaluate.Accuracy.from_tasks([0.5, 0.5, 0.25, 0.5])
    # Differences 0.5, 0, 0.5, 0: mean 1/4; std (ddof=1) sqrt(1/3) / 2; over sqrt(4): sqrt(1/3) / 4.
    paired = evaluate.paired_difference(first, second)
    assert paired.mean == 0.25 and paired.n == 4
    assert paired.stderr == pytest.approx(np.sqrt(1 / 3) / 4, rel=1e-15)
    assert evaluate.paired_difference(second, first).mean == -0.25


def test_paired_difference_of_one_task_has_no_standard_error():
    paired = evaluate.paired_difference(evaluate.Accuracy.from_tasks([1.0]), evaluate.Accuracy.from_tasks([0.5]))
    assert paired.mean == 0.5 and np.isnan(paired.stderr) and paired.n == 1


def test_paired_difference_needs_two_accuracies_on_the_same_tasks():
    on_four = evaluate.Accuracy.from_tasks([1.0, 0.5, 0.75, 0.5])
    with pytest.raises(ValueError, match="same tasks; got 4 tasks and 3 tasks"):
        evaluate.paired_difference(on_four, evaluate.Accuracy.from_tasks([0.5, 0.5, 0.25]))
    with pytest.raises(ValueError, match="4 tasks and 4 runs"):
        evaluate.paired_difference(on_four, evaluate.Accuracy.from_tasks([0.5] * 4, unit="runs"))
    with pytest.raises(ValueError, match="the second is a ndarray"):
        evaluate.paired_difference(on_four, on_four.per_task)


def test_evaluate_offers_the_names_chapters_type_from_their_own_modules():
    assert evaluate.predict is rules.predict and evaluate.NearestDrawingRule is rules.NearestDrawingRule
    assert evaluate.nearest_class_scores is rules.nearest_class_scores and evaluate.class_scores is rules.class_scores
    assert evaluate.cache_embeddings is embedding_cache.cache_embeddings
    assert evaluate.EmbeddingScorer is contract.EmbeddingScorer
    for name in evaluate.__all__:
        assert hasattr(evaluate, name), name
