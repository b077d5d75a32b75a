"""What every benchmark records with its results: the machine, the versions, the command."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def machine() -> dict:
    """The CPU model, the number of cores this process may use, Python and library versions."""
    from oneshot_lib.backend import keras, tf

    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    ) if Path("/proc/cpuinfo").exists() else platform.processor()
    return {
        "cpu": cpu,
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def write_results(name: str, results: dict, table: str) -> None:
    """Write ``results/<name>.json`` (with machine, date and command) and ``results/<name>.md``."""
    RESULTS.mkdir(exist_ok=True)
    command = shlex.join(["python", *sys.argv])
    record = {"command": command, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "machine": machine(), **results}
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    header = f"# {name}\n\n`{command}` on {record['date']}, {record['machine']['cpu']}, " \
             f"{record['machine']['cores_available']} cores.\n\n"
    (RESULTS / f"{name}.md").write_text(header + table + "\n")
    print(header + table)
