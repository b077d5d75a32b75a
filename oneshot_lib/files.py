"""Writing files so that a crash or an error never leaves a half-written one behind."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

#: A temporary file older than this is stale even if a process with its writer's id is running:
#: process ids are reused, and no save in this course takes anywhere near as long.
STALE_AFTER_SECONDS = 24 * 3600


def save_atomically(save: Callable[[str], None], path: str | Path) -> None:
    """Run ``save(temporary path)`` then move the file onto ``path`` in one step.

    A reader (or a crash) never sees a half-written checkpoint. The temporary file sits in
    the same folder and keeps the suffix Keras needs (``.keras``, ``.weights.h5``, ``.json``).
    Temporaries of ``path`` left behind by earlier writes that were killed are deleted first
    (see ``remove_stale_temporaries``).
    """
    with staged(save, path):
        pass


@contextlib.contextmanager
def staged(save: Callable[[str], None], path: str | Path) -> Iterator[Path]:
    """``save_atomically``, with a pause: yield the written temporary file before it is moved.

    What the caller does inside the ``with`` (e.g. record the file's checksum elsewhere) happens
    before ``path`` changes; if it raises, ``path`` is left as it was and the temporary removed.
    """
    path = Path(path)
    remove_stale_temporaries(path)
    temporary = _temporary(path, os.getpid())
    try:
        save(str(temporary))
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def sha256_of(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _suffix(path: Path) -> str:
    return "".join(path.suffixes[-2:]) if path.name.endswith(".weights.h5") else path.suffix


def _temporary(path: Path, pid: int) -> Path:
    """Where process ``pid`` writes ``path`` before moving it into place: ``.<name>.<pid>.tmp<suffix>``."""
    return path.with_name(f".{path.name}.{pid}.tmp{_suffix(path)}")


def remove_stale_temporaries(path: str | Path) -> None:
    """Delete the temporaries of ``path`` whose writer was killed before it could clean up.

    A temporary is stale if the process that wrote it is no longer running, or if it is older
    than ``STALE_AFTER_SECONDS``. Temporaries of other files, and of a write still running, are
    left alone. Files that cannot be examined or deleted are skipped: this is housekeeping.
    """
    path = Path(path)
    own = re.compile(re.escape(f".{path.name}.") + r"(\d+)" + re.escape(f".tmp{_suffix(path)}"))
    with contextlib.suppress(OSError):
        candidates = [(entry, int(match[1])) for entry in path.parent.iterdir() if (match := own.fullmatch(entry.name))]
        for entry, pid in candidates:
            with contextlib.suppress(OSError):
                if pid != os.getpid() and _is_stale(entry, pid):
                    entry.unlink()


def _is_stale(temporary: Path, pid: int) -> bool:
    return not _process_is_running(pid) or time.time() - temporary.stat().st_mtime > STALE_AFTER_SECONDS


def _process_is_running(pid: int) -> bool:
    """Whether a process with id ``pid`` exists (on Windows, assumed: there only the age tells)."""
    if os.name == "nt":  # os.kill(pid, 0) would end the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:  # another user's process
        return True
    return True
