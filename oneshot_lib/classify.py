"""Classify your own images by a shipped model: ``python -m oneshot_lib.classify SUPPORT QUERY...``.

SUPPORT is a folder with one subfolder per class, named for the class, holding one or more
images of it; each QUERY is an image file or a folder of them. Images may be of any size, grey
or colour, dark ink on light paper or light on dark: each is made an Omniglot-like drawing first
(``scoring.any_image``). The command prints one line per query (the file, the class picked and
its score, the runner-up and its score); ``--json`` prints a JSON list of
``{"query", "predicted", "scores"}`` objects instead. Scores are the model's own (a prototypical
network's are minus squared distances): compare them within a query, not across models.

    python -m oneshot_lib.classify my_symbols/ new_drawing.png more_drawings/
    python -m oneshot_lib.classify my_symbols/ queries/ --model matching --json

The same from Python, in one call: ``classify_folders(support, queries, model)``. The default
model is the shipped model with the best accuracy on the evaluation alphabets
(``default_model``).

``--export DIR`` writes the model's embedding network instead, as a TensorFlow SavedModel that
plain TensorFlow serves (``models.serving``; the README's "Use a model outside the course" shows
how), with ``oneshot.json`` saying how to compare its embeddings::

    python -m oneshot_lib.classify --export served/prototypical --model prototypical

Bad input stops the command before any model loads, with a message and exit code 2: a missing
folder or file, a class folder without an image, an image that cannot be read or is blank,
fewer than two classes, an unknown model.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from oneshot_lib import pretrained
from oneshot_lib.models.serving import export_for_serving
from oneshot_lib.notebook import quiet_tensorflow
from oneshot_lib.scoring.any_image import as_drawing
from oneshot_lib.scoring.comparisons import load_reference_models
from oneshot_lib.scoring.named_classes import Prediction, predict_classes

#: The file endings read as images (any case).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")


def default_model() -> str:
    """The shipped model with the best accuracy on 20-way within-alphabet one-shot tasks of the evaluation alphabets.

    Read from ``benchmarks/results/reference_models.json`` (a source checkout's); where that file
    is missing (an installed package), the shipped model with the best validation accuracy.
    """
    shipped = pretrained.available()
    if not shipped:
        raise ValueError("no reference model is shipped with this installation: give a run folder with --model")
    try:
        scores = {name: m.evaluation_within_1shot for name, m in load_reference_models().models.items()}
    except FileNotFoundError:
        scores = {name: pretrained.history(name).best_val_oneshot_accuracy for name in shipped}
    scores = {name: score for name, score in scores.items() if name in shipped} or dict.fromkeys(shipped, 0.0)
    return max(scores, key=scores.get)


def image_files(folder: Path) -> list[Path]:
    """The image files directly in ``folder`` (by ``IMAGE_SUFFIXES``, hidden files left out), sorted by name."""
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
    )


def read_drawing(path: Path) -> np.ndarray:
    """(105, 105) bool drawing of the image file ``path``; ValueError naming the file if it cannot be one."""
    try:
        return as_drawing(path)
    except ValueError as error:
        message = str(error)
        raise ValueError(message if str(path) in message else f"{path}: {message}") from None


def read_support(folder: str | Path) -> dict[str, np.ndarray]:
    """{class name: (k, 105, 105) bool drawings} of a support folder: one subfolder per class, named for it.

    Classes come in the order of their folders' names. Raises ValueError if ``folder`` is not a
    folder, has fewer than 2 class subfolders, or a class folder holds no image, or an image
    cannot be read (naming it).
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise ValueError(f"support folder {str(folder)!r} {what}: give a folder with one subfolder per class")
    classes = sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))
    if len(classes) < 2:
        loose = len(image_files(folder))
        hint = f" (its {loose} images must go into class subfolders)" if loose else ""
        raise ValueError(
            f"support folder {str(folder)!r} has {len(classes)} class subfolder{'s' * (len(classes) != 1)}{hint}: "
            "give at least 2, each named for its class and holding one or more images of it"
        )
    support = {}
    for path in classes:
        files = image_files(path)
        if not files:
            raise ValueError(
                f"class folder {str(path)!r} holds no image ({', '.join(IMAGE_SUFFIXES)}): "
                "put one or more images of the class in it, or remove it"
            )
        support[path.name] = np.stack([read_drawing(file) for file in files])
    return support


