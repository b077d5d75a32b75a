"""Omniglot drawings dressed as someone else's pictures: another size, colours, polarity, pen, place and light.

The models read 105x105 ink masks. Pictures from elsewhere differ in every way that does not
change which character they show; ``foreign_picture`` makes such a picture of an Omniglot
drawing, at random but seeded, so that ``scoring.any_image`` (which undoes all of it) can be
tested and measured on characters whose class is known (``benchmarks/classify_foreign_images.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage


@dataclass(frozen=True)
class PictureStyle:
    """How ``foreign_picture`` dresses a drawing.

    Attributes:
        size: the side the 105x105 drawing is scaled to, in pixels.
        thicker: pixels added to each side of every stroke at that size (0: the pen as drawn).
        page: (height, width) of the page, at least ``size`` each.
        place: (top, left) of the drawing on the page.
        ink, paper: RGB colours, 0-255.
        light: how much darker the page gets from one corner to the opposite one, in [0, 1)
            (0: even light).
        noise: standard deviation of the grain added to every pixel, in 0-255 units.
    """

    size: int
    thicker: int
    page: tuple[int, int]
    place: tuple[int, int]
    ink: tuple[int, int, int]
    paper: tuple[int, int, int]
    light: float = 0.0
    noise: float = 0.0


def random_style(
    rng: np.random.Generator,
    *,
    sizes: tuple[int, int] = (60, 400),
    inverted: bool = False,
    photo: bool = False,
) -> PictureStyle:
    """A random ``PictureStyle``: a size in ``sizes``, strokes up to a third thicker than the pen's width there
    (or as drawn), a page up to half as large again with the drawing anywhere on it, coloured ink on
    coloured paper, light on dark if ``inverted``; with ``photo``, uneven light and grain too.

    Ink and paper differ in brightness by at least half the range, as a legible picture does.
    """
    size = int(rng.integers(sizes[0], sizes[1] + 1))
    thicker = int(rng.integers(0, 1 + size // 60))
    page = (int(size * rng.uniform(1.0, 1.5)), int(size * rng.uniform(1.0, 1.5)))
    place = (int(rng.integers(0, page[0] - size + 1)), int(rng.integers(0, page[1] - size + 1)))
    dark = tuple(int(v) for v in rng.integers(0, 110, 3))
    light = tuple(int(v) for v in rng.integers(180, 256, 3))
    ink, paper = (light, dark) if inverted else (dark, light)
    if photo:
        return PictureStyle(size, thicker, page, place, ink, paper, light=float(rng.uniform(0.2, 0.4)), noise=6.0)
    return PictureStyle(size, thicker, page, place, ink, paper)


def foreign_picture(drawing: np.ndarray, style: PictureStyle, rng: np.random.Generator | None = None) -> np.ndarray:
    """(page height, page width, 3) uint8 RGB picture of a (105, 105) bool drawing (True = ink) in ``style``.

    The drawing is scaled smoothly (its edges anti-aliased, as a drawing program or a scanner
    gives them), its strokes thickened by ``style.thicker``, placed, and coloured; then the light
    falls off and grain is added (from ``rng``, needed when ``style.noise`` is not 0).

    Raises ValueError if the drawing is not (105, 105) bool or the page cannot hold it.
    """
    drawing = np.asarray(drawing)
    if drawing.shape != (105, 105) or drawing.dtype != bool:
        raise ValueError(
            f"expected a (105, 105) bool drawing, True where there is ink; got {drawing.shape} {drawing.dtype}"
        )
    height, width = style.page
    top, left = style.place
    if top < 0 or left < 0 or top + style.size > height or left + style.size > width:
        raise ValueError(f"a {style.size}-pixel drawing at {style.place} does not fit a {width}x{height} page")
    scaled = Image.fromarray(drawing.astype(np.float32)).resize((style.size, style.size), Image.Resampling.BILINEAR)
    ink = np.clip(np.asarray(scaled), 0, 1)
    if style.thicker:
        ink = ndimage.grey_dilation(ink, footprint=disk(style.thicker))
    coverage = np.zeros((height, width), np.float32)
    coverage[top : top + style.size, left : left + style.size] = ink
    paper, colour = np.array(style.paper, np.float32), np.array(style.ink, np.float32)
    picture = paper + coverage[..., None] * (colour - paper)
    if style.light:
        rows, cols = np.mgrid[0:height, 0:width]
        picture *= (1 - style.light * (rows / height + cols / width) / 2)[..., None]
    if style.noise:
        if rng is None:
            raise ValueError("a style with noise needs an rng for the grain")
        picture += rng.normal(0, style.noise, picture.shape)
    return np.clip(np.round(picture), 0, 255).astype(np.uint8)


def disk(radius: int) -> np.ndarray:
    """(2r + 1, 2r + 1) bool disk of ``radius`` pixels: the footprint that thickens a stroke by ``radius`` each side."""
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return x**2 + y**2 <= radius**2 + radius  # the + radius rounds the disk's rim outward
