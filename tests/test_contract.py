"""The scorer contract: what a scorer is called in messages and legends."""

from __future__ import annotations

import numpy as np

from oneshot_lib.scoring.contract import scorer_name


class Named:
    name = "my method"

    def scores(self, query, support):
        return np.zeros((len(query), len(support)))


class Nameless:
    def scores(self, query, support):
        return np.zeros((len(query), len(support)))


def test_a_scorer_is_called_by_its_name_else_its_function_or_class():
    def cosine(query, support):
        return np.zeros((len(query), len(support)))

    assert scorer_name(Named()) == "my method"
    assert scorer_name(cosine) == "cosine"
    assert scorer_name(Nameless()) == "Nameless"
