"""Training: pair batches through tf.data, optimisers, one-shot validation, resumable runs.

The pieces, each usable on its own (chapter 5 uses them with a plain ``model.fit``):

- ``pair_dataset``: an endless, seeded stream of same/different pair batches from the
  training alphabets, gathered and distorted (``oneshot_lib.augment``) inside tf.data, with
  prefetch. Batch ``s`` depends only on the seed and ``s``, so a resumed run sees exactly the
  batches an uninterrupted one would have seen.
- ``make_optimizer``: the blog's Adam, or Koch's SGD (``KochSGD``: momentum rising linearly
  from 0.5, learning rate decaying by 1% per epoch, optional per-layer rates).
- ``OneShotValidation``: a Keras callback measuring N-way one-shot accuracy on a fixed, seeded
  set of tasks from the validation alphabets (Koch's criterion: 20-way within an alphabet),
  keeping the best weights (written atomically) and stopping early.
- ``train``: a whole run in an output folder (config, history, best and last checkpoints, a
  log) that resumes where it stopped; ``python -m oneshot_lib.train`` is its command line.

What a run trains is a *model kind* (``MODEL_KINDS``): how to build the model, stream its
training batches, compile it and turn it into a scorer. ``"siamese"`` is registered here;
``"prototypical"`` and ``"matching"`` (``oneshot_lib.episodic``) and ``"transfer"``
(``oneshot_lib.transfer``) register theirs with ``register_model_kind`` (this module imports
both at its end) and get the same command line, validation and checkpoints.
"""

from __future__ import annotations

import json
import math
import shlex
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from . import augment as augment_module
from . import siamese
from .backend import keras, tf
from .data import OmniglotSplit
from .evaluate import Accuracy, accuracy
from .files import save_atomically
from .streams import gathered_dataset, seeded_index_stream, step_seed
from .tasks import sample_pair_indices, sample_task_indices

# ------------------------------------------------------------------ configuration

#: The blog's Adam learning rate. Far too slow for a CPU budget: the CPU-sized network reached
#: 18.7% validation 20-way accuracy after 3 minutes with it, 42.4% with 1e-3 (see siamese.py).
BLOG_ADAM_LEARNING_RATE = 6e-5
#: Default learning rate of each optimiser: Adam's chosen by measurement (above); for SGD a
#: middle value of Koch's search range [1e-4, 1e-1].
DEFAULT_LEARNING_RATES = {"adam": 1e-3, "sgd": 1e-2}
#: Fields a resumed run may change: its budgets, patience and how it reports progress.
RESUMABLE_CHANGES = ("minutes", "max_steps", "patience")


