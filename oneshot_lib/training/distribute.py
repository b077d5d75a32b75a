"""Training on several devices of one machine: TensorFlow's ``MirroredStrategy``, and mixed precision.

``python -m oneshot_lib.train --distribute`` trains any model kind on every visible GPU at
once: each GPU (a *replica*) holds a copy of the model, takes its share of every batch, and
the replicas' gradients are summed before one update, so a step still trains on the whole
batch. Without a GPU, ``--cpu-devices N`` splits the CPU into N logical devices, and the same
code runs on them (slower than one device: it is for testing the distribution, not for speed).

- ``check_device_options``: the options' rules, checked before any data is loaded;
- ``make_strategy``: logical CPU devices if asked (before TensorFlow starts its devices),
  then a ``MirroredStrategy`` over them, or over the GPUs;
- ``split_rows``, ``repeat_rows``, ``distributed_dataset``: a kind's batch cut into the
  replicas' shares (``kinds.ModelKind.shares``) and fed to them by ``model.fit``;
- ``check_mixed_precision``, ``dtype_policy``: ``mixed_float16``, on GPUs only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from oneshot_lib.backend import keras, tf

MIXED_POLICY = "mixed_float16"
GPU_INSTALL_HINT = 'install the GPU build (pip install -e ".[gpu]", see the README\'s GPU section)'


def visible_gpus() -> list:
    """The GPUs TensorFlow can use here (physical devices; listing them starts nothing)."""
    return tf.config.list_physical_devices("GPU")


def check_device_options(distribute: bool, cpu_devices: int | None, mixed_precision: bool) -> None:
    """Raise ValueError, saying what to change, if the device options cannot run here.

    ``cpu_devices`` applies to ``distribute`` only and must be at least 1; mixed precision
    needs GPUs to train on (not logical CPU devices).
    """
    if cpu_devices is not None:
        if cpu_devices < 1:
            raise ValueError(f"--cpu-devices must be at least 1, got {cpu_devices}")
        if not distribute:
            raise ValueError("--cpu-devices splits the CPU for --distribute: add --distribute, or drop --cpu-devices")
    if mixed_precision:
        if cpu_devices is not None:
            raise ValueError("--mixed-precision needs GPUs, and --cpu-devices trains on the CPU: drop one of them")
        check_mixed_precision(True, None)


def check_mixed_precision(mixed_precision: bool, strategy: tf.distribute.Strategy | None) -> None:
    """Raise ValueError if mixed precision is asked for but the run would train on no GPU.

    On a CPU, float16 arithmetic is emulated: slower than float32, and no memory is gained.
    """
    if not mixed_precision:
        return
    devices = strategy.extended.worker_devices if strategy is not None else []
    on_cpu_only = devices and not any("GPU" in device.upper() for device in devices)
    if not visible_gpus() or on_cpu_only:
        raise ValueError(
            "mixed precision (float16) needs a GPU, and TensorFlow sees none to train on here: on a CPU it is "
            f"slower than float32, not faster. Drop --mixed-precision, or {GPU_INSTALL_HINT}"
        )


@contextlib.contextmanager
def dtype_policy(mixed_precision: bool) -> Iterator[None]:
    """Build models under ``mixed_float16`` if asked (float16 computations, float32 weights), then restore."""
    before = keras.config.dtype_policy()
    if mixed_precision:
        keras.config.set_dtype_policy(MIXED_POLICY)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def make_strategy(cpu_devices: int | None = None) -> tuple[tf.distribute.MirroredStrategy, str | None]:
    """A MirroredStrategy and a note for the user (None when there is nothing to say).

    With ``cpu_devices``, the CPU is first split into that many logical devices, and the
    strategy mirrors over them; otherwise it mirrors over the visible GPUs, and without any it
    falls back to one replica on the CPU, which the note says. Call it before anything runs on
    TensorFlow in this process: logical devices can only be set before TensorFlow starts them.

    Raises ValueError if TensorFlow has already started its devices.
    """
    if cpu_devices is not None:
        split_cpu(cpu_devices)
        return tf.distribute.MirroredStrategy([f"/cpu:{index}" for index in range(cpu_devices)]), None
    gpus = visible_gpus()
    if gpus:
        return tf.distribute.MirroredStrategy([f"/gpu:{index}" for index in range(len(gpus))]), None
    note = (
        "note: --distribute found no GPU, so it trains on the CPU as one replica. Add --cpu-devices N to "
        f"test the distribution on N logical CPU devices, or {GPU_INSTALL_HINT}"
    )
    return tf.distribute.MirroredStrategy(["/cpu:0"]), note


def split_cpu(n_devices: int) -> None:
    """Split the CPU into ``n_devices`` logical devices; raise ValueError if it is too late to."""
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n_devices)
    except RuntimeError as error:
        raise ValueError(
            f"cannot split the CPU into {n_devices} devices: TensorFlow has already started its devices "
            f"in this process ({error}). Split it first thing, before any model or tensor is made."
        ) from None


def short_names(strategy: tf.distribute.Strategy) -> list[str]:
    """The strategy's devices as ``"CPU:0"``, ``"GPU:1"``..., for a run's record."""
    return [device.split("device:")[-1] for device in strategy.extended.worker_devices]


def split_rows(tensor: tf.Tensor, replicas: int) -> tf.Tensor:
    """(B, ...) -> (replicas, B / replicas, ...): replica r takes rows r, r + replicas, r + 2 replicas...

    Strided rather than in blocks, so that each share keeps the batch's mix (a siamese batch's
    same and different pairs, a rotation batch's four turns of each drawing). B must be a
    multiple of ``replicas``.
    """
    rank = len(tensor.shape)
    grouped = tf.reshape(tensor, tf.concat([[-1, replicas], tf.shape(tensor)[1:]], axis=0))
    return tf.transpose(grouped, [1, 0, *range(2, rank + 1)])


def repeat_rows(tensor: tf.Tensor, replicas: int) -> tf.Tensor:
    """(...) -> (replicas, ...): the same tensor for every replica."""
    return tf.repeat(tensor[None], replicas, axis=0)


def distributed_dataset(
    strategy: tf.distribute.Strategy,
    dataset: tf.data.Dataset,
    shares: Callable[[object, object], tuple[object, object]],
) -> tf.distribute.DistributedDataset:
    """``dataset``'s batches, each cut by ``shares`` into one share per replica, as ``model.fit`` reads them.

    ``shares(inputs, targets)`` returns both with a leading axis of one share per replica; the
    replicas of a step get consecutive elements of the unbatched stream, so replica r trains on
    share r of each batch, and the stream's batch s is still step s's.
    """
    per_replica = dataset.map(shares).unbatch()
    return strategy.distribute_datasets_from_function(lambda context: per_replica)
