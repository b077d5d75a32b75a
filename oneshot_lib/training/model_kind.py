"""The contract of a model kind (``ModelKind``): what a run must know of one kind of model.

The registry of kinds is ``oneshot_lib.training.kinds``; each family's kinds are built in
``oneshot_lib.training.families``. Most kinds train a network on a backbone
(``models.backbones.BackboneModel``: episodic, transfer, self-supervised and meta-learnt models),
which share how they are scored, recorded and reloaded: ``backbone_kind`` makes such a kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from oneshot_lib.backend import keras, tf
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.models import episodic
from oneshot_lib.models.backbones import check_backbone
from oneshot_lib.training.config import TrainingConfig
from oneshot_lib.training.distribute import split_rows


@dataclass(frozen=True)
class ModelKind:
    """How to train and use one kind of model.

    Attributes:
        build: (config, training split) -> a new, uncompiled keras.Model, its weights seeded by
            ``config.seed``. The split is None when a saved run is rebuilt without its data.
        dataset: (training split, config, first step) -> an endless tf.data.Dataset of
            (inputs, targets) batches, batch ``s`` a function of the seed and ``s`` only.
        scorer: trained keras.Model -> a scorer (ideally with ``embed`` and ``compare``, so
            validation can embed each image once; see ``evaluate.EmbeddingScorer``).
        loss, metrics: factories for ``model.compile``.
        options: the kind options of ``TrainingConfig`` this kind reads (recorded in a run's
            ``config.json``; the others are left out).
        record: (model, config) -> what ``config.json`` must hold to rebuild the model later
            (``records.RunRecord.rebuild``: an ``"architecture"`` or ``"model"`` entry).
        rebuild: (that record, config) -> a new model with the saved run's architecture.
        load_weights: (model, path of a ``.weights.h5`` file) -> the model with those weights,
            raising ``siamese.CheckpointMismatchError`` or FileNotFoundError if they do not fit.
        check: config -> None, raising ValueError (saying what to change) if the kind cannot
            run it; None for no check beyond ``TrainingConfig.check``.
        check_data: (training split, config) -> None, raising ValueError if the split cannot
            feed the config's batches (e.g. more classes per episode than it has characters).
        seen: config -> (history key, examples per step), e.g. ``("pairs_seen", batch_size)``.
        accuracy_name: what the training accuracy counts, for the log lines.
        shares: (inputs, targets, replicas) -> both with a leading axis of one share of the
            batch per replica (``--distribute``); by default each replica takes every
            ``replicas``-th row (``distribute.split_rows``).
        split_size: config -> (what, count) of a batch that ``shares`` divides among the
            replicas, e.g. ``("batch_size", 128)``: the count must be a multiple of the replicas.
        one_device: why the kind trains on one device only, or None if it can be distributed.
    """

    build: Callable[[TrainingConfig, OmniglotSplit | None], keras.Model]
    dataset: Callable[[OmniglotSplit, TrainingConfig, int], tf.data.Dataset]
    scorer: Callable[[keras.Model], object]
    loss: Callable[[], keras.losses.Loss]
    metrics: Callable[[], list]
    options: tuple[str, ...]
    record: Callable[[keras.Model, TrainingConfig], dict]
    rebuild: Callable[[dict, TrainingConfig], keras.Model]
    load_weights: Callable[[keras.Model, Path], keras.Model]
    check: Callable[[TrainingConfig], None] | None = None
    check_data: Callable[[OmniglotSplit, TrainingConfig], None] = lambda data, config: None
    seen: Callable[[TrainingConfig], tuple[str, int]] = lambda config: ("pairs_seen", config.batch_size)
    accuracy_name: str = "pair acc"
    shares: Callable[[object, object, int], tuple[object, object]] = lambda inputs, targets, replicas: (
        split_batch(inputs, replicas),
        split_batch(targets, replicas),
    )
    split_size: Callable[[TrainingConfig], tuple[str, int]] = lambda config: ("batch_size", config.batch_size)
    one_device: str | None = None


def split_batch(batch, replicas: int):
    """Every tensor of a batch (a tensor, tuple or dict), its rows dealt out: ``distribute.split_rows``."""
    return tf.nest.map_structure(lambda tensor: split_rows(tensor, replicas), batch)


# ------------------------------------------------------------------ kinds on a backbone network


def _check_backbone(config: TrainingConfig) -> None:
    check_backbone(config.backbone, config.image_size)


def _record_model(model: keras.Model, config: TrainingConfig) -> dict:
    """The model's Keras config (without compile arguments): a transfer classifier's class count
    depends on its training data, so the model is rebuilt from this, not from the run config."""
    bare = type(model).from_config(model.get_config())
    return {"model": keras.saving.serialize_keras_object(bare)}


def _load_conv4_weights(model: keras.Model, path: Path) -> keras.Model:
    # siamese.load_weights checks layer by layer, which reads only functional models' files;
    # these models are rebuilt from the recorded config, so their weights fit by construction.
    if not Path(path).is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    model.load_weights(path)
    return model


def backbone_kind(
    build: Callable[[TrainingConfig, OmniglotSplit | None], keras.Model],
    dataset: Callable[[OmniglotSplit, TrainingConfig, int], tf.data.Dataset],
    options: tuple[str, ...],
    check_data: Callable[[OmniglotSplit, TrainingConfig], None],
    seen: Callable[[TrainingConfig], tuple[str, int]],
    accuracy_name: str,
    check: Callable[[TrainingConfig], None] | None = None,
    *,
    loss: Callable[[], keras.losses.Loss] = episodic.episode_loss,
    metrics: Callable[[], list] = episodic.episode_metrics,
    **distribution,
) -> ModelKind:
    """A kind whose model has a ``scorer()`` method, and by default reads integer labels with logits.

    ``check``, if given, runs after the backbone's check (``check_backbone``); ``loss`` and
    ``metrics`` replace the cross-entropy of logits and integer labels (``episodic.episode_loss``)
    for a model with other targets; ``distribution`` may give the kind's ``shares``,
    ``split_size`` and ``one_device`` (see ``ModelKind``).
    """

    def rebuild(record: dict, config: TrainingConfig) -> keras.Model:
        if "model" in record:
            return keras.saving.deserialize_keras_object(record["model"])
        return build(config, None)

    def check_config(config: TrainingConfig) -> None:
        _check_backbone(config)
        if check is not None:
            check(config)

    return ModelKind(
        build=build,
        dataset=dataset,
        scorer=lambda model: model.scorer(),
        loss=loss,
        metrics=metrics,
        options=(*options, "image_size", "backbone"),
        record=_record_model,
        rebuild=rebuild,
        load_weights=_load_conv4_weights,
        check=check_config,
        check_data=check_data,
        seen=seen,
        accuracy_name=accuracy_name,
        **distribution,
    )