@dataclass
class TrainingConfig:
    """Everything that defines a training run (saved as ``config.json`` in its folder).

    Attributes:
        model: a key of ``MODEL_KINDS``: ``"siamese"``, ``"prototypical"``, ``"matching"`` or
            ``"transfer"``.
        size: siamese only: the architecture, a key of ``siamese.ARCHITECTURES`` (``"cpu"``, ``"koch"``).
        optimizer: ``"adam"`` (the blog's) or ``"sgd"`` (Koch's, see ``KochSGD``).
        learning_rate: base learning rate; None for the optimiser's default
            (``DEFAULT_LEARNING_RATES``).
        batch_size: siamese: pairs per training step (half same, half different; even);
            transfer: images per step; ignored by the episodic kinds (one episode per step,
            its size set by ``n_way``, ``k_shot`` and ``n_query``).
        augment: apply Koch's affine distortions to every training image (for the kinds that
            read ``image_size`` images, with the translation scaled to that size).
        hard_negatives: siamese only: draw the different pairs from one alphabet (harder).
        l2_conv, l2_dense: siamese only: L2 penalty factors on the convolution and dense kernels.
        n_way, k_shot, n_query: episodic kinds only: each training episode has ``n_way``
            classes with ``k_shot`` support and ``n_query`` query images each (default 20-way
            1-shot, 5 queries: 120 images per step).
        episode_within_alphabet: episodic kinds only: draw each episode's classes from one
            alphabet (harder, like the validation tasks) instead of anywhere.
        rotate_classes: episodic and transfer kinds: rotations by multiples of 90 degrees make
            new classes (Vinyals's and Snell's augmentation: four classes per character).
        image_size: episodic and transfer kinds: side of the images the embedding reads (28).
        steps_per_epoch: training steps between two validations (an *epoch* here).
        minutes: wall-clock budget, validation included; None for no limit.
        max_steps: budget in training steps; None for no limit.
        patience: validations without a new best before stopping early.
        val_way, val_tasks, val_within_alphabet: the validation tasks (Koch's: 20-way within
            one alphabet, 320 tasks).
        seed: seeds the weights, the pair stream, the distortions and the validation tasks.
        momentum_start, momentum_end, momentum_epochs, lr_decay: Koch's SGD schedule: the
            momentum rises linearly from start to end over ``momentum_epochs`` epochs; the
            learning rate is multiplied by ``lr_decay`` after every epoch.
        layer_rates: SGD only: {layer name: multiplier of the base learning rate}.
        halve_lr_every: Adam only: halve the learning rate every this many epochs (0, the
            default: never). Snell et al. halve theirs every 2,000 episodes.
    """

    model: str = "siamese"
    size: str = "cpu"
    optimizer: str = "adam"
    learning_rate: float | None = None
    batch_size: int = 128
    augment: bool = True
    hard_negatives: bool = False
    l2_conv: float = siamese.L2_CONV
    l2_dense: float = siamese.L2_DENSE
    steps_per_epoch: int = 200
    minutes: float | None = None
    max_steps: int | None = None
    patience: int = 20
    val_way: int = 20
    val_tasks: int = 320
    val_within_alphabet: bool = True
    seed: int = 0
    momentum_start: float = 0.5
    momentum_end: float = 0.9
    momentum_epochs: int = 20
    lr_decay: float = 0.99
    layer_rates: dict[str, float] = field(default_factory=dict)
    halve_lr_every: int = 0
    n_way: int = 20
    k_shot: int = 1
    n_query: int = 5
    episode_within_alphabet: bool = False
    rotate_classes: bool = False
    image_size: int = 28

    def __post_init__(self):
        self.check()

    @property
    def base_learning_rate(self) -> float:
        return DEFAULT_LEARNING_RATES[self.optimizer] if self.learning_rate is None else self.learning_rate

    def check(self) -> None:
        """Raise ValueError, saying what to change, if the config cannot run."""
        if self.model not in MODEL_KINDS:
            raise ValueError(f"unknown model {self.model!r}: choose one of {sorted(MODEL_KINDS)}")
        if self.optimizer not in DEFAULT_LEARNING_RATES:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}: choose one of {sorted(DEFAULT_LEARNING_RATES)}"
            )
        if self.layer_rates and self.optimizer != "sgd":
            raise ValueError("layer_rates apply to Koch's SGD only: use optimizer='sgd' or drop them")
        if self.halve_lr_every < 0:
            raise ValueError(f"halve_lr_every must be 0 (never) or a number of epochs, got {self.halve_lr_every}")
        if self.halve_lr_every and self.optimizer != "adam":
            raise ValueError("halve_lr_every applies to Adam only (Koch's SGD decays by lr_decay): drop it")
        positive = {
            "batch_size": self.batch_size,
            "steps_per_epoch": self.steps_per_epoch,
            "patience": self.patience,
            "val_tasks": self.val_tasks,
            "momentum_epochs": self.momentum_epochs,
            "k_shot": self.k_shot,
            "n_query": self.n_query,
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.n_way < 2:
            raise ValueError(f"n_way must be at least 2 (an episode needs classes to tell apart), got {self.n_way}")
        if (
            self.minutes is not None
            and self.minutes <= 0
            or self.max_steps is not None
            and self.max_steps < 1
        ):
            raise ValueError(
                f"budgets must be positive, got minutes={self.minutes}, max_steps={self.max_steps}"
            )
        if self.learning_rate is not None and self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate}")
        kind_check = MODEL_KINDS[self.model].check
        if kind_check is not None:
            kind_check(self)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, values: dict) -> TrainingConfig:
        """The config saved by ``to_json``. Raises ValueError naming unknown fields."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training config fields {unknown}; known fields are {sorted(known)}")
        return cls(**values)


# ------------------------------------------------------------------ model kinds


@dataclass(frozen=True)
class ModelKind:
    """How to train and use one kind of model; see ``register_model_kind``.

    Attributes:
        build: (config, training split) -> a new, uncompiled keras.Model, its weights seeded by
            ``config.seed``. The split is None when a saved run is rebuilt without its data.
        dataset: (training split, config, first step) -> an endless tf.data.Dataset of
            (inputs, targets) batches, batch ``s`` a function of the seed and ``s`` only.
        scorer: trained keras.Model -> a scorer (ideally with ``embed`` and ``compare``, so
            validation can embed each image once; see ``evaluate.EmbeddingScorer``).
        loss, metrics: factories for ``model.compile``.
        check: config -> None, raising ValueError (saying what to change) if the kind cannot
            run it; None for no check beyond ``TrainingConfig.check``.
        seen: config -> (history key, examples per step), e.g. ``("pairs_seen", batch_size)``.
        accuracy_name: what the training accuracy counts, for the log lines.
    """

    build: Callable[[TrainingConfig, OmniglotSplit | None], keras.Model]
    dataset: Callable[[OmniglotSplit, TrainingConfig, int], tf.data.Dataset]
    scorer: Callable[[keras.Model], object]
    loss: Callable[[], keras.losses.Loss]
    metrics: Callable[[], list]
    check: Callable[[TrainingConfig], None] | None = None
    seen: Callable[[TrainingConfig], tuple[str, int]] = lambda config: ("pairs_seen", config.batch_size)
    accuracy_name: str = "pair acc"


MODEL_KINDS: dict[str, ModelKind] = {}


def register_model_kind(name: str, kind: ModelKind) -> None:
    """Make ``name`` trainable by ``train`` and ``python -m oneshot_lib.train --model name``."""
    MODEL_KINDS[name] = kind


# ------------------------------------------------------------------ the pair stream


def pair_indices_stream(
    data: OmniglotSplit, batch_size: int, *, seed: int = 0, start_step: int = 0, hard_negatives: bool = False
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
    """Endless (left (B, 2), right (B, 2), same (B,) float32, step) index batches.

    Batch ``step`` is ``tasks.sample_pair_indices`` with the generator seeded by
    ``(seed, step)``, so it is the same whichever step the stream starts from.
    """

    def sample(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pairs = sample_pair_indices(data, batch_size, hard_negatives=hard_negatives, rng=rng)
        return pairs.left, pairs.right, pairs.same

    return seeded_index_stream(sample, seed=seed, start_step=start_step)


def pair_dataset(
    data: OmniglotSplit,
    batch_size: int = 128,
    *,
    seed: int = 0,
    start_step: int = 0,
    augment: bool = True,
    hard_negatives: bool = False,
    distortions: augment_module.Distortions = augment_module.KOCH,
) -> tf.data.Dataset:
    """An endless tf.data stream of pair batches for a siamese network.

    Each element is ``({"left": (B, 105, 105), "right": (B, 105, 105)}, same (B,))``, all
    float32, ink 1: half the pairs show one character twice (same 1.0), half two characters.
    Only indices come from Python (``pair_indices_stream``, vectorised numpy); the images are
    gathered and distorted in a parallel tf.data map (the distortion of batch ``s`` is seeded
    by ``(seed, s)``), and batches are prefetched while the model trains.

    Pass only training alphabets (``train_validation_split``): select models on the others.

    Raises ValueError (from ``sample_pair_indices``) if pairs cannot be drawn from ``data``.
    """
    sample_pair_indices(data, batch_size, hard_negatives=hard_negatives, rng=0)  # fail now, not in tf.data
    images = tf.constant(data.images)
    signature = (
        tf.TensorSpec((batch_size, 2), tf.int64),
        tf.TensorSpec((batch_size, 2), tf.int64),
        tf.TensorSpec((batch_size,), tf.float32),
        tf.TensorSpec((), tf.int64),
    )

    def gather(left, right, same, step):
        both = tf.cast(tf.gather_nd(images, tf.concat([left, right], axis=0)), tf.float32)
        if augment:
            both = augment_module.distort(both, step_seed(seed, step), distortions)
        return {"left": both[:batch_size], "right": both[batch_size:]}, same

    return gathered_dataset(
        lambda: pair_indices_stream(
            data, batch_size, seed=seed, start_step=start_step, hard_negatives=hard_negatives
        ),
        signature,
        gather,
    )


# ------------------------------------------------------------------ optimisers


@keras.saving.register_keras_serializable(package="oneshot")
class KochSGD(keras.optimizers.Optimizer):
    """Koch's SGD: momentum rising linearly, learning rate decaying, per-layer rates.

    Koch et al. give every layer j its own learning rate eta_j and final momentum mu_j (found
    by Bayesian optimisation; the paper does not list them). The momentum starts at 0.5 and
    rises linearly to ``momentum_end`` over ``momentum_steps`` steps; ``learning_rate`` is
    usually a staircase ``ExponentialDecay`` (x0.99 per epoch, see ``make_optimizer``).
    ``layer_rates`` multiplies the rate of a layer's weights, by layer name (default 1).

    Update, per weight w with gradient g: ``v <- mu(t) v - rate(w) g``, ``w <- w + v``.
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum_start: float = 0.5,
        momentum_end: float = 0.9,
        momentum_steps: int = 1,
        layer_rates: dict[str, float] | None = None,
        name: str = "koch_sgd",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 <= momentum_start <= 1.0 or not 0.0 <= momentum_end <= 1.0:
            raise ValueError(f"momenta must lie in [0, 1], got {momentum_start} and {momentum_end}")
        self.momentum_start = float(momentum_start)
        self.momentum_end = float(momentum_end)
        self.momentum_steps = max(int(momentum_steps), 1)
        self.layer_rates = dict(layer_rates or {})

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.velocities = [self.add_variable_from_reference(v, "velocity") for v in variables]
        layers = {variable.path.split("/")[0] for variable in variables}
        unknown = sorted(set(self.layer_rates) - layers)
        if unknown:
            raise ValueError(
                f"layer_rates name layers {unknown} that have no weights; layers are {sorted(layers)}"
            )
        self._rate_multipliers = [self.layer_rates.get(v.path.split("/")[0], 1.0) for v in variables]

    def momentum(self):
        """The momentum at the current step (a scalar tensor)."""
        progress = keras.ops.minimum(keras.ops.cast(self.iterations, "float32") / self.momentum_steps, 1.0)
        return self.momentum_start + (self.momentum_end - self.momentum_start) * progress

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        rate = keras.ops.cast(learning_rate, variable.dtype) * self._rate_multipliers[index]
        momentum = keras.ops.cast(self.momentum(), variable.dtype)
        velocity = self.velocities[index]
        self.assign(velocity, velocity * momentum - keras.ops.cast(gradient, variable.dtype) * rate)
        self.assign_add(variable, velocity)

    def get_config(self):
        return {
            **super().get_config(),
            "momentum_start": self.momentum_start,
            "momentum_end": self.momentum_end,
            "momentum_steps": self.momentum_steps,
            "layer_rates": self.layer_rates,
        }


