"""Tiny training runs on two logical CPU devices, for ``test_distribute.py``.

    python tests/distributed_runs.py FOLDER [KIND ...]
    python tests/distributed_runs.py --koch-step

The CPU can be split into logical devices only once per process, before TensorFlow starts its
devices, so these runs train in a process of their own. In FOLDER:

- ``siamese-two`` and ``siamese-one``: a tiny siamese network (no batch normalisation, so the
  replicas' summed gradients are exactly one device's), two steps on two replicas and on one
  device; then each is resumed to step 3 on the other number of devices;
- ``KIND-two`` for each KIND given: two steps of the tiny run of that kind on two replicas.

The test reads what they wrote (histories, checkpoints) itself. ``--koch-step`` instead trains
Koch's full-size network (38,951,745 parameters) for one step of 2 pairs on two replicas, as a
run would but without a run folder (its checkpoints would take 600 MB), and prints the loss
and the weights changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from oneshot_lib.training.distribute import make_strategy

strategy, _ = make_strategy(cpu_devices=2)  # first, before anything starts TensorFlow's devices

from conftest import tiny_run_config, tiny_splits  # noqa: E402

from oneshot_lib.models import siamese  # noqa: E402
from oneshot_lib.training import (  # noqa: E402
    kinds,
    trainer,  # noqa: E402
)
from oneshot_lib.training.distribute import distributed_dataset  # noqa: E402

#: test_training.py's tiny siamese network: four convolutions, no batch normalisation.
TINY_SIAMESE = siamese.Architecture(input_size=28, filters=(2, 3, 3, 4), kernels=(3, 3, 2, 2), dense_units=8)


def train(folder: Path, model: str, two_replicas: bool, **changes) -> None:
    """The tiny run of ``model`` (``conftest.tiny_run_config``) on ``conftest.tiny_splits``."""
    train_data, validation_data = tiny_splits()
    trainer.train(
        tiny_run_config(model, **changes),
        folder,
        train_data=train_data,
        validation_data=validation_data,
        verbose=0,
        strategy=strategy if two_replicas else None,
    )


def main(folder: Path, kinds: list[str]) -> None:
    siamese.ARCHITECTURES["tiny"] = TINY_SIAMESE
    for name, two_replicas in (("siamese-two", True), ("siamese-one", False)):
        train(folder / name, "siamese", two_replicas, size="tiny")
        train(folder / name, "siamese", not two_replicas, size="tiny", max_steps=3)
    for kind in kinds:
        train(folder / f"{kind}-two", kind, True)


def koch_step() -> None:
    """One step of Koch's network on two replicas, each with one of the batch's 2 pairs."""
    config = tiny_run_config("siamese", size="koch", batch_size=2)
    kind = kinds.kind_of(config)
    with strategy.scope():
        model = trainer.compile_model(kind.build(config, None), config)
    before = [weights.copy() for weights in model.get_weights()]
    batches = distributed_dataset(
        strategy, kind.dataset(tiny_splits()[0], config, 0), lambda inputs, same: kind.shares(inputs, same, 2)
    )
    loss = model.fit(batches, steps_per_epoch=1, verbose=0).history["loss"][0]
    changed = sum(int((a != b).any()) for a, b in zip(before, model.get_weights(), strict=True))
    print(
        f"parameters {model.count_params()} steps {int(model.optimizer.iterations.numpy())} loss {loss:.4f} "
        f"changed {changed} of {len(before)}"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--koch-step"]:
        koch_step()
    else:
        main(Path(sys.argv[1]), sys.argv[2:])
