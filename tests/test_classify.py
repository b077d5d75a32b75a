"""Classifying your own images: ``scoring.named_classes``, and ``python -m oneshot_lib.classify`` on folders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from oneshot_lib import pretrained
from oneshot_lib.classify import classify_folders, default_model, main
from oneshot_lib.scoring import comparisons
from oneshot_lib.scoring.any_image import as_drawing
from oneshot_lib.scoring.baselines import PixelNearestNeighbour
from oneshot_lib.scoring.named_classes import Prediction, predict_classes
from oneshot_lib.scoring.rules import class_scores_of, nearest_class_scores

MODEL = "prototypical"


def shape(name: str, size: int = 120, width: int = 6, shift: int = 0) -> np.ndarray:
    """(size, size) bool ink of a simple symbol: "ring", "cross" or "corner", moved by ``shift`` pixels."""
    y, x = np.mgrid[0:size, 0:size] / size - 0.5 - shift / size
    w = width / size
    if name == "ring":
        return np.abs(np.hypot(y, x) - 0.3) < w / 2
    if name == "cross":
        return ((np.abs(y - x) < w / 1.4) | (np.abs(y + x) < w / 1.4)) & (np.abs(y) < 0.3) & (np.abs(x) < 0.3)
    if name == "corner":
        return ((np.abs(x + 0.25) < w / 2) & (np.abs(y) < 0.3)) | ((np.abs(y - 0.3) < w / 2) & (np.abs(x) < 0.25))
    raise ValueError(name)


def save(ink: np.ndarray, path: Path, ink_colour=(0, 0, 0), paper_colour=(255, 255, 255), size: int | None = None):
    """Write ``ink`` as an RGB picture in the given colours (resized to ``size``) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    picture = Image.fromarray(np.where(ink[..., None], np.array(ink_colour), np.array(paper_colour)).astype(np.uint8))
    if size is not None:
        picture = picture.resize((size, size), Image.Resampling.BILINEAR)
    picture.save(path)
    return path


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    """(support, queries): three symbols in colours, sizes and polarities of their own; a query of each."""
    support, queries = tmp_path / "support", tmp_path / "queries"
    save(shape("ring"), support / "ring" / "a.png", (200, 0, 0), (250, 250, 200), size=80)
    save(shape("cross"), support / "cross" / "a.png", (255, 255, 255), (0, 0, 60), size=300)
    save(shape("corner"), support / "corner" / "first.png", size=64)
    save(shape("corner", width=12), support / "corner" / "second.jpg", (0, 90, 0), (255, 255, 255), size=200)
    (support / "corner" / "notes.txt").write_text("not an image: left out")
    save(shape("ring", width=14, shift=20), queries / "1-ring.png", (255, 255, 0), (20, 20, 20), size=150)
    save(shape("cross", width=3, shift=-15), queries / "2-cross.png", size=400)
    save(shape("corner", shift=10), queries / "3-corner.png", (255, 255, 255), (90, 0, 90), size=90)
    return support, queries


# ------------------------------------------------------------------ named classes, on any scorer


def test_a_prediction_ranks_classes_and_breaks_ties_by_support_order():
    prediction = Prediction("q.png", {"b": 1.0, "a": 3.0, "c": 3.0})
    assert prediction.ranked == ["a", "c", "b"] and prediction.predicted == "a" and prediction.runner_up == "c"
    assert prediction.as_json() == {"query": "q.png", "predicted": "a", "scores": {"b": 1.0, "a": 3.0, "c": 3.0}}
    assert prediction.line() == "q.png: a (score 3); runner-up c (score 3)"


def test_k_shot_classes_score_by_the_scorers_own_class_rule():
    drawings = np.stack([as_drawing(shape(name, width=w)) for name in ("ring", "cross") for w in (4, 10)])
    support = {"ring": drawings[:2], "cross": drawings[2:]}
    queries = np.stack([as_drawing(shape("cross", shift=8)), as_drawing(shape("ring", shift=-8))])
    scorer = PixelNearestNeighbour()
    predictions = predict_classes(scorer, support, queries)
    expected = class_scores_of(scorer, queries, drawings, np.array([0, 0, 1, 1]), 2)
    np.testing.assert_array_equal([list(p.scores.values()) for p in predictions], expected)
    assert [p.query for p in predictions] == ["query 1", "query 2"]
    # nearest neighbour's rule: a class scores as its nearest drawing, not the mean of its two
    np.testing.assert_array_equal(expected, nearest_class_scores(scorer.scores(queries, drawings), [0, 0, 1, 1], 2))
    assert [p.predicted for p in predictions] == ["cross", "ring"]


@pytest.mark.parametrize(
    ("support", "message"),
    [
        ({"only": np.zeros((1, 105, 105), bool)}, r"1 class \(only\): telling classes apart takes at least 2"),
        ({}, r"0 classes \(none\)"),
        ({"a": np.zeros((1, 105, 105), bool), "b": np.zeros((0, 105, 105), bool)}, "class 'b' has no drawing"),
    ],
)
def test_a_support_set_needs_two_classes_with_a_drawing_each(support, message):
    with pytest.raises(ValueError, match=message):
        predict_classes(PixelNearestNeighbour(), support, np.zeros((1, 105, 105), bool))


# ------------------------------------------------------------------ the command, on folders


def test_the_command_names_each_symbol_whatever_its_size_colour_and_polarity(folders, capsys):
    support, queries = folders
    assert main([str(support), str(queries), "--model", MODEL, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [item["query"] for item in printed] == [
        str(queries / f) for f in ("1-ring.png", "2-cross.png", "3-corner.png")
    ]
    assert [item["predicted"] for item in printed] == ["ring", "cross", "corner"]
    for item in printed:
        assert list(item["scores"]) == ["corner", "cross", "ring"]  # classes in their folders' order
        assert item["predicted"] == max(item["scores"], key=item["scores"].get)


def test_the_command_prints_a_line_per_query_and_keeps_paths_as_given(folders, capsys):
    support, queries = folders
    query = queries / "2-cross.png"
    assert main([str(support), str(query), str(queries / "1-ring.png"), "--model", MODEL]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{query}: cross (score ") and "; runner-up " in lines[0]
    assert lines[1].startswith(f"{queries / '1-ring.png'}: ring (score ")


def test_classify_folders_is_the_command_in_one_call(folders, capsys):
    support, queries = folders
    predictions = classify_folders(support, queries, MODEL)
    main([str(support), str(queries), "--model", MODEL, "--json"])
    assert [p.as_json() for p in predictions] == json.loads(capsys.readouterr().out)
    one = classify_folders(str(support), str(queries / "3-corner.png"))  # one path; the default model
    assert [p.predicted for p in one] == ["corner"]


def test_the_default_model_is_the_best_shipped_one_on_the_evaluation_alphabets(tmp_path, monkeypatch):
    record = comparisons.load_reference_models().models
    shipped = {name: record[name].evaluation_within_1shot for name in pretrained.available()}
    assert default_model() == max(shipped, key=shipped.get)
    monkeypatch.setattr(comparisons, "RESULTS", tmp_path)  # an installed package: no benchmarks/results
    best_validation = {name: pretrained.history(name).best_val_oneshot_accuracy for name in pretrained.available()}
    assert default_model() == max(best_validation, key=best_validation.get)


def error_of(argv: list[str], capsys) -> str:
    """The message of a command that must stop with exit code 2."""
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    return capsys.readouterr().err


def test_bad_folders_and_models_stop_with_a_message_and_exit_code_2(folders, tmp_path, capsys):
    support, queries = folders
    query = str(queries / "1-ring.png")
    assert "support folder" in error_of([str(tmp_path / "nowhere"), query], capsys)
    assert "does not exist: give a folder with one subfolder per class" in error_of(
        [str(tmp_path / "no"), query], capsys
    )
    assert "is a file, not a folder" in error_of([query, query], capsys)
    assert f"query '{tmp_path / 'missing.png'}' does not exist" in error_of(
        [str(support), str(tmp_path / "missing.png")], capsys
    )
    assert "no reference model named 'nonesuch'" in error_of([str(support), query, "--model", "nonesuch"], capsys)
    assert "give a SUPPORT folder and one or more QUERY" in error_of([str(support)], capsys)
    assert "give a SUPPORT folder and one or more QUERY" in error_of([], capsys)

    (support / "empty").mkdir()
    message = error_of([str(support), query, "--model", MODEL], capsys)
    assert f"class folder '{support / 'empty'}' holds no image" in message
    (support / "empty" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    assert f"cannot read '{support / 'empty' / 'broken.png'}' as an image" in error_of([str(support), query], capsys)
    save(np.zeros((60, 60), bool), support / "empty" / "broken.png")
    assert f"{support / 'empty' / 'broken.png'}: no drawing found: the image is blank" in error_of(
        [str(support), query], capsys
    )

    lonely = tmp_path / "lonely"
    save(shape("ring"), lonely / "ring" / "a.png")
    save(shape("ring"), lonely / "loose.png")
    assert "has 1 class subfolder (its 1 images must go into class subfolders)" in error_of(
        [str(lonely), query], capsys
    )
    (tmp_path / "no images").mkdir()
    assert "holds no image" in error_of([str(folders[0] / ".."), str(tmp_path / "no images")], capsys)


# ------------------------------------------------------------------ real Omniglot drawings, as someone else's images


@pytest.mark.skipif(not os.environ.get("OMNIGLOT_DIR"), reason="needs the real Omniglot (set OMNIGLOT_DIR)")
def test_omniglot_drawings_saved_as_foreign_pictures_are_classified_well_above_chance(tmp_path, capsys):
    from oneshot_lib import load_omniglot

    evaluation = load_omniglot("evaluation")
    rng = np.random.default_rng(0)
    characters = rng.choice(len(evaluation), size=10, replace=False)
    for number, character in enumerate(characters):
        for role, drawer in (("support", 0), ("queries", 1)):
            ink = evaluation.images[character, drawer]
            size = int(rng.integers(60, 400))
            grey = Image.fromarray(ink.astype(np.uint8) * 255).resize((size, size), Image.Resampling.BILINEAR)
            big = np.asarray(grey) > 127
            thicker = int(rng.integers(0, 1 + size // 80))
            big = ndimage.binary_dilation(big, iterations=thicker) if thicker else big  # 0 would fill the page
            colours = ((250, 250, 230), (30, 30, 120)) if number % 2 else ((30, 30, 120), (250, 250, 230))
            folder = tmp_path / role / f"c{number}" if role == "support" else tmp_path / role
            save(big, folder / f"c{number}.png", *colours)
    main([str(tmp_path / "support"), str(tmp_path / "queries"), "--model", MODEL, "--json"])
    printed = json.loads(capsys.readouterr().out)
    right = sum(item["predicted"] == Path(item["query"]).stem for item in printed)
    assert right >= 7, f"{right} of 10 right; chance is 1 in 10"  # 10 of 10 with this seed
