"""Self-supervised models: a Conv-4 embedding learnt from drawings without their labels.

The other models of the course learn from the character labels of the training alphabets
(which drawings show the same character). The two here never see them: they make up a
*pretext task* whose answers come from the images themselves, train the embedding on it, and
are then scored like the transfer baseline, by the cosine similarity of their
embeddings (``conv4.CosineScorer``). Whatever one-shot accuracy they reach was
learnt with no labelled example at all; only model selection (the one-shot validation on the
validation alphabets) uses labels, as for every kind.

- Rotation prediction (Gidaris, Singh and Komodakis, 2018, "Unsupervised Representation
  Learning by Predicting Image Rotations", ICLR, https://arxiv.org/abs/1803.07728): every
  drawing is shown at its four quarter turns, and a small head on the embedding says which
  turn it sees (4-way softmax). To tell an upright character from a turned one, the network
  has to learn what characters look like: strokes, their usual directions and layout.
  Characters that look the same turned (an O, an X) make the task ambiguous for a few drawings.
- Instance discrimination by contrastive learning (SimCLR: Chen, Kornblith, Norouzi and
  Hinton, 2020, "A Simple Framework for Contrastive Learning of Visual Representations",
  ICML, https://arxiv.org/abs/2002.05709): two independent random distortions of a drawing
  are a positive pair, and the other 2(B - 1) images of the batch are its negatives. A
  projection head (a small MLP) maps the embedding to the space where the NT-Xent loss
  (``nt_xent_loss``) pulls the pair together and pushes the negatives away; as in SimCLR the
  head is thrown away afterwards and the embedding before it is scored. Other drawings of the
  same character are negatives too, when a batch holds them: instance discrimination cannot
  know better without labels.

The third idea, masked prediction (hide patches of a drawing, restore them), has a module of its
own, ``oneshot_lib.models.masked``, built on this one's pool of drawings, stream and base class.

Labels are out of reach by construction: the streams (``rotation_dataset``,
``contrastive_dataset``) read a flat pool of drawings, (n_drawings, 105, 105), with no
character axis (``drawing_pool`` makes one from a split), and their index sampler is told only
how many drawings there are. Like every stream of the course, batch ``s`` depends on the seed
and ``s`` only (``streams.seeded_index_stream``), so a resumed run sees the same batches.

Both models compute their pretext logits in ``call`` and train with Keras's sparse categorical
cross-entropy, so ``model.fit`` and its callbacks are the one loop: for the rotation network the
targets are the turns; for the contrastive network the logits of each view are its scaled
cosine similarities to the other 2B - 1 views, and the target is the index of its partner,
which makes the cross-entropy exactly NT-Xent. ``oneshot_lib.training.families`` says how a training
run builds and feeds them (``python -m oneshot_lib.train --model rotation|contrastive``).

The module runs past 400 lines (this docstring is 48 of them) because each method's stream, loss
and network are read together in chapter 11, and both methods share the pool of drawings and the
strengthened distortions. Its seam, if it grows, is the one the siamese network has: the streams
(the pool, the distortions, ``rotation_dataset``, ``contrastive_dataset``) in a module of their own,
as ``pairs`` holds the siamese network's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import numpy as np

from oneshot_lib.backend import keras, tf
from oneshot_lib.data import augment
from oneshot_lib.data.streams import gathered_dataset, seeded_index_stream, step_seed
from oneshot_lib.models.backbones import BackboneModel, build_method
from oneshot_lib.models.conv4 import BLOCKS, FILTERS, IMAGE_SIZE, CosineScorer, cosine_similarities, prepare_images

ops = keras.ops

#: The four quarter turns of rotation prediction (0, 90, 180 and 270 degrees anticlockwise).
TURNS = 4
#: NT-Xent's default temperature: SimCLR's, 0.1 (its ImageNet setting, and the best of the
#: temperatures its Table 5 compares). A lower temperature weighs the hardest negatives most,
#: here other drawings that look alike. SimCLR's single-GPU recipe for small images (CIFAR-10,
#: batches of 512, a ResNet-18) uses 0.5 instead, and batches here are small too (128 drawings:
#: 254 negatives per view), so both were tried on the validation alphabets: after 200 steps
#: (seed 0, default options) 0.1 reached 36.0% 20-way within-alphabet accuracy and 0.5 34.1%,
#: about two standard errors apart on one seed: a hint, not a verdict, for longer runs to settle.
TEMPERATURE = 0.1
#: Width of the hidden layer of both heads (and masked prediction's decoder's channels), and the
#: projection's output: the Conv-4 embedding's size. SimCLR found the projection's output size
#: to matter little (its Figure 8).
HEAD_UNITS = 64
#: Side of the erased rectangles, as a fraction of the image side (uniform in this range).
ERASED_SIDES = (0.2, 0.5)
#: The logit of a view against itself: far below any scaled cosine, so softmax gives it 0.
_SELF_LOGIT = -1e9


# ------------------------------------------------------------------ the pool of drawings


def drawing_pool(data) -> np.ndarray:
    """Every drawing of a split, without its character: (n_characters * n_drawings, H, W).

    ``data`` is an ``OmniglotSplit`` (or anything with its ``images``, (n_characters,
    n_drawings, H, W)); only ``data.images`` is read, and the result is a reshaped view of it,
    so nothing is copied and the character of a drawing is not kept anywhere.
    """
    images = np.asarray(data.images)
    if images.ndim != 4:
        raise ValueError(f"expected split images (n_characters, n_drawings, H, W), got shape {images.shape}")
    return images.reshape(-1, *images.shape[2:])


def check_pool(drawings: np.ndarray, batch_size: int, minimum_batch: int = 1) -> None:
    """Raise ValueError, saying what to change, unless ``drawings`` is a flat (n, H, W) pool that
    can give batches of ``batch_size`` distinct drawings (at least ``minimum_batch``)."""
    shape = np.shape(drawings)
    if len(shape) != 3:
        raise ValueError(
            f"expected a flat pool of drawings (n_drawings, H, W), got shape {shape}: "
            "pass drawing_pool(split), which drops the character axis"
        )
    if batch_size < minimum_batch:
        raise ValueError(f"batch_size must be at least {minimum_batch}, got {batch_size}")
    if batch_size > shape[0]:
        raise ValueError(
            f"batch_size {batch_size} is larger than the pool of {shape[0]} drawings: "
            "a batch holds distinct drawings, so use a smaller batch_size"
        )


def unlabelled_indices_stream(
    n_drawings: int, batch_size: int, *, seed: int = 0, start_step: int = 0
) -> Iterator[tuple[np.ndarray, int]]:
    """Endless (indices (batch_size,) int64, step) batches of distinct drawings of a pool.

    The sampler knows only the pool's size. Batch ``step`` draws ``batch_size`` indices in
    [0, n_drawings) without replacement, with the generator seeded by ``(seed, step)``, so it is
    the same whichever step the stream starts from.
    """

    def sample(rng: np.random.Generator) -> tuple[np.ndarray]:
        return (rng.choice(n_drawings, size=batch_size, replace=False),)

    return seeded_index_stream(sample, seed=seed, start_step=start_step)


def unlabelled_dataset(
    drawings: np.ndarray,
    batch_size: int,
    image_size: int,
    seed: int,
    start_step: int,
    make_batch: Callable[[tf.Tensor, tf.Tensor], tuple[tf.Tensor, tf.Tensor]],
) -> tf.data.Dataset:
    """The pool resized once; each batch's drawings gathered and passed, with the step, to
    ``make_batch`` (images (B, image_size, image_size, 1) float32, step) -> (inputs, targets).

    The stream every self-supervised kind shares (masked prediction's too, ``masked.masked_dataset``)."""
    images = prepare_images(drawings, image_size)
    signature = (tf.TensorSpec((batch_size,), tf.int64), tf.TensorSpec((), tf.int64))
    return gathered_dataset(
        lambda: unlabelled_indices_stream(len(drawings), batch_size, seed=seed, start_step=start_step),
        signature,
        lambda indices, step: make_batch(tf.gather(images, indices), step),
    )


# ------------------------------------------------------------------ distortions


def strengthened(distortions: augment.Distortions, factor: float) -> augment.Distortions:
    """``distortions`` with every range ``factor`` times as wide about the identity.

    Rotation, shears and translation are multiplied by ``factor``, and the scale range
    (low, high) becomes (1 - (1 - low) * factor, 1 + (high - 1) * factor); the chance of
    each component is unchanged. Contrastive learning wants stronger distortions than
    supervised learning (SimCLR, section 3): the views must differ enough that telling a
    drawing's partner from the others takes more than matching pixels.

    Raises ValueError, naming the largest factor allowed, if a shear would reach 1 or a scale 0.
    """
    low, high = distortions.scale
    limits = [1 / distortions.shear if distortions.shear else np.inf, 1 / (1 - low) if low < 1 else np.inf]
    if not 0 < factor < min(limits):
        raise ValueError(
            f"distortion strength must lie in (0, {min(limits):.3g}) so that shears stay below 1 and "
            f"scales above 0, got {factor}"
        )
    return dataclasses.replace(
        distortions,
        rotation=distortions.rotation * factor,
        shear=distortions.shear * factor,
        scale=(1 - (1 - low) * factor, 1 + (high - 1) * factor),
        translation=distortions.translation * factor,
    )


def random_erasing(images: tf.Tensor, seed, probability: float, sides: tuple[float, float] = ERASED_SIDES) -> tf.Tensor:
    """Random erasing (Zhong et al., 2020): a random rectangle of each image turned to paper.

    Args:
        images: (N, H, W, C) float32, ink 1 and paper 0.
        seed: a stateless seed (see ``augment.as_seed``).
        probability: chance that an image is erased at all.
        sides: the rectangle's height and width, each uniform in this range of fractions of the
            image's side; its position is uniform among those that fit in the image.

    Returns the images, (N, H, W, C) float32, with the rectangles set to 0: parts of strokes
    are missing, and a view must still be recognised as the same drawing.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    height, width = images.shape[1], images.shape[2]
    draws = tf.random.stateless_uniform((tf.shape(images)[0], 5), seed=augment.as_seed(seed))
    low, high = sides
    box_height = tf.round((low + (high - low) * draws[:, 1]) * height)
    box_width = tf.round((low + (high - low) * draws[:, 2]) * width)
    top = tf.floor(draws[:, 3] * (height - box_height + 1))
    left = tf.floor(draws[:, 4] * (width - box_width + 1))
    rows = tf.range(height, dtype=tf.float32)[None, :]
    columns = tf.range(width, dtype=tf.float32)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < (top + box_height)[:, None])  # (N, H)
    in_columns = (columns >= left[:, None]) & (columns < (left + box_width)[:, None])  # (N, W)
    erased = in_rows[:, :, None] & in_columns[:, None, :] & (draws[:, 0] < probability)[:, None, None]
    return tf.where(erased[..., None], 0.0, images)


# ------------------------------------------------------------------ rotation prediction


def quarter_turned(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Every image at its four quarter turns: ((4B, H, H, C) images, (4B,) int32 turns).

    Turn-major: the first B images are the originals (turn 0), the next B are turned once
    anticlockwise (turn 1), and so on, as ``augment.rotate_quarter_turns`` turns them.
    """
    turns = tf.repeat(tf.range(TURNS, dtype=tf.int32), tf.shape(images)[0])
    return augment.rotate_quarter_turns(tf.tile(images, [TURNS, 1, 1, 1]), turns), turns


def rotation_dataset(
    drawings: np.ndarray,
    batch_size: int = 128,
    *,
    distortions: augment.Distortions | None = None,
    image_size: int = IMAGE_SIZE,
    seed: int = 0,
    start_step: int = 0,
) -> tf.data.Dataset:
    """An endless, seeded stream of rotation-prediction batches from a pool of drawings.

    Each element is ``(images (4B, image_size, image_size, 1) float32, turns (4B,) int32)``,
    B = ``batch_size`` distinct drawings each shown at its four quarter turns
    (``quarter_turned``): Gidaris et al. found that showing all four turns of an image in the
    same batch works best. With ``distortions``, each drawing is first distorted (Koch's
    affine distortions at ``image_size``, seeded by ``(seed, step)``), and the four turns are of
    the same distorted drawing. Only indices come from Python (``unlabelled_indices_stream``).

    Args:
        drawings: (n_drawings, 105, 105) bool, a flat pool (``drawing_pool(split)``): no labels.

    Raises ValueError (``check_pool``) for a pool with a character axis or too few drawings.
    """
    check_pool(drawings, batch_size)

    def make_batch(images, step):
        if distortions is not None:
            images = augment.distort(images, step_seed(seed, step), distortions)
        return quarter_turned(images)

    return unlabelled_dataset(drawings, batch_size, image_size, seed, start_step, make_batch)


# ------------------------------------------------------------------ contrastive learning


def nt_xent_logits(projections: tf.Tensor, temperature: float) -> tf.Tensor:
    """(2B, 2B) logits of NT-Xent from the projections (2B, P) of the two views of B drawings.

    Row i holds the cosine similarity of view i to every view, divided by ``temperature``; the
    similarity of a view to itself is masked to a huge negative number, so a softmax over a row
    is a distribution over the 2B - 1 other views.
    """
    similarities = cosine_similarities(projections, projections) / temperature
    itself = ops.cast(ops.eye(ops.shape(projections)[0]), "bool")
    return ops.where(itself, _SELF_LOGIT, similarities)


def positive_indices(batch_size: int) -> np.ndarray:
    """(2B,) int32: for each view of a batch laid out [first views; second views], its partner's row."""
    return np.concatenate([np.arange(batch_size, 2 * batch_size), np.arange(batch_size)]).astype(np.int32)


def nt_xent_loss(first: tf.Tensor, second: tf.Tensor, temperature: float = TEMPERATURE) -> tf.Tensor:
    """SimCLR's NT-Xent loss of two views, (B, P) projections each, row i of both from drawing i.

    For a positive pair (i, j): ``l(i, j) = -log(exp(s_ij / t) / sum_{k != i} exp(s_ik / t))``
    with s the cosine similarity and t the temperature; the loss is the mean of ``l`` over all
    2B views, each against its partner. A scalar float32 tensor; the same if the views swap.
    """
    batch_size = int(first.shape[0])
    logits = nt_xent_logits(ops.concatenate([first, second], axis=0), temperature)
    targets = positive_indices(batch_size)
    return ops.mean(keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True))