def epoch_decay(config: TrainingConfig, epochs: int, rate: float) -> keras.optimizers.schedules.LearningRateSchedule:
    """The config's base learning rate, multiplied by ``rate`` after every ``epochs`` epochs."""
    return keras.optimizers.schedules.ExponentialDecay(
        config.base_learning_rate, decay_steps=epochs * config.steps_per_epoch, decay_rate=rate, staircase=True
    )


def make_optimizer(config: TrainingConfig) -> keras.optimizers.Optimizer:
    """The blog's Adam (optionally halving its rate), or Koch's SGD with its schedules, counted in epochs."""
    if config.optimizer == "adam":
        if config.halve_lr_every:
            return keras.optimizers.Adam(epoch_decay(config, config.halve_lr_every, 0.5))
        return keras.optimizers.Adam(config.base_learning_rate)
    return KochSGD(
        epoch_decay(config, 1, config.lr_decay),
        momentum_start=config.momentum_start,
        momentum_end=config.momentum_end,
        momentum_steps=config.momentum_epochs * config.steps_per_epoch,
        layer_rates=config.layer_rates,
    )


def compile_model(model: keras.Model, config: TrainingConfig) -> keras.Model:
    """Compile ``model`` with the config's optimiser and its kind's loss and metrics."""
    kind = MODEL_KINDS[config.model]
    model.compile(optimizer=make_optimizer(config), loss=kind.loss(), metrics=kind.metrics())
    return model


