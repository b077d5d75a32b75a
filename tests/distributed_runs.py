"""Tiny training runs on two logical CPU devices, for ``test_distribute.py``.

    python tests/distributed_runs.py FOLDER [KIND ...]

The CPU can be split into logical devices only once per process, before TensorFlow starts its
devices, so these runs train in a process of their own. In FOLDER:

- ``siamese-two`` and ``siamese-one``: a tiny siamese network (no batch normalisation, so the
  replicas' summed gradients are exactly one device's), two steps on two replicas and on one
  device; then each is resumed to step 3 on the other number of devices;
- ``KIND-two`` for each KIND given: two steps of the tiny run of that kind on two replicas.

The test reads what they wrote (histories, checkpoints) itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

from oneshot_lib.distribute import make_strategy

strategy, _ = make_strategy(cpu_devices=2)  # first, before anything starts TensorFlow's devices

from conftest import tiny_run_config, tiny_splits  # noqa: E402

from oneshot_lib import siamese, trainer  # noqa: E402

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


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
