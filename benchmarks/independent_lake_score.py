"""A second opinion on a shipped Conv-4 model's score on Lake's 400 trials, with none of the library's scoring code.

The library scores a model on Lake's 20 official runs through its own loader, preprocessing,
shifts and evaluation (``python -m benchmarks.reference_models``). This script scores the same
checkpoint again, every step written here from the published conventions, so that a mistake in
the library's path (a mispaired answer, an off-by-one shift, a wrong resize) would show as a gap:

- **the trials** are read straight from ``all_runs.zip`` with ``zipfile`` and PIL, as Lake's
  ``demo_classification.py`` reads them: each run's ``class_labels.txt`` pairs a test image with
  the training image of its character, and ink is the black pixels (value 0) of an image;
- **the network** is rebuilt in plain Keras from ``best.weights.h5``, read with ``h5py``
  (``conv1`` ... ``convB`` kernels and biases, ``batchnorm1`` ... ``batchnormB`` scale, offset and
  moving statistics), its size checked against ``config.json``'s ``"model"`` entry;
- **the preprocessing** is area averaging from 105x105 to the network's side (``area_resize``), the
  drawing moved on blank paper on a grid of offsets (``paper_shifts``), each drawing's embedding
  the mean over the shifted copies, as ``config.json``'s ``"scoring"`` entry says;
- **the decision** is the cosine of the embeddings and, per test image, the training image with
  the highest one (``np.argmax``: the first on a tie, which the results count).

Only ``--library-check`` (on by default) imports the library, to show the rebuild is right: it
embeds a run's drawings both ways and scores the library's scorer on the same images, trial by
trial. The library's committed number is read from ``results/reference_models.json``.
The script runs past 400 lines because it is one file on purpose: its scoring imports nothing of
the library's (``benchmarks.common`` only records the machine and writes the results files).

    python -m benchmarks.independent_lake_score rotation
    python -m benchmarks.independent_lake_score contrastive

(about four minutes of one core each, half of it the library's check). Writes
``benchmarks/results/independent_lake_score-<model>.{json,md}``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

from benchmarks.common import RESULTS, write_results

CHECKPOINTS = Path(__file__).resolve().parent.parent / "oneshot_lib" / "checkpoints"
#: The official ``all_runs.zip`` (github.com/brendenlake/omniglot, ``python/one-shot-classification/``).
ALL_RUNS_SHA256 = "437c1eeab0af8484112e1b4cc0f3d541ec727f7c47b9b202da738af9dfd6c325"
#: Lake's benchmark: 20 runs, each 20 test images against 20 training images (one per character).
N_RUNS, RUN_SIZE, SIDE = 20, 20, 105
#: Keras's default for ``BatchNormalization``, which the library's Conv-4 uses (the file does not record it).
BATCHNORM_EPSILON = 1e-3
LABELS_FILE = re.compile(r"^(run\d+)/class_labels\.txt$")


# ------------------------------------------------------------------ Lake's runs


@dataclass(frozen=True)
class Run:
    """One run: ``test`` (20, 105, 105) bool and ``train`` (20, 105, 105) bool ink, each sorted by file
    name as Lake's demo sorts them, and ``answers`` (20,) int, the row of ``train`` of each test image."""

    name: str
    test_files: list[str]
    train_files: list[str]
    test: np.ndarray
    train: np.ndarray
    answers: np.ndarray