# ------------------------------------------------------------------ validation


_BARE_COPIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def save_weights_only(model: keras.Model, path: str | Path) -> None:
    """Save ``model``'s weights to a ``.weights.h5`` file, without its optimiser's state, atomically.

    ``model.save_weights`` of a compiled model also stores the optimiser's variables (with
    Adam, twice the weights again); the weights go through an uncompiled copy of the model
    instead (made once per model, from its config), so the file holds the weights alone. A
    model that cannot be rebuilt from its config is saved as it is.
    """
    if model not in _BARE_COPIES:
        try:
            bare = type(model).from_config(model.get_config())
        except (NotImplementedError, TypeError, ValueError):
            bare = None
        _BARE_COPIES[model] = bare if bare is not None and bare.built else model
    bare = _BARE_COPIES[model]
    if bare is not model:
        bare.set_weights(model.get_weights())
    save_atomically(bare.save_weights, path)


def write_json(path: str | Path, value) -> None:
    """Write ``value`` as indented JSON, atomically."""
    save_atomically(lambda name: Path(name).write_text(json.dumps(value, indent=2) + "\n"), path)


class OneShotValidation(keras.callbacks.Callback):
    """After every epoch: N-way one-shot accuracy on fixed validation tasks; best; early stop.

    The tasks are drawn once from ``data`` with ``seed`` (Koch's criterion by default: 320
    20-way tasks within one alphabet), so every epoch is measured on the same tasks. The
    accuracy goes into the epoch's logs as ``val_oneshot_accuracy`` (and its standard error as
    ``val_oneshot_stderr``). On a new best, the weights are saved to ``best_path`` (a
    ``.weights.h5`` file, written atomically), if given. After ``patience`` epochs without a
    new best, training stops.

    Args:
        data: the validation alphabets (never the training ones, never the evaluation split).
        make_scorer: trained model -> scorer (e.g. ``siamese.SiameseScorer``).
        best, best_epoch: the best accuracy so far and its epoch, when resuming a run.
    """

    def __init__(
        self,
        data: OmniglotSplit,
        make_scorer: Callable[[keras.Model], object],
        *,
        n_way: int = 20,
        n_tasks: int = 320,
        within_alphabet: bool = True,
        seed: int = 0,
        best_path: str | Path | None = None,
        patience: int | None = 20,
        best: float = -math.inf,
        best_epoch: int | None = None,
    ):
        super().__init__()
        self.data = data
        self.make_scorer = make_scorer
        self.task_arguments = {"n_tasks": n_tasks, "within_alphabet": within_alphabet, "seed": seed}
        self.n_way = n_way
        self.best_path = None if best_path is None else Path(best_path)
        self.patience = patience
        self.best = best
        self.best_epoch = best_epoch
        sample_task_indices(
            data, 1, n_way, within_alphabet=within_alphabet, rng=0
        )  # fail now, not after an epoch

    def measure(self) -> Accuracy:
        """The model's accuracy on the validation tasks, now."""
        return accuracy(self.make_scorer(self.model), self.data, self.n_way, **self.task_arguments)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        result = self.measure()
        if logs is not None:
            logs["val_oneshot_accuracy"] = result.mean
            logs["val_oneshot_stderr"] = result.stderr
        if result.mean > self.best:
            self.best, self.best_epoch = result.mean, epoch + 1
            if self.best_path is not None:
                save_weights_only(self.model, self.best_path)
        if (
            self.patience is not None
            and self.best_epoch is not None
            and epoch + 1 - self.best_epoch >= self.patience
        ):
            self.model.stop_training = True