def two_views(images: tf.Tensor, seed, distortions: augment.Distortions, erase_probability: float = 0.0) -> tf.Tensor:
    """(2B, H, W, 1) float32: two independent random distortions of each of the B images,
    laid out [first views; second views], each optionally erased (``random_erasing``)."""
    distortion_seed, erasing_seed = tf.unstack(tf.random.experimental.stateless_split(augment.as_seed(seed), 2))
    views = augment.distort(tf.concat([images, images], axis=0), distortion_seed, distortions)
    if erase_probability > 0:
        views = random_erasing(views, erasing_seed, erase_probability)
    return views


def contrastive_dataset(
    drawings: np.ndarray,
    batch_size: int = 128,
    *,
    distortions: augment.Distortions | None = None,
    erase_probability: float = 0.0,
    image_size: int = IMAGE_SIZE,
    seed: int = 0,
    start_step: int = 0,
) -> tf.data.Dataset:
    """An endless, seeded stream of contrastive batches from a pool of drawings.

    Each element is ``(views (2B, image_size, image_size, 1) float32, partners (2B,) int32)``:
    B = ``batch_size`` distinct drawings, each distorted twice (``two_views``, seeded by
    ``(seed, step)``), the first views then the second views; ``partners`` is
    ``positive_indices(B)``, which is not a label but where each view's partner sits.

    Args:
        drawings: (n_drawings, 105, 105) bool, a flat pool (``drawing_pool(split)``): no labels.
        distortions: the random affine distortions that make the views, at ``image_size``
            (default Koch's, ``augment.scaled_distortions(image_size)``; see ``strengthened``).
        erase_probability: chance that each view also has a random rectangle erased.

    Raises ValueError for a pool with a character axis, fewer than 2 drawings per batch (a
    view needs negatives) or more than the pool holds, or an erase_probability outside [0, 1].
    """
    check_pool(drawings, batch_size, minimum_batch=2)
    if not 0.0 <= erase_probability <= 1.0:
        raise ValueError(f"erase_probability must lie in [0, 1], got {erase_probability}")
    distortions = augment.scaled_distortions(image_size) if distortions is None else distortions
    partners = tf.constant(positive_indices(batch_size))

    def make_batch(images, step):
        return two_views(images, step_seed(seed, step), distortions, erase_probability), partners

    return unlabelled_dataset(drawings, batch_size, image_size, seed, start_step, make_batch)


