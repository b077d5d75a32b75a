"""The data layer: finding, verifying, decoding and caching archives, and Lake's runs."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_ALPHABETS, drawing, png_bytes, synthetic_split, write_split_archive

from oneshot_lib.data import archives, cache, lake
from oneshot_lib.data.archives import ArchiveSpec, OmniglotDataError
from oneshot_lib.data.cache import OmniglotCacheWarning, decoded_cache_path
from oneshot_lib.data.lake import LakeRun, lake_run_drawings, load_lake_runs
from oneshot_lib.data.omniglot import OmniglotSplit, load_omniglot, train_validation_split


def test_decodes_synthetic_archive(tiny_archive_dir, cache_home):
    split = load_omniglot("background", tiny_archive_dir)
    assert split.images.shape == (5, 20, 105, 105)
    assert split.images.dtype == bool
    assert split.alphabet_names == ["Alpha", "Beta"]
    assert split.characters.tolist() == [
        "character01",
        "character02",
        "character03",
        "character01",
        "character02",
    ]
    np.testing.assert_array_equal(split.images[3, 6], drawing(3, 7))  # drawer 07 of the fourth character


def test_second_load_reads_the_cache(tiny_archive_dir, cache_home, monkeypatch):
    first = load_omniglot("background", tiny_archive_dir)
    assert len(list((cache_home / "decoded").glob("*.npz"))) == 1

    def no_decoding(*args):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(cache, "decode_split_archive", no_decoding)
    second = load_omniglot("background", tiny_archive_dir)
    np.testing.assert_array_equal(first.images, second.images)
    np.testing.assert_array_equal(first.alphabets, second.alphabets)


def test_failed_cache_write_leaves_nothing(tiny_archive_dir, cache_home, monkeypatch):
    def failing_savez(name, **arrays):
        Path(name).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        load_omniglot("background", tiny_archive_dir)
    assert list((cache_home / "decoded").iterdir()) == []


def test_cache_home_that_is_a_file_loads_without_caching(tiny_archive_dir, tmp_path, monkeypatch):
    not_a_folder = tmp_path / "cache-file"
    not_a_folder.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(not_a_folder))
    with pytest.warns(OmniglotCacheWarning) as caught:
        first = load_omniglot("background", tiny_archive_dir)
        second = load_omniglot("background", tiny_archive_dir)
    assert len(first) == len(second) == 5
    (warning,) = caught  # once, not at every load
    message = str(warning.message)
    assert str(not_a_folder / "oneshot" / "decoded") in message and "XDG_CACHE_HOME" in message


@pytest.mark.parametrize(
    "error",
    [PermissionError(errno.EACCES, "Permission denied"), OSError(errno.EROFS, "Read-only file system")],
    ids=["permission", "read-only"],
)
def test_unwritable_cache_loads_without_caching(tiny_archive_dir, cache_home, monkeypatch, error):
    def refused(name, **arrays):
        raise error

    monkeypatch.setattr(np, "savez", refused)
    with pytest.warns(OmniglotCacheWarning, match=r"(?s)could not be written.*XDG_CACHE_HOME"):
        split = load_omniglot("background", tiny_archive_dir)
    assert len(split) == 5
    assert list((cache_home / "decoded").iterdir()) == []


def test_corrupt_cache_is_rebuilt_not_trusted(tiny_archive_dir, cache_home):
    expected = load_omniglot("background", tiny_archive_dir)
    (cached,) = (cache_home / "decoded").glob("*.npz")
    cached.write_bytes(b"not an npz")
    with pytest.warns(OmniglotCacheWarning, match="cannot be read"):
        again = load_omniglot("background", tiny_archive_dir)
    np.testing.assert_array_equal(again.images, expected.images)
    assert np.load(cached)["packed"].shape[0] == 5  # rewritten


def _rewrite_cache(path: Path, change) -> None:
    """Rewrite the cached arrays at ``path`` as ``change(dict of arrays)`` returns them."""
    with np.load(path) as stored:
        arrays = dict(stored)
    np.savez(path, **change(arrays))


def _fewer_characters(arrays):
    return {key: value[:4] if value.ndim else value for key, value in arrays.items()}


def _one_alphabet(arrays):
    return {**arrays, "alphabets": np.full_like(arrays["alphabets"], "Alpha")}


def _unpadded_images(arrays):
    return {**arrays, "packed": arrays["packed"][..., :13]}


def _without(key):
    return lambda arrays: {name: value for name, value in arrays.items() if name != key}


def _recorded(key, value):
    return lambda arrays: {**arrays, key: np.array(value)}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_fewer_characters, r"4 characters, expected 5"),
        (_one_alphabet, r"1 alphabets, expected 2"),
        (_unpadded_images, r"packed.*\(5, 20, 105, 13\), expected.*\(5, 20, 105, 14\)"),
        (_recorded("sha256", "0" * 64), r"decoded from images_background\.zip with SHA-256 0000000000000000"),
        (_recorded("archive", "images_evaluation.zip"), r"decoded from images_evaluation\.zip"),
        (_without("sha256"), r"lacks \['sha256'\]"),
    ],
    ids=["fewer characters", "one alphabet", "image width", "another archive", "another split", "no record"],
)
def test_cache_that_does_not_match_its_archive_is_replaced(tiny_archive_dir, cache_home, change, message):
    expected = load_omniglot("background", tiny_archive_dir)
    (cached,) = (cache_home / "decoded").glob("*.npz")
    _rewrite_cache(cached, change)
    with pytest.warns(OmniglotCacheWarning, match=f"(?s){cached.name}.*{message}.*Decoding .* again"):
        again = load_omniglot("background", tiny_archive_dir)
    np.testing.assert_array_equal(again.images, expected.images)
    np.testing.assert_array_equal(again.alphabets, expected.alphabets)
    np.testing.assert_array_equal(again.characters, expected.characters)
    with np.load(cached) as stored:  # replaced by a good one
        assert stored["packed"].shape == (5, 20, 105, 14) and "sha256" in stored.files


def test_cache_of_another_archive_under_this_name_is_not_trusted(tmp_path, tiny_spec, cache_home):
    """A cache file copied under the name of another archive's cache is decoded again."""
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    write_split_archive(first / tiny_spec.filename)
    write_split_archive(second / tiny_spec.filename, {"Gamma": 3, "Delta": 2})
    load_omniglot("background", first)
    (first_cache,) = (cache_home / "decoded").glob("*.npz")
    second_cache = decoded_cache_path(second / tiny_spec.filename)
    first_cache.rename(second_cache)
    with pytest.warns(OmniglotCacheWarning, match="SHA-256"):
        loaded = load_omniglot("background", second)
    assert loaded.alphabet_names == ["Delta", "Gamma"]