class Budget(keras.callbacks.Callback):
    """Stop training once ``seconds`` of wall time or ``max_steps`` optimiser steps are used.

    ``elapsed_before`` counts the time earlier sessions of a resumed run already used. The
    check runs after every batch; Keras then finishes the epoch (so it is validated).
    """

    def __init__(
        self, seconds: float | None = None, max_steps: int | None = None, elapsed_before: float = 0.0
    ):
        super().__init__()
        self.seconds, self.max_steps, self.elapsed_before = seconds, max_steps, elapsed_before
        self.started = time.perf_counter()
        self.reason: str | None = None

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.started

    def exhausted(self, steps: int) -> str | None:
        """Why the budget is used up after ``steps`` steps, or None."""
        if self.max_steps is not None and steps >= self.max_steps:
            return f"step budget reached ({self.max_steps} steps)"
        if self.seconds is not None and self.elapsed() >= self.seconds:
            return f"time budget reached ({self.seconds / 60:g} minutes)"
        return None

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.reason = self.exhausted(int(self.model.optimizer.iterations))
        if self.reason:
            self.model.stop_training = True


# ------------------------------------------------------------------ a run in a folder


@dataclass(frozen=True)
class RunFiles:
    """The files of a training run in ``folder``."""

    folder: Path

    @property
    def config(self) -> Path:
        return self.folder / "config.json"

    @property
    def history(self) -> Path:
        return self.folder / "history.json"

    @property
    def best(self) -> Path:
        return self.folder / "best.weights.h5"

    @property
    def last(self) -> Path:
        return self.folder / "last.keras"

    @property
    def log(self) -> Path:
        return self.folder / "log.txt"


