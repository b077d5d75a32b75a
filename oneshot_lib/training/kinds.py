"""Model kinds: what a training run can train, and how each kind is built, fed and scored.

A *model kind* (``ModelKind``) is everything the generic run machinery (``oneshot_lib.runs``)
needs to know about one model: how to build it from a config, the tf.data stream of its
training batches, its loss and metrics, how to turn a trained model into a scorer, which config
fields it reads, and how a saved run rebuilds it. ``MODEL_KINDS`` names every kind; this is
the only module that imports every model module, and no model module imports it, so imports
flow one way: models -> kinds -> runs -> the command line.

- ``"siamese"``: Koch's siamese network or its CPU sibling (``oneshot_lib.models.siamese``), on pairs
  (``oneshot_lib.models.pairs``), binary cross-entropy;
- ``"prototypical"``, ``"matching"``: the episodic networks (``oneshot_lib.models.episodic``);
- ``"transfer"``: the softmax classifier over the training characters (``oneshot_lib.models.transfer``);
- ``"rotation"``, ``"contrastive"``: the self-supervised networks (``oneshot_lib.models.selfsupervised``),
  trained on the training drawings without their character labels;
- ``"maml"`` (first-order with ``first_order``), ``"reptile"``: meta-learnt initialisations
  (``oneshot_lib.models.metalearning``), on meta-batches of episodes; their scorers adapt on each support set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from oneshot_lib.backend import keras, tf
from oneshot_lib.data.augment import scaled_distortions
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.tasks import check_task_request, sample_pair_indices
from oneshot_lib.models import episodic, metalearning, selfsupervised, siamese, transfer
from oneshot_lib.models.backbones import check_backbone
from oneshot_lib.models.pairs import pair_dataset
from oneshot_lib.training.config import TrainingConfig
from oneshot_lib.training.distribute import repeat_rows, split_rows


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
        record: (model, config) -> what ``config.json`` must hold to rebuild the model later.
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


def check_replicas(config: TrainingConfig, replicas: int) -> None:
    """Raise ValueError if ``config``'s kind cannot train on ``replicas`` (its batch does not share evenly)."""
    kind = kind_of(config)
    if replicas > 1 and kind.one_device is not None:
        raise ValueError(
            f"{config.model} trains on one device only ({kind.one_device}): drop --distribute and --cpu-devices"
        )
    what, count = kind.split_size(config)
    if count % replicas:
        raise ValueError(
            f"{what} = {count} cannot be shared evenly among {replicas} replicas: make it a multiple of {replicas}"
        )


def kind_named(name: str) -> ModelKind:
    """``MODEL_KINDS[name]``; raises ValueError listing the known kinds for an unknown name."""
    if name not in MODEL_KINDS:
        raise ValueError(f"unknown model {name!r}: choose one of {sorted(MODEL_KINDS)}")
    return MODEL_KINDS[name]


def kind_of(config: TrainingConfig) -> ModelKind:
    """The kind ``config.model`` names, after checking that it can train with ``config``.

    Raises ValueError, saying what to change, for an unknown model or a config the kind cannot run.
    """
    kind = kind_named(config.model)
    if kind.check is not None:
        kind.check(config)
    return kind


# ------------------------------------------------------------------ the siamese kind


def _build_siamese(config: TrainingConfig, data: OmniglotSplit | None = None) -> keras.Model:
    return siamese.build_siamese(config.size, seed=config.seed, l2_conv=config.l2_conv, l2_dense=config.l2_dense)


def _siamese_dataset(data: OmniglotSplit, config: TrainingConfig, start_step: int) -> tf.data.Dataset:
    return pair_dataset(
        data,
        config.batch_size,
        seed=config.seed,
        start_step=start_step,
        augment=config.augment,
        hard_negatives=config.hard_negatives,
        rotate_classes=config.rotate_classes,
    )


def _rebuild_siamese(record: dict, config: TrainingConfig) -> keras.Model:
    """From the architecture recorded with the run, so later changes to
    ``siamese.ARCHITECTURES`` cannot break old runs."""
    if "architecture" not in record:
        return _build_siamese(config)
    size = siamese.from_description(record["architecture"])
    return siamese.build_siamese(size, l2_conv=config.l2_conv, l2_dense=config.l2_dense)