def test_truncated_archive_names_the_file(tiny_archive_dir, cache_home, tiny_spec):
    path = tiny_archive_dir / tiny_spec.filename
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(OmniglotDataError, match=r"images_background\.zip.*(truncated|corrupt)"):
        load_omniglot("background", tiny_archive_dir)
    assert not (cache_home / "decoded").exists()


def test_corrupt_member_is_reported(tiny_archive_dir, cache_home, tiny_spec):
    path = tiny_archive_dir / tiny_spec.filename
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[7]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + 40 : start + 44] = b"\xff\x00\xff\x00"
    path.write_bytes(bytes(raw))
    with pytest.raises(OmniglotDataError, match=r"images_background\.zip.*corrupt|not a valid PNG"):
        load_omniglot("background", tiny_archive_dir)


@pytest.mark.parametrize(
    ("alphabets", "drawings", "size", "message"),
    [
        ({"Alpha": 3}, 20, 105, r"1 alphabets \(expected 2\)"),
        ({"Alpha": 3, "Beta": 3}, 20, 105, r"6 characters \(expected 5\)"),
        (TINY_ALPHABETS, 19, 105, "without 20 drawings"),
        (TINY_ALPHABETS, 20, 64, "expected 105x105"),
    ],
)
def test_wrong_content_is_rejected(tmp_path, cache_home, tiny_spec, alphabets, drawings, size, message):
    write_split_archive(tmp_path / tiny_spec.filename, alphabets, drawings, size)
    with pytest.raises(OmniglotDataError, match=message):
        load_omniglot("background", tmp_path)