class RunRecorder(keras.callbacks.Callback):
    """After every epoch: one history record, the last checkpoint, history.json, a log line.

    Runs after ``OneShotValidation`` (put it later in the callback list), so the record holds
    the epoch's validation accuracy; ``history`` is the list of records of the whole run.
    """

    def __init__(
        self,
        files: RunFiles,
        history: dict,
        budget: Budget,
        validation: OneShotValidation,
        batch_size: int,
        verbose: int = 1,
        seen: str = "pairs_seen",
        accuracy_name: str = "pair acc",
    ):
        super().__init__()
        self.files, self.history, self.budget, self.validation = files, history, budget, validation
        self.batch_size = batch_size  # examples per step, counted under the history key ``seen``
        self.seen, self.accuracy_name = seen, accuracy_name
        self.verbose = verbose
        self.progress: keras.utils.Progbar | None = None

    def log(self, line: str) -> None:
        if self.verbose:
            print(line, flush=True)
        with open(self.files.log, "a") as file:
            file.write(line + "\n")

    def on_epoch_begin(self, epoch, logs=None):
        dynamic = sys.stdout.isatty() or "ipykernel" in sys.modules
        self.progress = None
        if self.verbose == 1 and dynamic:
            self.progress = keras.utils.Progbar(
                self.params.get("steps"), stateful_metrics=["loss", "accuracy"]
            )

    def on_train_batch_end(self, batch, logs=None):
        if self.progress is not None:
            self.progress.update(batch + 1, [(k, float(v)) for k, v in (logs or {}).items()])

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        optimizer = self.model.optimizer
        steps = int(optimizer.iterations)
        record = {
            "epoch": epoch + 1,
            "step": steps,
            self.seen: steps * self.batch_size,
            "elapsed_seconds": round(self.budget.elapsed(), 2),
            **{name: float(value) for name, value in logs.items()},
            "learning_rate": float(keras.ops.convert_to_numpy(optimizer.learning_rate)),
        }
        if isinstance(optimizer, KochSGD):
            record["momentum"] = float(keras.ops.convert_to_numpy(optimizer.momentum()))
        self.history["epochs"].append(record)
        self.history["best_epoch"] = self.validation.best_epoch
        self.history["best_val_oneshot_accuracy"] = self.validation.best
        save_atomically(self.model.save, self.files.last)
        write_json(self.files.history, self.history)
        self.log(
            describe_epoch(
                record, self.validation.best, self.validation.best_epoch, self.validation.n_way, self.accuracy_name
            )
        )


def describe_epoch(
    record: dict, best: float, best_epoch: int | None, n_way: int = 20, accuracy_name: str = "pair acc"
) -> str:
    """One readable log line for an epoch record; ``accuracy_name`` labels its training accuracy."""
    parts = [
        f"epoch {record['epoch']:3d}",
        f"step {record['step']:6d}",
        f"{record['elapsed_seconds'] / 60:6.1f} min",
        f"loss {record.get('loss', math.nan):.4f}",
        f"{accuracy_name} {record.get('accuracy', math.nan):.1%}",
        f"val {n_way}-way {record.get('val_oneshot_accuracy', math.nan):.1%}",
        f"best {best:.1%} (epoch {best_epoch})",
        f"lr {record['learning_rate']:.2g}",
    ]
    return " | ".join(parts)


def _new_history() -> dict:
    return {"epochs": [], "best_epoch": None, "best_val_oneshot_accuracy": None, "sessions": []}


def _check_resumable(stored: TrainingConfig, requested: TrainingConfig, folder: Path) -> None:
    changed = {
        name: (getattr(stored, name), getattr(requested, name))
        for name in stored.to_json()
        if name not in RESUMABLE_CHANGES and getattr(stored, name) != getattr(requested, name)
    }
    if changed:
        details = ", ".join(f"{name}: run has {old!r}, asked {new!r}" for name, (old, new) in changed.items())
        raise ValueError(
            f"{folder} holds a run with another config ({details}). Resume it with the same settings "
            f"(only {', '.join(RESUMABLE_CHANGES)} may change), or train into a new output folder."
        )


