"""A model's embedding network for serving outside the course: a TensorFlow SavedModel, by ``keras.Model.export``.

``serving_model(scorer)`` wraps an embedding scorer's network in a Keras model that takes what
the course's drawings are, (n, 105, 105) float32 ink (1.0 ink, 0.0 paper), and does all the
scorer does before it compares: resize to the network's input by area averaging, embed in
inference mode, and average over test-time shifts where the model scores with them. Its
embeddings equal ``scorer.embed``'s. ``export_for_serving`` writes it with ``keras.Model.export``
(a SavedModel whose ``serve`` function plain TensorFlow loads with ``tf.saved_model.load``) and,
beside it, ``oneshot.json``: the model's name, the comparison its scores use (``METRICS``), the
embedding size and the input it expects. The README's "Use a model outside the course" section
loads one and classifies by the nearest prototype without ``oneshot_lib``.

Only models that compare embeddings of single drawings can be served so: the siamese networks
score each pair with a learnt head, and MAML and Reptile adapt the network to each support set.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from oneshot_lib.backend import keras, tf
from oneshot_lib.models.conv4 import CosineScorer, EmbeddingNetworkScorer
from oneshot_lib.models.episodic import MatchingScorer, PrototypicalScorer
from oneshot_lib.scoring.shifts import ShiftAveraged, shift_offsets

ops = keras.ops

#: How each servable scorer compares two embeddings; what a client of the export must compute.
METRICS = {
    PrototypicalScorer: "squared_euclidean",  # score = -|q - p|^2; a class's prototype is its embeddings' mean
    MatchingScorer: "cosine",  # attention is a softmax over cosines: the nearest by cosine wins
    CosineScorer: "cosine",
}
#: The side of the drawings a served model reads.
DRAWING_SIZE = 105
#: The file written beside the SavedModel, saying how to use it.
ABOUT_FILE = "oneshot.json"


class ServedEmbedding(keras.layers.Layer):
    """(n, 105, 105) float32 ink -> (n, D) float32 embedding, as an ``EmbeddingNetworkScorer`` embeds.

    Each drawing is moved by every shift of a ``grid`` x ``grid`` grid of ``pixels`` as
    ``scoring.shifts`` moves it (``fill="wrap"``: rolled round, ``"paper"``: on blank paper; only
    the drawing itself when ``pixels`` is 0), resized to ``image_size`` by area averaging,
    embedded in inference mode, and the embeddings averaged.
    """

    def __init__(
        self, embedding: keras.Model, image_size: int, pixels: int = 0, fill: str = "wrap", grid: int = 3, **kwargs
    ):
        super().__init__(**kwargs)
        self.embedding, self.image_size = embedding, image_size
        self.pixels, self.fill, self.grid = pixels, fill, grid

    def call(self, drawings):
        offsets = shift_offsets(self.pixels, self.grid)
        if self.fill == "wrap":
            copies = [ops.roll(drawings, (dy, dx), axis=(1, 2)) for dy in offsets for dx in offsets]
        else:  # paper: pad with blank paper (0.0), then cut the frame at each offset
            reach, (height, width) = offsets[-1], drawings.shape[1:3]
            padded = ops.pad(drawings, ((0, 0), (reach, reach), (reach, reach)))
            copies = [
                padded[:, reach - dy : reach - dy + height, reach - dx : reach - dx + width]
                for dy in offsets
                for dx in offsets
            ]
        stacked = ops.concatenate(copies, axis=0)[..., None]
        resized = tf.image.resize(stacked, (self.image_size, self.image_size), "area")
        embedded = self.embedding(resized, training=False)
        return ops.mean(ops.reshape(embedded, (len(copies), -1, embedded.shape[-1])), axis=0)


def servable_parts(scorer) -> tuple[EmbeddingNetworkScorer, tuple[int, str, int], str]:
    """(the embedding scorer inside ``scorer``, its test-time shifts, its metric in ``METRICS``).

    The shifts are (pixels, fill, grid) as ``scoring.shifts.average_over_shifts`` takes them, (0,
    "wrap", 3) for none. Raises ValueError naming the scorer if it does not compare embeddings of
    single drawings.
    """
    shifts = (0, "wrap", 3)
    if isinstance(scorer, ShiftAveraged):
        scorer, shifts = scorer.scorer, (scorer.pixels, scorer.fill, scorer.grid)
    metric = next((name for kind, name in METRICS.items() if isinstance(scorer, kind)), None)
    if metric is None:
        raise ValueError(
            f"{getattr(scorer, 'name', type(scorer).__name__)!r} does not score by comparing embeddings of single "
            "drawings (a siamese network scores each pair with a learnt head, MAML and Reptile adapt to each support "
            "set), so its embedding network alone cannot classify: export a prototypical, matching, transfer or "
            "self-supervised model"
        )
    return scorer, shifts, metric


def serving_model(scorer) -> keras.Model:
    """A Keras model from (n, 105, 105) float32 ink to the (n, D) embeddings ``scorer.embed`` gives.

    Raises ValueError if ``scorer`` cannot be served (see ``servable_parts``).
    """
    inner, shifts, _ = servable_parts(scorer)
    drawings = keras.Input((DRAWING_SIZE, DRAWING_SIZE), dtype="float32", name="drawings")
    embedded = ServedEmbedding(inner.embedding, inner.image_size, *shifts, name="embedding")(drawings)
    return keras.Model(drawings, embedded, name="served_embedding")


def export_for_serving(scorer, directory: str | Path, name: str | None = None) -> Path:
    """Write ``scorer``'s embedding network to ``directory`` as a TensorFlow SavedModel, and ``oneshot.json``.

    The SavedModel's ``serve`` function takes (n, 105, 105) float32 ink (1.0 ink, 0.0 paper) and
    returns (n, D) float32 embeddings. ``oneshot.json`` holds ``model`` (``name``, by default the
    scorer's), ``metric`` (``METRICS``), ``embedding_size``, ``test_shifts`` (with ``shift_fill`` and
    ``shift_grid`` unless the shifts wrap on a 3x3 grid) and ``input``. The
    export is written in a temporary folder beside ``directory`` and moved into place whole.

    Returns ``directory``. Raises ValueError if ``scorer`` cannot be served or ``directory``
    exists and is not an empty folder, before anything is written.
    """
    directory = Path(directory)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ValueError(f"{str(directory)!r} already exists and is not an empty folder: export into a new folder")
    _, (pixels, fill, grid), metric = servable_parts(scorer)
    model = serving_model(scorer)
    about = {
        "model": name or getattr(scorer, "name", "embedding"),
        "metric": metric,
        "embedding_size": int(model.output_shape[-1]),
        "test_shifts": pixels,
        **({} if (fill, grid) == ("wrap", 3) else {"shift_fill": fill, "shift_grid": grid}),
        "input": "(n, 105, 105) float32 drawings: 1.0 ink, 0.0 paper, as Omniglot's 105x105 drawings",
    }
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        model.export(str(staging / "export"), format="tf_saved_model", verbose=False)
        (staging / "export" / ABOUT_FILE).write_text(json.dumps(about, indent=2) + "\n")
        if directory.exists():
            directory.rmdir()  # empty, checked above
        (staging / "export").rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory
