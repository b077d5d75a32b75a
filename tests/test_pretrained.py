"""Reference models: the shipped checkpoints load offline into scorers; unknown names raise."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import synthetic_split

from oneshot_lib import pretrained, siamese, training
from oneshot_lib.siamese import Architecture

TINY = Architecture(input_size=28, filters=(2, 3, 3, 4), kernels=(3, 3, 2, 2), dense_units=8)
#: Each shipped model and its training budget in minutes (issues: 60 for siamese, 30 for the others).
SHIPPED = {"siamese": 60, "siamese-noaug": 60, "prototypical": 30, "matching": 30, "transfer": 30}
#: The models whose name promises whether Koch's distortions were on (chapter 6's ablation pair).
NAMED_FOR_DISTORTIONS = {"siamese": True, "siamese-noaug": False}


@pytest.fixture(scope="module")
def tiny_checkpoints(tmp_path_factory) -> object:
    """A checkpoints folder holding one tiny trained run, ``tiny``."""
    folder = tmp_path_factory.mktemp("checkpoints")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(siamese.ARCHITECTURES, "tiny", TINY)
        config = training.TrainingConfig(
            size="tiny", batch_size=8, steps_per_epoch=2, max_steps=2, val_way=3, val_tasks=4
        )
        train = synthetic_split((5, 4, 3), drawings=4, seed=0)
        validation = synthetic_split((4, 4), drawings=4, seed=1)
        training.train(config, folder / "tiny", train_data=train, validation_data=validation, verbose=0)
    (folder / "not-a-run").mkdir()
    return folder


def test_load_gives_a_named_scorer_of_the_right_shape(tiny_checkpoints, monkeypatch):
    monkeypatch.setattr(pretrained, "CHECKPOINTS", tiny_checkpoints)
    assert pretrained.available() == ["tiny"]
    scorer = pretrained.load("tiny")
    images = synthetic_split((6,), drawings=2, seed=3).images
    scores = scorer.scores(images[:3, 0], images[:, 1])
    assert scorer.name == "tiny"
    assert scores.shape == (3, 6) and np.all((scores >= 0) & (scores <= 1))
    assert pretrained.history("tiny")["epochs"][-1]["step"] == 2
    assert pretrained.run_record("tiny")["config"]["size"] == "tiny"


def test_an_unknown_name_raises_and_lists_the_known_ones(tiny_checkpoints, monkeypatch):
    monkeypatch.setattr(pretrained, "CHECKPOINTS", tiny_checkpoints)
    with pytest.raises(ValueError, match=r"no reference model named 'siamse'.*\['tiny'\]"):
        pretrained.load("siamse")
    with pytest.raises(ValueError, match="not-a-run"):
        pretrained.load("not-a-run")


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_reference_models_load_offline_and_score_a_task(name):
    assert name in pretrained.available()
    scorer = pretrained.load(name)
    support = synthetic_split((5,), drawings=2, seed=4).images
    scores = scorer.scores(support[:, 1], support[:, 0])
    assert scores.shape == (5, 5) and np.isfinite(scores).all()
    assert pretrained.checkpoint_megabytes(name) < 20
    record = pretrained.run_record(name)
    assert record["command"].startswith("python -m oneshot_lib.train")
    assert record["config"]["minutes"] <= SHIPPED[name]
    assert record["config"]["model"] == name.removesuffix("-noaug")
    if name in NAMED_FOR_DISTORTIONS:
        assert record["config"]["augment"] == NAMED_FOR_DISTORTIONS[name]


def test_every_shipped_model_is_tested():
    assert set(pretrained.available()) == set(SHIPPED)
