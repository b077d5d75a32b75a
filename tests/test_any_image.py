"""Any image in, an Omniglot drawing out: ``scoring.any_image`` on small synthetic pictures."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from oneshot_lib.scoring.any_image import (
    DRAWING_EXTENT,
    DRAWING_SIZE,
    STROKE_WIDTH,
    as_drawing,
    as_drawings,
    drawing_steps,
    otsu_threshold,
    stroke_width,
)


def letter(size: int = 120, width: int = 3) -> np.ndarray:
    """(size, size) bool ink: an L and a bar, strokes ``width`` pixels wide centred on the same lines whatever it."""
    ink = np.zeros((size, size), bool)
    unit, low, high = size / 12, -(width // 2), width - width // 2

    def line(y0: float, x0: float, y1: float, x1: float) -> None:
        top, left = round(y0 * unit) + low, round(x0 * unit) + low
        ink[top : round(y1 * unit) + high, left : round(x1 * unit) + high] = True

    line(3, 3, 9, 3)  # the L's upright
    line(9, 3, 9, 8)  # its foot
    line(5, 5, 5, 9)  # a bar
    return ink


def on_page(ink: np.ndarray, height: int, width: int, top: int, left: int) -> np.ndarray:
    """(height, width) bool page with ``ink`` pasted at (top, left)."""
    page = np.zeros((height, width), bool)
    page[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return page


def paper(ink: np.ndarray, ink_colour=(0, 0, 0), paper_colour=(255, 255, 255)) -> np.ndarray:
    """(H, W, 3) uint8 picture of an ink mask in the given colours."""
    return np.where(ink[..., None], np.array(ink_colour), np.array(paper_colour)).astype(np.uint8)


def overlap(a: np.ndarray, b: np.ndarray, blur: int = 2) -> float:
    """Share of each mask's ink within ``blur`` pixels of the other's (the smaller of the two)."""
    near_a, near_b = ndimage.binary_dilation(a, iterations=blur), ndimage.binary_dilation(b, iterations=blur)
    return min((a & near_b).sum() / a.sum(), (b & near_a).sum() / b.sum())


REFERENCE = as_drawing(paper(letter()))


def test_a_drawing_is_105_by_105_bool_with_omniglots_stroke_width_and_extent():
    assert REFERENCE.shape == (DRAWING_SIZE, DRAWING_SIZE) and REFERENCE.dtype == bool
    assert stroke_width(REFERENCE) == pytest.approx(STROKE_WIDTH, rel=0.25)
    rows, cols = np.flatnonzero(REFERENCE.any(axis=1)), np.flatnonzero(REFERENCE.any(axis=0))
    extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
    assert abs(extent - DRAWING_EXTENT) <= 4
    # centred: the ink's box is in the middle, to within a pixel or two
    assert abs((rows[0] + rows[-1]) / 2 - 52) <= 2 and abs((cols[0] + cols[-1]) / 2 - 52) <= 2


@pytest.mark.parametrize(
    "picture",
    [
        pytest.param(paper(letter(), (255, 255, 255), (0, 0, 0)), id="light ink on dark paper"),
        pytest.param(paper(letter(), (200, 20, 20), (250, 240, 170)), id="red ink on yellow paper"),
        pytest.param(paper(letter(), (250, 240, 170), (20, 40, 90)), id="yellow ink on blue paper"),
        pytest.param(np.where(letter(), 0, 255).astype(np.uint8), id="grey uint8"),
        pytest.param(~letter(), id="bool, True for paper"),
        pytest.param(letter().astype(np.float64), id="float, light on dark"),
        pytest.param(np.where(letter(), 0.2, 0.9)[..., None].astype(np.float32), id="(H, W, 1) float"),
        pytest.param((np.where(letter(), 0, 65535)).astype(np.uint16), id="uint16"),
    ],
)
def test_polarity_colour_and_dtype_do_not_change_the_drawing(picture):
    np.testing.assert_array_equal(as_drawing(picture), REFERENCE)


def test_rgba_ink_on_a_transparent_page_and_an_opaque_page_with_transparent_margins():
    ink = letter()
    on_nothing = np.zeros((*ink.shape, 4), np.uint8)
    on_nothing[ink] = (30, 30, 200, 255)  # blue strokes, the rest see-through
    np.testing.assert_array_equal(as_drawing(on_nothing), REFERENCE)
    light_strokes = on_nothing.copy()
    light_strokes[ink] = (255, 255, 255, 255)  # white strokes on nothing: laid on black
    np.testing.assert_array_equal(as_drawing(light_strokes), REFERENCE)
    framed = np.concatenate([paper(ink), np.full((*ink.shape, 1), 255, np.uint8)], axis=-1)
    framed[:5, :, 3] = 0  # a see-through strip of the opaque white page
    assert overlap(as_drawing(framed), REFERENCE, blur=1) > 0.95


def test_pil_images_and_files_of_every_mode_give_the_same_drawing(tmp_path):
    picture = Image.fromarray(paper(letter(), (10, 10, 10), (245, 245, 245)))
    for mode in ("RGB", "L", "P", "1", "RGBA", "LA"):
        converted = picture.convert(mode, dither=Image.Dither.NONE)
        np.testing.assert_array_equal(as_drawing(converted), REFERENCE, err_msg=mode)
        path = tmp_path / f"letter-{mode}.png"
        converted.save(path)
        np.testing.assert_array_equal(as_drawing(path), REFERENCE, err_msg=f"{mode} file")
        np.testing.assert_array_equal(as_drawing(str(path)), REFERENCE, err_msg=f"{mode} file name")


@pytest.mark.parametrize("size", [40, 60, 250, 400])
def test_any_size_gives_the_same_drawing(size):
    picture = Image.fromarray(paper(letter(size=480, width=12))).resize((size, size), Image.Resampling.BOX)
    assert overlap(as_drawing(picture), REFERENCE, blur=3) > 0.9  # a 40-pixel page places the ink to a pixel


@pytest.mark.parametrize(
    ("height", "width", "top", "left"), [(300, 300, 0, 0), (300, 300, 180, 180), (150, 400, 20, 270)]
)
def test_an_off_centre_drawing_is_centred(height, width, top, left):
    assert overlap(as_drawing(paper(on_page(letter(), height, width, top, left))), REFERENCE) > 0.97


@pytest.mark.parametrize("width", [1, 2, 6, 12, 20])
def test_thin_and_thick_strokes_come_out_at_omniglots_width(width):
    drawing = as_drawing(paper(letter(size=240, width=width)))
    assert stroke_width(drawing) == pytest.approx(STROKE_WIDTH, rel=0.25)
    # a thicker stroke widens the ink's box, so the drawing shrinks a little: strokes stay near
    assert overlap(drawing, REFERENCE, blur=4) > 0.9


def test_uneven_light_is_paper_and_specks_are_dropped():
    ink = letter(size=160, width=4)
    rows, cols = np.mgrid[0:160, 0:160] / 160
    light = 0.55 + 0.4 * cols - 0.2 * rows**2  # a photo lit from one side, darker at the bottom
    rgb = np.where(ink, 0.08, light)[..., None] * np.array([1.0, 0.95, 0.85])
    rng = np.random.default_rng(0)
    rgb = np.clip(rgb + rng.normal(0, 0.02, rgb.shape), 0, 1)
    rgb[150, 5] = rgb[3, 140] = 0.0  # two single-pixel specks far from the drawing
    steps = drawing_steps(rgb)
    assert not steps.mask[150, 5] and not steps.mask[3, 140]
    assert overlap(steps.drawing, REFERENCE) > 0.95


def test_drawing_steps_keep_each_step():
    steps = drawing_steps(paper(letter(size=100)))
    assert steps.rgb.shape == (100, 100, 3) and steps.rgb.dtype == np.float32
    assert steps.ink.shape == (100, 100) and steps.ink.max() == pytest.approx(1, abs=0.01)
    np.testing.assert_array_equal(steps.mask, letter(size=100))
    top, left, bottom, right = steps.box
    assert bottom - top == right - left  # a square
    np.testing.assert_array_equal(steps.drawing, as_drawing(paper(letter(size=100))))


def test_as_drawings_stacks_and_names_the_image_it_refuses():
    stack = as_drawings([paper(letter()), Image.fromarray(paper(letter()))])
    assert stack.shape == (2, 105, 105) and stack.dtype == bool
    assert as_drawings([]).shape == (0, 105, 105)
    with pytest.raises(ValueError, match=r"^image 1: no drawing found"):
        as_drawings([paper(letter()), np.full((50, 50), 255, np.uint8)])


def test_otsu_splits_two_levels_between_them():
    values = np.concatenate([np.full(900, 0.1), np.full(100, 0.8)])
    assert 0.1 <= otsu_threshold(values) < 0.8


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.full((60, 60), 255, np.uint8), "no drawing found: the image is blank"),
        (np.full((60, 60, 3), (40, 90, 200), np.uint8), "no drawing found: the image is blank"),
        (np.zeros((60, 60, 4), np.uint8), "fully transparent"),
        (np.zeros((0, 0), np.uint8), r"too small to hold a drawing"),
        (np.zeros((5, 60), np.uint8), r"60x5 pixels: too small"),
        (np.zeros((3, 60, 60), np.uint8), r"\(H, W, 3\) RGB"),
        (np.zeros((60, 60, 2), np.uint8), r"got shape \(60, 60, 2\)"),
        (np.zeros(60, np.uint8), r"got shape \(60,\)"),
        (np.zeros((60, 60), np.int64), r"dtype int64: pass array.astype\(np.uint8\)"),
        (np.zeros((60, 60), np.complex64), r"dtype complex64: pass uint8"),
        (np.full((60, 60), 200.0), r"\[0, 1\]; got 200 to 200 \(for 0-255 values, pass them as uint8\)"),
        (np.full((60, 60), np.nan), "NaN or infinite"),
        ([[0, 1]], "cannot read a list as an image"),
    ],
)
def test_bad_input_is_refused_with_what_to_do(image, message):
    with pytest.raises(ValueError, match=message):
        as_drawing(image)


def test_a_page_of_noise_is_refused():
    noise = np.random.default_rng(0).random((60, 60))
    with pytest.raises(ValueError, match="reads as ink: a drawing is a minority of the page"):
        as_drawing(noise)


def test_missing_and_unreadable_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"no image file '.*nothing.png': check the path"):
        as_drawing(tmp_path / "nothing.png")
    with pytest.raises(ValueError, match=r"\(it is a folder\): check the path"):
        as_drawing(tmp_path)
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match=r"cannot read '.*notes.png' as an image .*: give a PNG, JPEG"):
        as_drawing(text)
    truncated = tmp_path / "truncated.png"
    Image.fromarray(paper(letter())).save(tmp_path / "whole.png")
    truncated.write_bytes((tmp_path / "whole.png").read_bytes()[:200])
    with pytest.raises(ValueError, match=r"cannot read '.*truncated.png' as an image"):
        as_drawing(truncated)
