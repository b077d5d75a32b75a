"""Omniglot drawings dressed as someone else's pictures (``data.pictures``), and read back by ``scoring.any_image``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from oneshot_lib.data.pictures import PictureStyle, disk, foreign_picture, random_style
from oneshot_lib.scoring.any_image import as_drawing


def drawing() -> np.ndarray:
    """(105, 105) bool: a square outline and a diagonal, three pixels wide."""
    ink = np.zeros((105, 105), bool)
    ink[20:23, 20:85] = ink[82:85, 20:85] = ink[20:85, 20:23] = ink[20:85, 82:85] = True
    for i in range(25, 80):
        ink[i, i - 1 : i + 2] = True
    return ink


def test_a_picture_has_the_styles_page_colours_and_place():
    style = PictureStyle(size=210, thicker=0, page=(300, 250), place=(50, 20), ink=(200, 0, 0), paper=(0, 0, 90))
    picture = foreign_picture(drawing(), style)
    assert picture.shape == (300, 250, 3) and picture.dtype == np.uint8
    assert tuple(picture[0, 0]) == (0, 0, 90)  # paper
    assert tuple(picture[50 + 43, 20 + 43]) == (200, 0, 0)  # the top-left corner of the outline, scaled twice
    inked = np.flatnonzero((picture != (0, 0, 90)).any(axis=-1).any(axis=1))
    assert inked[0] >= 50 and inked[-1] < 50 + 210


def test_thicker_strokes_cover_more_of_the_page():
    plain = PictureStyle(size=105, thicker=0, page=(105, 105), place=(0, 0), ink=(0, 0, 0), paper=(255, 255, 255))
    thick = PictureStyle(**{**plain.__dict__, "thicker": 2})
    ink = (foreign_picture(drawing(), plain) < 128).all(axis=-1)
    thicker = (foreign_picture(drawing(), thick) < 128).all(axis=-1)
    np.testing.assert_array_equal(thicker, ndimage.binary_dilation(ink, structure=disk(2)))


def test_random_styles_are_seeded_inverted_on_request_and_read_back_as_the_drawing():
    styles = [random_style(np.random.default_rng(3), inverted=True) for _ in range(2)]
    assert styles[0] == styles[1]
    style = styles[0]
    assert 60 <= style.size <= 400 and sum(style.ink) > sum(style.paper)  # light ink on dark paper
    rng = np.random.default_rng(0)
    for inverted in (False, True):
        for photo in (False, True):
            picture = foreign_picture(drawing(), random_style(rng, inverted=inverted, photo=photo), rng)
            read = as_drawing(picture)
            near = ndimage.binary_dilation(read, iterations=3)
            assert (drawing() & ~near).sum() < 0.05 * drawing().sum(), (inverted, photo)


@pytest.mark.parametrize(
    ("image", "style", "message"),
    [
        (np.zeros((105, 105), np.uint8), None, r"expected a \(105, 105\) bool drawing"),
        (drawing(), PictureStyle(200, 0, (100, 300), (0, 0), (0, 0, 0), (255, 255, 255)), "does not fit"),
        (drawing(), PictureStyle(105, 0, (105, 105), (0, 0), (0, 0, 0), (255, 255, 255), noise=5.0), "needs an rng"),
    ],
)
def test_bad_requests_are_refused(image, style, message):
    style = style or PictureStyle(105, 0, (105, 105), (0, 0), (0, 0, 0), (255, 255, 255))
    with pytest.raises(ValueError, match=message):
        foreign_picture(image, style)