def read_ink(png: bytes) -> np.ndarray:
    """(H, W) bool, True where the image is black (Lake's ``LoadImgAsPoints``: not ``bool(gray)``)."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("L")) == 0


def read_runs(archive: Path) -> list[Run]:
    """Every run of a zip laid out like ``all_runs.zip`` (``runNN/class_labels.txt``, ``runNN/test/*.png``,
    ``runNN/training/*.png``), in the order of the runs' names.

    Each line of ``class_labels.txt`` is ``<test file> <training file>``, paths from the zip's root.
    Raises ValueError, naming the archive and the run, for a line that is not such a pair, a test
    file named twice, two test images answered by one training image (a run has one drawing per
    character), or a file the zip lacks.
    """
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        runs = sorted(m.group(1) for m in map(LABELS_FILE.match, names) if m)
        if not runs:
            raise ValueError(f"{archive} holds no runNN/class_labels.txt: it is not laid out like all_runs.zip")
        return [read_run(zipped, names, run, archive) for run in runs]


def read_run(zipped: zipfile.ZipFile, names: set[str], run: str, archive: Path) -> Run:
    """One run of ``read_runs``."""
    lines = [line.split() for line in zipped.read(f"{run}/class_labels.txt").decode().splitlines() if line.strip()]
    where = f"{archive}: {run}/class_labels.txt"
    if any(len(pair) != 2 for pair in lines):
        raise ValueError(f"{where} has a line that is not '<test file> <training file>'")
    answer_of = dict(lines)
    if len(answer_of) != len(lines) or len(set(answer_of.values())) != len(lines):
        raise ValueError(f"{where} names a test file twice, or answers two test files with one training file")
    missing = sorted((set(answer_of) | set(answer_of.values())) - names)
    if missing:
        raise ValueError(f"{where} names {missing[0]}, which the zip does not hold")
    test_files, train_files = sorted(answer_of), sorted(answer_of.values())
    return Run(
        name=run,
        test_files=test_files,
        train_files=train_files,
        test=np.stack([read_ink(zipped.read(name)) for name in test_files]),
        train=np.stack([read_ink(zipped.read(name)) for name in train_files]),
        answers=np.array([train_files.index(answer_of[name]) for name in test_files]),
    )


def find_all_runs(data_dir: str | None) -> Path:
    """``all_runs.zip`` in ``data_dir``, else in ``$OMNIGLOT_DIR``; FileNotFoundError saying how to get it."""
    folder = data_dir or os.environ.get("OMNIGLOT_DIR")
    if folder is None:
        raise FileNotFoundError("say where all_runs.zip is: --data-dir FOLDER, or set OMNIGLOT_DIR to its folder")
    path = Path(folder) / "all_runs.zip"
    if not path.is_file():
        raise FileNotFoundError(
            f"no all_runs.zip in {folder}: download it from "
            "https://github.com/brendenlake/omniglot/raw/master/python/one-shot-classification/all_runs.zip"
        )
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ preprocessing


def area_resize(images: np.ndarray, size: int) -> np.ndarray:
    """(n, H, H) images (bool or float) shrunk by area averaging to (n, size, size) float32.

    Each output pixel is the mean of the input over its square of side H / size, partly covered
    pixels weighted by the part covered: the image blown up by ``L / H`` (L the least common
    multiple of H and size) and averaged over blocks of ``L / size``, done as one matrix on each
    side (built with ``repeat`` and ``reshape``) rather than in an L x L array. This is what
    ``tf.image.resize(..., "area")`` computes, which the library's ``conv4.prepare_images`` calls:
    from 105 to 28 (blown up 4 times, blocks of 15) the two agree to float32 rounding (2.8e-8 at
    most on random ink, ``tests/test_independent_lake_score.py`` pins 1e-6), not bit for bit, as
    TensorFlow sums in float32 and this in float64.
    """
    side = images.shape[-1]
    common = np.lcm(side, size)
    average = np.eye(side).repeat(common // side, axis=0).reshape(size, common // size, side).mean(axis=1)
    return np.einsum("ij,njk,lk->nil", average, images.astype(np.float64), average).astype(np.float32)


def paper_shifts(images: np.ndarray, step: int, grid: int) -> np.ndarray:
    """(grid**2, n, H, W): images (n, H, W) moved on blank paper by every (dy, dx) of the grid's offsets.

    The offsets along each axis are ``step`` times -(grid // 2) ... grid // 2 (for grid 5: -2s, -s,
    0, s, 2s). A copy moved by (dy, dx) holds at (y, x) what the image holds at (y - dy, x - dx),
    and paper (0) where that lies outside the image: the images are padded by the largest offset
    and a window cut out per offset. The dtype is kept.
    """
    reach = step * (grid // 2)
    offsets = range(-reach, reach + 1, step) if step else [0]
    height, width = images.shape[-2:]
    padded = np.pad(images, ((0, 0), (reach, reach), (reach, reach)))
    return np.stack(
        [
            padded[:, reach - dy : reach - dy + height, reach - dx : reach - dx + width]
            for dy in offsets
            for dx in offsets
        ]
    )


# ------------------------------------------------------------------ the network


def read_weights(path: Path) -> dict[str, list[np.ndarray]]:
    """{layer name: its arrays in the file's order} for every layer of the ``embedding`` group of a
    Keras 3 ``.weights.h5`` file (layers are stored under class-based keys, named in an attribute)."""
    with h5py.File(path, "r") as weights:
        if "embedding/layers" not in weights:
            raise ValueError(f"{path} has no embedding/layers group: not a Conv-4 model's weights file")
        layers = {}
        for group in weights["embedding/layers"].values():
            arrays = group["vars"]
            layers[str(arrays.attrs["name"])] = [np.asarray(arrays[str(i)]) for i in range(len(arrays))]
        return layers


def build_network(folder: Path):
    """The checkpoint's Conv-4 embedding as a plain ``keras.Sequential``, with its weights from the file.

    Blocks of conv 3x3 ('same') -> batch normalisation -> ReLU -> max-pool 2x2, then flatten;
    the number of blocks and filters come from the file and must match ``config.json``.
    Returns (network, image side).
    """
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    model = json.loads((folder / "config.json").read_text())["model"]["config"]
    side, filters, blocks = model["image_size"], model["filters"], model["blocks"]
    weights = read_weights(folder / "best.weights.h5")
    convs = sorted(name for name in weights if re.fullmatch(r"conv\d+", name))
    if convs != [f"conv{b}" for b in range(1, blocks + 1)] or weights["conv1"][0].shape[-1] != filters:
        raise ValueError(f"{folder}: the weights hold {convs}, config.json says {blocks} blocks of {filters} filters")
    layers = [keras.Input((side, side, 1))]
    for block in range(1, blocks + 1):
        layers += [
            keras.layers.Conv2D(filters, 3, padding="same", name=f"conv{block}"),
            keras.layers.BatchNormalization(epsilon=BATCHNORM_EPSILON, name=f"batchnorm{block}"),
            keras.layers.ReLU(),
            keras.layers.MaxPooling2D(2),
        ]
    network = keras.Sequential([*layers, keras.layers.Flatten()])
    for block in range(1, blocks + 1):
        network.get_layer(f"conv{block}").set_weights(weights[f"conv{block}"])  # kernel, bias
        # gamma, beta, moving mean, moving variance: Keras 3's order of a BatchNormalization's variables
        network.get_layer(f"batchnorm{block}").set_weights(weights[f"batchnorm{block}"])
    return network, side


def embed(network, side: int, ink: np.ndarray, step: int, grid: int, batch: int = 1000) -> np.ndarray:
    """(n, D) float64: each drawing of ink (n, 105, 105) bool embedded at every shift, then averaged."""
    copies = paper_shifts(ink, step, grid)
    flat = area_resize(copies.reshape(-1, *ink.shape[1:]), side)[..., None]
    out = np.concatenate([np.asarray(network(flat[i : i + batch], training=False)) for i in range(0, len(flat), batch)])
    return out.reshape(len(copies), len(ink), -1).mean(axis=0, dtype=np.float64)


def cosine(query: np.ndarray, support: np.ndarray) -> np.ndarray:
    """(Q, S) cosines of query (Q, D) and support (S, D) vectors (0 for an all-zero vector)."""

    def unit(vectors):
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    return unit(query) @ unit(support).T


@dataclass(frozen=True)
class Scored:
    """``predicted`` (runs, 20) int rows of ``train``; ``per_run`` (runs,) accuracy; ``ties`` trials whose
    best cosine was shared (argmax took the first)."""

    predicted: np.ndarray
    per_run: np.ndarray
    ties: int


def score(network, side: int, runs: list[Run], step: int, grid: int) -> Scored:
    """Lake's decision rule on every run: each test image goes to the training image of highest cosine."""
    predicted, ties = [], 0
    for run in runs:
        cosines = cosine(embed(network, side, run.test, step, grid), embed(network, side, run.train, step, grid))
        ties += int(((cosines == cosines.max(axis=1, keepdims=True)).sum(axis=1) > 1).sum())
        predicted.append(cosines.argmax(axis=1))
    predicted = np.array(predicted)
    answers = np.array([run.answers for run in runs])
    return Scored(predicted, (predicted == answers).mean(axis=1), ties)


def stderr(values: np.ndarray) -> float:
    """Standard error of the mean: sample standard deviation (ddof 1) over the square root of the count."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values)))


# ------------------------------------------------------------------ the library, for comparison only


def library_check(name: str, network, side: int, runs: list[Run], step: int, grid: int) -> dict:
    """How far this rebuild is from the library's model, and the library's own picks on the same images.

    Returns the largest absolute differences of the resized images (``conv4.prepare_images``),
    the unshifted embeddings and the shift-averaged embeddings on the first run's 40 drawings, and
    the library scorer's predictions (``pretrained.load(name).scores``, argmax) on every trial.
    """
    from oneshot_lib import pretrained
    from oneshot_lib.models.conv4 import prepare_images

    scorer = pretrained.load(name)
    drawings = np.concatenate([runs[0].test, runs[0].train])
    mine_resized = area_resize(drawings, side)
    theirs_resized = prepare_images(drawings, side).numpy()[..., 0]
    mine_plain = np.asarray(network(mine_resized[..., None], training=False))
    theirs_plain = scorer.scorer.embed(drawings)
    predicted = np.array([scorer.scores(run.test, run.train).argmax(axis=1) for run in runs])
    return {
        "resized_max_difference": float(np.abs(mine_resized - theirs_resized).max()),
        "embedding_max_difference": float(np.abs(mine_plain - theirs_plain).max()),
        "embedding_scale": float(np.abs(theirs_plain).max()),
        "shift_averaged_max_difference": float(
            np.abs(embed(network, side, drawings, step, grid) - scorer.embed(drawings)).max()
        ),
        "library_predicted": predicted,
    }


def committed_library_number(name: str) -> dict | None:
    """The library's committed score of ``name`` (``results/reference_models.json``), or None."""
    path = RESULTS / "reference_models.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    row = record["models"].get(name)
    if row is None:
        return None
    scored_by = record.get("scored_by", {}).get(name, f"`{record['command']}` on {record['date']}")
    return {"lake": row["lake"], "lake_stderr": row["lake_stderr"], "scored_by": scored_by}


# ------------------------------------------------------------------ the command


def table(name: str, results: dict) -> str:
    """The results as Markdown: the two numbers, the checks, and a row per run."""
    ours, library, check = results["independent"], results["library_committed"], results.get("library_check")
    lines = [
        f"Model `{name}`: Conv-4 rebuilt from `best.weights.h5`; each drawing's embedding averaged over a "
        f"{results['grid']}x{results['grid']} grid of {results['shift_pixels']} px shifts on blank paper; "
        "cosine; the nearest training image.\n",
        "| scorer | Lake's 400 trials (mean ± standard error over the 20 runs) | trials right |",
        "| --- | --- | --- |",
        f"| this script | {ours['accuracy']:.1%} ± {ours['stderr']:.1%} | {ours['correct']} of {ours['trials']} |",
    ]
    if library:
        lines.append(
            f"| library, committed ({library['scored_by']}) | {library['lake']:.1%} ± {library['lake_stderr']:.1%} | "
            f"{round(library['lake'] * ours['trials'])} of {ours['trials']} |"
        )
    if check:
        lines.append(
            f"| library's scorer now, same images | {check['accuracy']:.1%} ± {check['stderr']:.1%} | "
            f"{check['correct']} of {ours['trials']} |"
        )
        lines += [
            "",
            f"Against the library on run 1's 40 drawings, largest absolute differences: resized images "
            f"{check['resized_max_difference']:.1e}; embeddings {check['embedding_max_difference']:.1e} "
            f"(largest entry {check['embedding_scale']:.2f}); shift-averaged embeddings "
            f"{check['shift_averaged_max_difference']:.1e}. Same pick on {check['same_predictions']} of "
            f"{ours['trials']} trials.",
        ]
    lines += [
        f"\nTrials whose best cosine was shared: {ours['ties']}. `all_runs.zip` sha256 "
        f"{'is the official one' if results['archive_is_official'] else 'is NOT the official one'}.\n",
        "| run | " + " | ".join(str(i) for i in range(1, len(ours["per_run"]) + 1)) + " |",
        "| --- |" + " --- |" * len(ours["per_run"]),
        "| this script | " + " | ".join(f"{a:.0%}" for a in ours["per_run"]) + " |",
    ]
    if check:
        lines.append("| library now | " + " | ".join(f"{a:.0%}" for a in check["per_run"]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name", help="a shipped model in oneshot_lib/checkpoints (rotation, contrastive, ...)")
    parser.add_argument("--data-dir", help="the folder holding all_runs.zip (default: $OMNIGLOT_DIR)")
    parser.add_argument(
        "--no-library-check", dest="library_check", action="store_false", help="skip the comparison with the library"
    )
    args = parser.parse_args()

    folder = CHECKPOINTS / args.name
    if not (folder / "best.weights.h5").is_file() or not (folder / "config.json").is_file():
        shipped = sorted(p.name for p in CHECKPOINTS.iterdir() if (p / "best.weights.h5").is_file())
        parser.error(f"no shipped model named {args.name!r}; the shipped models are {shipped}")
    scoring = json.loads((folder / "config.json").read_text()).get("scoring") or {}
    if scoring.get("fill", "paper") != "paper" or not scoring.get("test_shifts"):
        parser.error(f"{args.name} does not score with shifts on paper (its config says {scoring}): not handled here")
    step, grid = int(scoring["test_shifts"]), int(scoring.get("grid", 3))
    try:
        archive = find_all_runs(args.data_dir)
    except FileNotFoundError as error:
        parser.error(str(error))
    official = sha256(archive) == ALL_RUNS_SHA256
    runs = read_runs(archive)
    if len(runs) != N_RUNS or any(r.test.shape != (RUN_SIZE, SIDE, SIDE) for r in runs):
        parser.error(f"{archive} does not hold Lake's {N_RUNS} runs of {RUN_SIZE} trials at {SIDE}x{SIDE}")

    network, side = build_network(folder)
    scored = score(network, side, runs, step, grid)
    trials = scored.predicted.size
    independent = {
        "accuracy": float(scored.per_run.mean()),
        "stderr": stderr(scored.per_run),
        "correct": int(round(scored.per_run.sum() * RUN_SIZE)),
        "trials": trials,
        "ties": scored.ties,
        "per_run": scored.per_run.tolist(),
    }
    results = {
        "model": args.name,
        "weights_sha256": sha256(folder / "best.weights.h5"),
        "archive_is_official": official,
        "shift_pixels": step,
        "grid": grid,
        "independent": independent,
        "library_committed": committed_library_number(args.name),
    }
    if args.library_check:
        check = library_check(args.name, network, side, runs, step, grid)
        theirs = check.pop("library_predicted")
        per_run = (theirs == np.array([run.answers for run in runs])).mean(axis=1)
        results["library_check"] = {
            **check,
            "accuracy": float(per_run.mean()),
            "stderr": stderr(per_run),
            "correct": int(round(per_run.sum() * RUN_SIZE)),
            "same_predictions": int((theirs == scored.predicted).sum()),
            "per_run": per_run.tolist(),
        }
    write_results(f"independent_lake_score-{args.name}", results, table(args.name, results))


if __name__ == "__main__":
    main()
