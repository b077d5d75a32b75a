"""The decoded-Omniglot cache: each split archive's arrays, decoded once and kept beside the archives.

Decoded arrays are cached as bit-packed ``.npz`` files in ``cache_root() / "decoded"``, keyed
by the archive's SHA-256, and written atomically, so a second load takes well under a second.
A cache file records the archive it was decoded from and is checked against it: one that does
not match is decoded again and replaced, with an ``OmniglotCacheWarning``. Where the cache
cannot be written, splits load without it, with one such warning.
"""

from __future__ import annotations

import errno
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from oneshot_lib.data.archives import (
    DRAWINGS_PER_CHARACTER,
    IMAGE_SIZE,
    ArchiveSpec,
    DecodedSplit,
    cache_root,
    decode_split_archive,
)
from oneshot_lib.files import save_atomically, sha256_of

CACHE_FORMAT_VERSION = 2  # 2: records the archive it was decoded from
_CACHE_KEYS = frozenset({"packed", "alphabets", "characters", "archive", "sha256"})
# Errors that mean the cache folder cannot be written at all, so loading goes on without it.
_CANNOT_WRITE_THERE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.EISDIR})
_FOLDERS_WARNED_ABOUT: set[Path] = set()  # unwritable cache folders already warned about


class OmniglotCacheWarning(UserWarning):
    """The decoded cache was not used (it did not match its archive, or could not be written);
    loading went on without it."""


def decoded_cache_path(archive: Path, sha256: str | None = None) -> Path:
    """Where the decoded arrays of ``archive`` are cached: keyed by its SHA-256 (computed if not given)."""
    stem = archive.name.removesuffix(".zip")
    sha256 = sha256 or sha256_of(archive)
    return cache_root() / "decoded" / f"{stem}-{sha256[:16]}-v{CACHE_FORMAT_VERSION}.npz"


def cached_split(archive: Path, spec: ArchiveSpec) -> DecodedSplit:
    """The decoded ``archive``: from the cache if it holds exactly that, else decoded and cached.

    Warns with ``OmniglotCacheWarning`` if a cache file does not match its archive (it is
    replaced), or if the cache cannot be written. Raises OmniglotDataError as
    ``decode_split_archive`` does.
    """
    sha256 = sha256_of(archive)
    path = decoded_cache_path(archive, sha256)
    loaded = _load_split(path, spec, sha256) if path.is_file() else None
    if loaded is None:
        loaded = decode_split_archive(archive, spec)
        _save_split(path, loaded, spec, sha256)
    return loaded


def clear_cache() -> None:
    """Delete every decoded cache file (the archives themselves are kept)."""
    shutil.rmtree(cache_root() / "decoded", ignore_errors=True)


def _save_split(path: Path, split: DecodedSplit, spec: ArchiveSpec, sha256: str) -> None:
    """Cache ``split``, decoded from the ``spec`` archive whose SHA-256 is ``sha256``, at ``path``.

    Stores ``packed`` (n, 20, 105, 14) uint8 (the images, bit-packed along rows), ``alphabets``
    and ``characters`` (n,) str, and the archive's name and SHA-256, which a load checks.

    If the cache folder cannot be written (no permission, read-only, or a file in the way), the
    split is not cached and an ``OmniglotCacheWarning`` says so, once per folder; any other
    error (a full disk, say) is raised.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_atomically(
            lambda name: np.savez(
                name,
                packed=np.packbits(split.images, axis=-1),
                alphabets=split.alphabets,
                characters=split.characters,
                archive=np.array(spec.filename),
                sha256=np.array(sha256),
            ),
            path,
        )
    except OSError as error:
        if not isinstance(error, PermissionError) and error.errno not in _CANNOT_WRITE_THERE:
            raise
        _warn_cache_not_written(path.parent, error)


def _warn_cache_not_written(folder: Path, error: OSError) -> None:
    """Warn, once per folder, that the cache could not be written in ``folder``, and how to fix it."""
    if folder in _FOLDERS_WARNED_ABOUT:
        return
    _FOLDERS_WARNED_ABOUT.add(folder)
    warnings.warn(
        f"The decoded-Omniglot cache could not be written in {folder} ({error}). Loading goes on "
        "without it, so every load decodes the archive again. To cache, set XDG_CACHE_HOME to a "
        f"writable folder (the cache goes in $XDG_CACHE_HOME/oneshot/decoded), or make {folder} writable.",
        OmniglotCacheWarning,
        stacklevel=5,
    )


def _load_split(path: Path, spec: ArchiveSpec, sha256: str) -> DecodedSplit | None:
    """The split cached at ``path``, or None, with an ``OmniglotCacheWarning`` saying why, if the
    file cannot be read (a damaged byte fails the npz's CRC check) or is not the decoded ``spec``
    archive whose SHA-256 is ``sha256``: it is never trusted, but decoded again and replaced."""
    try:
        with np.load(path) as stored:
            problem = _cache_problem(stored, spec, sha256)
            if problem is None:
                images = np.unpackbits(stored["packed"], axis=-1, count=IMAGE_SIZE).astype(bool)
                return DecodedSplit(images, stored["alphabets"], stored["characters"])
    except Exception as error:  # np.load and zipfile raise many types for a damaged file
        problem = f"it cannot be read ({type(error).__name__}: {error})"
    warnings.warn(
        f"The decoded-Omniglot cache {path} is not used: {problem}. Decoding {spec.filename} again "
        "and replacing the cache.",
        OmniglotCacheWarning,
        stacklevel=4,
    )
    return None


def _cache_problem(stored: Mapping[str, np.ndarray], spec: ArchiveSpec, sha256: str) -> str | None:
    """What is wrong with the arrays of a cache file of the ``spec`` archive with SHA-256 ``sha256``;
    None if they are what ``_save_split`` stores for that archive."""
    missing = sorted(_CACHE_KEYS - set(stored.keys()))
    if missing:
        return f"it lacks {missing}"
    source = (str(stored["archive"]), str(stored["sha256"]))
    if source != (spec.filename, sha256):
        return (
            f"it was decoded from {source[0]} with SHA-256 {source[1][:16]}..., not from this "
            f"{spec.filename} with SHA-256 {sha256[:16]}..."
        )
    alphabets = stored["alphabets"]
    n = len(alphabets)
    if spec.n_characters is not None and n != spec.n_characters:
        return f"it holds {n} characters, expected {spec.n_characters}"
    if spec.n_alphabets is not None and len(set(alphabets.tolist())) != spec.n_alphabets:
        return f"it holds {len(set(alphabets.tolist()))} alphabets, expected {spec.n_alphabets}"
    expected = {
        "packed": (np.dtype(np.uint8), (n, DRAWINGS_PER_CHARACTER, IMAGE_SIZE, (IMAGE_SIZE + 7) // 8)),
        "alphabets": ("str", (n,)),
        "characters": ("str", (n,)),
    }
    for key, (dtype, shape) in expected.items():
        array = stored[key]
        kind = "str" if array.dtype.kind == "U" else array.dtype
        if (kind, array.shape) != (dtype, shape):
            return f"its {key!r} is {kind} {array.shape}, expected {dtype} {shape}"
    return None