def load_run_model(folder: str | Path, which: str = "best") -> tuple[keras.Model, TrainingConfig]:
    """The model of a finished (or stopped) run, and its config.

    ``which="best"`` rebuilds the model and loads ``best.weights.h5`` (checked by
    ``siamese.load_weights``); a siamese network is rebuilt from the architecture recorded in
    ``config.json``, so later changes to ``siamese.ARCHITECTURES`` cannot break old runs, and
    the other kinds from the Keras model config recorded there (``"model"``: a transfer
    classifier's class count depends on the training data).
    ``which="last"`` loads ``last.keras``, with its optimiser.

    Raises FileNotFoundError if the folder holds no such run, ValueError for another ``which``,
    ``siamese.CheckpointMismatchError`` if the weights do not fit the recorded architecture.
    """
    files = RunFiles(Path(folder))
    if not files.config.is_file():
        raise FileNotFoundError(f"no training run in {folder}: {files.config.name} is missing")
    saved = json.loads(files.config.read_text())
    config = TrainingConfig.from_json(saved["config"])
    if which == "last":
        return keras.saving.load_model(files.last), config
    if which != "best":
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    if config.model != "siamese":
        return _load_kind_weights(_rebuild(saved, config), files.best), config
    if "architecture" in saved:
        architecture = siamese.Architecture.from_json(saved["architecture"])
        model = siamese.build_siamese(architecture, l2_conv=config.l2_conv, l2_dense=config.l2_dense)
    else:
        model = _build_siamese(config)
    return siamese.load_weights(model, files.best), config


def _rebuild(saved: dict, config: TrainingConfig) -> keras.Model:
    """A new model of a non-siamese run: from its recorded Keras config, else from its kind."""
    if "model" in saved:
        return keras.saving.deserialize_keras_object(saved["model"])
    return MODEL_KINDS[config.model].build(config, None)


def _load_kind_weights(model: keras.Model, path: Path) -> keras.Model:
    # siamese.load_weights checks layer by layer, which reads only functional models' files;
    # these models are rebuilt from the recorded config, so their weights fit by construction.
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    model.load_weights(path)
    return model


def load_run_scorer(folder: str | Path, which: str = "best"):
    """A scorer of a run's best (or last) model; see ``load_run_model``."""
    model, config = load_run_model(folder, which)
    return MODEL_KINDS[config.model].scorer(model)


