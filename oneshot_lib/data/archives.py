"""Omniglot's official archives: what each holds, where it is found or downloaded, and reading it.

Omniglot (Lake, Salakhutdinov and Tenenbaum, 2015) comes as two archives of 105x105 PNG
drawings, ``images_background.zip`` (30 alphabets, 964 characters) and
``images_evaluation.zip`` (20 alphabets, 659 characters), each character drawn by 20 people,
and ``all_runs.zip``, Lake's official 20-way one-shot benchmark.

Where the archives are looked for, in order:

1. the ``data_dir`` argument;
2. the ``OMNIGLOT_DIR`` environment variable;
3. a per-user cache folder (``$XDG_CACHE_HOME/oneshot/omniglot``, by default
   ``~/.cache/oneshot/omniglot``), into which the official archives are downloaded and
   verified against their official checksums when they are missing.

Any archive is verified by its *content* (alphabets, characters, 20 drawings each, 105x105),
so a re-packed copy with the official files is accepted.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image

IMAGE_SIZE = 105
DRAWINGS_PER_CHARACTER = 20
OFFICIAL_URL = "https://github.com/brendenlake/omniglot/raw/master/python/"


@dataclass(frozen=True)
class ArchiveSpec:
    """What one official archive holds, where it comes from, and how to check a download of it.

    Attributes:
        filename: the archive's name, also in the official repository.
        official_md5: the official archive's MD5, which a download must match.
        n_alphabets, n_characters: what it holds, if it holds Omniglot drawings.
        official_folder: its folder under ``OFFICIAL_URL`` ("" or ending in "/").
        loader: the function that loads it, named in messages.
    """

    filename: str
    official_md5: str
    n_alphabets: int | None = None
    n_characters: int | None = None
    official_folder: str = ""
    loader: str = "load_omniglot"

    @property
    def url(self) -> str:
        """Where the official archive is downloaded from."""
        return OFFICIAL_URL + self.official_folder + self.filename


SPLITS: dict[str, ArchiveSpec] = {
    "background": ArchiveSpec("images_background.zip", "68d2efa1b9178cc56df9314c21c6e718", 30, 964),
    "evaluation": ArchiveSpec("images_evaluation.zip", "6b91aef0f799c5bb55b94e3f2daec811", 20, 659),
}
LAKE_RUNS = ArchiveSpec(
    "all_runs.zip",
    "e8996daecdf12afeeb4a53a179f06b19",
    official_folder="one-shot-classification/",
    loader="load_lake_runs",
)

_DRAWING_PATH = re.compile(r"^[^/]+/(?P<alphabet>[^/]+)/(?P<character>[^/]+)/(?P<file>[^/]+\.png)$")


class OmniglotDataError(ValueError):
    """An Omniglot archive is corrupt, truncated or does not hold what it should."""


class DecodedSplit(NamedTuple):
    """The drawings of one split archive, one row per character, rows sorted by alphabet then character.

    Attributes:
        images: (n_characters, 20, 105, 105) bool, True where there is ink; drawings sorted by file name.
        alphabets: (n_characters,) str, the alphabet of each row.
        characters: (n_characters,) str, the character folder name of each row (``character01`` ...).
    """

    images: np.ndarray
    alphabets: np.ndarray
    characters: np.ndarray


# ---------------------------------------------------------------- where the archives are


def cache_root() -> Path:
    """The per-user cache folder: ``$XDG_CACHE_HOME/oneshot`` or ``~/.cache/oneshot``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "oneshot"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> tuple[Path, bool]:
    """The folder to read archives from, and whether the user named it.

    Order: the argument, then ``OMNIGLOT_DIR``, then ``cache_root() / "omniglot"``.
    Raises FileNotFoundError if a named folder does not exist, NotADirectoryError if it is a file.
    """
    named = data_dir if data_dir is not None else os.environ.get("OMNIGLOT_DIR") or None
    if named is None:
        return cache_root() / "omniglot", False
    folder = Path(named).expanduser()
    source = "data_dir" if data_dir is not None else "OMNIGLOT_DIR"
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(
            f"Omniglot folder {folder} (from {source}) is a file, not a folder. Point {source} at the "
            f"folder that holds the archives ({', '.join(s.filename for s in _all_specs())})."
        )
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Omniglot folder {folder} (from {source}) does not exist. Point {source} at a folder "
            f"holding the official archives ({', '.join(s.filename for s in _all_specs())}), "
            "or leave it unset to use the per-user cache, which downloads them."
        )
    return folder, True


def find_archive(spec: ArchiveSpec, data_dir=None, download: bool | None = None) -> Path:
    """The path of one archive, downloading it if it is missing and downloading is allowed.

    ``download=None`` (the default) downloads only into the per-user cache, never into a folder
    you named; ``True`` also downloads into a named folder; ``False`` never downloads.
    Raises FileNotFoundError, with what to do, if the archive is missing.
    """
    folder, named = resolve_data_dir(data_dir)
    path = folder / spec.filename
    if path.is_file():
        return path
    if download is None:
        download = not named
    if not download:
        raise FileNotFoundError(
            f"Omniglot archive {spec.filename!r} not found in {folder}.\n"
            f"Call {spec.loader}(..., download=True) with internet access to download it there and "
            f"check its official MD5; or download {spec.url} yourself and put it in {folder}, "
            "or set OMNIGLOT_DIR to a folder holding the official archives."
        )
    return download_archive(spec, folder)


