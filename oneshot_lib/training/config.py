"""The run config: everything that defines a training run, saved as ``config.json`` in its folder.

One flat dataclass serves every model kind, so a run is written the same way whatever it
trains (``TrainingConfig(model="prototypical", n_way=60, minutes=30)``). Its fields come in three
groups, told apart by their metadata:

- the run's own fields (model, budgets, validation, seed, optimiser), read by every kind;
- *kind options* (``kind_option``), read only by the kinds that name them in their
  ``options`` (see ``oneshot_lib.training.kinds``): the siamese architecture, the episode shape, ...;
- *optimiser options* (``optimizer``), read only with that optimiser: Koch's SGD schedules,
  Adam's halving.

``to_json(kind_options)`` records only the fields that apply to a run, so a prototypical run's
``config.json`` holds no siamese L2 factors. Each field's ``help`` is also the command line's
(``python -m oneshot_lib.train``). This module knows no model kind and imports no model: its
defaults are its own (``tests/test_config.py`` checks that they are the models' defaults), its
checks need no model, and ``kinds.kind_of`` checks a config against its kind.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import MISSING, Field, asdict, dataclass, field, fields
from numbers import Integral, Real

#: The blog's Adam learning rate. Far too slow for a CPU budget: the CPU-sized network reached
#: 18.7% validation 20-way accuracy after 3 minutes with it, 42.4% with 1e-3 (see siamese.py).
BLOG_ADAM_LEARNING_RATE = 6e-5
#: Default learning rate of each optimiser: Adam's chosen by measurement (above); for SGD a
#: middle value of Koch's search range [1e-4, 1e-1].
DEFAULT_LEARNING_RATES = {"adam": 1e-3, "sgd": 1e-2}
OPTIMIZER_NAMES = {"adam": "Adam", "sgd": "Koch's SGD"}
#: Fields a resumed run may change: its budgets and patience.
RESUMABLE_CHANGES = ("minutes", "max_steps", "patience")
#: The largest seed a run may ask for (Keras seeds its initialisers with 32-bit numbers).
MAX_SEED = 2**32 - 1
#: The largest test-time shift, in pixels: ``scoring.shifts.MAX_SHIFT`` (larger ones wrap the drawing).
MAX_TEST_SHIFTS = 10


def _field(
    default,
    help: str,
    *,
    kind_option: bool = False,
    optimizer: str | None = None,
    minimum=None,
    maximum=None,
    positive=False,
) -> Field:
    """A config field with its command-line help and what it applies to (see the module docstring).

    ``minimum``, ``maximum``: the smallest and largest values allowed for a number; ``positive``:
    the number must be above 0 (all checked by ``TrainingConfig.check``).
    """
    metadata = {
        "help": help,
        "kind_option": kind_option,
        "optimizer": optimizer,
        "minimum": minimum,
        "maximum": maximum,
        "positive": positive,
    }
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainingConfig:
    """Everything that defines a training run; each field's ``help`` metadata says what it does.

    Every value must have its field's type (an int field takes whole numbers, a float field any
    number, neither a bool); numbers must be finite and within their field's bounds; ``None``
    budgets mean no limit (a run needs at least one of ``minutes`` and ``max_steps`` on the command line).
    """

    # --- the run (every kind)
    model: str = _field("siamese", "what to train: a key of kinds.MODEL_KINDS")
    optimizer: str = _field("adam", "adam (the blog's) or sgd (Koch's, with momentum and learning-rate schedules)")
    learning_rate: float | None = _field(None, f"base learning rate (default {DEFAULT_LEARNING_RATES})", positive=True)
    augment: bool = _field(True, "Koch's affine distortions of the training images")
    steps_per_epoch: int = _field(200, "training steps between two validations (an epoch here)", minimum=1)
    minutes: float | None = _field(None, "wall-clock budget, validation included", positive=True)
    max_steps: int | None = _field(None, "budget in training steps (batches)", minimum=1)
    patience: int = _field(20, "validations without a new best before stopping early", minimum=1)
    val_way: int = _field(20, "classes per validation task (Koch's criterion: 20)", minimum=2)
    val_tasks: int = _field(
        320,
        "how many fixed validation tasks (at most 100,000: they are scored after every epoch)",
        minimum=1,
        maximum=100_000,
    )
    val_within_alphabet: bool = _field(True, "validation tasks within one alphabet (Lake's protocol)")
    seed: int = _field(0, "seeds the weights, the training stream, the distortions and the validation tasks", minimum=0)
    test_shifts: int = _field(
        0,
        "test-time augmentation: average each image's embedding over a 3x3 grid of shifts by this many "
        f"pixels at 105x105 (0: none, at most {MAX_TEST_SHIFTS}); used by validation and by the loaded model's scorer",
        minimum=0,
        maximum=MAX_TEST_SHIFTS,
    )
    train_on_validation_alphabets: bool = _field(
        False,
        "train on all 30 background alphabets, the validation ones too, for a number of steps fixed "
        "by an earlier run that held them out (needs --steps, not --minutes); keeps the last weights",
    )
    label_fraction: float = _field(
        1.0,
        "train on this fraction of the training characters, a seeded choice (for the kinds that read "
        "labels: the share of labels used)",
        positive=True,
        maximum=1,
    )
    start_from: str | None = _field(
        None,
        "a shipped model's name or a run folder: this run's embedding network starts from its weights "
        "(fine-tuning); the rest of the model starts fresh",
    )
    mixed_precision: bool = _field(
        False,
        "train in mixed precision (float16 computations, float32 weights; keras.mixed_precision's "
        "mixed_float16): on GPUs only",
    )
    # --- kind options (see each kind's ``options``)
    size: str = _field(
        "cpu", "siamese twin: cpu (Koch's at 52x52), koch (Koch's at 105x105) or conv4", kind_option=True
    )
    batch_size: int = _field(
        128,
        "pairs (siamese), images (transfer) or drawings (self-supervised) per step (at most 4096)",
        kind_option=True,
        minimum=1,
        maximum=4096,
    )
    hard_negatives: bool = _field(False, "draw the different pairs from one alphabet (harder)", kind_option=True)
    l2_conv: float = _field(2e-4, "L2 factor on the convolution kernels", kind_option=True, minimum=0)
    l2_dense: float = _field(1e-3, "L2 factor on the dense kernel", kind_option=True, minimum=0)
    n_way: int = _field(20, "classes per training episode", kind_option=True, minimum=2)
    k_shot: int = _field(1, "support images per class of an episode", kind_option=True, minimum=1)
    n_query: int = _field(5, "query images per class of an episode", kind_option=True, minimum=1)
    episode_within_alphabet: bool = _field(
        False, "draw each training episode's classes from one alphabet", kind_option=True
    )
    rotate_classes: bool = _field(
        False, "rotations by 90, 180 and 270 degrees make new classes (four per character)", kind_option=True
    )
    image_size: int = _field(
        28,
        "side of the images the backbone reads (52 for koch-cpu; at most Omniglot's 105)",
        kind_option=True,
        minimum=1,
        maximum=105,
    )
    backbone: str = _field("conv4", "embedding network: conv4 or koch-cpu (the siamese twin)", kind_option=True)
    distortion_strength: float = _field(
        1.0,
        "Koch's distortion ranges, each multiplied by this (below 3.33, where shears reach 1)",
        kind_option=True,
        positive=True,
    )
    temperature: float = _field(0.1, "NT-Xent temperature (SimCLR's default)", kind_option=True, positive=True)
    erase_probability: float = _field(
        0.0,
        "chance that each view also has a random rectangle erased (random erasing)",
        kind_option=True,
        minimum=0,
        maximum=1,
    )
    mask_ratio: float = _field(
        0.5,
        "masked prediction: the fraction of each drawing's square patches hidden, strictly between 0 and 1",
        kind_option=True,
        positive=True,
        maximum=1,
    )
    patch_size: int = _field(
        4,
        "masked prediction: side of the hidden square patches, in pixels at image_size (at most image_size, "
        "and dividing it)",
        kind_option=True,
        minimum=1,
    )
    # MAML's defaults are Finn et al.'s for 20-way Omniglot (the default n_way): 5 inner steps of 0.1, 16 tasks.
    inner_steps: int = _field(
        5, "inner-loop gradient steps on each training task (reptile: at least 2)", kind_option=True, minimum=1
    )
    inner_learning_rate: float = _field(
        0.1,
        "inner-loop step size (plain gradient descent), at training and test time",
        kind_option=True,
        positive=True,
    )
    test_inner_steps: int = _field(
        5,
        "inner-loop gradient steps on a task's support set when scoring (validation too)",
        kind_option=True,
        minimum=1,
    )
    meta_batch_size: int = _field(16, "tasks per outer step", kind_option=True, minimum=1)
    inner_batch_size: int = _field(
        0,
        "Reptile: images per inner step, each step the next minibatch of a task's images (0: all of them)",
        kind_option=True,
        minimum=0,
    )
    first_order: bool = _field(
        False, "first-order MAML: the outer gradient skips the inner loop's second derivatives", kind_option=True
    )
    # --- optimiser options
    momentum_start: float = _field(0.5, "Koch's SGD: momentum at the first step", optimizer="sgd", minimum=0)
    momentum_end: float = _field(0.9, "Koch's SGD: momentum after momentum_epochs", optimizer="sgd", minimum=0)
    momentum_epochs: int = _field(20, "Koch's SGD: epochs over which momentum rises", optimizer="sgd", minimum=1)
    lr_decay: float = _field(0.99, "Koch's SGD: learning-rate factor after every epoch", optimizer="sgd", positive=True)
    layer_rates: dict[str, float] = _field(
        {}, "Koch's SGD: per-layer learning-rate multipliers, e.g. conv_1=2,features=0.5", optimizer="sgd"
    )
    halve_lr_every: int = _field(
        0, "Adam: halve the learning rate every this many epochs (0: never)", optimizer="adam", minimum=0
    )

    def __post_init__(self):
        self.check()

    @property
    def base_learning_rate(self) -> float:
        return DEFAULT_LEARNING_RATES[self.optimizer] if self.learning_rate is None else self.learning_rate

    def check(self) -> None:
        """Raise ValueError, saying what to change, if a field's value cannot run.

        Checks what holds for every kind; ``kinds.kind_of`` adds the model kind's own checks.
        """
        for spec in fields(self):
            _check_type(spec, getattr(self, spec.name))
            _check_number(spec, getattr(self, spec.name))
        if self.optimizer not in DEFAULT_LEARNING_RATES:
            raise ValueError(f"unknown optimizer {self.optimizer!r}: choose one of {sorted(DEFAULT_LEARNING_RATES)}")
        if self.train_on_validation_alphabets and (self.max_steps is None or self.minutes is not None):
            raise ValueError(
                "train_on_validation_alphabets needs a step budget and no minutes: the validation "
                "alphabets can no longer choose the weights, so fix the number of steps on a run that "
                "held them out (the step of its best validation) and give it as --steps"
            )
        if self.mask_ratio >= 1:
            raise ValueError(
                f"mask_ratio must lie strictly between 0 and 1 (the fraction of patches hidden: 1 leaves nothing "
                f"to see), got {self.mask_ratio}"
            )
        if self.seed > MAX_SEED:
            raise ValueError(f"seed must be at most {MAX_SEED}, got {self.seed}")
        for layer, rate in self.layer_rates.items():
            if not math.isfinite(rate) or rate < 0:
                raise ValueError(f"layer_rates: {layer!r} must have a finite multiplier, 0 or more, got {rate}")
        for name in ("momentum_start", "momentum_end"):
            if getattr(self, name) > 1:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        for spec in fields(self):
            wanted = spec.metadata["optimizer"]
            if wanted and wanted != self.optimizer and getattr(self, spec.name) != _default(spec):
                label = OPTIMIZER_NAMES[wanted]
                raise ValueError(f"{spec.name} applies to {label} only: use optimizer={wanted!r} or drop it")

    def applicable_fields(self, kind_options: Iterable[str]) -> list[str]:
        """Names of the fields this run reads: the run's own, its optimiser's and ``kind_options``."""
        kind_options = set(kind_options)
        return [
            spec.name
            for spec in fields(self)
            if spec.name in kind_options
            or not spec.metadata["kind_option"]
            and spec.metadata["optimizer"] in (None, self.optimizer)
        ]

    def to_json(self, kind_options: Iterable[str] | None = None) -> dict:
        """The config as a dict: every field, or with ``kind_options`` only the fields that apply."""
        values = asdict(self)
        if kind_options is None:
            return values
        return {name: values[name] for name in self.applicable_fields(kind_options)}

    @classmethod
    def from_json(cls, values: dict) -> TrainingConfig:
        """The config saved by ``to_json``; fields it left out take their defaults.

        Raises ValueError naming unknown fields.
        """
        known = {spec.name for spec in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training config fields {unknown}; known fields are {sorted(known)}")
        return cls(**values)


def _default(spec: Field):
    return spec.default_factory() if spec.default is MISSING else spec.default


#: What each type named in a field's annotation accepts, and how to say it.
_TYPES = {
    "int": (lambda value: isinstance(value, Integral) and not isinstance(value, bool), "a whole number"),
    "float": (lambda value: isinstance(value, Real) and not isinstance(value, bool), "a number"),
    "bool": (lambda value: isinstance(value, bool), "true or false"),
    "str": (lambda value: isinstance(value, str), "a string"),
    "None": (lambda value: value is None, "null"),
    "dict[str, float]": (
        lambda value: (
            isinstance(value, dict) and all(isinstance(k, str) and _TYPES["float"][0](v) for k, v in value.items())
        ),
        "an object of numbers",
    ),
}


def _check_type(spec: Field, value) -> None:
    """Raise ValueError naming the field if ``value`` is not of its annotated type (e.g. ``"28"`` for an int)."""
    names = [name.strip() for name in str(spec.type).split("|")]
    if not any(_TYPES[name][0](value) for name in names):
        wanted = " or ".join(_TYPES[name][1] for name in names)
        raise ValueError(f"{spec.name} must be {wanted}, got {value!r} ({type(value).__name__})")


def _check_number(spec: Field, value) -> None:
    """Raise ValueError if a numeric field holds NaN, an infinity or a value outside its bounds."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return
    if not math.isfinite(value):
        raise ValueError(f"{spec.name} must be a finite number, got {value}")
    minimum = spec.metadata["minimum"]
    if minimum is not None and value < minimum:
        raise ValueError(f"{spec.name} must be at least {minimum}, got {value}")
    maximum = spec.metadata["maximum"]
    if maximum is not None and value > maximum:
        raise ValueError(f"{spec.name} must be at most {maximum}, got {value}")
    if spec.metadata["positive"] and value <= 0:
        raise ValueError(f"{spec.name} must be positive, got {value}")
