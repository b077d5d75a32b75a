"""A training run's records, typed: its history (``history.json``) and its record (``config.json``).

A run folder (``oneshot_lib.training.run_folder``) holds two JSON files that say what the run is
and what it did. This module reads them into frozen dataclasses and writes them back:

- ``History``: one ``EpochRecord`` per validation, the best epoch and the SHA-256 of its weights,
  one ``Session`` per time the run was started or resumed, and why it stopped;
- ``RunRecord``: the ``TrainingConfig``, the command, the library versions, what rebuilds the
  model, its parameter count and, if one was chosen after training, a ``ScoringChoice``.

``from_json`` checks what it reads and raises ``MalformedRecord``, naming the file (``source``)
and the entry, for anything a run does not write. ``to_json`` gives back the very object read:
its keys in the file's order, entries this version does not know kept as they were, so a file
rewritten on resume loses nothing and a file only read is reproduced byte for byte by
``json.dumps(record.to_json(), indent=2) + "\\n"``. The records know nothing of Keras: reading
them loads no model.

The module is longer than 400 lines because the five records share one way of checking what
they read (the ``_whole``, ``_number``, ... readers, whose errors name the file) and one rule for
writing a file back as it was read (``_ordered``): split, those private helpers would cross
modules. Most of its lines are the field-by-field reading that gives each malformed entry its error.

    >>> history = History.from_json(json.loads(Path("runs/x/history.json").read_text()))
    >>> history.best.val_oneshot_accuracy, history.best.minutes, history.last.step
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real

from oneshot_lib.data.tasks import check_whole_number
from oneshot_lib.scoring.shifts import check_shift
from oneshot_lib.training.config import TrainingConfig


class MalformedRecord(ValueError):
    """A run's JSON file does not hold what a run writes; the message names the file and the entry."""


# ------------------------------------------------------------------ reading and writing values