def train(
    config: TrainingConfig,
    output: str | Path,
    *,
    train_data: OmniglotSplit,
    validation_data: OmniglotSplit,
    command: str | None = None,
    verbose: int = 1,
) -> dict:
    """Train (or resume) a run in ``output``; return its history.

    The folder receives ``config.json`` (the config, the command, the architecture),
    ``history.json`` (one record per epoch: step, time, loss, pair accuracy, validation
    one-shot accuracy, learning rate), ``best.weights.h5`` (the best validation epoch),
    ``last.keras`` (model and optimiser after the last epoch, to resume from) and ``log.txt``.

    If ``output`` already holds a run, it resumes from ``last.keras`` with its history, its
    step count and its time used; its config must match ``config`` except for the budgets
    and patience (ValueError otherwise). Training stops when a budget is used up or the
    validation accuracy has not improved for ``patience`` epochs.

    Args:
        train_data: the training alphabets; validation_data: the validation alphabets.
        command: the command line to record (the CLI passes its own).
        verbose: 0 silent, 1 progress bar and a log line per epoch, 2 log lines only.
    """
    files = RunFiles(Path(output))
    files.folder.mkdir(parents=True, exist_ok=True)
    kind = MODEL_KINDS[config.model]
    resuming = files.last.is_file() and files.config.is_file() and files.history.is_file()
    if resuming:
        saved = json.loads(files.config.read_text())
        _check_resumable(TrainingConfig.from_json(saved["config"]), config, files.folder)
        history = json.loads(files.history.read_text())
        model = keras.saving.load_model(files.last)
        saved["config"] = config.to_json()
        saved.setdefault("resumed_with", []).append(command)
    else:
        history = _new_history()
        keras.utils.set_random_seed(config.seed)
        model = compile_model(kind.build(config, train_data), config)
        saved = {"config": config.to_json(), "command": command, "versions": _versions()}
        if config.model == "siamese":
            saved["architecture"] = siamese.describe(config.size)
        else:
            saved["model"] = keras.saving.serialize_keras_object(_bare(model))
        saved["parameters"] = model.count_params()
    write_json(files.config, saved)

    steps_done = int(model.optimizer.iterations)
    elapsed = history["epochs"][-1]["elapsed_seconds"] if history["epochs"] else 0.0
    budget = Budget(None if config.minutes is None else 60.0 * config.minutes, config.max_steps, elapsed)
    best = history["best_val_oneshot_accuracy"]
    validation = OneShotValidation(
        validation_data,
        kind.scorer,
        n_way=config.val_way,
        n_tasks=config.val_tasks,
        within_alphabet=config.val_within_alphabet,
        seed=config.seed,
        best_path=files.best,
        patience=config.patience,
        best=-math.inf if best is None else best,
        best_epoch=history["best_epoch"],
    )
    seen, per_step = kind.seen(config)
    recorder = RunRecorder(files, history, budget, validation, per_step, verbose, seen, kind.accuracy_name)
    epochs_done = len(history["epochs"])
    reason = budget.exhausted(steps_done)
    if history["best_epoch"] is not None and epochs_done - history["best_epoch"] >= config.patience:
        reason = f"stopped early: no better validation accuracy for {config.patience} epochs"
    if reason:
        recorder.log(f"nothing to do in {files.folder}: {reason}")
        return history

    name = f"{config.model} ({config.size})" if config.model == "siamese" else config.model
    recorder.log(
        ("resuming" if resuming else "training")
        + f" {name} in {files.folder}: epoch {epochs_done + 1}, step {steps_done}, "
        + f"{elapsed / 60:.1f} min used"
    )
    history["sessions"].append({"command": command, "start_step": steps_done, "start_epoch": epochs_done})
    dataset = kind.dataset(train_data, config, steps_done)
    epochs = (
        10**6
        if config.max_steps is None
        else epochs_done + math.ceil((config.max_steps - steps_done) / config.steps_per_epoch)
    )
    model.fit(
        dataset,
        epochs=epochs,
        initial_epoch=epochs_done,
        steps_per_epoch=config.steps_per_epoch,
        callbacks=[budget, validation, recorder],
        verbose=0,
        shuffle=False,
    )
    reason = budget.reason or (
        f"stopped early: no better validation accuracy for {config.patience} epochs"
        if validation.best_epoch is not None
        and len(history["epochs"]) - validation.best_epoch >= config.patience
        else "all epochs done"
    )
    history["stopped"] = reason
    write_json(files.history, history)
    recorder.log(
        f"done: {reason}; best validation {config.val_way}-way accuracy {validation.best:.1%} "
        f"at epoch {validation.best_epoch}, saved in {files.best}"
    )
    return history


def _bare(model: keras.Model) -> keras.Model:
    """An uncompiled copy of ``model`` (its config alone, without the compile arguments)."""
    return type(model).from_config(model.get_config())


def _versions() -> dict:
    return {
        "python": sys.version.split()[0],
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def command_line(argv: list[str] | None = None) -> str:
    """The command as typed (``python -m oneshot_lib.train ...``), shell-quoted."""
    return shlex.join(["python", "-m", "oneshot_lib.train", *(sys.argv[1:] if argv is None else argv)])


# ------------------------------------------------------------------ the siamese kind


def _build_siamese(config: TrainingConfig, data: OmniglotSplit | None = None) -> keras.Model:
    return siamese.build_siamese(
        config.size, seed=config.seed, l2_conv=config.l2_conv, l2_dense=config.l2_dense
    )


def _siamese_dataset(data: OmniglotSplit, config: TrainingConfig, start_step: int) -> tf.data.Dataset:
    return pair_dataset(
        data,
        config.batch_size,
        seed=config.seed,
        start_step=start_step,
        augment=config.augment,
        hard_negatives=config.hard_negatives,
    )


def _check_siamese(config: TrainingConfig) -> None:
    if config.batch_size % 2:
        raise ValueError(
            f"batch_size must be even (half same, half different pairs), got {config.batch_size}"
        )


register_model_kind(
    "siamese",
    ModelKind(
        build=_build_siamese,
        dataset=_siamese_dataset,
        scorer=siamese.SiameseScorer,
        loss=keras.losses.BinaryCrossentropy,
        metrics=lambda: [keras.metrics.BinaryAccuracy(name="accuracy")],
        check=_check_siamese,
    ),
)

# The other kinds register themselves when their modules are imported; importing them here
# makes every kind known wherever training is. (Each imports training only at its own end, so
# whichever module is imported first, the names it needs exist by then.)
from . import episodic, transfer  # noqa: E402, F401
