"""The embedding networks (backbones) the episodic and transfer models can be built on.

- ``"conv4"``: the Conv-4 embedding of Vinyals et al. and Snell et al. (``oneshot_lib.models.conv4``),
  64 dimensions at 28x28: the default;
- ``"koch-cpu"``: the twin of the CPU-sized siamese network (``oneshot_lib.models.siamese``), Koch's
  convolution stack at 52x52 ending in 512 sigmoid units.

Both read prepared images, (B, image_size, image_size, 1) float32 (``conv4.prepare_images``),
so swapping the backbone of an objective is one option (chapter 8's controlled comparison).
"""

from __future__ import annotations

import dataclasses

from oneshot_lib.backend import keras
from oneshot_lib.models import conv4, siamese

#: Each backbone, and the image side it is built for.
IMAGE_SIZES = {"conv4": conv4.IMAGE_SIZE, "koch-cpu": siamese.ARCHITECTURES["cpu"].input_size}


def build_backbone(
    name: str = "conv4", image_size: int = conv4.IMAGE_SIZE, filters: int = conv4.FILTERS, blocks: int = conv4.BLOCKS
) -> keras.Model:
    """A new backbone: (B, image_size, image_size, 1) float32 -> (B, D) float32 embeddings.

    ``filters`` and ``blocks`` size the Conv-4 embedding only. Raises ValueError for an unknown
    name, or an image too small for the backbone's poolings and kernels.
    """
    check_backbone(name, image_size, blocks)
    if name == "conv4":
        return conv4.build_embedding(image_size, filters, blocks)
    architecture = dataclasses.replace(siamese.ARCHITECTURES["cpu"], input_size=image_size)
    return siamese.build_embedding(architecture, prepared=True)


def check_backbone(name: str, image_size: int, blocks: int = conv4.BLOCKS) -> None:
    """Raise ValueError, saying what to change, unless backbone ``name`` can read ``image_size`` images."""
    if name not in IMAGE_SIZES:
        raise ValueError(f"unknown backbone {name!r}: choose one of {sorted(IMAGE_SIZES)}")
    if name == "conv4" and image_size < 2**blocks:
        raise ValueError(
            f"image_size {image_size} is too small for the embedding's {blocks} 2x2 poolings: "
            f"use at least {2**blocks} (the default is {conv4.IMAGE_SIZE})"
        )
    if name == "koch-cpu":
        dataclasses.replace(siamese.ARCHITECTURES["cpu"], input_size=image_size).feature_map_sides()


class BackboneModel(keras.Model):
    """A model built on a backbone, ``embedding``: the episodic, transfer and self-supervised models.

    Holds what they share: the backbone's arguments (recorded by ``get_config``, so a saved model
    is rebuilt with its architecture) and the backbone itself, built at once. Subclasses add
    their heads and ``call``.
    """

    def __init__(
        self,
        image_size: int = conv4.IMAGE_SIZE,
        filters: int = conv4.FILTERS,
        blocks: int = conv4.BLOCKS,
        backbone: str = "conv4",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.image_size = image_size
        self.filters = filters
        self.blocks = blocks
        self.backbone = backbone
        self.embedding = build_backbone(backbone, image_size, filters, blocks)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "filters": self.filters,
            "blocks": self.blocks,
            "backbone": self.backbone,
        }


def build_method(
    methods: dict[str, type[BackboneModel]], method: str, family: str, *, seed: int | None = None, **kwargs
):
    """A new ``methods[method]`` model named ``method``, its initialisers seeded by ``seed`` if given.

    ``kwargs`` go to the model (backbone arguments and the method's own). Raises ValueError for a
    method ``methods`` does not name, naming the ``family`` and listing the methods it has.
    """
    if method not in methods:
        raise ValueError(f"unknown {family} method {method!r}: choose one of {sorted(methods)}")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return methods[method](name=method, **kwargs)