def _whole(value, name: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise MalformedRecord(f"{source}: {name} must be a whole number, got {value!r}")
    return value


def _number(value, name: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise MalformedRecord(f"{source}: {name} must be a number, got {value!r}")
    return value


def _text(value, name: str, source: str) -> str:
    if not isinstance(value, str):
        raise MalformedRecord(f"{source}: {name} must be a string, got {value!r}")
    return value


def _object(value, name: str, source: str) -> dict:
    if not isinstance(value, dict):
        raise MalformedRecord(f"{source}: {name} must be a JSON object, got {value!r}")
    return value


def _optional(read: Callable, values: dict, key: str, source: str, default=None):
    """``read(values[key])``, or ``default`` if the key is missing or null."""
    value = values.get(key)
    return default if value is None else read(value, key, source)


def _ordered(values: dict, json_keys: tuple[str, ...]) -> dict:
    """``values`` laid out as the file was: the keys it had first, in its order, then the new ones.

    A value of None (or an empty list or object) is written only if the file had its key, so a
    record read from a file that lacks an optional entry writes it back without it.
    """
    present = {key: value for key, value in values.items() if key in json_keys or value not in (None, [], {})}
    first = [key for key in json_keys if key in present]
    return {key: present[key] for key in first + [key for key in present if key not in first]}


def _extra(values: dict, known: set[str]) -> dict:
    return {key: value for key, value in values.items() if key not in known}


# ------------------------------------------------------------------ history.json

#: What the callback writes of its epoch's logs, besides the step counts.
VALIDATION_KEYS = ("val_oneshot_accuracy", "val_oneshot_stderr")
#: The suffix of an epoch's count of training examples (``pairs_seen``, ``episodes_seen``, ...).
SEEN_SUFFIX = "_seen"


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of a run, as ``callbacks.RunRecorder`` recorded it after its validation.

    Attributes:
        epoch: its number, from 1; step: optimiser steps done at its end (over the whole run).
        elapsed_seconds: wall time used by the run at its end, validation included, over every
            session (``minutes`` gives it in minutes).
        seen, seen_name: training examples seen by then, and what they count (``"pairs_seen"``,
            ``"episodes_seen"``, ``"images_seen"``, ``"drawings_seen"``), or None.
        loss, accuracy: the epoch's training loss and accuracy (of the model kind's own task).
        val_oneshot_accuracy, val_oneshot_stderr: N-way one-shot accuracy on the fixed
            validation tasks, and its standard error over them.
        learning_rate, momentum: the optimiser's at the end (momentum: Koch's SGD only).
        last_sha256: SHA-256 of the ``last.keras`` saved with it (runs since checksums were kept).
        metrics: any other number the epoch's logs held, by name.
    """

    epoch: int
    step: int
    elapsed_seconds: float
    seen: int | None = None
    seen_name: str | None = None
    loss: float | None = None
    accuracy: float | None = None
    val_oneshot_accuracy: float | None = None
    val_oneshot_stderr: float | None = None
    learning_rate: float | None = None
    momentum: float | None = None
    last_sha256: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    #: The keys of the object it was read from, in their order (``to_json`` writes them so).
    json_keys: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def minutes(self) -> float:
        """``elapsed_seconds`` in minutes."""
        return self.elapsed_seconds / 60

    @classmethod
    def from_json(cls, values: dict, source: str = "the epoch record") -> EpochRecord:
        """The record of one entry of ``history.json``'s ``"epochs"``; raises MalformedRecord."""
        values = _object(values, "an epoch record", source)
        for key in ("epoch", "step", "elapsed_seconds"):
            if key not in values:
                raise MalformedRecord(f"{source}: an epoch record has no {key!r}: {values!r}")
        seen = [key for key in values if key.endswith(SEEN_SUFFIX)]
        if len(seen) > 1:
            raise MalformedRecord(f"{source}: an epoch record counts examples twice ({seen})")
        numbers = ("loss", "accuracy", *VALIDATION_KEYS, "learning_rate", "momentum")
        known = {"epoch", "step", "elapsed_seconds", "last_sha256", *numbers, *seen}
        metrics = {key: _number(value, key, source) for key, value in _extra(values, known).items()}
        return cls(
            epoch=_whole(values["epoch"], "epoch", source),
            step=_whole(values["step"], "step", source),
            elapsed_seconds=_number(values["elapsed_seconds"], "elapsed_seconds", source),
            seen=_whole(values[seen[0]], seen[0], source) if seen else None,
            seen_name=seen[0] if seen else None,
            **{key: _optional(_number, values, key, source) for key in numbers},
            last_sha256=_optional(_text, values, "last_sha256", source),
            metrics=metrics,
            json_keys=tuple(values),
        )

    def to_json(self) -> dict:
        """The entry as ``history.json`` holds it (the keys of the entry it was read from, in order)."""
        values = {"epoch": self.epoch, "step": self.step}
        if self.seen_name is not None:
            values[self.seen_name] = self.seen
        values |= {
            "elapsed_seconds": self.elapsed_seconds,
            "accuracy": self.accuracy,
            "loss": self.loss,
            "val_oneshot_accuracy": self.val_oneshot_accuracy,
            "val_oneshot_stderr": self.val_oneshot_stderr,
            **self.metrics,
            "learning_rate": self.learning_rate,
            "momentum": self.momentum,
            "last_sha256": self.last_sha256,
        }
        return _ordered(values, self.json_keys)


