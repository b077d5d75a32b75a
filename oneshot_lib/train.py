"""Train a one-shot model from the command line: ``python -m oneshot_lib.train``.

Trains on the training alphabets of Omniglot's background split, validates on its validation
alphabets (20-way within-alphabet one-shot accuracy, 320 fixed tasks), and writes everything
into ``--output`` (see ``oneshot_lib.training.run_folder``). Run the same command again to resume an
interrupted run (even one stopped in its first epoch), or with a larger ``--minutes``/``--steps``
to train further. One process at a time trains into a folder: a second is refused.

``--model`` picks what to train: the siamese network (pairs), a prototypical or matching
network (episodes: ``--n-way``, ``--k-shot``, ``--n-query``), the transfer baseline (a
classifier over the training characters, then the cosine of its features) or a self-supervised
network that never sees a training label (``rotation`` prediction, ``contrastive`` learning
with ``--temperature``, ``--distortion-strength``, ``--erase-probability``, or ``masked``
prediction of hidden patches with ``--mask-ratio``, ``--patch-size``), or a meta-learnt
initialisation that adapts on each task's support set (``maml``, with ``--first-order``, and
``reptile``: ``--inner-steps``, ``--inner-learning-rate``, ``--test-inner-steps``,
``--meta-batch-size``, and the episode flags). All are validated,
checkpointed and resumed the same way. Every option is a field of ``config.TrainingConfig``,
with its help text; an option that does not apply to the chosen kind is not recorded.

Examples (5 minutes each)::

    python -m oneshot_lib.train --size cpu --minutes 5 --output runs/siamese-cpu
    python -m oneshot_lib.train --model prototypical --rotate-classes --minutes 5 --output runs/proto
    python -m oneshot_lib.train --model contrastive --minutes 5 --output runs/contrastive
    python -m oneshot_lib.train --model masked --mask-ratio 0.5 --patch-size 4 --minutes 5 --output runs/masked
    python -m oneshot_lib.train --model maml --first-order --n-way 5 --meta-batch-size 4 --minutes 5 --output runs/maml

``--distribute`` trains on every visible GPU at once (``oneshot_lib.training.distribute``); without a
GPU it trains on the CPU as one replica, and says so. ``--cpu-devices N`` splits the CPU into
N logical devices to try the distribution without a GPU::

    python -m oneshot_lib.train --distribute --cpu-devices 2 --steps 20 --output runs/two-devices
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import MISSING, Field, fields
from pathlib import Path

from oneshot_lib.data.omniglot import load_omniglot, train_validation_split
from oneshot_lib.notebook import quiet_tensorflow
from oneshot_lib.training.callbacks import TrainingDiverged, check_validation_tasks
from oneshot_lib.training.config import TrainingConfig
from oneshot_lib.training.distribute import check_device_options, make_strategy
from oneshot_lib.training.kinds import MODEL_KINDS, check_replicas, kind_of
from oneshot_lib.training.loading import find_run
from oneshot_lib.training.resuming import check_can_train_into
from oneshot_lib.training.run_folder import RunFiles, RunFolderError, read_run_record
from oneshot_lib.training.trainer import CannotTrain, train, training_characters

#: Fields with a flag of their own below (the budgets' flags are named for the user, not the field).
SPECIAL_FIELDS = ("model", "minutes", "max_steps")
#: Options of the command, not of the run: how it is shown and on which devices it trains.
RUN_ONLY_OPTIONS = ("output", "quiet", "distribute", "cpu_devices")


def parse_layer_rates(text: str) -> dict[str, float]:
    """``"conv_1=2,features=0.5"`` -> {"conv_1": 2.0, "features": 0.5}."""
    rates = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        try:
            rates[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected layer=multiplier pairs, got {item!r}") from None
        if not name.strip():
            raise argparse.ArgumentTypeError(f"expected layer=multiplier pairs, got {item!r} (no layer name)")
    return rates


def parser() -> argparse.ArgumentParser:
    """The command line: the run's own options, then one group each for kind and optimiser options."""
    p = argparse.ArgumentParser(
        prog="python -m oneshot_lib.train",
        description="Train a one-shot model on Omniglot's training alphabets; select on the validation ones.",
    )
    p.add_argument("--output", required=True, help="folder for the run's files (resumed if it holds that run)")
    p.add_argument("--minutes", type=float, help="wall-clock budget, validation included")
    p.add_argument("--steps", type=int, dest="max_steps", help="budget in training steps (batches)")
    p.add_argument("--model", default=TrainingConfig().model, choices=sorted(MODEL_KINDS))
    p.add_argument("--quiet", action="store_true", help="no progress bar, log lines only")
    p.add_argument(
        "--distribute",
        action="store_true",
        help="train on every visible GPU at once (tf.distribute.MirroredStrategy), each batch shared among "
        "them; without a GPU, on the CPU as one replica",
    )
    p.add_argument(
        "--cpu-devices",
        type=int,
        metavar="N",
        help="with --distribute: split the CPU into N logical devices and train on them (tests the "
        "distribution without a GPU; not faster)",
    )
    groups = {
        "run": p,
        "kind": p.add_argument_group("model kind options (each names the kinds that read it)"),
        "optimizer": p.add_argument_group("optimiser options"),
    }
    for spec in fields(TrainingConfig):
        if spec.name not in SPECIAL_FIELDS:
            group = "kind" if spec.metadata["kind_option"] else "optimizer" if spec.metadata["optimizer"] else "run"
            _add_option(groups[group], spec)
    return p


