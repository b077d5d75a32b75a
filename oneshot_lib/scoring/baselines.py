"""Scorers that learn nothing beforehand: random guessing, nearest neighbours, a support-set classifier.

Each is a scorer (see ``oneshot_lib.scoring.contract.Scorer``): ``scores(query, support)`` takes raw
images (Q, 105, 105) and (S, 105, 105), read by ``images.ink_images`` (bool ink masks, floats
with ink 1, or uint8 as image files hold them), and returns a (Q, S) float64 similarity, higher
meaning more alike. Distances are returned negated.

The nearest-neighbour scorers (pixel L2, Modified Hausdorff, the blog's formula) declare
nearest neighbour's rule for k drawings per class (``rules.NearestDrawingRule``): a class
scores as its nearest drawing, the max of its scores, not their mean. ``SupportSoftmax`` is
the ordinary classifier one-shot learning replaces: fitted to the support set of each task.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from oneshot_lib.data.seeds import seeded_generator
from oneshot_lib.data.tasks import check_count, check_positive_number
from oneshot_lib.scoring.images import ink_images, ink_pair
from oneshot_lib.scoring.rules import NearestDrawingRule


class RandomScorer:
    """Uniform random scores: chance accuracy, 1/N on an N-way task."""

    name = "random"

    def __init__(self, seed: int = 0):
        self.rng = seeded_generator(seed)

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 uniform in [0, 1)."""
        return self.rng.random((len(query), len(support)))


class ConstantScorer:
    """The same score for every pair: it cannot tell anything apart, so it must get 1/N.

    Useful to check an evaluation: if ties favoured the right answer, it would score more.
    """

    name = "constant"

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 zeros."""
        return np.zeros((len(query), len(support)))


def pairwise_squared_l2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(A, B) float64 squared Euclidean distances between rows of a (A, D) and b (B, D).

    Uses ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b, so the work is one matrix product; the
    result is clipped at 0 against round-off.
    """
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(squared, 0.0)


class PixelNearestNeighbour(NearestDrawingRule):
    """1-nearest neighbour on raw pixels: the score is minus the L2 distance.

    The images are compared as 11,025-dimensional vectors of 0/1 ink values, exactly as
    loaded: no centring, no blurring, no resizing. With k drawings per class, the class of the
    nearest drawing wins (``class_scores``, from ``evaluate.NearestDrawingRule``).
    """

    name = "pixel 1-NN"

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64: minus the Euclidean distance between flattened images."""
        query, support = ink_pair(query, support)  # as evaluate.ink_images reads them: ink 1 (or True)
        flat_query = flat_pixels(query)
        flat_support = flat_pixels(support)
        return -np.sqrt(pairwise_squared_l2(flat_query, flat_support))


def flat_pixels(images: np.ndarray) -> np.ndarray:
    """(n, H * W) the pixels of each of images (n, H, W), n may be 0."""
    return images.reshape(len(images), images.shape[1] * images.shape[2])


class BlogNearestNeighbour(NearestDrawingRule):
    """The blog's nearest neighbour, bug included: minus ``np.sum(np.sqrt(a**2 - b**2))``.

    The blog's code ran this on 8-bit images (ink 0, paper 255), so ``a**2 - b**2`` wraps
    around modulo 256 and is no distance at all. Kept to show what that arithmetic does; use
    ``PixelNearestNeighbour`` for the real thing. Like it, takes the nearest drawing of a class.
    """

    name = "blog's 1-NN formula"

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 minus the blog's formula, on (Q, 105, 105) and (S, 105, 105) ink masks."""
        a = _as_8bit(query)[:, None, :]  # (Q, 1, 11025)
        b = _as_8bit(support)[None, :, :]  # (1, S, 11025)
        wrapped = a**2 - b**2  # uint8 arithmetic wraps around, as in the blog
        # numpy would take this square root in float16, slowly; float32 only rounds less.
        return -np.sqrt(wrapped, dtype=np.float32).sum(axis=2, dtype=np.float64)


def _as_8bit(images: np.ndarray) -> np.ndarray:
    """(n, 105 * 105) uint8 images as the PNGs store them: ink 0, paper 255 (any ink counts as ink)."""
    return flat_pixels(np.where(ink_images(images), 0, 255).astype(np.uint8))


def ink_points(image: np.ndarray) -> np.ndarray:
    """(n_ink, 2) float64 (row, column) coordinates of the ink, centred on their mean.

    As the official ``demo_classification.py`` (``LoadImgAsPoints``) does. An image without
    ink gives a (0, 2) array.
    """
    points = np.argwhere(image).astype(np.float64)
    return points - points.mean(axis=0) if len(points) else points


def modified_hausdorff_distance(points_a: np.ndarray, points_b: np.ndarray) -> float:
    """Dubuisson and Jain's Modified Hausdorff Distance between two point sets (n, 2).

    The larger of the two mean distances from each point of one set to its nearest point in
    the other, as in Lake's official demo.
    """
    distances = np.sqrt(pairwise_squared_l2(points_a, points_b))
    return max(distances.min(axis=1).mean(), distances.min(axis=0).mean())