def find_queries(paths: Sequence[str | Path]) -> list[Path]:
    """The query files: each path that is a file, and the image files of each path that is a folder, in order.

    Raises ValueError for a path that does not exist, a folder without images, or no path at all.
    """
    if not paths:
        raise ValueError("no query: give one or more image files or folders of them")
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            files = image_files(path)
            if not files:
                raise ValueError(f"query folder {str(path)!r} holds no image ({', '.join(IMAGE_SUFFIXES)})")
            found += files
        elif path.is_file():
            found.append(path)
        else:
            raise ValueError(f"query {str(path)!r} does not exist: give an image file or a folder of them")
    return found


def classify_folders(
    support: str | Path, queries: Sequence[str | Path] | str | Path, model: str | Path | None = None
) -> list[Prediction]:
    """Each query image's ``Prediction`` against the classes of a support folder, by one model.

    Args:
        support: a folder with one subfolder per class (named for it), each with one or more images.
        queries: image files and folders of them (one path, or several).
        model: a shipped model's name (``pretrained.available()``) or a run folder; by default
            ``default_model()``.

    Returns:
        one ``Prediction`` per query file, in order: ``.predicted``, ``.scores`` (class -> score),
        ``.query`` (the path as given, or as found in a folder given).

    Raises:
        ValueError saying what is wrong, before any model loads: see ``read_support``,
        ``find_queries``, ``scoring.any_image.as_drawing``; an unknown model name.
    """
    if isinstance(queries, str | Path):
        queries = [queries]
    model = default_model() if model is None else model
    pretrained.folder(model)  # an unknown name is refused before any image is read
    classes = read_support(support)
    files = find_queries(queries)
    drawings = np.stack([read_drawing(path) for path in files])
    quiet_tensorflow()
    return predict_classes(pretrained.load(model), classes, drawings, [str(path) for path in files])


def export_model(directory: str | Path, model: str | Path | None = None) -> Path:
    """Write ``model``'s embedding network (default ``default_model()``) to ``directory`` for serving.

    See ``models.serving.export_for_serving``. Returns ``directory``. Raises ValueError for an
    unknown model, one that cannot be served (a siamese network, MAML, Reptile), or a
    ``directory`` that is not new or empty, before anything is written.
    """
    model = default_model() if model is None else model
    pretrained.folder(model)
    quiet_tensorflow()
    return export_for_serving(pretrained.load(model), directory, name=Path(model).name)


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python -m oneshot_lib.classify",
        description="Classify images by a shipped one-shot model, against classes given by one or more images each.",
        epilog="Images may be any size, grey or colour, dark on light or light on dark: each is made an "
        "Omniglot-like 105x105 drawing first.",
    )
    p.add_argument(
        "support", metavar="SUPPORT", nargs="?", help="a folder with one subfolder per class, named for the class"
    )
    p.add_argument("queries", metavar="QUERY", nargs="*", help="an image file, or a folder of them")
    p.add_argument(
        "--model",
        help=f"a shipped model ({', '.join(pretrained.available())}) or a run folder; "
        "default: the best on the evaluation alphabets",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list of {query, predicted, scores}")
    p.add_argument(
        "--export",
        metavar="DIR",
        help="instead of classifying, write the model's embedding network to the new folder DIR as a TensorFlow "
        "SavedModel (tf.saved_model.load serves it), with oneshot.json saying how to compare embeddings",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Check the folders, images and model (exit 2 with a message), then classify and print."""
    cli = parser()
    args = cli.parse_args(argv)
    if args.export is not None:
        if args.support is not None or args.json:
            cli.error("--export DIR takes only --model: export first, then classify in another command")
        try:
            path = export_model(args.export, args.model)
        except ValueError as error:
            cli.error(str(error))
        print(f"wrote the embedding network to {path} (how to compare its embeddings: {path / 'oneshot.json'})")
        return 0
    if args.support is None or not args.queries:
        cli.error("give a SUPPORT folder and one or more QUERY images or folders (or --export DIR)")
    try:
        predictions = classify_folders(args.support, args.queries, args.model)
    except ValueError as error:
        cli.error(str(error))
    if args.json:
        print(json.dumps([prediction.as_json() for prediction in predictions], indent=2))
    else:
        for prediction in predictions:
            print(prediction.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
