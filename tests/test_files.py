"""Atomic saving: no half-written file, and no temporary left behind by a killed write."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oneshot_lib.files import save_atomically


def write_text(name: str) -> None:
    Path(name).write_text("new")


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def live_pid():
    """The id of a process that is still running."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process.pid
    process.kill()
    process.wait()


def test_save_replaces_the_target_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "cache.npz"
    target.write_text("old")
    save_atomically(write_text, target)
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.npz"]


def test_failed_save_keeps_the_old_file(tmp_path):
    target = tmp_path / "cache.npz"
    target.write_text("old")

    def failing(name: str) -> None:
        Path(name).write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        save_atomically(failing, target)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.npz"]


def test_temporary_of_a_killed_write_is_removed(tmp_path, dead_pid):
    stale = tmp_path / f".cache.npz.{dead_pid}.tmp.npz"
    stale.write_bytes(b"28 MB of a write that was killed")
    save_atomically(write_text, tmp_path / "cache.npz")
    assert not stale.exists()
    assert (tmp_path / "cache.npz").read_text() == "new"


def test_keras_suffix_temporaries_are_recognised(tmp_path, dead_pid):
    stale = tmp_path / f".best.weights.h5.{dead_pid}.tmp.weights.h5"
    stale.write_bytes(b"killed")
    save_atomically(write_text, tmp_path / "best.weights.h5")
    assert not stale.exists()


def test_temporary_of_a_running_write_is_kept(tmp_path, live_pid):
    running = tmp_path / f".cache.npz.{live_pid}.tmp.npz"
    running.write_bytes(b"being written")
    save_atomically(write_text, tmp_path / "cache.npz")
    assert running.exists()


def test_old_temporary_is_removed_even_if_its_process_id_is_in_use(tmp_path, live_pid):
    """A process id can be reused: a temporary older than a day is stale whoever has the id now."""
    old = tmp_path / f".cache.npz.{live_pid}.tmp.npz"
    old.write_bytes(b"from long ago")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    save_atomically(write_text, tmp_path / "cache.npz")
    assert not old.exists()


def test_other_files_are_left_alone(tmp_path, dead_pid):
    others = [
        tmp_path / f".other.npz.{dead_pid}.tmp.npz",  # another target's
        tmp_path / f".cache.npz.{dead_pid}.tmp.json",  # not this target's suffix
        tmp_path / "cache.npz.bak",
    ]
    for other in others:
        other.write_bytes(b"keep")
    save_atomically(write_text, tmp_path / "cache.npz")
    assert all(other.exists() for other in others)
