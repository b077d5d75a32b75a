"""Koch's affine distortions, as batched, seeded TensorFlow ops that run inside tf.data.

Koch et al. (2015, section 4.3) grow the training set with small random affine distortions
T = (theta, rho_x, rho_y, s_x, s_y, t_x, t_y) of each image: a rotation theta within +-10
degrees, shears rho within +-0.3, scales s within 0.8-1.2 and translations t within +-2
pixels, each of the seven components included with probability 0.5 (left out, it is the
identity). A distorted drawing is still a plausible drawing of the same character, drawn by
a slightly different hand.

Everything here is vectorised over the batch: one (B, 8) tensor of projective transforms is
drawn with stateless random ops, and one ``ImageProjectiveTransformV3`` call resamples all
images (bilinear, paper outside the image). The same seed gives the same distortions, on any
run and inside any tf.data pipeline.

Two helpers serve the training streams too: ``rotate_quarter_turns``, the quarter turns that
make rotations of a character into new classes (Santoro et al., 2016; Vinyals et al., 2016), and
``scaled_distortions``, Koch's distortions for images smaller than Omniglot's 105x105. One more
family, which Keras has no layer for, is here for the chapters to compare: ``salt_and_pepper``
noise (Keras has ``GaussianNoise``, and layers for crops, zoom and shifts with each fill mode).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from oneshot_lib.backend import tf

#: The seven components of Koch's transform, in the order the random draws use.
COMPONENTS = ("rotation", "shear_x", "shear_y", "scale_x", "scale_y", "shift_x", "shift_y")


@dataclass(frozen=True)
class Distortions:
    """Ranges of the random affine distortions, and how often each component is applied.

    Attributes:
        rotation: largest rotation, in degrees (uniform in [-rotation, rotation]).
        shear: largest shear factor, for each axis.
        scale: (lowest, highest) scale factor, for each axis.
        translation: largest shift in pixels, for each axis.
        probability: chance that each of the seven components is applied at all.
    """

    rotation: float = 10.0
    shear: float = 0.3
    scale: tuple[float, float] = (0.8, 1.2)
    translation: float = 2.0
    probability: float = 0.5

    def __post_init__(self):
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must lie in [0, 1], got {self.probability}")
        if not 0.0 < self.scale[0] <= self.scale[1]:
            raise ValueError(f"scale must be (low, high) with 0 < low <= high, got {self.scale}")
        if not 0.0 <= self.shear < 1.0:
            raise ValueError(f"shear must lie in [0, 1) so the transform stays invertible, got {self.shear}")
        if self.rotation < 0 or self.translation < 0:
            raise ValueError("rotation and translation are magnitudes: give non-negative values")


#: Koch's ranges.
KOCH = Distortions()
#: No distortion at all (every component left out).
IDENTITY = Distortions(probability=0.0)


def as_seed(seed) -> tf.Tensor:
    """A (2,) int32 stateless-random seed from an int, a pair of ints or a tensor."""
    seed = tf.convert_to_tensor(seed)
    if seed.shape.rank == 0:
        seed = tf.stack([tf.zeros_like(seed), seed])
    return tf.cast(seed, tf.int32)


def random_components(batch_size, seed, distortions: Distortions = KOCH) -> dict[str, tf.Tensor]:
    """Draw each image's seven components, {name: (batch_size,) float32}.

    A component that is left out (probability ``1 - distortions.probability``) takes its
    identity value: 0 for rotation (radians), shears and shifts, 1 for scales.
    """
    uniform = tf.random.stateless_uniform((batch_size, len(COMPONENTS), 2), seed=as_seed(seed))
    applied, draw = uniform[..., 0] < distortions.probability, uniform[..., 1]
    low_scale, high_scale = distortions.scale
    values = {
        "rotation": math.radians(distortions.rotation) * (2.0 * draw[:, 0] - 1.0),
        "shear_x": distortions.shear * (2.0 * draw[:, 1] - 1.0),
        "shear_y": distortions.shear * (2.0 * draw[:, 2] - 1.0),
        "scale_x": low_scale + (high_scale - low_scale) * draw[:, 3],
        "scale_y": low_scale + (high_scale - low_scale) * draw[:, 4],
        "shift_x": distortions.translation * (2.0 * draw[:, 5] - 1.0),
        "shift_y": distortions.translation * (2.0 * draw[:, 6] - 1.0),
    }
    identity = {name: 1.0 if name.startswith("scale") else 0.0 for name in COMPONENTS}
    return {name: tf.where(applied[:, index], values[name], identity[name]) for index, name in enumerate(COMPONENTS)}


def projective_transforms(components: dict[str, tf.Tensor], height: int, width: int) -> tf.Tensor:
    """(B, 8) float32 transforms for ``ImageProjectiveTransformV3``, from (B,) components.

    The distortion maps a point p (x = column, y = row) about the image centre c to
    ``A (p - c) + c + t``, with A = rotation(theta) @ shear(rho_x, rho_y) @ scale(s_x, s_y).
    The op wants the opposite map, from output pixel to input point:
    ``A^-1 (p - c - t) + c``, which is what the 8 numbers encode (the last two are 0: affine).
    """
    cos, sin = tf.cos(components["rotation"]), tf.sin(components["rotation"])
    shear_x, shear_y = components["shear_x"], components["shear_y"]
    scale_x, scale_y = components["scale_x"], components["scale_y"]
    # A = [[cos, -sin], [sin, cos]] @ [[1, shear_x], [shear_y, 1]] @ diag(scale_x, scale_y)
    a = (cos - sin * shear_y) * scale_x
    b = (cos * shear_x - sin) * scale_y
    c = (sin + cos * shear_y) * scale_x
    d = (sin * shear_x + cos) * scale_y
    determinant = a * d - b * c
    inverse = [d / determinant, -b / determinant, -c / determinant, a / determinant]
    centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0
    source_x = centre_x + components["shift_x"]
    source_y = centre_y + components["shift_y"]
    offset_x = centre_x - (inverse[0] * source_x + inverse[1] * source_y)
    offset_y = centre_y - (inverse[2] * source_x + inverse[3] * source_y)
    zeros = tf.zeros_like(a)
    return tf.stack([inverse[0], inverse[1], offset_x, inverse[2], inverse[3], offset_y, zeros, zeros], axis=1)


def apply_transforms(images: tf.Tensor, transforms: tf.Tensor) -> tf.Tensor:
    """Resample (B, H, W) or (B, H, W, C) float32 images by (B, 8) transforms (bilinear, fill 0)."""
    images = tf.convert_to_tensor(images, tf.float32)
    squeeze = images.shape.rank == 3
    batched = images[..., None] if squeeze else images
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=batched,
        transforms=tf.cast(transforms, tf.float32),
        output_shape=tf.shape(batched)[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return out[..., 0] if squeeze else out


def distort(images, seed, distortions: Distortions = KOCH) -> tf.Tensor:
    """Koch's random affine distortion of every image, each its own.

    Args:
        images: (B, H, W) or (B, H, W, C) float32 (or bool), ink 1 and paper 0.
        seed: an int, a pair of ints or a (2,) int tensor; the same seed and batch size give
            the same distortions.
        distortions: the ranges (default Koch's).

    Returns:
        float32 tensor of the input's shape; paper (0) fills what moves in from outside.
    """
    images = tf.cast(images, tf.float32)
    height, width = images.shape[1], images.shape[2]
    components = random_components(tf.shape(images)[0], seed, distortions)
    return apply_transforms(images, projective_transforms(components, height, width))


def rotate_quarter_turns(images: tf.Tensor, turns: tf.Tensor) -> tf.Tensor:
    """Rotate images (B, ..., H, H, C) anticlockwise by turns (B,) quarter turns, each its own.

    All four rotations are computed and the wanted one gathered: at 28x28 that is cheaper than
    anything per image.
    """
    images = tf.convert_to_tensor(images)
    height_axis = images.shape.rank - 3
    rotated = [images]
    for _ in range(3):
        # One anticlockwise quarter turn: swap rows and columns, then flip the rows.
        swapped = tf.experimental.numpy.swapaxes(rotated[-1], height_axis, height_axis + 1)
        rotated.append(tf.reverse(swapped, axis=[height_axis]))
    stacked = tf.stack(rotated, axis=1)  # (B, 4, ...)
    return tf.gather(stacked, tf.cast(turns, tf.int32), axis=1, batch_dims=1)


def salt_and_pepper(images, fraction: float, seed) -> tf.Tensor:
    """Images (B, ..., H, W[, C]) float, ink 1 and paper 0, with a ``fraction`` of pixels replaced by noise.

    Each pixel is independently, with probability ``fraction``, set to ink (1.0) or paper (0.0),
    half and half: "salt" and "pepper" specks scattered over the page, unlike the small changes
    everywhere of Gaussian noise. Seeded as ``distort`` (an int or a pair of ints), so the same
    seed gives the same specks. Returns float32 of the images' shape.

    Raises ValueError unless ``fraction`` lies in [0, 1].
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction is the share of pixels replaced, so it must lie in [0, 1]; got {fraction}")
    images = tf.cast(tf.convert_to_tensor(images), tf.float32)
    draws = tf.random.stateless_uniform(tf.shape(images), as_seed(seed))
    replaced = draws < fraction
    # Below fraction / 2 the pixel becomes ink, between fraction / 2 and fraction paper.
    specks = tf.cast(draws < fraction / 2, tf.float32)
    return tf.where(replaced, specks, images)


def scaled_distortions(image_size: int, distortions: Distortions = KOCH) -> Distortions:
    """``distortions`` for images of side ``image_size``: the translation (in pixels of Omniglot's
    105x105 images) scaled down with the image; angles, shears and scales need no change."""
    return dataclasses.replace(distortions, translation=distortions.translation * image_size / 105)