def _check_siamese(config: TrainingConfig) -> None:
    siamese.check_size(config.size)
    if config.batch_size % 2:
        raise ValueError(f"batch_size must be even (half same, half different pairs), got {config.batch_size}")


SIAMESE = ModelKind(
    build=_build_siamese,
    dataset=_siamese_dataset,
    scorer=siamese.SiameseScorer,
    loss=keras.losses.BinaryCrossentropy,
    metrics=lambda: [keras.metrics.BinaryAccuracy(name="accuracy")],
    options=("size", "batch_size", "hard_negatives", "l2_conv", "l2_dense", "rotate_classes"),
    record=lambda model, config: {"architecture": siamese.describe(config.size)},
    rebuild=_rebuild_siamese,
    load_weights=siamese.load_weights,
    check=_check_siamese,
    check_data=lambda data, config: sample_pair_indices(data, 2, hard_negatives=config.hard_negatives, rng=0),
)


# ------------------------------------------------------------------ kinds on the Conv-4 embedding


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


def _conv4_kind(
    build: Callable[[TrainingConfig, OmniglotSplit | None], keras.Model],
    dataset: Callable[[OmniglotSplit, TrainingConfig, int], tf.data.Dataset],
    options: tuple[str, ...],
    check_data: Callable[[OmniglotSplit, TrainingConfig], None],
    seen: Callable[[TrainingConfig], tuple[str, int]],
    accuracy_name: str,
    check: Callable[[TrainingConfig], None] | None = None,
    **distribution,
) -> ModelKind:
    """A kind whose model reads integer labels with logits and has a ``scorer()`` method.

    ``check``, if given, runs after the backbone's check (``check_backbone``); ``distribution``
    may give the kind's ``shares``, ``split_size`` and ``one_device`` (see ``ModelKind``).
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
        loss=episodic.episode_loss,
        metrics=episodic.episode_metrics,
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


def _distortions(config: TrainingConfig):
    return scaled_distortions(config.image_size) if config.augment else None


def _build_episodic(config: TrainingConfig, data: OmniglotSplit | None = None) -> episodic.EpisodicNetwork:
    return episodic.build_episodic(
        config.model, image_size=config.image_size, backbone=config.backbone, seed=config.seed
    )


def _episode_dataset(data: OmniglotSplit, config: TrainingConfig, start_step: int) -> tf.data.Dataset:
    return episodic.episode_dataset(
        data,
        config.n_way,
        config.k_shot,
        config.n_query,
        within_alphabet=config.episode_within_alphabet,
        rotate_classes=config.rotate_classes,
        distortions=_distortions(config),
        image_size=config.image_size,
        seed=config.seed,
        start_step=start_step,
    )


def _build_classifier(config: TrainingConfig, data: OmniglotSplit | None) -> transfer.TransferClassifier:
    if data is None:
        raise ValueError(
            "a transfer classifier's size depends on its training data: pass the training split, "
            "or load a saved run with runs.load_run_model (its config.json records the model)"
        )
    n_classes = transfer.n_classes(data, config.rotate_classes)
    return transfer.build_classifier(
        n_classes, image_size=config.image_size, backbone=config.backbone, seed=config.seed
    )


def _classification_dataset(data: OmniglotSplit, config: TrainingConfig, start_step: int) -> tf.data.Dataset:
    return transfer.classification_dataset(
        data,
        config.batch_size,
        rotate_classes=config.rotate_classes,
        distortions=_distortions(config),
        image_size=config.image_size,
        seed=config.seed,
        start_step=start_step,
    )


EPISODE_OPTIONS = ("n_way", "k_shot", "n_query", "episode_within_alphabet", "rotate_classes")


def _check_episodes(data: OmniglotSplit, config: TrainingConfig) -> None:
    check_task_request(data, config.n_way, config.k_shot, config.n_query, config.episode_within_alphabet)


def _check_classes(data: OmniglotSplit, config: TrainingConfig) -> None:
    if len(data) < 2:
        raise ValueError(f"the split {data.name!r} has {len(data)} characters: a classifier needs at least 2")


def _episodes(config: TrainingConfig) -> tuple[str, int]:
    return "episodes_seen", 1


def _episode_shares(episode: dict, query_labels, replicas: int) -> tuple[dict, object]:
    """One episode for several replicas: each sees the whole support set and its share of the queries.

    Every query is still scored against every class, so the summed gradients are the episode's
    (up to batch normalisation, whose statistics each replica takes over its own images).
    """
    support = {name: repeat_rows(episode[name], replicas) for name in ("support", "support_labels")}
    return {**support, "query": split_rows(episode["query"], replicas)}, split_rows(query_labels, replicas)


def _queries(config: TrainingConfig) -> tuple[str, int]:
    return "n_way * n_query (the queries of an episode)", config.n_way * config.n_query


# ------------------------------------------------------------------ self-supervised kinds (no labels)


def _build_rotation(config: TrainingConfig, data: OmniglotSplit | None = None) -> selfsupervised.RotationNetwork:
    return selfsupervised.build_selfsupervised(
        "rotation", image_size=config.image_size, backbone=config.backbone, seed=config.seed
    )


def _build_contrastive(config: TrainingConfig, data: OmniglotSplit | None = None) -> selfsupervised.ContrastiveNetwork:
    return selfsupervised.build_selfsupervised(
        "contrastive",
        image_size=config.image_size,
        backbone=config.backbone,
        seed=config.seed,
        temperature=config.temperature,
    )


def _strong_distortions(config: TrainingConfig):
    """Koch's distortions at the image size, their ranges ``config.distortion_strength`` times as wide."""
    return selfsupervised.strengthened(scaled_distortions(config.image_size), config.distortion_strength)


