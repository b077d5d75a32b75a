"""Figures of what a model reads: masked drawings and what a network restores of them, and how a
picture from elsewhere becomes a drawing.

Each function draws several panels, so it makes its own Figure and returns it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from oneshot_lib.scoring.any_image import DrawingSteps
from oneshot_lib.viz.drawings import draw_drawing
from oneshot_lib.viz.style import (
    FIGURE_INCHES,
    HIDDEN_COLOR,
    HIGHLIGHT_COLOR,
    SMALL_POINTS,
    TITLE_POINTS,
    course_figure,
    wrap,
)


def _on_patches(ink: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB: ink (H, W) in [0, 1] drawn black on white, the pixels where ``masks`` is set tinted."""
    paper = np.where(masks[..., None], plt.matplotlib.colors.to_rgb(HIDDEN_COLOR), 1.0)
    return paper * (1.0 - np.clip(ink, 0.0, 1.0)[..., None])


@course_figure
def plot_masked_reconstructions(
    images: np.ndarray, masks: np.ndarray, reconstructions: np.ndarray, *, panel_inches: float = 0.9
) -> Figure:
    """Masked prediction, one column per drawing: the drawing, what the network reads, what it restores.

    ``images`` are (n, H, W) floats in [0, 1] (ink 1) or bool, ``masks`` (n, H, W) bool or 0/1
    (True where a patch is hidden) and ``reconstructions`` (n, H, W) probabilities of ink, as a
    masked-prediction network gives them; a trailing channel axis of 1 is dropped from each.
    The hidden patches are tinted in the second row (they read as paper, shown here blank) and
    the third (where the loss counts the restored ink).

    Raises ValueError unless the three hold the same number of images of the same shape.

    Returns a new Figure of 3 rows of n panels.
    """
    images, masks, reconstructions = (
        _drop_channel(np.asarray(a, dtype=float)) for a in (images, masks, reconstructions)
    )
    if not images.shape == masks.shape == reconstructions.shape or images.ndim != 3 or len(images) == 0:
        raise ValueError(
            "expected images, masks and reconstructions of one shape (n, H, W), n >= 1, got "
            f"{images.shape}, {masks.shape} and {reconstructions.shape}"
        )
    hidden = masks > 0.5
    n = len(images)
    panel_inches = min(panel_inches, (FIGURE_INCHES - 1.0) / n)
    title = wrap(
        "Masked prediction: hidden patches (tinted) filled with paper, then restored",
        max(panel_inches * n + 1.0, 3.5),
        TITLE_POINTS,
    )
    fig, axes = plt.subplots(
        3,
        n,
        figsize=(max(panel_inches * n + 1.0, 3.5), panel_inches * 3 + 0.3 + 0.2 * (title.count("\n") + 1)),
        squeeze=False,
    )
    rows = [
        ("drawing", np.zeros_like(hidden), images),
        ("masked input", hidden, np.where(hidden, 0.0, images)),
        ("restored", hidden, reconstructions),
    ]
    for ax_row, (label, tints, inks) in zip(axes, rows, strict=True):
        for ax, tint, ink in zip(ax_row, tints, inks, strict=True):
            draw_drawing(ax, _on_patches(ink, tint))
        ax_row[0].set_ylabel(label, fontsize=SMALL_POINTS)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _drop_channel(array: np.ndarray) -> np.ndarray:
    return array[..., 0] if array.ndim == 4 and array.shape[-1] == 1 else array


@course_figure
def plot_drawing_steps(steps: DrawingSteps, *, title: str | None = None) -> Figure:
    """How ``scoring.any_image.as_drawing`` made a drawing of a picture, one panel per step.

    The picture as read; each pixel's distance from the paper's colour (dark: far, ink); the ink
    found, with the square cropped around it (orange; it may reach past the picture); the
    105x105 drawing the models read. Returns a new Figure.
    """
    fig, axes = plt.subplots(1, 4, figsize=(FIGURE_INCHES, 2.6))
    axes[0].imshow(steps.rgb, interpolation="antialiased")
    axes[1].imshow(steps.ink, cmap="gray_r", vmin=0, vmax=1, interpolation="antialiased")
    axes[2].imshow(steps.mask, cmap="gray_r", vmin=0, vmax=1, interpolation="antialiased")
    top, left, bottom, right = steps.box
    axes[2].add_patch(
        plt.Rectangle((left - 0.5, top - 0.5), right - left, bottom - top, fill=False, color=HIGHLIGHT_COLOR, lw=1.5)
    )
    height, width = steps.mask.shape
    axes[2].set_xlim(min(left, 0) - 0.5, max(right, width) - 0.5)
    axes[2].set_ylim(max(bottom, height) - 0.5, min(top, 0) - 0.5)
    draw_drawing(axes[3], steps.drawing)
    labels = [
        f"the picture, {width}x{height}",
        "distance from the paper",
        "the ink, and the square cropped",
        "what the model reads, 105x105",
    ]
    for ax, label in zip(axes, labels, strict=True):
        ax.set_title(wrap(label, FIGURE_INCHES / 4, SMALL_POINTS), fontsize=SMALL_POINTS, pad=3)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(wrap(title, FIGURE_INCHES, TITLE_POINTS))
    fig.tight_layout()
    return fig
