"""The image-input gate: what an image may be, decided in one place, ``ink_images``.

Every scorer and every evaluation reads its images through ``ink_images``. The dtype says how an
image is read:

- ``bool``: an ink mask, True where there is ink, as ``load_omniglot`` and Lake's runs give them;
- float: ink 1.0 and paper 0.0 (grey in between), values in [0, 1], as the networks take them;
- ``uint8``: as image files hold them, dark ink on light paper: 0 is black ink, 255 white paper.

Anything else is refused with a ValueError naming the dtype and the values: another dtype, NaN
or infinite values, floats outside [0, 1], images that are not (n, H, W), query and support
images of two sizes, and images more than half ink (a drawing has at most about a fifth: more
means paper is being read as ink, an inverted image).
"""

from __future__ import annotations

import numpy as np

#: The largest share of ink a drawing may have. Omniglot's drawings have at most 22% (measured on
#: both splits) and Lake's runs 16%; an image more than half ink is read with paper as ink.
MAX_INK_FRACTION = 0.5

_POLARITY_HINTS = {
    "b": "bool images are ink masks, True where there is ink; if True marks the paper (as np.asarray of a "
    "1-bit PNG gives it), pass ~images",
    "f": "float images hold ink 1.0 and paper 0.0; if yours hold paper 1.0 (as an image file divided by 255 "
    "does), pass 1 - images, or pass the file's uint8 values themselves",
    "u": "uint8 images are read as image files hold them, dark ink (0) on light paper (255); if yours are light "
    "ink on dark paper, pass 255 - images; if they are 0/1 ink masks, pass images.astype(bool)",
}


def ink_images(images: np.ndarray, what: str = "images") -> np.ndarray:
    """(n, H, W) images as every scorer reads them: the one place image input is checked and converted.

    Args:
        images: (n, H, W) drawings, n may be 0. ``bool``: ink masks, True where there is ink
            (as loaded). Float (any width): ink 1.0, paper 0.0, grey in between, values in [0, 1].
            ``uint8``: as image files hold them, dark ink on light paper (0 ink, 255 paper).
        what: what to call the images in a message (``"query"``, ``"support"``).

    Returns:
        bool and float images unchanged (the same values, so the same scores as before this
        check existed); uint8 images as (n, H, W) float32 ink ``1 - images / 255``, so an
        Omniglot PNG's 0/255 pixels become exactly the 0.0/1.0 of its bool mask.

    Raises:
        ValueError naming ``what``, the dtype and the values if the images are not (n, H, W), of
        another dtype (int64, say: cast 0/1 masks to bool), NaN or infinite, floats outside
        [0, 1], or if one is more than ``MAX_INK_FRACTION`` ink (an inverted image).
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(
            f"{what} must be a stack of images (n, H, W), e.g. (n, 105, 105); got shape {images.shape}. "
            "For one image, pass image[None]."
        )
    kind = images.dtype.kind
    if kind not in _POLARITY_HINTS or (kind == "u" and images.dtype != np.uint8):
        raise ValueError(
            f"{what} are {images.dtype}; a scorer reads bool ink masks (True = ink), floats in [0, 1] (1 = ink) "
            "or uint8 as image files hold them (0 = ink, 255 = paper). Cast 0/1 masks with images.astype(bool)."
        )
    if kind == "f" and images.size:
        finite = np.isfinite(images)
        if not finite.all():
            raise ValueError(
                f"{what} hold {np.count_nonzero(~finite)} NaN or infinite values ({images.dtype}): a scorer "
                "reads floats in [0, 1], ink 1.0 and paper 0.0"
            )
        low, high = images.min(), images.max()
        if low < 0 or high > 1:
            raise ValueError(
                f"{what} are {images.dtype} with values from {low:g} to {high:g}; float images must lie in "
                "[0, 1], ink 1.0 and paper 0.0. For an image file's 0-255 values, pass them as uint8."
            )
    ink = (np.float32(1) - images.astype(np.float32) / np.float32(255)) if kind == "u" else images
    _check_polarity(ink, what, kind)
    return ink


def _check_polarity(ink: np.ndarray, what: str, kind: str) -> None:
    """Raise ValueError if an image of ``ink`` (n, H, W) is more than ``MAX_INK_FRACTION`` ink."""
    if not ink.size:
        return
    flat = ink.reshape(len(ink), -1)
    fractions = np.count_nonzero(flat, axis=1) / flat.shape[1] if kind == "b" else flat.mean(axis=1)
    worst = int(np.argmax(fractions))
    if fractions[worst] > MAX_INK_FRACTION:
        raise ValueError(
            f"{what}: image {worst} is {fractions[worst]:.0%} ink ({ink.dtype if kind != 'u' else 'uint8'}), where "
            f"a drawing has at most about a fifth: it is read inverted, paper as ink. {_POLARITY_HINTS[kind]}."
        )


def ink_pair(query: np.ndarray, support: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Query (Q, H, W) and support (S, H, W) images read by ``ink_images``.

    Raises ValueError as ``ink_images`` does, or if the query and support images differ in size.
    """
    query, support = ink_images(query, "query"), ink_images(support, "support")
    if query.shape[1:] != support.shape[1:]:
        raise ValueError(
            f"query images are {query.shape[1]}x{query.shape[2]} and support images "
            f"{support.shape[1]}x{support.shape[2]}: a scorer compares images of one size"
        )
    return query, support
