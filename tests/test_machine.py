"""The cores a process may use: what runs and benchmarks record of the machine."""

from __future__ import annotations

import os

from oneshot_lib import machine


def test_the_cores_available_are_those_the_process_may_run_on(monkeypatch):
    if hasattr(os, "sched_getaffinity"):
        assert machine.cores_available() == len(os.sched_getaffinity(0))
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})  # as under taskset -c 0
        assert machine.cores_available() == 1
        monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 6)  # where the system cannot say: every core
    assert machine.cores_available() == 6
