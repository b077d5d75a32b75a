"""Find, download, verify, decode and cache Omniglot; the validation alphabets; Lake's runs.

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
so a re-packed copy with the official files is accepted. Decoded arrays are cached as
bit-packed ``.npz`` files beside the per-user cache, keyed by the archive's SHA-256, and
written atomically, so a second load takes well under a second. A cache file records the
archive it was decoded from and is checked against it: one that does not match is decoded
again and replaced, with an ``OmniglotCacheWarning``. Where the cache cannot be written,
splits load without it, with one such warning.
"""

from __future__ import annotations

import errno
import io
import os
import re
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from oneshot_lib.files import save_atomically, sha256_of

IMAGE_SIZE = 105
DRAWINGS_PER_CHARACTER = 20
CACHE_FORMAT_VERSION = 2  # 2: records the archive it was decoded from
_CACHE_KEYS = frozenset({"packed", "alphabets", "characters", "archive", "sha256"})
# Errors that mean the cache folder cannot be written at all, so loading goes on without it.
_CANNOT_WRITE_THERE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST, errno.EISDIR})
_FOLDERS_WARNED_ABOUT: set[Path] = set()  # unwritable cache folders already warned about
OFFICIAL_URL = "https://github.com/brendenlake/omniglot/raw/master/python/"

#: Background alphabets held out for model selection. Every later chapter trains on the other
#: 25 background alphabets and selects checkpoints and hyperparameters on these five; the
#: evaluation split is for reporting only. Each has at least 20 characters, so 20-way
#: within-alphabet tasks (Koch's validation criterion) can be drawn from every one of them.
VALIDATION_ALPHABETS: tuple[str, ...] = (
    "Armenian",
    "Bengali",
    "Early_Aramaic",
    "Futurama",
    "Hebrew",
)


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
N_LAKE_RUNS = 20
LAKE_RUN_SIZE = 20

_DRAWING_PATH = re.compile(r"^[^/]+/(?P<alphabet>[^/]+)/(?P<character>[^/]+)/(?P<file>[^/]+\.png)$")


class OmniglotDataError(ValueError):
    """An Omniglot archive is corrupt, truncated or does not hold what it should."""


class OmniglotCacheWarning(UserWarning):
    """The decoded cache was not used (it did not match its archive, or could not be written);
    loading went on without it."""