@dataclass(frozen=True)
class Session:
    """One start (or resumption) of a run: its command, where it started, on what.

    ``cpu_cores`` (the cores the process might use), ``replicas`` and ``devices`` (with
    ``--distribute``) are None for runs made before they were recorded.
    """

    command: str | None
    start_step: int
    start_epoch: int
    cpu_cores: int | None = None
    replicas: int | None = None
    devices: tuple[str, ...] | None = None
    #: Entries this version does not know, kept as they were.
    extra: Mapping[str, object] = field(default_factory=dict)
    json_keys: tuple[str, ...] = field(default=("command",), compare=False, repr=False)

    @classmethod
    def from_json(cls, values: dict, source: str = "the session record") -> Session:
        values = _object(values, "a session record", source)
        for key in ("start_step", "start_epoch"):
            if key not in values:
                raise MalformedRecord(f"{source}: a session record has no {key!r}: {values!r}")
        devices = values.get("devices")
        if devices is not None and not (isinstance(devices, list) and all(isinstance(d, str) for d in devices)):
            raise MalformedRecord(f"{source}: devices must be a list of device names, got {devices!r}")
        known = {"command", "start_step", "start_epoch", "cpu_cores", "replicas", "devices"}
        return cls(
            command=_optional(_text, values, "command", source),
            start_step=_whole(values["start_step"], "start_step", source),
            start_epoch=_whole(values["start_epoch"], "start_epoch", source),
            cpu_cores=_optional(_whole, values, "cpu_cores", source),
            replicas=_optional(_whole, values, "replicas", source),
            devices=None if devices is None else tuple(devices),
            extra=_extra(values, known),
            json_keys=tuple(values),
        )

    def to_json(self) -> dict:
        values = {
            "command": self.command,
            "start_step": self.start_step,
            "start_epoch": self.start_epoch,
            "cpu_cores": self.cpu_cores,
            "replicas": self.replicas,
            "devices": None if self.devices is None else list(self.devices),
            **self.extra,
        }
        return _ordered(values, self.json_keys)


#: The keys of a new run's ``history.json``, in their order (``"stopped"`` follows when it stops).
HISTORY_KEYS = ("epochs", "best_epoch", "best_val_oneshot_accuracy", "best_sha256", "sessions")