def _add_option(group, spec: Field) -> None:
    default = spec.default_factory() if spec.default is MISSING else spec.default
    help_text = spec.metadata["help"]
    if spec.metadata["kind_option"]:
        readers = [name for name, kind in MODEL_KINDS.items() if spec.name in kind.options]
        help_text += f" [{', '.join(readers)}]"
    flag = "--" + spec.name.replace("_", "-")
    if isinstance(default, bool):
        group.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
    elif isinstance(default, dict):
        group.add_argument(flag, type=parse_layer_rates, default=default, help=help_text)
    else:
        value_type = (str if str(spec.type).startswith("str") else float) if default is None else type(default)
        group.add_argument(flag, type=value_type, default=default, help=f"{help_text} (default {default})")


def config_options(args: argparse.Namespace) -> dict:
    """The parsed options that are fields of ``TrainingConfig`` (all but ``RUN_ONLY_OPTIONS``)."""
    return {name: value for name, value in vars(args).items() if name not in RUN_ONLY_OPTIONS}


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed (``python -m oneshot_lib.train ...``), shell-quoted."""
    return shlex.join(["python", "-m", "oneshot_lib.train", *(sys.argv[1:] if argv is None else argv)])


def main(argv: list[str] | None = None) -> int:
    """Check everything that can be checked first (exit 2 with a usage error), then train."""
    cli = parser()
    args = cli.parse_args(argv)
    if args.minutes is None and args.max_steps is None:
        cli.error("give a budget: --minutes and/or --steps")
    if not args.output.strip():
        cli.error("--output must name a folder for the run, e.g. runs/NAME")
    try:
        config = TrainingConfig(**config_options(args))
        kind = kind_of(config)
        check_can_train_into(RunFiles(Path(args.output)), config)
        if config.start_from is not None:
            read_run_record(RunFiles(find_run(config.start_from)))
        check_device_options(args.distribute, args.cpu_devices, config.mixed_precision)
    except ValueError as error:
        cli.error(str(error))
    quiet_tensorflow()
    strategy = None
    if args.distribute:
        strategy, note = make_strategy(args.cpu_devices)
        if note:
            print(note, file=sys.stderr)
        try:
            check_replicas(config, strategy.num_replicas_in_sync)
        except ValueError as error:
            cli.error(str(error))
    background = load_omniglot("background")
    train_data, validation_data = train_validation_split(background)
    if config.train_on_validation_alphabets:
        train_data = background
    try:
        kind.check_data(training_characters(train_data, config), config)
    except ValueError as error:
        cli.error(f"the training alphabets cannot feed this run: {error}")
    try:
        check_validation_tasks(validation_data, config.val_way, config.val_within_alphabet)
    except ValueError as error:
        cli.error(f"the validation alphabets cannot give these tasks: {error}")
    try:
        train(
            config,
            args.output,
            train_data=train_data,
            validation_data=validation_data,
            command=command_line(argv),
            verbose=2 if args.quiet else 1,
            strategy=strategy,
        )
    except RunFolderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except CannotTrain as error:  # raised before anything is written: the run cannot start
        cli.error(str(error))
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: run the same command again to resume from the last checkpoint in {args.output}",
            file=sys.stderr,
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
