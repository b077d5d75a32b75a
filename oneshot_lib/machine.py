"""The machine a process runs on, as runs and benchmarks record it."""

from __future__ import annotations

import os


def cores_available() -> int | None:
    """How many CPU cores this process may run on: a ``taskset`` pin or a container's CPU set counts.

    Where the system cannot say which cores a process may use (macOS, Windows), all of the
    machine's cores (``os.cpu_count()``, None if even that is unknown).
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()