def seeded_generator(seed) -> np.random.Generator:
    """``np.random.default_rng(seed)``, with an error that says what a seed is.

    ``seed``: a whole number (0 or more), a sequence of them, a ``np.random.Generator`` (returned
    as it is) or None (fresh entropy). Raises ValueError for anything else, e.g. -1 or 2.5.
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    parts = np.ravel(np.asarray(seed, dtype=object))
    if not parts.size or not all(isinstance(p, int | np.integer) and not isinstance(p, bool) and p >= 0 for p in parts):
        raise ValueError(f"seed must be a whole number, 0 or more (or a sequence of them), got {seed!r}")
    return np.random.default_rng(seed)


@dataclass(frozen=True)
class OmniglotSplit:
    """Decoded Omniglot drawings, one row per character.

    Attributes:
        images: (n_characters, 20, 105, 105) bool, True where there is ink.
        alphabets: (n_characters,) str, the alphabet of each row.
        characters: (n_characters,) str, the character folder name of each row
            (``character01`` ...), unique only within its alphabet.
        name: the split it came from, with any subset noted (``"background/train"``).
    """

    images: np.ndarray
    alphabets: np.ndarray
    characters: np.ndarray
    name: str = "omniglot"

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (
            f"OmniglotSplit({self.name!r}: {len(self.alphabet_names)} alphabets, "
            f"{len(self)} characters x {self.images.shape[1]} drawings, "
            f"{self.images.shape[2]}x{self.images.shape[3]})"
        )

    @property
    def alphabet_names(self) -> list[str]:
        """The distinct alphabets, in row order."""
        return list(dict.fromkeys(self.alphabets.tolist()))

    @property
    def alphabet_ids(self) -> np.ndarray:
        """(n_characters,) int: the index into ``alphabet_names`` of each row."""
        _, first_row, sorted_ids = np.unique(self.alphabets, return_index=True, return_inverse=True)
        rank_in_row_order = np.argsort(np.argsort(first_row))  # sorted position -> row-order position
        return rank_in_row_order[sorted_ids.reshape(-1)]

    def select(self, alphabets: list[str] | tuple[str, ...], name: str | None = None) -> OmniglotSplit:
        """The rows of the named alphabets. Raises KeyError naming any alphabet not present."""
        missing = sorted(set(alphabets) - set(self.alphabet_names))
        if missing:
            raise KeyError(f"alphabets {missing} are not in {self.name!r}; it has {self.alphabet_names}")
        rows = np.isin(self.alphabets, list(alphabets))
        return OmniglotSplit(self.images[rows], self.alphabets[rows], self.characters[rows], name or self.name)

    def sample_characters(self, fraction: float, seed: int = 0) -> OmniglotSplit:
        """A seeded choice of ``fraction`` of the rows (at least one), in row order.

        Raises ValueError unless 0 < fraction <= 1.
        """
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
        count = max(1, round(fraction * len(self)))
        rows = np.sort(seeded_generator(seed).choice(len(self), count, replace=False))
        return OmniglotSplit(
            self.images[rows], self.alphabets[rows], self.characters[rows], f"{self.name} ({count} characters)"
        )

    def without(self, alphabets: list[str] | tuple[str, ...], name: str | None = None) -> OmniglotSplit:
        """The rows of every alphabet except the named ones."""
        kept = [a for a in self.alphabet_names if a not in set(alphabets)]
        return self.select(kept, name)


@dataclass(frozen=True)
class LakeRun:
    """One of Lake's 20-way one-shot runs.

    Attributes:
        support: (20, 105, 105) bool, the training images, one per class, sorted by file name.
        query: (20, 105, 105) bool, the test images, sorted by file name.
        answers: (20,) int, for each query the index into ``support`` of its class.
    """

    support: np.ndarray
    query: np.ndarray
    answers: np.ndarray


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


# ---------------------------------------------------------------- decoding and verification


def decode_png(data: bytes) -> np.ndarray:
    """(105, 105) bool ink mask (True = ink) of one Omniglot PNG, as the official demo reads it."""
    with Image.open(io.BytesIO(data)) as image:
        return ~np.asarray(image.convert("1"), dtype=bool)


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise OmniglotDataError(
            f"{path} is not a readable zip archive ({error}). It is probably truncated or "
            f"corrupt: delete it and download {path.name} again."
        ) from error


def _read_member(archive: zipfile.ZipFile, path: Path, member: str) -> bytes:
    try:
        return archive.read(member)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise OmniglotDataError(
            f"{path}: member {member!r} cannot be read ({error}). The archive is corrupt: "
            f"delete it and download {path.name} again."
        ) from error


def decode_split_archive(path: Path, spec: ArchiveSpec) -> OmniglotSplit:
    """Decode and verify one split archive.

    Raises OmniglotDataError naming the file if it is not a zip, a member is corrupt, or the
    content is wrong: alphabet or character counts, drawings per character, or image size.
    """
    with _open_zip(path) as archive:
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
                image = _decode_member(archive, path, member)
                images[row, column] = image
    alphabets = np.array([alphabet for alphabet, _ in keys])
    characters = np.array([character for _, character in keys])
    return OmniglotSplit(images, alphabets, characters)


def _decode_member(archive: zipfile.ZipFile, path: Path, member: str) -> np.ndarray:
    data = _read_member(archive, path, member)
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


# ---------------------------------------------------------------- the decoded cache


def decoded_cache_path(archive: Path, sha256: str | None = None) -> Path:
    """Where the decoded arrays of ``archive`` are cached: keyed by its SHA-256 (computed if not given)."""
    stem = archive.name.removesuffix(".zip")
    sha256 = sha256 or sha256_of(archive)
    return cache_root() / "decoded" / f"{stem}-{sha256[:16]}-v{CACHE_FORMAT_VERSION}.npz"


def _cached_split(archive: Path, spec: ArchiveSpec) -> OmniglotSplit:
    """The decoded ``archive``: from the cache if it holds exactly that, else decoded and cached."""
    sha256 = sha256_of(archive)
    path = decoded_cache_path(archive, sha256)
    loaded = _load_split(path, spec, sha256) if path.is_file() else None
    if loaded is None:
        loaded = decode_split_archive(archive, spec)
        _save_split(path, loaded, spec, sha256)
    return loaded


def _save_split(path: Path, split: OmniglotSplit, spec: ArchiveSpec, sha256: str) -> None:
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


def _load_split(path: Path, spec: ArchiveSpec, sha256: str) -> OmniglotSplit | None:
    """The split cached at ``path``, or None, with an ``OmniglotCacheWarning`` saying why, if the
    file cannot be read (a damaged byte fails the npz's CRC check) or is not the decoded ``spec``
    archive whose SHA-256 is ``sha256``: it is never trusted, but decoded again and replaced."""
    try:
        with np.load(path) as stored:
            problem = _cache_problem(stored, spec, sha256)
            if problem is None:
                images = np.unpackbits(stored["packed"], axis=-1, count=IMAGE_SIZE).astype(bool)
                return OmniglotSplit(images, stored["alphabets"], stored["characters"])
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


# ---------------------------------------------------------------- public loaders


def load_omniglot(
    split: str,
    data_dir: str | os.PathLike | None = None,
    *,
    download: bool | None = None,
    use_cache: bool = True,
) -> OmniglotSplit:
    """Load one Omniglot split as a bool array of ink masks.

    Args:
        split: ``"background"`` (30 alphabets, 964 characters; train and validate on it) or
            ``"evaluation"`` (20 alphabets, 659 characters; report on it).
        data_dir: folder holding the archives; defaults to ``OMNIGLOT_DIR``, then the
            per-user cache.
        download: see ``find_archive``; by default only the per-user cache downloads.
        use_cache: read and write the decoded cache (about 0.5 s instead of a full decode).

    Returns:
        An OmniglotSplit with ``images`` (n_characters, 20, 105, 105) bool, rows sorted by
        alphabet then character, drawings sorted by file name.

    Raises:
        ValueError for an unknown split; FileNotFoundError for a missing folder or archive;
        OmniglotDataError for a corrupt archive or one with the wrong content.

    Warns:
        OmniglotCacheWarning if a cache file does not match its archive (it is replaced), or
        if the cache cannot be written (the split is loaded without it).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown Omniglot split {split!r}: use one of {sorted(SPLITS)}")
    spec = SPLITS[split]
    archive = find_archive(spec, data_dir, download)
    loaded = _cached_split(archive, spec) if use_cache else decode_split_archive(archive, spec)
    return OmniglotSplit(loaded.images, loaded.alphabets, loaded.characters, split)


def train_validation_split(
    background: OmniglotSplit, validation_alphabets: tuple[str, ...] = VALIDATION_ALPHABETS
) -> tuple[OmniglotSplit, OmniglotSplit]:
    """Split the background set by alphabet into (train, validation).

    No character, and no alphabet, is in both, so validation accuracy measures generalisation
    to new alphabets, as the evaluation split will.
    """
    train = background.without(validation_alphabets, name=f"{background.name}/train")
    validation = background.select(validation_alphabets, name=f"{background.name}/validation")
    return train, validation


def load_lake_runs(data_dir: str | os.PathLike | None = None, *, download: bool | None = None) -> list[LakeRun]:
    """Lake's 20 official runs of 20-way one-shot classification (400 trials).

    Pairs test and training files as the official ``demo_classification.py`` does: both lists
    sorted by file name, and each sorted test file's answer read from ``class_labels.txt``.

    Raises FileNotFoundError or OmniglotDataError as ``load_omniglot`` does.
    """
    archive = find_archive(LAKE_RUNS, data_dir, download)
    with _open_zip(archive) as zipped:
        return [_read_lake_run(zipped, archive, f"run{number:02d}") for number in range(1, N_LAKE_RUNS + 1)]


def _read_lake_run(archive: zipfile.ZipFile, path: Path, run: str) -> LakeRun:
    try:
        labels = _read_member(archive, path, f"{run}/class_labels.txt").decode()
    except KeyError as error:
        raise OmniglotDataError(
            f"{path} has no {run}/class_labels.txt: it is not the official all_runs.zip."
        ) from error
    answer_of = dict(line.split() for line in labels.splitlines() if line.strip())
    test_files = sorted(answer_of)
    train_files = sorted(answer_of.values())
    if len(test_files) != LAKE_RUN_SIZE or len(set(train_files)) != LAKE_RUN_SIZE:
        raise OmniglotDataError(f"{path}: {run}/class_labels.txt does not pair 20 test with 20 training files.")
    support = np.stack([_decode_member(archive, path, name) for name in train_files])
    query = np.stack([_decode_member(archive, path, name) for name in test_files])
    answers = np.array([train_files.index(answer_of[name]) for name in test_files])
    return LakeRun(support, query, answers)


def lake_run_drawings(runs: list[LakeRun], split: OmniglotSplit) -> tuple[np.ndarray, np.ndarray]:
    """Where each image of Lake's runs comes from in ``split`` (the evaluation split holds them all).

    Returns (support, query), each (n_runs, 20, 2) int: the (character row, drawing) of every
    support and query image, matched pixel for pixel. Drawing ``j`` of every character of an
    alphabet is by drawer ``j + 1`` (the file names' suffix).

    Raises ValueError if an image does not occur in ``split``.
    """
    rows = {
        np.packbits(split.images[character, drawing]).tobytes(): (character, drawing)
        for character in range(len(split))
        for drawing in range(split.images.shape[1])
    }

    def locate(images: np.ndarray) -> list[tuple[int, int]]:
        found = [rows.get(np.packbits(image).tobytes()) for image in images]
        if None in found:
            raise ValueError(f"an image of Lake's runs does not occur in the split {split.name!r}")
        return found

    support = np.array([locate(run.support) for run in runs])
    query = np.array([locate(run.query) for run in runs])
    return support, query


def clear_cache() -> None:
    """Delete every decoded cache file (the archives themselves are kept)."""
    shutil.rmtree(cache_root() / "decoded", ignore_errors=True)