# ------------------------------------------------------------------ the models


def _mlp(input_units: int, hidden_units: int, output_units: int, name: str) -> keras.Sequential:
    """Dense (ReLU) -> Dense: (B, input_units) float32 -> (B, output_units) float32."""
    return keras.Sequential(
        [
            keras.Input((input_units,)),
            keras.layers.Dense(hidden_units, activation="relu", name=f"{name}_hidden"),
            keras.layers.Dense(output_units, name=f"{name}_output"),
        ],
        name=name,
    )


class SelfSupervisedNetwork(BackboneModel):
    """An embedding network trained on a pretext task by a head that scoring leaves out.

    ``embedding`` maps (B, image_size, image_size, 1) float32 images to (B, D) float32
    (``backbones.build_backbone``); subclasses add the head and the pretext logits (``call``).
    ``scorer()`` compares new images by the cosine of their embeddings.
    """

    def __init__(
        self,
        image_size: int = IMAGE_SIZE,
        filters: int = FILTERS,
        blocks: int = BLOCKS,
        backbone: str = "conv4",
        head_units: int = HEAD_UNITS,
        **kwargs,
    ):
        if head_units < 1:
            raise ValueError(f"head_units must be at least 1, got {head_units}")
        super().__init__(image_size, filters, blocks, backbone, **kwargs)
        self.head_units = head_units
        self.built = True  # the heads are built with their inputs: loading needs no sample input

    @property
    def embedding_units(self) -> int:
        """D, the size of the embedding."""
        return int(self.embedding.output_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "head_units": self.head_units}

    def scorer(self) -> CosineScorer:
        """A scorer comparing new images by the cosine of this network's embeddings (no head)."""
        scorer = CosineScorer(self.embedding, self.image_size)
        scorer.name = f"{self.name} (cosine)"
        return scorer


