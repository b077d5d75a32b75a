"""Classes with names: a support set of one or more drawings per named class, and a scorer's verdict on queries.

What the folder command (``python -m oneshot_lib.classify``) and the drawing pad share: each
class is a name and its drawings, queries are drawings, and a ``Prediction`` holds each class's
score for one query, by the class rule ``evaluate.accuracy`` decides with
(``rules.class_scores_of``: a prototype for a prototypical network, the nearest drawing for
nearest neighbour, else the mean of the class's drawings' scores), so a k-shot support set
scores as it does everywhere else in the course.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from oneshot_lib.scoring.contract import ScorerLike
from oneshot_lib.scoring.rules import class_scores_of


@dataclass(frozen=True)
class Prediction:
    """A scorer's verdict on one query.

    Attributes:
        query: what the query is called (a file's path, "query 3").
        scores: each class's score, by name, in the support set's order; higher means more alike.
            The scale is the model's own (a logit, a probability, minus a distance).
    """

    query: str
    scores: dict[str, float]

    @property
    def ranked(self) -> list[str]:
        """The class names, best score first; of equal scores, the earlier class in the support set first."""
        names = list(self.scores)
        return sorted(names, key=lambda name: (-self.scores[name], names.index(name)))

    @property
    def predicted(self) -> str:
        """The class with the best score."""
        return self.ranked[0]

    @property
    def runner_up(self) -> str:
        """The class with the second-best score."""
        return self.ranked[1]

    def as_json(self) -> dict:
        """``{"query": ..., "predicted": ..., "scores": {class: score}}``, as ``--json`` prints it."""
        return {"query": self.query, "predicted": self.predicted, "scores": dict(self.scores)}

    def line(self) -> str:
        """One line: the query, the pick and its score, the runner-up and its score."""
        best, second = self.predicted, self.runner_up
        return (
            f"{self.query}: {best} (score {self.scores[best]:.4g}); "
            f"runner-up {second} (score {self.scores[second]:.4g})"
        )


def support_arrays(support: Mapping[str, np.ndarray]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(class names, (S, 105, 105) drawings, (S,) int32 labels) of {name: (k, 105, 105) drawings}.

    Raises ValueError if there are fewer than 2 classes, or a class has no drawing.
    """
    names = list(support)
    if len(names) < 2:
        raise ValueError(
            f"the support set has {len(names)} class{'' if len(names) == 1 else 'es'} ({', '.join(names) or 'none'}): "
            "telling classes apart takes at least 2, each with one drawing or more"
        )
    empty = [name for name in names if len(support[name]) == 0]
    if empty:
        raise ValueError(f"class {empty[0]!r} has no drawing: every class needs at least one")
    drawings = np.concatenate([np.asarray(support[name]) for name in names])
    labels = np.repeat(np.arange(len(names), dtype=np.int32), [len(support[name]) for name in names])
    return names, drawings, labels


def predict_classes(
    scorer: ScorerLike, support: Mapping[str, np.ndarray], queries: np.ndarray, query_names: list[str] | None = None
) -> list[Prediction]:
    """Each query's ``Prediction``: the score of every class of ``support``, by the scorer's class rule.

    Args:
        scorer: any scorer (``pretrained.load(name)``, a baseline).
        support: {class name: (k, 105, 105) drawings}, k >= 1 per class (k may differ), at least 2 classes.
        queries: (Q, 105, 105) drawings.
        query_names: what to call each query (default "query 1", "query 2", ...).

    Raises:
        ValueError if there are fewer than 2 classes, a class has no drawing, the names do not
        match the queries, or the drawings are not what ``images.ink_images`` reads.
    """
    names, drawings, labels = support_arrays(support)
    queries = np.asarray(queries)
    if query_names is None:
        query_names = [f"query {number}" for number in range(1, len(queries) + 1)]
    if len(query_names) != len(queries):
        raise ValueError(f"{len(query_names)} query names for {len(queries)} queries: give one name per query")
    if len(queries) == 0:
        return []
    per_class = class_scores_of(scorer, queries, drawings, labels, len(names))
    return [
        Prediction(query, {name: float(score) for name, score in zip(names, row, strict=True)})
        for query, row in zip(query_names, per_class, strict=True)
    ]