class ModifiedHausdorff(NearestDrawingRule):
    """Lake's baseline: Modified Hausdorff Distance between centred ink point sets.

    Tolerant of small shifts (the sets are centred) and of small deformations (each point only
    needs a nearby point), unlike pixel L2. The score is minus the distance; with k drawings
    per class, the nearest drawing decides, as for every nearest-neighbour scorer here.
    """

    name = "Modified Hausdorff"

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64: minus the Modified Hausdorff Distance of every (query, support) pair.

        Builds one k-d tree (``scipy.spatial.cKDTree``) per image, so each nearest-point search
        costs O(log n) per point instead of a full distance matrix: the same distances, several
        times faster on Omniglot's drawings of several hundred ink pixels.
        """
        query_trees = [_ink_tree(image, f"query {i}") for i, image in enumerate(query)]
        support_trees = [_ink_tree(image, f"support image {i}") for i, image in enumerate(support)]
        result = np.empty((len(query), len(support)))
        for row, query_tree in enumerate(query_trees):
            for column, support_tree in enumerate(support_trees):
                query_to_support = support_tree.query(query_tree.data)[0].mean()
                support_to_query = query_tree.query(support_tree.data)[0].mean()
                result[row, column] = -max(query_to_support, support_to_query)
        return result


def _ink_tree(image: np.ndarray, what: str) -> cKDTree:
    points = ink_points(ink_images(image[None], what)[0])
    if len(points) == 0:
        raise ValueError(f"{what} has no ink: the Modified Hausdorff Distance is undefined")
    return cKDTree(points)


class SupportSoftmax:
    """The ordinary classifier, fitted to a task's support set alone: softmax regression on pixels.

    What you would do without one-shot learning: take the support set as the training set of an
    ``n_way``-class classifier and fit it. Here the classifier is linear, logits ``x W + b`` on the
    11,025 pixels of a drawing (ink 1, paper 0): 11,025 x n_way weights and n_way biases (220,520
    for 20 classes), fitted from zero by ``steps`` steps of full-batch gradient descent on the mean
    cross-entropy. Deterministic: no random choice anywhere.

    A ``ClassScorer`` (see ``oneshot_lib.scoring.contract``): ``class_scores`` fits on the support set and
    returns the queries' logits. ``scores`` treats each support image as a class of its own.
    """

    name = "softmax on the support set"

    def __init__(self, steps: int = 50, learning_rate: float = 0.01):
        check_count("steps", steps, 1, "the classifier starts at zero and learns nothing without a step")
        check_positive_number("learning_rate", learning_rate)
        self.steps = steps
        self.learning_rate = learning_rate

    def fit(self, support: np.ndarray, support_labels: np.ndarray, n_way: int) -> tuple[np.ndarray, np.ndarray]:
        """Weights (11025, n_way) and biases (n_way,) float64 fitted to support (S, 105, 105) and
        its labels (S,) int in [0, n_way).

        Raises ValueError if the labels are out of range.
        """
        labels = np.asarray(support_labels)
        if not len(support):
            raise ValueError("the support set is empty: there is nothing to fit the classifier to")
        if labels.shape != (len(support),) or labels.min() < 0 or labels.max() >= n_way:
            raise ValueError(f"support_labels must be {len(support)} classes in [0, {n_way}), got {labels}")
        x = _flat(support)
        targets = np.eye(n_way)[labels]
        weights, bias = np.zeros((x.shape[1], n_way)), np.zeros(n_way)
        for _ in range(self.steps):
            error = (_softmax(x @ weights + bias) - targets) / len(x)  # gradient of the mean cross-entropy
            weights -= self.learning_rate * (x.T @ error)
            bias -= self.learning_rate * error.sum(axis=0)
        return weights, bias

    def support_accuracy(self, support: np.ndarray, support_labels: np.ndarray, n_way: int) -> float:
        """Training accuracy: the fraction of the support set the fitted classifier gets right."""
        weights, bias = self.fit(support, support_labels, n_way)
        return float(np.mean(np.argmax(_flat(support) @ weights + bias, axis=1) == np.asarray(support_labels)))

    def class_scores(
        self, query: np.ndarray, support: np.ndarray, support_labels: np.ndarray, n_way: int
    ) -> np.ndarray:
        """(Q, n_way) float64 logits of the queries, from the classifier fitted to the support set."""
        weights, bias = self.fit(support, support_labels, n_way)
        return _flat(query) @ weights + bias

    def scores(self, query: np.ndarray, support: np.ndarray) -> np.ndarray:
        """(Q, S) float64 logits, each support image taken as a class of its own."""
        return self.class_scores(query, support, np.arange(len(support)), len(support))


def _flat(images: np.ndarray) -> np.ndarray:
    """(n, 11025) float64 pixels, ink 1, of (n, 105, 105) images (read by ``evaluate.ink_images``)."""
    return flat_pixels(ink_images(images)).astype(np.float64)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
