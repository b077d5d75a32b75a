"""Writing files so that a crash or an error never leaves a half-written one behind."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def save_atomically(save: Callable[[str], None], path: str | Path) -> None:
    """Run ``save(temporary path)`` then move the file onto ``path`` in one step.

    A reader (or a crash) never sees a half-written checkpoint. The temporary file sits in
    the same folder and keeps the suffix Keras needs (``.keras``, ``.weights.h5``, ``.json``).
    """
    path = Path(path)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".weights.h5") else path.suffix
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{suffix}")
    try:
        save(str(temporary))
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