def _rotation_dataset(data: OmniglotSplit, config: TrainingConfig, start_step: int) -> tf.data.Dataset:
    # Only the drawings reach the stream: drawing_pool drops the character axis.
    return selfsupervised.rotation_dataset(
        selfsupervised.drawing_pool(data),
        config.batch_size,
        distortions=_strong_distortions(config) if config.augment else None,
        image_size=config.image_size,
        seed=config.seed,
        start_step=start_step,
    )


def _contrastive_dataset(data: OmniglotSplit, config: TrainingConfig, start_step: int) -> tf.data.Dataset:
    return selfsupervised.contrastive_dataset(
        selfsupervised.drawing_pool(data),
        config.batch_size,
        distortions=_strong_distortions(config),
        erase_probability=config.erase_probability,
        image_size=config.image_size,
        seed=config.seed,
        start_step=start_step,
    )


def _check_rotation(config: TrainingConfig) -> None:
    _strong_distortions(config)


def _check_contrastive(config: TrainingConfig) -> None:
    _strong_distortions(config)
    if not config.augment:
        raise ValueError(
            "contrastive learning needs augment=True: the two views of a drawing differ only by their "
            "random distortions (drop --no-augment)"
        )
    if config.batch_size < 2:
        raise ValueError(
            f"contrastive batches need at least 2 drawings (a view needs negatives), got batch_size={config.batch_size}"
        )


def _check_pool(minimum_batch: int) -> Callable[[OmniglotSplit, TrainingConfig], None]:
    def check(data: OmniglotSplit, config: TrainingConfig) -> None:
        selfsupervised.check_pool(selfsupervised.drawing_pool(data), config.batch_size, minimum_batch)

    return check


def _drawings(config: TrainingConfig) -> tuple[str, int]:
    return "drawings_seen", config.batch_size


def _contrastive_shares(views, partners, replicas: int) -> tuple[object, object]:
    """Each replica takes both views of every ``replicas``-th drawing, laid out as a batch of its own.

    NT-Xent then contrasts each view with the other views on its replica only: with R replicas
    a view has 2B/R - 2 negatives instead of 2B - 2 (the replicas do not gather each other's).
    """
    drawings_per_replica = int(views.shape[0]) // (2 * replicas)
    partners = selfsupervised.positive_indices(drawings_per_replica)
    return split_rows(views, replicas), repeat_rows(tf.constant(partners), replicas)


