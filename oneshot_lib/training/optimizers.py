"""Optimisers: the blog's Adam (optionally halving its rate) and Koch's SGD with its schedules.

``make_optimizer(config)`` builds the one a run's config asks for, its schedules counted in
epochs of ``config.steps_per_epoch`` steps. ``KochSGD`` is Koch et al.'s: momentum rising
linearly from 0.5, the learning rate decaying by 1% per epoch, optional per-layer rates.
"""

from __future__ import annotations

from oneshot_lib.backend import keras
from oneshot_lib.training.config import TrainingConfig


@keras.saving.register_keras_serializable(package="oneshot")
class KochSGD(keras.optimizers.Optimizer):
    """Koch's SGD: momentum rising linearly, learning rate decaying, per-layer rates.

    Koch et al. give every layer j its own learning rate eta_j and final momentum mu_j (found
    by Bayesian optimisation; the paper does not list them). The momentum starts at 0.5 and
    rises linearly to ``momentum_end`` over ``momentum_steps`` steps; ``learning_rate`` is
    usually a staircase ``ExponentialDecay`` (x0.99 per epoch, see ``make_optimizer``).
    ``layer_rates`` multiplies the rate of a layer's weights, by layer name (default 1).

    Update, per weight w with gradient g: ``v <- mu(t) v - rate(w) g``, ``w <- w + v``.
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum_start: float = 0.5,
        momentum_end: float = 0.9,
        momentum_steps: int = 1,
        layer_rates: dict[str, float] | None = None,
        name: str = "koch_sgd",
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 <= momentum_start <= 1.0 or not 0.0 <= momentum_end <= 1.0:
            raise ValueError(f"momenta must lie in [0, 1], got {momentum_start} and {momentum_end}")
        self.momentum_start = float(momentum_start)
        self.momentum_end = float(momentum_end)
        self.momentum_steps = max(int(momentum_steps), 1)
        self.layer_rates = dict(layer_rates or {})

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.velocities = [self.add_variable_from_reference(v, "velocity") for v in variables]
        layers = {variable.path.split("/")[0] for variable in variables}
        unknown = sorted(set(self.layer_rates) - layers)
        if unknown:
            raise ValueError(f"layer_rates name layers {unknown} that have no weights; layers are {sorted(layers)}")
        self._rate_multipliers = [self.layer_rates.get(v.path.split("/")[0], 1.0) for v in variables]

    def momentum(self):
        """The momentum at the current step (a scalar tensor)."""
        progress = keras.ops.minimum(keras.ops.cast(self.iterations, "float32") / self.momentum_steps, 1.0)
        return self.momentum_start + (self.momentum_end - self.momentum_start) * progress

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        rate = keras.ops.cast(learning_rate, variable.dtype) * self._rate_multipliers[index]
        momentum = keras.ops.cast(self.momentum(), variable.dtype)
        velocity = self.velocities[index]
        self.assign(velocity, velocity * momentum - keras.ops.cast(gradient, variable.dtype) * rate)
        self.assign_add(variable, velocity)

    def get_config(self):
        return {
            **super().get_config(),
            "momentum_start": self.momentum_start,
            "momentum_end": self.momentum_end,
            "momentum_steps": self.momentum_steps,
            "layer_rates": self.layer_rates,
        }


def epoch_decay(config: TrainingConfig, epochs: int, rate: float) -> keras.optimizers.schedules.LearningRateSchedule:
    """The config's base learning rate, multiplied by ``rate`` after every ``epochs`` epochs."""
    return keras.optimizers.schedules.ExponentialDecay(
        config.base_learning_rate, decay_steps=epochs * config.steps_per_epoch, decay_rate=rate, staircase=True
    )


def make_optimizer(config: TrainingConfig) -> keras.optimizers.Optimizer:
    """The blog's Adam (optionally halving its rate), or Koch's SGD with its schedules, counted in epochs."""
    if config.optimizer == "adam":
        if config.halve_lr_every:
            return keras.optimizers.Adam(epoch_decay(config, config.halve_lr_every, 0.5))
        return keras.optimizers.Adam(config.base_learning_rate)
    return KochSGD(
        epoch_decay(config, 1, config.lr_decay),
        momentum_start=config.momentum_start,
        momentum_end=config.momentum_end,
        momentum_steps=config.momentum_epochs * config.steps_per_epoch,
        layer_rates=config.layer_rates,
    )