def test_missing_folder_says_how_to_fix(tmp_path, cache_home):
    with pytest.raises(FileNotFoundError, match="does not exist.*data_dir"):
        load_omniglot("background", tmp_path / "nowhere")


def test_missing_archive_in_named_folder_is_not_downloaded(tmp_path, cache_home):
    with pytest.raises(FileNotFoundError, match=r"(?s)'images_background\.zip' not found.*OMNIGLOT_DIR"):
        load_omniglot("background", tmp_path)


def test_omniglot_dir_is_used(tiny_archive_dir, cache_home, monkeypatch):
    monkeypatch.setenv("OMNIGLOT_DIR", str(tiny_archive_dir))
    assert len(load_omniglot("background")) == 5


def test_unknown_split():
    with pytest.raises(ValueError, match="unknown Omniglot split 'test'"):
        load_omniglot("test")


def _serve_as_official(monkeypatch, folder, tiny_spec, md5: str):
    monkeypatch.setattr(archives, "OFFICIAL_URL", folder.as_uri() + "/")
    monkeypatch.setitem(archives.SPLITS, "background", ArchiveSpec(tiny_spec.filename, md5, 2, 5))


def test_download_into_user_cache_verifies_checksum(tmp_path, cache_home, tiny_spec, monkeypatch):
    served = tmp_path / "server"
    served.mkdir()
    write_split_archive(served / tiny_spec.filename)
    md5 = hashlib.md5((served / tiny_spec.filename).read_bytes()).hexdigest()
    _serve_as_official(monkeypatch, served, tiny_spec, md5)
    split = load_omniglot("background")
    assert len(split) == 5
    assert (cache_home / "omniglot" / tiny_spec.filename).is_file()


def test_download_with_wrong_checksum_leaves_nothing(tmp_path, cache_home, tiny_spec, monkeypatch):
    served = tmp_path / "server"
    served.mkdir()
    write_split_archive(served / tiny_spec.filename)
    _serve_as_official(monkeypatch, served, tiny_spec, "0" * 32)
    with pytest.raises(OSError, match="Could not download images_background.zip.*hash"):
        load_omniglot("background")
    assert os.listdir(cache_home / "omniglot") == []


def test_alphabet_ids_follow_row_order():
    images = np.zeros((3, 20, 105, 105), dtype=bool)
    split = OmniglotSplit(images, np.array(["b", "a", "b"]), np.array(["c1", "c1", "c2"]))
    assert split.alphabet_names == ["b", "a"]
    assert split.alphabet_ids.tolist() == [0, 1, 0]


def test_validation_alphabets_are_disjoint_from_train(split):
    train, validation = train_validation_split(split, ("A1",))
    assert set(train.alphabet_names) == {"A0", "A2"}
    assert validation.alphabet_names == ["A1"]
    assert len(train) + len(validation) == len(split)
    with pytest.raises(KeyError, match="not in"):
        train_validation_split(split, ("Klingon",))


def _write_lake_archive(path, rng):
    """20 runs whose support images encode their class and whose answers are shuffled."""
    with zipfile.ZipFile(path, "w") as archive:
        for run in range(1, 21):
            answers = rng.permutation(20)
            lines = []
            for item in range(20):
                archive.writestr(f"run{run:02d}/training/class{item + 1:02d}.png", png_bytes(drawing(item, 0)))
                archive.writestr(f"run{run:02d}/test/item{item + 1:02d}.png", png_bytes(drawing(answers[item], 1)))
                lines.append(
                    f"run{run:02d}/test/item{item + 1:02d}.png run{run:02d}/training/class{answers[item] + 1:02d}.png"
                )
            archive.writestr(f"run{run:02d}/class_labels.txt", "\n".join(lines) + "\n")


