"""Model kinds: what a training run can train, by name (``MODEL_KINDS``), and the checks that need the kind.

A *model kind* (``model_kind.ModelKind``) is everything the generic run machinery (the trainer,
run folders, loading: ``oneshot_lib.training``) needs to know about one model: how to build it
from a config, the tf.data stream of its training batches, its loss and metrics, how to turn a
trained model into a scorer, which config fields it reads, and how a saved run rebuilds it. Each
family's kinds are built in ``oneshot_lib.training.families``; this registry names them. Imports
flow one way: models -> families -> kinds -> the trainer -> the command line.

- ``"siamese"``: Koch's siamese network or its CPU sibling, on pairs;
- ``"prototypical"``, ``"matching"``: the episodic networks;
- ``"transfer"``: the softmax classifier over the training characters;
- ``"rotation"``, ``"contrastive"``, ``"masked"``: the self-supervised networks, without character labels;
- ``"maml"`` (first-order with ``first_order``), ``"reptile"``: meta-learnt initialisations.
"""

from __future__ import annotations

from oneshot_lib.training.config import TrainingConfig
from oneshot_lib.training.families import CONTRASTIVE, EPISODIC, MAML, MASKED, REPTILE, ROTATION, SIAMESE, TRANSFER
from oneshot_lib.training.model_kind import ModelKind

#: Every kind a run can train, by the name ``TrainingConfig.model`` and ``--model`` use.
MODEL_KINDS: dict[str, ModelKind] = {
    "siamese": SIAMESE,
    **EPISODIC,
    "transfer": TRANSFER,
    "rotation": ROTATION,
    "contrastive": CONTRASTIVE,
    "masked": MASKED,
    "maml": MAML,
    "reptile": REPTILE,
}


def check_replicas(config: TrainingConfig, replicas: int) -> None:
    """Raise ValueError if ``config``'s kind cannot train on ``replicas`` (its batch does not share evenly)."""
    kind = kind_of(config)
    if replicas > 1 and kind.one_device is not None:
        raise ValueError(
            f"{config.model} trains on one device only ({kind.one_device}): drop --distribute and --cpu-devices"
        )
    what, count = kind.split_size(config)
    if count % replicas:
        raise ValueError(
            f"{what} = {count} cannot be shared evenly among {replicas} replicas: make it a multiple of {replicas}"
        )


def kind_named(name: str) -> ModelKind:
    """``MODEL_KINDS[name]``; raises ValueError listing the known kinds for an unknown name."""
    if name not in MODEL_KINDS:
        raise ValueError(f"unknown model {name!r}: choose one of {sorted(MODEL_KINDS)}")
    return MODEL_KINDS[name]


def kind_of(config: TrainingConfig) -> ModelKind:
    """The kind ``config.model`` names, after checking that it can train with ``config``.

    Raises ValueError, saying what to change, for an unknown model or a config the kind cannot run.
    """
    kind = kind_named(config.model)
    if kind.check is not None:
        kind.check(config)
    return kind
