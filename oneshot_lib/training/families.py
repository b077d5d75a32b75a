"""Each family of models as a kind a run can train (``model_kind.ModelKind``): how it is built, fed and checked.

- ``SIAMESE``: Koch's siamese network or its CPU sibling (``oneshot_lib.models.siamese``), on pairs
  (``oneshot_lib.models.pairs``), binary cross-entropy;
- ``EPISODIC``: the prototypical and matching networks (``oneshot_lib.models.episodic``), on episodes;
- ``TRANSFER``: the softmax classifier over the training characters (``oneshot_lib.models.transfer``);
- ``ROTATION``, ``CONTRASTIVE``, ``MASKED``: the self-supervised networks (``oneshot_lib.models.selfsupervised``
  and ``oneshot_lib.models.masked``), trained on the training drawings without their character labels;
- ``MAML`` (first-order with ``first_order``), ``REPTILE``: meta-learnt initialisations
  (``oneshot_lib.models.metalearning``), on meta-batches of episodes; their scorers adapt on each support set.

This and ``model_kind`` are the only modules of the training layer that import model modules;
``kinds.MODEL_KINDS`` names these kinds.
"""

from __future__ import annotations

from collections.abc import Callable

from oneshot_lib.backend import keras, tf
from oneshot_lib.data.augment import scaled_distortions
from oneshot_lib.data.omniglot import OmniglotSplit
from oneshot_lib.data.tasks import check_task_request, sample_pair_indices
from oneshot_lib.models import episodic, masked, metalearning, selfsupervised, siamese, transfer
from oneshot_lib.models.pairs import pair_dataset
from oneshot_lib.training.config import TrainingConfig
from oneshot_lib.training.distribute import repeat_rows, split_rows
from oneshot_lib.training.model_kind import ModelKind, backbone_kind

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
            "or load a saved run with loading.load_run_model (its config.json records the model)"
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


def _build_masked(config: TrainingConfig, data: OmniglotSplit | None = None) -> masked.MaskedNetwork:
    return masked.build_masked(
        image_size=config.image_size,
        backbone=config.backbone,
        seed=config.seed,
        patch_size=config.patch_size,
        mask_ratio=config.mask_ratio,
    )


def _masked_dataset(data: OmniglotSplit, config: TrainingConfig, start_step: int) -> tf.data.Dataset:
    return masked.masked_dataset(
        selfsupervised.drawing_pool(data),
        config.batch_size,
        patch_size=config.patch_size,
        mask_ratio=config.mask_ratio,
        distortions=_strong_distortions(config) if config.augment else None,
        image_size=config.image_size,
        seed=config.seed,
        start_step=start_step,
    )


def _check_masked(config: TrainingConfig) -> None:
    _strong_distortions(config)
    masked.check_masking(config.image_size, config.patch_size, config.mask_ratio)
    masked.check_decoder(config.image_size, masked.DECODER_BLOCKS)


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
    if config.model == "maml":
        options = {"first_order": config.first_order}
    else:
        options = {"inner_batch_size": config.inner_batch_size}
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
    task_images = config.n_way * (config.k_shot + config.n_query)
    if config.model == "reptile" and config.inner_batch_size > task_images:
        raise ValueError(
            f"--inner-batch-size {config.inner_batch_size} is more than a training task's {task_images} images "
            f"(n_way * (k_shot + n_query)): lower it, or raise --n-query"
        )


METALEARNING_OPTIONS = (*EPISODE_OPTIONS, "inner_steps", "inner_learning_rate", "test_inner_steps", "meta_batch_size")


def _metalearning_kind(options: tuple[str, ...], accuracy_name: str) -> ModelKind:
    return backbone_kind(
        _build_metalearner,
        _meta_batch_dataset,
        options,
        _check_episodes,
        lambda config: ("episodes_seen", config.meta_batch_size),
        accuracy_name,
        check=_check_metalearner,
        one_device="its inner loop adapts a copy of the weights per task, which is not written for replicas",
    )


# ------------------------------------------------------------------ the kinds, by family

#: The episodic kinds, by method (``"prototypical"``, ``"matching"``).
EPISODIC = {
    method: backbone_kind(
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
}
TRANSFER = backbone_kind(
    _build_classifier,
    _classification_dataset,
    ("batch_size", "rotate_classes"),
    _check_classes,
    lambda config: ("images_seen", config.batch_size),
    "class acc",
)
ROTATION = backbone_kind(
    _build_rotation,
    _rotation_dataset,
    SELF_SUPERVISED_OPTIONS,
    _check_pool(1),
    _drawings,
    "turn acc",
    check=_check_rotation,
)
CONTRASTIVE = backbone_kind(
    _build_contrastive,
    _contrastive_dataset,
    (*SELF_SUPERVISED_OPTIONS, "temperature", "erase_probability"),
    _check_pool(2),
    _drawings,
    "partner acc",
    check=_check_contrastive,
    shares=_contrastive_shares,
)
MASKED = backbone_kind(
    _build_masked,
    _masked_dataset,
    (*SELF_SUPERVISED_OPTIONS, "mask_ratio", "patch_size"),
    _check_pool(1),
    _drawings,
    "hidden pixel acc",
    check=_check_masked,
    loss=masked.MaskedReconstructionLoss,
    metrics=lambda: [masked.HiddenPixelAccuracy()],
)
MAML = _metalearning_kind((*METALEARNING_OPTIONS, "first_order"), "query acc")
REPTILE = _metalearning_kind((*METALEARNING_OPTIONS, "inner_batch_size"), "adapted acc")
