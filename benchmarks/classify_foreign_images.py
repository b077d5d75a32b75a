"""The folder command on someone else's pictures: 20 new characters, one picture each, against plain Omniglot.

For each of the first ``--alphabets`` evaluation alphabets (sorted by name) with at least 20
characters: its first 20 characters make a 20-way one-shot task. The first drawing of each is the
support, the next ``--queries`` drawings the queries. Every drawing is written as a PNG dressed
as someone else's picture (``oneshot_lib.data.pictures``, seed ``--seed``): a size from 60 to
400 pixels, strokes thickened, a larger page with the drawing anywhere on it, coloured ink on
coloured paper, light ink on dark paper for every other character. The folders are then
classified by ``oneshot_lib.classify.classify_folders``, which ``python -m oneshot_lib.classify``
wraps, with ``--model``'s model. Against that, the same tasks scored on the plain drawings as the
course scores them (``rules.class_scores_of`` on the 105x105 masks), and on the plain drawings
written as PNGs and read back through the command (what the preprocessing costs on its own).

    python -m benchmarks.classify_foreign_images

Writes ``benchmarks/results/classify_foreign_images.{json,md}``. Chance is 1 in 20 (5%).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.common import provenance, write_results

WAYS = 20


def write_folders(root: Path, support: np.ndarray, queries: np.ndarray, pictures) -> tuple[Path, Path]:
    """Write support (N, 105, 105) and queries (N, Q, 105, 105) under ``root`` as ``pictures(drawing, n)`` gives them.

    Returns (support folder, query folder); a query file is named ``<class>-<number>.png``.
    """
    support_folder, query_folder = root / "support", root / "queries"
    query_folder.mkdir(parents=True)
    for n, drawing in enumerate(support):
        (support_folder / f"c{n:02d}").mkdir(parents=True)
        Image.fromarray(pictures(drawing, n)).save(support_folder / f"c{n:02d}" / "support.png")
        for q, query in enumerate(queries[n]):
            Image.fromarray(pictures(query, n)).save(query_folder / f"c{n:02d}-{q:02d}.png")
    return support_folder, query_folder


def command_accuracy(support_folder: Path, query_folder: Path, model: str) -> float:
    """Share of the query files whose class the command names (a file's class is its name's first part)."""
    from oneshot_lib.classify import classify_folders

    predictions = classify_folders(support_folder, query_folder, model)
    return float(np.mean([p.predicted == Path(p.query).stem.split("-")[0] for p in predictions]))


def plain_accuracy(scorer, support: np.ndarray, queries: np.ndarray) -> float:
    """Accuracy on the plain drawings as the course scores them: the scorer's class rule, best class picked."""
    from oneshot_lib.scoring.rules import class_scores_of

    n, q = queries.shape[:2]
    per_class = class_scores_of(scorer, queries.reshape(n * q, 105, 105), support, np.arange(n), n)
    return float(np.mean(per_class.argmax(axis=1) == np.repeat(np.arange(n), q)))


def main() -> None:
    from oneshot_lib import load_omniglot, pretrained
    from oneshot_lib.classify import default_model
    from oneshot_lib.data.pictures import foreign_picture, random_style
    from oneshot_lib.notebook import quiet_tensorflow

    p = argparse.ArgumentParser(prog="python -m benchmarks.classify_foreign_images", description=__doc__.split("\n")[0])
    p.add_argument("--model", help="a shipped model (default: the command's default)")
    p.add_argument("--alphabets", type=int, default=5, help="how many evaluation alphabets, each one 20-way task")
    p.add_argument("--queries", type=int, default=10, help="query drawings per character (at most 19)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    quiet_tensorflow()
    model = args.model or default_model()
    scorer = pretrained.load(model)
    evaluation = load_omniglot("evaluation")
    names = [a for a in sorted(evaluation.alphabet_names) if np.sum(evaluation.alphabets == a) >= WAYS]
    rng = np.random.default_rng(args.seed)

    def dressed(drawing: np.ndarray, n: int) -> np.ndarray:
        return foreign_picture(drawing, random_style(rng, inverted=n % 2 == 1))

    def plain(drawing: np.ndarray, _n: int) -> np.ndarray:
        return np.where(drawing, 0, 255).astype(np.uint8)

    tasks = {}
    for alphabet in names[: args.alphabets]:
        rows = np.flatnonzero(evaluation.alphabets == alphabet)[:WAYS]
        support, queries = evaluation.images[rows, 0], evaluation.images[rows, 1 : 1 + args.queries]
        accuracies = {"plain drawings, scored directly": plain_accuracy(scorer, support, queries)}
        for name, pictures in (
            ("plain drawings as PNGs, by the command", plain),
            ("foreign pictures, by the command", dressed),
        ):
            with tempfile.TemporaryDirectory() as root:
                folders = write_folders(Path(root), support, queries, pictures)
                accuracies[name] = command_accuracy(*folders, model)
        tasks[alphabet] = accuracies
        print(alphabet, accuracies, flush=True)
    columns = list(next(iter(tasks.values())))
    queries_per_task = WAYS * args.queries
    overall = {c: float(np.mean([t[c] for t in tasks.values()])) for c in columns}
    stderr = {c: float(np.sqrt(overall[c] * (1 - overall[c]) / (queries_per_task * len(tasks)))) for c in columns}
    lines = [
        f"Model `{model}`; {len(tasks)} tasks of {WAYS}-way one-shot, {args.queries} queries per character "
        f"({queries_per_task} per task); chance 5%. ± is the binomial standard error over all queries.",
        "",
        "| alphabet | " + " | ".join(columns) + " |",
        "| --- |" + " --- |" * len(columns),
    ]
    for alphabet, accuracies in tasks.items():
        lines.append(f"| {alphabet.replace('_', ' ')} | " + " | ".join(f"{accuracies[c]:.1%}" for c in columns) + " |")
    lines.append("| **all** | " + " | ".join(f"**{overall[c]:.1%}** ± {stderr[c]:.1%}" for c in columns) + " |")
    from oneshot_lib.scoring.comparisons import ForeignImages

    results = ForeignImages(
        **provenance(),
        model=model,
        ways=WAYS,
        queries_per_character=args.queries,
        seed=args.seed,
        chance=1 / WAYS,
        tasks=tasks,
        overall=overall,
        overall_stderr=stderr,
    )
    write_results("classify_foreign_images", results, "\n".join(lines))


if __name__ == "__main__":
    main()
