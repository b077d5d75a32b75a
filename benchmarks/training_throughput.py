"""Training throughput: our tf.data pair pipeline against the seed's Python batch loop.

The seed's code (the blog's ``get_batch``) fills every batch pair by pair in a Python loop,
then trains on it: the model waits while the batch is filled. Ours draws a batch's indices
with numpy, gathers (and distorts) the images in a parallel tf.data map and prefetches the
next batches while the model trains. Both drive the same compiled model at the same batch
size through the same loop (``next`` batch, then ``train_on_batch``), so the time a step
spends in ``next`` is the time it waits for input. For the seed's loop with distortions,
each image is distorted on its own with ``scipy.ndimage.affine_transform`` (Koch's ranges),
as per-image Python code would. Our pipeline is also timed through ``model.fit``.

    python -m benchmarks.training_throughput            # about 6 minutes on 2 cores

Writes ``benchmarks/results/training_throughput.{json,md}``. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import ndimage

from benchmarks.common import write_results
from oneshot_lib.notebook import quiet_tensorflow

quiet_tensorflow()

from oneshot_lib import (  # noqa: E402
    load_omniglot,
    train_validation_split,  # noqa: E402
)
from oneshot_lib.models.pairs import pair_dataset  # noqa: E402
from oneshot_lib.models.siamese import build_siamese  # noqa: E402
from oneshot_lib.training.config import TrainingConfig  # noqa: E402
from oneshot_lib.training.trainer import compile_model  # noqa: E402


def koch_distortion(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(105, 105) float32 image distorted by one random Koch transform, by scipy, per image."""

    def maybe(low: float, high: float, identity: float) -> float:
        return rng.uniform(low, high) if rng.random() < 0.5 else identity

    theta = math.radians(maybe(-10, 10, 0))
    shear = np.array([[1, maybe(-0.3, 0.3, 0)], [maybe(-0.3, 0.3, 0), 1]])
    scale = np.diag([maybe(0.8, 1.2, 1), maybe(0.8, 1.2, 1)])
    rotation = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    matrix = rotation @ shear @ scale
    shift = np.array([maybe(-2, 2, 0), maybe(-2, 2, 0)])
    centre = (np.array(image.shape) - 1) / 2
    inverse = np.linalg.inv(matrix)
    offset = centre - inverse @ (centre + shift)
    return ndimage.affine_transform(image, inverse, offset=offset, order=1, cval=0.0)


def seed_style_batches(images: np.ndarray, batch_size: int, augment: bool, seed: int = 0):
    """Endless batches filled pair by pair in Python, as the blog's ``get_batch`` does.

    ``images`` is (C, 20, 105, 105) bool; the second half of each batch holds same pairs.
    """
    rng = np.random.default_rng(seed)
    n_classes, n_examples = images.shape[:2]
    while True:
        categories = rng.choice(n_classes, size=batch_size, replace=False)
        left = np.zeros((batch_size, 105, 105), np.float32)
        right = np.zeros((batch_size, 105, 105), np.float32)
        same = np.zeros(batch_size, np.float32)
        same[batch_size // 2 :] = 1
        for i in range(batch_size):
            category = categories[i]
            left[i] = images[category, rng.integers(n_examples)]
            other = category if i >= batch_size // 2 else (category + rng.integers(1, n_classes)) % n_classes
            right[i] = images[other, rng.integers(n_examples)]
            if augment:
                left[i], right[i] = koch_distortion(left[i], rng), koch_distortion(right[i], rng)
        yield {"left": left, "right": right}, same


def timed_loop(model, batches, steps: int) -> dict:
    """Run ``steps`` steps of (next batch, train_on_batch); time the waiting and the training."""
    wait = train = 0.0
    for _ in range(steps):
        started = time.perf_counter()
        inputs, same = next(batches)
        fetched = time.perf_counter()
        model.train_on_batch(inputs, same)
        done = time.perf_counter()
        wait, train = wait + fetched - started, train + done - fetched
    return {"steps": steps, "wait_seconds": wait, "train_seconds": train}


def summarise(timing: dict, batch_size: int) -> dict:
    total = timing["wait_seconds"] + timing["train_seconds"]
    return {
        **timing,
        "seconds_per_step": total / timing["steps"],
        "pairs_per_second": timing["steps"] * batch_size / total,
        "input_wait_share": timing["wait_seconds"] / total,
    }


def fit_throughput(model, dataset, steps: int, batch_size: int) -> dict:
    """Pairs per second of ``model.fit`` on ``dataset`` for ``steps`` steps (after a warm-up)."""
    model.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
    started = time.perf_counter()
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    seconds = time.perf_counter() - started
    return {"steps": steps, "seconds_per_step": seconds / steps, "pairs_per_second": steps * batch_size / seconds}


def measure(size: str, steps: int, batch_size: int, augment: bool, train_data) -> dict:
    model = compile_model(build_siamese(size, seed=0), TrainingConfig(size=size, batch_size=batch_size))
    ours = iter(pair_dataset(train_data, batch_size, augment=augment))
    seeds = seed_style_batches(train_data.images, batch_size, augment)
    for batches in (ours, seeds):  # warm-up: tracing, first batches
        timed_loop(model, batches, 2)
    result = {
        "seed_loop": summarise(timed_loop(model, seeds, steps), batch_size),
        "tf_data": summarise(timed_loop(model, ours, steps), batch_size),
        "tf_data_fit": fit_throughput(model, pair_dataset(train_data, batch_size, augment=augment), steps, batch_size),
    }
    result["speedup"] = result["tf_data"]["pairs_per_second"] / result["seed_loop"]["pairs_per_second"]
    return result


def table(results: dict) -> str:
    lines = [
        "| network | distortions | pipeline | s/step | pairs/s | waiting for input | speed-up |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, result in results.items():
        size, augment = key.split("/")
        for pipeline, label in (("seed_loop", "seed's Python loop"), ("tf_data", "tf.data (ours)")):
            row = result[pipeline]
            speedup = f"{result['speedup']:.1f}x" if pipeline == "tf_data" else "1x"
            lines.append(
                f"| {size} | {augment} | {label} | {row['seconds_per_step']:.3f} | {row['pairs_per_second']:,.0f} "
                f"| {row['input_wait_share']:.1%} | {speedup} |"
            )
        fit = result["tf_data_fit"]
        lines.append(
            f"| {size} | {augment} | tf.data (ours), model.fit | {fit['seconds_per_step']:.3f} "
            f"| {fit['pairs_per_second']:,.0f} | - | - |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per pipeline, CPU-sized network")
    parser.add_argument("--koch-steps", type=int, default=4, help="timed steps per pipeline, Koch's network")
    parser.add_argument("--batch-size", type=int, default=128)
    args = parser.parse_args()
    train_data, _ = train_validation_split(load_omniglot("background"))
    results = {}
    for size, steps in (("cpu", args.steps), ("koch", args.koch_steps)):
        for augment in (False, True):
            key = f"{size}/{'on' if augment else 'off'}"
            results[key] = measure(size, steps, args.batch_size, augment, train_data)
            print(key, f"speed-up {results[key]['speedup']:.2f}x", flush=True)
    write_results("training_throughput", {"batch_size": args.batch_size, "results": results}, table(results))


if __name__ == "__main__":
    main()
