"""Train a one-shot model from the command line: ``python -m oneshot_lib.train``.

Trains on the training alphabets of Omniglot's background split, validates on its validation
alphabets (20-way within-alphabet one-shot accuracy, 320 fixed tasks), and writes everything
into ``--output``: ``config.json`` (with this command), ``history.json``, ``best.weights.h5``,
``last.keras`` and ``log.txt``. Run the same command again to resume an interrupted run, or
with a larger ``--minutes``/``--steps`` to train further.

``--model`` picks what to train: the siamese network (pairs), a prototypical or matching
network (episodes: ``--n-way``, ``--k-shot``, ``--n-query``) or the transfer baseline (a
classifier over the training characters, then cosine nearest neighbour). All four are
validated, checkpointed and resumed the same way.

Examples (5 minutes each)::

    python -m oneshot_lib.train --size cpu --minutes 5 --output runs/siamese-cpu
    python -m oneshot_lib.train --model prototypical --rotate-classes --minutes 5 --output runs/proto
"""

from __future__ import annotations

import argparse
import sys

from .data import load_omniglot, train_validation_split
from .notebook import quiet_tensorflow
from .training import DEFAULT_LEARNING_RATES, MODEL_KINDS, TrainingConfig, command_line, train


def parse_layer_rates(text: str) -> dict[str, float]:
    """``"conv_1=2,features=0.5"`` -> {"conv_1": 2.0, "features": 0.5}."""
    rates = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        try:
            rates[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected layer=multiplier pairs, got {item!r}") from None
    return rates


def parser() -> argparse.ArgumentParser:
    defaults = TrainingConfig()
    p = argparse.ArgumentParser(
        prog="python -m oneshot_lib.train",
        description="Train a one-shot model on Omniglot's training alphabets; select on the validation ones.",
    )
    p.add_argument(
        "--output",
        required=True,
        help="folder for checkpoints, history, config and log (resumed if it holds a run)",
    )
    p.add_argument("--minutes", type=float, help="wall-clock budget, validation included")
    p.add_argument("--steps", type=int, dest="max_steps", help="budget in training steps (batches)")
    p.add_argument("--model", default=defaults.model, choices=sorted(MODEL_KINDS))
    p.add_argument("--size", default=defaults.size, help="siamese architecture: cpu (default) or koch")
    episodes = p.add_argument_group("episodic and transfer models")
    episodes.add_argument(
        "--n-way", type=int, default=defaults.n_way, help="classes per training episode (episodic models)"
    )
    episodes.add_argument("--k-shot", type=int, default=defaults.k_shot, help="support images per class")
    episodes.add_argument("--n-query", type=int, default=defaults.n_query, help="query images per class")
    episodes.add_argument(
        "--episode-within-alphabet",
        action=argparse.BooleanOptionalAction,
        default=defaults.episode_within_alphabet,
        help="draw each training episode's classes from one alphabet",
    )
    episodes.add_argument(
        "--rotate-classes",
        action=argparse.BooleanOptionalAction,
        default=defaults.rotate_classes,
        help="rotations by 90, 180 and 270 degrees make new classes (episodic and transfer models)",
    )
    episodes.add_argument(
        "--image-size", type=int, default=defaults.image_size, help="side of the images the embedding reads"
    )
    p.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=defaults.augment,
        help="Koch's affine distortions of the training images (default on)",
    )
    p.add_argument(
        "--optimizer",
        default=defaults.optimizer,
        choices=sorted(DEFAULT_LEARNING_RATES),
        help="adam (the blog's) or sgd (Koch's, with momentum and learning-rate schedules)",
    )
    p.add_argument(
        "--learning-rate", type=float, help=f"base learning rate (default {DEFAULT_LEARNING_RATES})"
    )
    p.add_argument(
        "--layer-rates",
        type=parse_layer_rates,
        default={},
        help="sgd only: per-layer learning-rate multipliers, e.g. conv_1=2,features=0.5",
    )
    p.add_argument(
        "--halve-lr-every",
        type=int,
        default=defaults.halve_lr_every,
        metavar="EPOCHS",
        help="adam only: halve the learning rate every EPOCHS epochs (default 0: never)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=defaults.batch_size,
        help="pairs (siamese) or images (transfer) per step; episodic models train on one episode per step",
    )
    p.add_argument(
        "--hard-negatives",
        action=argparse.BooleanOptionalAction,
        default=defaults.hard_negatives,
        help="draw different pairs from one alphabet",
    )
    p.add_argument(
        "--steps-per-epoch",
        type=int,
        default=defaults.steps_per_epoch,
        help="training steps between two validations",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=defaults.patience,
        help="validations without improvement before stopping",
    )
    p.add_argument("--val-tasks", type=int, default=defaults.val_tasks)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--quiet", action="store_true", help="no progress bar, log lines only")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.minutes is None and args.max_steps is None:
        parser().error("give a budget: --minutes and/or --steps")
    options = {k: v for k, v in vars(args).items() if k not in ("output", "quiet")}
    try:
        config = TrainingConfig(**options)
    except ValueError as error:
        parser().error(str(error))
    quiet_tensorflow()
    train_data, validation_data = train_validation_split(load_omniglot("background"))
    try:
        train(
            config,
            args.output,
            train_data=train_data,
            validation_data=validation_data,
            command=command_line(argv),
            verbose=2 if args.quiet else 1,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: run the same command again to resume from the last checkpoint in {args.output}",
            file=sys.stderr,
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