@dataclass(frozen=True)
class History:
    """What a run did: ``history.json``. ``History()`` is the history of a run not trained yet.

    Attributes:
        epochs: one record per validation, in order.
        best_epoch: the epoch whose weights are kept (``best.weights.h5``): the one of highest
            validation accuracy, or the last with ``train_on_validation_alphabets``; None before
            the first epoch ends.
        best_val_oneshot_accuracy: its validation accuracy.
        best_sha256: SHA-256 of the kept weights file (None for runs made before checksums).
        sessions: one per start or resumption of the run.
        stopped: why the last session stopped (a budget, patience), None while it trains.
        extra: entries this version does not know, kept as they were.
    """

    epochs: tuple[EpochRecord, ...] = ()
    best_epoch: int | None = None
    best_val_oneshot_accuracy: float | None = None
    best_sha256: str | None = None
    sessions: tuple[Session, ...] = ()
    stopped: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    json_keys: tuple[str, ...] = field(default=HISTORY_KEYS, compare=False, repr=False)

    @property
    def best(self) -> EpochRecord:
        """The record of the epoch whose weights were kept (``best_epoch``).

        Raises ValueError if no epoch has ended, or the history has no record of that epoch.
        """
        if self.best_epoch is None:
            raise ValueError("the run has no best epoch yet: no epoch has ended")
        for epoch in self.epochs:
            if epoch.epoch == self.best_epoch:
                return epoch
        raise ValueError(f"the history has no record of its best epoch, {self.best_epoch}")

    @property
    def last(self) -> EpochRecord:
        """The record of the last epoch; raises ValueError if none has ended."""
        if not self.epochs:
            raise ValueError("the run has no epoch yet")
        return self.epochs[-1]

    @property
    def steps(self) -> int:
        """Optimiser steps done by the end of the last epoch (0 before the first)."""
        return self.epochs[-1].step if self.epochs else 0

    @property
    def minutes(self) -> float:
        """Minutes the run used by the end of its last epoch, validation included (0 before the first)."""
        return self.epochs[-1].minutes if self.epochs else 0.0

    def epochs_within(self, minutes: float | None = None, steps: int | None = None) -> tuple[EpochRecord, ...]:
        """The epochs that ended within ``minutes`` of training time and ``steps`` steps (None: no limit)."""
        return tuple(
            epoch
            for epoch in self.epochs
            if (minutes is None or epoch.elapsed_seconds <= 60 * minutes) and (steps is None or epoch.step <= steps)
        )

    def most_accurate(self, minutes: float | None = None, steps: int | None = None) -> EpochRecord:
        """The epoch of highest validation accuracy among ``epochs_within(minutes, steps)`` (the first, on a tie).

        What the run would have kept with that budget. Raises ValueError if no epoch ended within it.
        """
        within = self.epochs_within(minutes, steps)
        if not within:
            raise ValueError(f"no epoch ended within {minutes} minutes and {steps} steps")
        return max(within, key=lambda epoch: epoch.val_oneshot_accuracy)

    def with_epoch(
        self,
        epoch: EpochRecord,
        best_epoch: int | None,
        best_val_oneshot_accuracy: float | None,
        best_sha256: str | None,
    ) -> History:
        """This history with ``epoch`` appended and the best as the validation now sees it."""
        return dataclasses.replace(
            self,
            epochs=(*self.epochs, epoch),
            best_epoch=best_epoch,
            best_val_oneshot_accuracy=best_val_oneshot_accuracy,
            best_sha256=best_sha256,
        )

    def with_session(self, session: Session) -> History:
        """This history with one more session."""
        return dataclasses.replace(self, sessions=(*self.sessions, session))

    def up_to_step(self, steps: int) -> History:
        """This history without the epochs that ended after ``steps`` steps (the best is left as it is)."""
        return dataclasses.replace(self, epochs=tuple(epoch for epoch in self.epochs if epoch.step <= steps))

    @classmethod
    def from_json(cls, values: dict, source: str = "the history") -> History:
        """The history ``history.json`` holds; entries other than ``"epochs"`` may be missing (older runs).

        Raises MalformedRecord, naming ``source``, for anything a run does not write.
        """
        if not isinstance(values, dict) or not isinstance(values.get("epochs"), list):
            raise MalformedRecord(
                f"{source} is not a training run's history: expected a JSON object with an "
                '"epochs" list, as python -m oneshot_lib.train writes. Restore the file from a copy.'
            )
        sessions = values.get("sessions", [])
        if not isinstance(sessions, list):
            raise MalformedRecord(f"{source}: sessions must be a list, got {sessions!r}")
        known = {*HISTORY_KEYS, "stopped"}
        return cls(
            epochs=tuple(EpochRecord.from_json(epoch, source) for epoch in values["epochs"]),
            best_epoch=_optional(_whole, values, "best_epoch", source),
            best_val_oneshot_accuracy=_optional(_number, values, "best_val_oneshot_accuracy", source),
            best_sha256=_optional(_text, values, "best_sha256", source),
            sessions=tuple(Session.from_json(session, source) for session in sessions),
            stopped=_optional(_text, values, "stopped", source),
            extra=_extra(values, known),
            json_keys=tuple(values),
        )

    def to_json(self) -> dict:
        """The history as ``history.json`` holds it."""
        values = {
            "epochs": [epoch.to_json() for epoch in self.epochs],
            "best_epoch": self.best_epoch,
            "best_val_oneshot_accuracy": self.best_val_oneshot_accuracy,
            "best_sha256": self.best_sha256,
            "sessions": [session.to_json() for session in self.sessions],
            "stopped": self.stopped,
            **self.extra,
        }
        return _ordered(values, self.json_keys)


# ------------------------------------------------------------------ config.json

#: The entries a ``"scoring"`` entry may hold, in the order a new one is written.
SCORING_KEYS = ("test_shifts", "fill", "grid", "test_inner_steps", "chosen")
#: What a ``"scoring"`` entry without ``fill`` or ``grid`` means: the 3x3 grid of wrapping shifts.
SCORING_DEFAULTS = {"fill": "wrap", "grid": 3}


