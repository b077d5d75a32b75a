"""Any image in, an Omniglot drawing out: what lets the models read someone else's pictures.

The models were trained on Omniglot's drawings: 105x105 ink masks, dark strokes about three
pixels wide, the character filling about two thirds of the frame near its middle. A picture from
elsewhere (a file, a PIL image, a numpy array of any size; grey, RGB or RGBA; dark ink on light
paper or light on dark; a thin pen or a thick marker; off-centre) becomes one in five steps
(``drawing_steps`` keeps each, for figures):

1. **Read** it as (H, W, 3) float RGB in [0, 1]; transparent pixels are laid on a paper colour.
2. **Find the ink**: fit the paper's colour as a smooth surface (so uneven light, as in a photo,
   stays paper), take each pixel's colour distance from it, and split ink from paper by Otsu's
   threshold. The colour of the ink does not matter, nor whether it is lighter than the paper.
   Specks far smaller than the drawing (dust, noise) are dropped.
3. **Crop** a square around the ink's bounding box, wide enough that the drawing spans
   ``DRAWING_EXTENT`` of the 105 pixels, as the median Omniglot drawing does, centred.
4. **Resize** it to 105x105 by area averaging (a blur of the stroke's own width follows).
5. **Binarise** at the stroke width of Omniglot: keep the pixels nearest each stroke's middle,
   as many as a stroke of that length has in Omniglot, so a marker's strokes are thinned and a
   hairline's thickened (a morphological measure, from counting ink-paper edges).

Bad input raises a ValueError saying what is wrong and what to do: a missing or unreadable file,
an empty or tiny array, another dtype or shape, values out of range, a blank page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

#: Omniglot's side: every drawing the models read is DRAWING_SIZE x DRAWING_SIZE.
DRAWING_SIZE = 105
#: The longer side of the bounding box of a drawing, in pixels at 105x105: the median of 3,000
#: drawings of the background split (5% to 95%: 44 to 88).
DRAWING_EXTENT = 68
#: Ink pixels per pixel of stroke length, Omniglot's median by ``stroke_width`` (4.8 to 6.2 for 90%
#: of the drawings; the strokes look about three pixels wide, the measure counts a stroke's ends
#: and corners too).
STROKE_WIDTH = 5.5
#: The least colour distance from the paper that counts as ink, in [0, 1]: below it a page is blank.
MIN_CONTRAST = 0.1
#: A speck with less than this share of the ink is dropped (Omniglot's dots hold 2% and more).
MIN_SPECK_SHARE = 0.005
#: A stroke fainter than this share of the strongest, once resized, is not brought up to its level.
RIDGE_FLOOR = 0.2
#: The largest share of a page that can be ink: more, and what reads as ink is not a drawing on paper.
MAX_INK_SHARE = 0.4
#: The smallest image that can hold a drawing.
MIN_SIDE = 8

ImageLike = str | os.PathLike | Image.Image | np.ndarray


@dataclass(frozen=True)
class DrawingSteps:
    """What ``drawing_steps`` saw and made.

    Attributes:
        rgb: (H, W, 3) float32 in [0, 1], the image as read (transparency laid on paper).
        ink: (H, W) float32 in [0, 1], each pixel's colour distance from the paper.
        mask: (H, W) bool, the ink found (specks dropped).
        box: (top, left, bottom, right) of the square cropped, in the image's pixels (it may
            reach past the image, where paper is added).
        drawing: (105, 105) bool, True where there is ink: what the models read.
    """

    rgb: np.ndarray
    ink: np.ndarray
    mask: np.ndarray
    box: tuple[int, int, int, int]
    drawing: np.ndarray


def as_drawing(image: ImageLike) -> np.ndarray:
    """(105, 105) bool Omniglot-like drawing of any image, True where there is ink; see the module.

    Args:
        image: a path to an image file, a PIL image, or an array (H, W), (H, W, 1), (H, W, 3) or
            (H, W, 4) of bool, uint8, uint16 or floats in [0, 1]; any size from 8x8, any polarity.

    Raises:
        ValueError saying what is wrong and how to fix it: no such file, a file that is not an
        image, an array of another shape or dtype, NaN or out-of-range values, a blank page.
    """
    return drawing_steps(image).drawing


def as_drawings(images) -> np.ndarray:
    """(n, 105, 105) bool: ``as_drawing`` of each image of a sequence (paths, PIL images, arrays).

    Raises ValueError as ``as_drawing`` does, naming which image (by position) it refused.
    """
    drawings = []
    for index, image in enumerate(images):
        try:
            drawings.append(as_drawing(image))
        except ValueError as error:
            raise ValueError(f"image {index}: {error}") from None
    return np.stack(drawings) if drawings else np.zeros((0, DRAWING_SIZE, DRAWING_SIZE), bool)


def drawing_steps(image: ImageLike) -> DrawingSteps:
    """``as_drawing``, keeping what each step made (``DrawingSteps``); raises as it does."""
    rgb = read_rgb(image)
    ink = ink_strength(rgb)
    mask = ink_mask(ink)
    box = crop_box(mask)
    drawing = resize_to_strokes(ink, mask, box)
    return DrawingSteps(rgb, ink, mask, box, drawing)


# ------------------------------------------------------------------ 1. read


def read_rgb(image: ImageLike) -> np.ndarray:
    """(H, W, 3) float32 RGB in [0, 1] of a path, PIL image or array; see ``as_drawing`` for what is read.

    An array keeps its values (bool True reads as white); a PIL image is turned upright by its
    EXIF orientation (as a phone's photo is shown). Transparent pixels are laid on a paper colour
    (``flatten_alpha``). Raises ValueError for what cannot be read.
    """
    if isinstance(image, str | os.PathLike):
        image = open_image(Path(image))
    if isinstance(image, Image.Image):
        return pil_rgb(image)
    if not isinstance(image, np.ndarray):
        raise ValueError(
            f"cannot read a {type(image).__name__} as an image: give a file path, a PIL image or a numpy array"
        )
    return array_rgb(image)


def open_image(path: Path) -> Image.Image:
    """The image in file ``path``, loaded. Raises ValueError if there is no such file or it is not an image."""
    if not path.is_file():
        where = " (it is a folder)" if path.is_dir() else ""
        raise ValueError(f"no image file {str(path)!r}{where}: check the path")
    try:
        with Image.open(path) as opened:
            opened.load()
            return ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(
            f"cannot read {str(path)!r} as an image ({error}): give a PNG, JPEG, GIF, BMP or TIFF file"
        ) from None


def pil_rgb(image: Image.Image) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] of a PIL image of any mode, transparency laid on paper."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        return array_rgb(np.asarray(image))
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    pixels = np.asarray(image.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255
    return flatten_alpha(pixels) if has_alpha else pixels


def array_rgb(array: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] of an (H, W) or (H, W, C) array, C in 1, 3, 4; raises ValueError otherwise."""
    if array.ndim == 3 and array.shape[-1] in (1, 3, 4):
        channels = array.shape[-1]
    elif array.ndim == 2:
        channels = 0
    else:
        raise ValueError(
            f"an image array must be (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA; got shape {array.shape}. "
            "For a stack of images, pass each one (as_drawings does)"
        )
    if min(array.shape[:2]) < MIN_SIDE:
        raise ValueError(
            f"the image is {array.shape[1]}x{array.shape[0]} pixels: too small to hold a drawing "
            f"(give at least {MIN_SIDE}x{MIN_SIDE})"
        )
    values = scaled_values(array)
    if channels == 0:
        values = values[..., None]
    if channels in (0, 1):
        return np.repeat(values, 3, axis=-1)
    return flatten_alpha(values) if channels == 4 else values


def scaled_values(array: np.ndarray) -> np.ndarray:
    """float32 values in [0, 1] of an array by its dtype's range; raises ValueError for what has none."""
    if array.dtype == bool:
        return array.astype(np.float32)
    if array.dtype in (np.uint8, np.uint16):
        return array.astype(np.float32) / np.iinfo(array.dtype).max
    if array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ValueError("the image holds NaN or infinite values: give finite values in [0, 1]")
        low, high = float(array.min()), float(array.max())
        if low < 0 or high > 1:
            hint = " (for 0-255 values, pass them as uint8)" if high <= 255 and low >= 0 else ""
            raise ValueError(f"a float image must hold values in [0, 1]; got {low:g} to {high:g}{hint}")
        return array.astype(np.float32)
    if array.dtype.kind in "iu" and array.size and array.min() >= 0 and array.max() <= 255:
        hint = "pass array.astype(np.uint8)"
    else:
        hint = "pass uint8 (0-255), uint16, bool or floats in [0, 1]"
    raise ValueError(f"cannot read an image of dtype {array.dtype}: {hint}")


def flatten_alpha(rgba: np.ndarray) -> np.ndarray:
    """(H, W, 3) of (H, W, 4) float RGBA: transparent pixels laid on a paper colour.

    Where most of the image is see-through, the opaque part is the drawing: it is laid on white
    if it is dark, on black if it is light. Where most is opaque, the opaque part is the paper,
    and see-through pixels take its median colour.
    """
    rgb, alpha = rgba[..., :3], rgba[..., 3:]
    opaque = alpha[..., 0] >= 0.5
    if opaque.all():
        return np.ascontiguousarray(rgb)
    if not opaque.any():
        raise ValueError("the image is fully transparent: there is no drawing in it")
    if opaque.mean() < 0.5:
        paper = np.zeros(3, np.float32) if luminance(rgb[opaque]).mean() >= 0.5 else np.ones(3, np.float32)
    else:
        paper = np.median(rgb[opaque], axis=0)
    return (rgb * alpha + paper * (1 - alpha)).astype(np.float32)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """(...,) float luminance (ITU-R BT.601 weights) of (..., 3) RGB."""
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


# ------------------------------------------------------------------ 2. find the ink


def paper_surface(rgb: np.ndarray, rounds: int = 3, grid: int = 64) -> np.ndarray:
    """(H, W, 3) float32 colour of the paper under each pixel: a quadratic surface per channel.

    Fitted by least squares on a grid of at most ``grid`` x ``grid`` samples, then refitted
    ``rounds`` times on the samples near the surface, so the ink (a minority far from it) drops
    out, while light that falls off across a photo stays in the paper.
    """
    height, width = rgb.shape[:2]
    rows = np.linspace(0, height - 1, min(grid, height)).round().astype(int)
    cols = np.linspace(0, width - 1, min(grid, width)).round().astype(int)
    samples = rgb[np.ix_(rows, cols)].reshape(-1, 3)
    basis = quadratic_basis(rows / max(height - 1, 1), cols / max(width - 1, 1)).reshape(-1, 6)
    keep = np.ones(len(samples), bool)
    for _ in range(rounds):
        coefficients = np.linalg.lstsq(basis[keep], samples[keep], rcond=None)[0]
        distance = np.linalg.norm(samples - basis @ coefficients, axis=1)
        keep = distance <= np.median(distance) + 3 * (np.median(np.abs(distance - np.median(distance))) + 0.01)
    full = quadratic_basis(np.arange(height) / max(height - 1, 1), np.arange(width) / max(width - 1, 1))
    return (full @ coefficients).astype(np.float32)


def quadratic_basis(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(len(y), len(x), 6) float: 1, y, x, y^2, xy, x^2 on the grid of ``y`` by ``x``."""
    yy, xx = np.meshgrid(y, x, indexing="ij")
    return np.stack([np.ones_like(yy), yy, xx, yy**2, yy * xx, xx**2], axis=-1)


def ink_strength(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: each pixel's colour distance from the paper under it (``paper_surface``).

    Ink of any colour, darker or lighter than the paper, is far from it; 1 is black on white.
    """
    distance = np.linalg.norm(rgb - paper_surface(rgb), axis=-1) / np.sqrt(3)
    return np.clip(distance, 0, 1).astype(np.float32)


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of ``values`` in [0, 1]: the split that maximises the between-class variance."""
    counts, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(counts)
    total = weight[-1]
    mass = np.cumsum(counts * centres)
    below_mean = mass / np.maximum(weight, 1)
    above_mean = (mass[-1] - mass) / np.maximum(total - weight, 1)
    between = weight * (total - weight) * (below_mean - above_mean) ** 2
    return float(edges[1:][np.argmax(between)])


def ink_mask(ink: np.ndarray) -> np.ndarray:
    """(H, W) bool: the ink of an ``ink_strength`` image, by Otsu's threshold, specks dropped.

    Raises ValueError for a blank page (nothing ``MIN_CONTRAST`` from the paper) or an image that
    is more ink than paper (not a drawing on paper).
    """
    strongest = float(ink.max())
    if strongest < MIN_CONTRAST:
        raise ValueError(
            f"no drawing found: the image is blank (no pixel differs from the paper by more than {strongest:.0%}; "
            f"ink must differ by at least {MIN_CONTRAST:.0%}). Draw darker or with more contrast"
        )
    threshold = max(otsu_threshold(ink), MIN_CONTRAST / 2)
    mask = ink > threshold
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    if count > 1:
        sizes = np.bincount(labels.ravel())[1:]
        mask = np.isin(labels, 1 + np.flatnonzero(sizes >= MIN_SPECK_SHARE * sizes.sum()))
    if mask.mean() > MAX_INK_SHARE:
        raise ValueError(
            f"{mask.mean():.0%} of the image reads as ink: a drawing is a minority of the page. "
            "Crop the picture to the paper the drawing is on"
        )
    return mask


# ------------------------------------------------------------------ 3.-5. crop, resize, binarise


def crop_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the square around ``mask``'s ink in which it spans ``DRAWING_EXTENT``/105.

    The square is centred on the ink's bounding box and may reach past the image.
    """
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    side = int(np.ceil(max(bottom - top, right - left) * DRAWING_SIZE / DRAWING_EXTENT))
    centre_y, centre_x = (top + bottom) / 2, (left + right) / 2
    top, left = int(round(centre_y - side / 2)), int(round(centre_x - side / 2))
    return top, left, top + side, left + side


def crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """(side, side) float32 of ``image`` (H, W) inside ``box``, paper (0) where the box reaches past it."""
    top, left, bottom, right = box
    out = np.zeros((bottom - top, right - left), np.float32)
    source = image[max(top, 0) : bottom, max(left, 0) : right]
    out[max(-top, 0) : max(-top, 0) + source.shape[0], max(-left, 0) : max(-left, 0) + source.shape[1]] = source
    return out


def stroke_edges(mask: np.ndarray) -> int:
    """How many ink-paper edges (between 4-neighbours) ``mask`` has: about 8/pi times its strokes' length, twice."""
    padded = np.pad(mask, 1).astype(np.int8)
    return int(np.abs(np.diff(padded, axis=0)).sum() + np.abs(np.diff(padded, axis=1)).sum())


def stroke_length(mask: np.ndarray) -> float:
    """The length in pixels of the strokes of ink mask ``mask``, from its edges: strokes of every direction
    have pi/4 of their edges per unit of length on each side."""
    return stroke_edges(mask) * np.pi / 8


def stroke_width(mask: np.ndarray) -> float:
    """Ink pixels per pixel of stroke length of ink mask ``mask`` (``STROKE_WIDTH`` for Omniglot's; 0 if no ink)."""
    length = stroke_length(mask)
    return float(np.count_nonzero(mask) / length) if length else 0.0


def soft_ink(ink: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: ``ink`` scaled so the mask's typical ink is 1, paper away from the mask 0.

    Grey edges next to the mask are kept, so a small picture's smoothed strokes resize smoothly.
    """
    near = ndimage.binary_dilation(mask, iterations=1)
    level = float(np.median(ink[mask]))
    return np.where(near, np.clip(ink / level, 0, 1), 0).astype(np.float32)


def resize_to_strokes(ink: np.ndarray, mask: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """(105, 105) bool: the ink cropped to ``box``, resized, binarised at ``STROKE_WIDTH``.

    The crop of ``soft_ink`` is shrunk to 105x105 by area averaging (or grown by bilinear
    interpolation) and blurred by a third of the stroke width it then has, so each stroke's
    middle is its brightest line, and divided by the brightest value near each pixel, so every
    stroke's middle is 1; the brightest ``STROKE_WIDTH`` x (stroke length) pixels are ink.
    """
    square = crop(soft_ink(ink, mask), box)
    scale = DRAWING_SIZE / square.shape[0]
    method = Image.Resampling.BOX if scale <= 1 else Image.Resampling.BILINEAR
    grey = np.asarray(Image.fromarray(square).resize((DRAWING_SIZE, DRAWING_SIZE), method), np.float32)
    width_here = stroke_width(mask) * scale
    grey = ndimage.gaussian_filter(grey, sigma=max(0.7, width_here / 3))
    # Each stroke's middle line at 1, so a faint stroke keeps its share of the ink.
    nearby = ndimage.maximum_filter(grey, size=2 * int(STROKE_WIDTH) + 1)
    grey = grey / np.maximum(nearby, RIDGE_FLOOR * grey.max())
    wanted = int(round(STROKE_WIDTH * stroke_length(mask) * scale))
    wanted = min(max(wanted, 1), int(0.3 * DRAWING_SIZE**2), np.count_nonzero(grey > 1e-3))
    threshold = np.partition(grey.ravel(), -wanted)[-wanted]
    return grey >= max(threshold, 1e-3)