def test_lake_runs_pair_queries_with_answers(tmp_path, cache_home):
    _write_lake_archive(tmp_path / "all_runs.zip", np.random.default_rng(0))
    runs = load_lake_runs(tmp_path)
    assert len(runs) == 20
    for run in runs:
        assert run.support.shape == run.query.shape == (20, 105, 105)
        # The query's bar sits where its answer's bar does.
        np.testing.assert_array_equal(run.query[:, :50, 50], run.support[run.answers][:, :50, 50])


def test_missing_lake_runs_say_how_to_get_them(tmp_path, cache_home):
    with pytest.raises(FileNotFoundError) as error:
        load_lake_runs(tmp_path)
    message = str(error.value)
    assert "'all_runs.zip' not found" in message and "load_lake_runs(..., download=True)" in message
    assert "python/one-shot-classification/all_runs.zip" in message and "OMNIGLOT_DIR" in message
    assert "load_omniglot" not in message  # which does not fetch Lake's runs


def test_lake_runs_download_from_their_own_folder(tmp_path, cache_home, monkeypatch):
    """all_runs.zip sits in python/one-shot-classification/ of the official repository."""
    served = tmp_path / "server"
    (served / "one-shot-classification").mkdir(parents=True)
    archive = served / "one-shot-classification" / "all_runs.zip"
    _write_lake_archive(archive, np.random.default_rng(0))
    monkeypatch.setattr(archives, "OFFICIAL_URL", served.as_uri() + "/")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(lake, "LAKE_RUNS", dataclasses.replace(lake.LAKE_RUNS, official_md5=md5))
    assert len(load_lake_runs()) == 20
    assert (cache_home / "omniglot" / "all_runs.zip").is_file()


@pytest.mark.skipif(not os.environ.get("OMNIGLOT_DIR"), reason="needs the real Omniglot (set OMNIGLOT_DIR)")
def test_real_omniglot():
    background = load_omniglot("background")
    evaluation = load_omniglot("evaluation")
    assert background.images.shape == (964, 20, 105, 105)
    assert evaluation.images.shape == (659, 20, 105, 105)
    assert len(background.alphabet_names) == 30 and len(evaluation.alphabet_names) == 20
    train, validation = train_validation_split(background)
    assert len(validation.alphabet_names) == 5 and len(train) + len(validation) == 964
    runs = load_lake_runs()
    assert len(runs) == 20 and sum(len(run.answers) for run in runs) == 400
    assert all(sorted(run.answers) == list(range(20)) for run in runs)


def test_lake_run_drawings_locates_each_image():
    split = synthetic_split((4, 3), drawings=5, seed=0)
    run = LakeRun(split.images[[0, 2, 5], 1], split.images[[5, 0, 2], 4], answers=np.array([2, 0, 1]))
    support, query = lake_run_drawings([run], split)
    assert support.tolist() == [[[0, 1], [2, 1], [5, 1]]]
    assert query.tolist() == [[[5, 4], [0, 4], [2, 4]]]
    with pytest.raises(ValueError, match="does not occur"):
        lake_run_drawings([LakeRun(~run.support, run.query, run.answers)], split)


def test_omniglot_dir_pointing_at_a_file_says_it_is_a_file(tmp_path, monkeypatch):
    archive = tmp_path / "images_background.zip"
    archive.write_bytes(b"")
    monkeypatch.setenv("OMNIGLOT_DIR", str(archive))
    with pytest.raises(NotADirectoryError, match=r"background\.zip \(from OMNIGLOT_DIR\) is a file, not a folder"):
        load_omniglot("background")