SELF_SUPERVISED_OPTIONS = ("batch_size", "distortion_strength")


# ------------------------------------------------------------------ meta-learnt initialisations


def _build_metalearner(config: TrainingConfig, data: OmniglotSplit | None = None) -> metalearning.MetaLearner:
    options = {"first_order": config.first_order} if config.model == "maml" else {}
    return metalearning.build_metalearner(
        config.model,
        image_size=config.image_size,
        backbone=config.backbone,
        seed=config.seed,
        inner_steps=config.inner_steps,
        inner_learning_rate=config.inner_learning_rate,
        test_inner_steps=config.test_inner_steps,
        **options,
    )


def _meta_batch_dataset(data: OmniglotSplit, config: TrainingConfig, start_step: int) -> tf.data.Dataset:
    """Episodes batched by ``meta_batch_size``: step s holds episodes s*T .. s*T + T - 1."""
    episodes = _episode_dataset(data, config, start_step * config.meta_batch_size)
    return episodes.batch(config.meta_batch_size, drop_remainder=True)


def _check_metalearner(config: TrainingConfig) -> None:
    if config.backbone != "conv4":
        raise ValueError(f"{config.model} is written for the conv4 backbone, got backbone={config.backbone!r}")
    if config.test_shifts:
        raise ValueError(
            f"test_shifts applies to scorers that embed each image on its own; {config.model} adapts on "
            "each task instead: drop --test-shifts"
        )
    minimum = metalearning.METHODS[config.model].minimum_inner_steps
    if config.inner_steps < minimum:
        raise ValueError(
            f"{config.model} needs --inner-steps of at least {minimum}: its head starts every task at zero, so "
            "the first inner step moves only the head and the initialisation would never change"
        )
    if config.model == "reptile" and config.first_order:
        raise ValueError("first_order applies to maml only (Reptile uses no second derivatives): drop --first-order")


METALEARNING_OPTIONS = (*EPISODE_OPTIONS, "inner_steps", "inner_learning_rate", "test_inner_steps", "meta_batch_size")


def _metalearning_kind(options: tuple[str, ...], accuracy_name: str) -> ModelKind:
    return _conv4_kind(
        _build_metalearner,
        _meta_batch_dataset,
        options,
        _check_episodes,
        lambda config: ("episodes_seen", config.meta_batch_size),
        accuracy_name,
        check=_check_metalearner,
        one_device="its inner loop adapts a copy of the weights per task, which is not written for replicas",
    )


#: Every kind a run can train, by the name ``TrainingConfig.model`` and ``--model`` use.
MODEL_KINDS: dict[str, ModelKind] = {
    "siamese": SIAMESE,
    **{
        method: _conv4_kind(
            _build_episodic,
            _episode_dataset,
            EPISODE_OPTIONS,
            _check_episodes,
            _episodes,
            "query acc",
            shares=_episode_shares,
            split_size=_queries,
        )
        for method in episodic.METHODS
    },
    "transfer": _conv4_kind(
        _build_classifier,
        _classification_dataset,
        ("batch_size", "rotate_classes"),
        _check_classes,
        lambda config: ("images_seen", config.batch_size),
        "class acc",
    ),
    "rotation": _conv4_kind(
        _build_rotation,
        _rotation_dataset,
        SELF_SUPERVISED_OPTIONS,
        _check_pool(1),
        _drawings,
        "turn acc",
        check=_check_rotation,
    ),
    "contrastive": _conv4_kind(
        _build_contrastive,
        _contrastive_dataset,
        (*SELF_SUPERVISED_OPTIONS, "temperature", "erase_probability"),
        _check_pool(2),
        _drawings,
        "partner acc",
        check=_check_contrastive,
        shares=_contrastive_shares,
    ),
    "maml": _metalearning_kind((*METALEARNING_OPTIONS, "first_order"), "query acc"),
    "reptile": _metalearning_kind(METALEARNING_OPTIONS, "adapted acc"),
}