@dataclass(frozen=True)
class ScoringChoice:
    """How a run's model scores, chosen after training: ``config.json``'s ``"scoring"`` entry.

    ``test_shifts``: the test-time shift (pixels at 105x105, 0 for none; see ``scoring.shifts``),
    chosen on the validation alphabets with the kept weights; ``chosen``: how, in words.
    ``test_inner_steps``: for a meta-learner, the inner steps it adapts with on a task's support
    set, chosen the same way (None: the ``test_inner_steps`` it trained with). ``fill`` and
    ``grid``: how the shifts treat the edge (``shifts.FILLS``) and their grid (``shifts.GRIDS``);
    a record without them (every one written before they existed) reads as ``"wrap"`` and 3, as
    such runs score, and is written back without them.
    """

    test_shifts: int
    chosen: str
    test_inner_steps: int | None = None
    fill: str = "wrap"
    grid: int = 3
    json_keys: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        check_shift(self.test_shifts, "scoring.test_shifts", fill=self.fill, grid=self.grid)
        if not isinstance(self.chosen, str) or not self.chosen.strip():
            raise ValueError(
                f"scoring.chosen must say how the choice was made (on which tasks, with which weights), "
                f"got {self.chosen!r}"
            )
        if self.test_inner_steps is not None:
            check_whole_number("scoring.test_inner_steps", self.test_inner_steps, 1)

    @classmethod
    def from_json(cls, values: dict, source: str = "the run record") -> ScoringChoice:
        if not isinstance(values, dict):
            raise MalformedRecord(f'{source}: its "scoring" entry must be an object, got {values!r}')
        try:
            fill, grid = values.get("fill", "wrap"), values.get("grid", 3)
            check_shift(values.get("test_shifts"), "scoring.test_shifts", fill=fill, grid=grid)
            if not {"test_shifts", "chosen"} <= set(values) <= set(SCORING_KEYS):
                raise ValueError(
                    'the "scoring" entry must hold "test_shifts" and "chosen", and may hold "test_inner_steps", '
                    f'"fill" and "grid"; got {values!r}'
                )
            steps = values.get("test_inner_steps")
            return cls(values["test_shifts"], values["chosen"], steps, fill, grid, json_keys=tuple(values))
        except ValueError as error:
            raise MalformedRecord(f"{source} cannot be used: {error}") from None

    def to_json(self) -> dict:
        """The entry as ``config.json`` holds it: ``fill`` and ``grid`` if it held them or they are not the defaults."""
        shifts = {"fill": self.fill, "grid": self.grid}
        written = shifts != SCORING_DEFAULTS or not set(shifts).isdisjoint(self.json_keys)
        steps = {} if self.test_inner_steps is None else {"test_inner_steps": self.test_inner_steps}
        values = {"test_shifts": self.test_shifts, **(shifts if written else {}), **steps, "chosen": self.chosen}
        return _ordered(values, self.json_keys or SCORING_KEYS)


#: The entries of ``config.json`` that rebuild the model, as its kind records them (``ModelKind.record``).
REBUILD_KEYS = ("architecture", "model")