def download_archive(spec: ArchiveSpec, folder: Path) -> Path:
    """Download an official archive into ``folder``, verifying its official MD5.

    The file only appears under its final name once its checksum has been verified, so an
    interrupted or corrupted download leaves nothing a later load would trust.
    """
    from oneshot_lib.backend import keras  # imported here: loading data should not need TensorFlow

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as scratch:
        try:
            fetched = keras.utils.get_file(
                fname=spec.filename,
                origin=spec.url,
                file_hash=spec.official_md5,
                hash_algorithm="md5",
                cache_dir=scratch,
                cache_subdir=".",
            )
        except Exception as error:
            raise OSError(
                f"Could not download {spec.filename} from {spec.url}: {error}\n"
                "Check your internet connection, or download the archive by hand and set "
                "OMNIGLOT_DIR to the folder that holds it."
            ) from error
        final = folder / spec.filename
        os.replace(fetched, final)
    return final


def _all_specs() -> list[ArchiveSpec]:
    return [*SPLITS.values(), LAKE_RUNS]


# ---------------------------------------------------------------- reading and verification


def decode_png(data: bytes) -> np.ndarray:
    """(105, 105) bool ink mask (True = ink) of one Omniglot PNG, as the official demo reads it."""
    with Image.open(io.BytesIO(data)) as image:
        return ~np.asarray(image.convert("1"), dtype=bool)


def open_zip(path: Path) -> zipfile.ZipFile:
    """``path`` opened as a zip archive. Raises OmniglotDataError, naming the file, if it is not one."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise OmniglotDataError(
            f"{path} is not a readable zip archive ({error}). It is probably truncated or "
            f"corrupt: delete it and download {path.name} again."
        ) from error


def read_member(archive: zipfile.ZipFile, path: Path, member: str) -> bytes:
    """The bytes of ``member`` of ``archive`` (opened from ``path``).

    Raises KeyError if there is no such member, OmniglotDataError if it cannot be read.
    """
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise OmniglotDataError(
            f"{path}: member {member!r} cannot be read ({error}). The archive is corrupt: "
            f"delete it and download {path.name} again."
        ) from error


def decode_member(archive: zipfile.ZipFile, path: Path, member: str) -> np.ndarray:
    """(105, 105) bool ink mask of the PNG ``member`` of ``archive`` (opened from ``path``).

    Raises OmniglotDataError, naming the file and member, if it is no PNG or not 105x105.
    """
    data = read_member(archive, path, member)
    try:
        image = decode_png(data)
    except Exception as error:  # PIL raises several types for a broken PNG
        raise OmniglotDataError(f"{path}: {member!r} is not a valid PNG ({error}).") from error
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise OmniglotDataError(
            f"{path}: {member!r} is {image.shape[1]}x{image.shape[0]}, "
            f"expected {IMAGE_SIZE}x{IMAGE_SIZE}. This is not an official Omniglot archive."
        )
    return image


def decode_split_archive(path: Path, spec: ArchiveSpec) -> DecodedSplit:
    """Decode and verify one split archive.

    Raises OmniglotDataError naming the file if it is not a zip, a member is corrupt, or the
    content is wrong: alphabet or character counts, drawings per character, or image size.
    """
    with open_zip(path) as archive:
        drawings: dict[tuple[str, str], list[str]] = {}
        for member in archive.namelist():
            match = _DRAWING_PATH.match(member)
            if match:
                key = (match["alphabet"], match["character"])
                drawings.setdefault(key, []).append(member)
        keys = sorted(drawings)
        _check_counts(path, spec, keys, drawings)
        images = np.empty((len(keys), DRAWINGS_PER_CHARACTER, IMAGE_SIZE, IMAGE_SIZE), dtype=bool)
        for row, key in enumerate(keys):
            for column, member in enumerate(sorted(drawings[key])):
                image = decode_member(archive, path, member)
                images[row, column] = image
    alphabets = np.array([alphabet for alphabet, _ in keys])
    characters = np.array([character for _, character in keys])
    return DecodedSplit(images, alphabets, characters)


def _check_counts(path: Path, spec: ArchiveSpec, keys: list, drawings: dict) -> None:
    n_alphabets = len({alphabet for alphabet, _ in keys})
    problems = []
    if spec.n_alphabets is not None and n_alphabets != spec.n_alphabets:
        problems.append(f"{n_alphabets} alphabets (expected {spec.n_alphabets})")
    if spec.n_characters is not None and len(keys) != spec.n_characters:
        problems.append(f"{len(keys)} characters (expected {spec.n_characters})")
    short = [f"{a}/{c}: {len(drawings[(a, c)])}" for a, c in keys if len(drawings[(a, c)]) != DRAWINGS_PER_CHARACTER]
    if short:
        problems.append(f"characters without {DRAWINGS_PER_CHARACTER} drawings ({', '.join(short[:3])} ...)")
    if problems:
        raise OmniglotDataError(
            f"{path} does not hold the official Omniglot {spec.filename}: it has "
            + "; ".join(problems)
            + f". Replace it with the official {spec.filename}."
        )