@keras.saving.register_keras_serializable(package="oneshot")
class RotationNetwork(SelfSupervisedNetwork):
    """Gidaris et al.'s rotation prediction on the embedding.

    ``call(images)`` maps (B, H, H, 1) float32 images to (B, 4) float32 logits of their quarter
    turn, through the embedding and a head with one hidden layer (``head_units`` ReLU units):
    Gidaris et al. found the features nearest the rotation output the least general, so the
    head, not the embedding, takes the last step to the pretext's answer.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.head = _mlp(self.embedding_units, self.head_units, TURNS, "turn_head")

    def call(self, images: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        return self.head(self.embedding(images, training=training), training=training)


@keras.saving.register_keras_serializable(package="oneshot")
class ContrastiveNetwork(SelfSupervisedNetwork):
    """SimCLR's instance discrimination on the embedding.

    ``call(views)`` takes the two views of B drawings, (2B, H, H, 1) float32 laid out [first
    views; second views], and returns the (2B, 2B) float32 NT-Xent logits (``nt_xent_logits``)
    of their projections: embedding, then the projection head (``head_units`` ReLU units, then
    ``projection_units`` linear ones). All 2B views go through the embedding in one batch, so
    batch normalisation sees the whole batch. The targets are ``positive_indices(B)``.
    """

    def __init__(self, *args, temperature: float = TEMPERATURE, projection_units: int = HEAD_UNITS, **kwargs):
        super().__init__(*args, **kwargs)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if projection_units < 1:
            raise ValueError(f"projection_units must be at least 1, got {projection_units}")
        self.temperature = float(temperature)
        self.projection_units = projection_units
        self.projection = _mlp(self.embedding_units, self.head_units, projection_units, "projection")

    def call(self, views: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        projections = self.projection(self.embedding(views, training=training), training=training)
        return nt_xent_logits(projections, self.temperature)

    def get_config(self) -> dict:
        return {**super().get_config(), "temperature": self.temperature, "projection_units": self.projection_units}


METHODS: dict[str, type[SelfSupervisedNetwork]] = {"rotation": RotationNetwork, "contrastive": ContrastiveNetwork}


def build_selfsupervised(method: str, *, seed: int | None = None, **kwargs) -> SelfSupervisedNetwork:
    """A new, uncompiled rotation or contrastive network (compile it with ``trainer.compile_model``).

    Args:
        method: ``"rotation"`` or ``"contrastive"``; the model is named after it.
        seed: if given, seeds Keras's weight initialisers first (``keras.utils.set_random_seed``).
        kwargs: passed to the model: the backbone's ``image_size``, ``filters``, ``blocks``,
            ``backbone`` (``backbones.BackboneModel``'s defaults otherwise), ``head_units``, and
            ``temperature``, ``projection_units`` for a contrastive network.

    Raises ValueError for an unknown method, or an image too small for the backbone.
    """
    return build_method(METHODS, method, "self-supervised", seed=seed, **kwargs)