@dataclass(frozen=True)
class RunRecord:
    """What a run is: ``config.json``.

    Attributes:
        config: the run's config (fields the file leaves out take their defaults).
        config_fields: the fields the file records (those that apply to the run's kind), in order.
        command: the command line that started it (None when trained from Python).
        versions: Python's and the libraries' versions it trained with.
        rebuild: what rebuilds the model, as its kind records it: ``{"architecture": ...}``
            for a siamese network, ``{"model": its Keras config}`` for the others.
        parameters: the model's parameter count.
        scoring: the scoring chosen after training (``pretrained.record_scoring_choice``), if any.
        resumed_with: the commands that resumed it.
        extra: entries this version does not know, kept as they were.
    """

    config: TrainingConfig
    config_fields: tuple[str, ...]
    command: str | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    rebuild: Mapping[str, object] = field(default_factory=dict)
    parameters: int | None = None
    scoring: ScoringChoice | None = None
    resumed_with: tuple[str | None, ...] = ()
    extra: Mapping[str, object] = field(default_factory=dict)
    json_keys: tuple[str, ...] = field(default=("config", "command", "versions"), compare=False, repr=False)

    @property
    def test_shifts(self) -> int:
        """The test-time shift its scorer uses: the scoring choice's, else the one it trained with."""
        return self.config.test_shifts if self.scoring is None else self.scoring.test_shifts

    @property
    def shift_fill(self) -> str:
        """How its test-time shifts treat the edge (``shifts.FILLS``): the scoring choice's, else ``"wrap"``."""
        return "wrap" if self.scoring is None else self.scoring.fill

    @property
    def shift_grid(self) -> int:
        """The grid of its test-time shifts (``shifts.GRIDS``): the scoring choice's, else 3 (3x3)."""
        return 3 if self.scoring is None else self.scoring.grid

    @property
    def test_inner_steps(self) -> int:
        """A meta-learner's inner steps at test time: the scoring choice's, else the ones it trained with."""
        chosen = None if self.scoring is None else self.scoring.test_inner_steps
        return self.config.test_inner_steps if chosen is None else chosen

    def with_scoring(self, scoring: ScoringChoice) -> RunRecord:
        return dataclasses.replace(self, scoring=scoring)

    def resumed(self, config: TrainingConfig, kind_options, command: str | None) -> RunRecord:
        """The record of the run resumed by ``command`` with ``config`` (whose budgets may differ)."""
        return dataclasses.replace(
            self,
            config=config,
            config_fields=tuple(config.applicable_fields(kind_options)),
            resumed_with=(*self.resumed_with, command),
        )

    @classmethod
    def from_json(cls, values: dict, source: str = "the run record") -> RunRecord:
        """The record ``config.json`` holds; raises MalformedRecord, naming ``source``, if it cannot be read."""
        if not isinstance(values, dict) or not isinstance(values.get("config"), dict):
            raise MalformedRecord(
                f'{source} is not a training run\'s config: expected a JSON object with a "config" '
                "object, as python -m oneshot_lib.train writes. Restore the file from a copy."
            )
        try:
            config = TrainingConfig.from_json(values["config"])
        except (TypeError, ValueError) as error:
            raise MalformedRecord(f"{source} holds a config that cannot be read: {error}") from None
        resumed_with = values.get("resumed_with", [])
        if not isinstance(resumed_with, list) or not all(c is None or isinstance(c, str) for c in resumed_with):
            raise MalformedRecord(f"{source}: resumed_with must be a list of commands, got {resumed_with!r}")
        versions = _optional(_object, values, "versions", source, {})
        known = {"config", "command", "versions", *REBUILD_KEYS, "parameters", "scoring", "resumed_with"}
        return cls(
            config=config,
            config_fields=tuple(values["config"]),
            command=_optional(_text, values, "command", source),
            versions=versions,
            rebuild={key: values[key] for key in REBUILD_KEYS if key in values},
            parameters=_optional(_whole, values, "parameters", source),
            scoring=None if values.get("scoring") is None else ScoringChoice.from_json(values["scoring"], source),
            resumed_with=tuple(resumed_with),
            extra=_extra(values, known),
            json_keys=tuple(values),
        )

    def to_json(self) -> dict:
        """The record as ``config.json`` holds it: of the config, only ``config_fields``."""
        config = asdict(self.config)
        values = {
            "config": {name: config[name] for name in self.config_fields},
            "command": self.command,
            "versions": dict(self.versions),
            **self.rebuild,
            "parameters": self.parameters,
            "scoring": None if self.scoring is None else self.scoring.to_json(),
            "resumed_with": list(self.resumed_with),
            **self.extra,
        }
        return _ordered(values, self.json_keys)
