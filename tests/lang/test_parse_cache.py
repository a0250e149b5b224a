"""The parse cache: an explicit value, private on disk, and never trusting what it did not write."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from relight.lang import ParseCache, load_config

CONFIG = 'variable "n" {\n  default = 3\n}\n\noutput "twice" {\n  value = var.n * 2\n}\n'


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    d = tmp_path / "conf"
    d.mkdir()
    (d / "main.tf").write_text(CONFIG)
    return d


def _entries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.name != "key"]


def _load(confdir: Path, cache: ParseCache | None) -> None:
    config, diags = load_config(str(confdir), cache=cache)
    assert config is not None and not diags.has_errors
    assert set(config.outputs) == {"twice"}


def test_memory_then_disk_then_memory(confdir: Path, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    first = ParseCache(str(root))
    _load(confdir, first)
    _load(confdir, first)
    assert (first.stats.misses, first.stats.memory_hits, first.stats.disk_hits) == (1, 1, 0)
    second = ParseCache(str(root))  # a new process: memory is empty, the disk answers
    _load(confdir, second)
    assert (second.stats.misses, second.stats.disk_hits) == (0, 1)


def test_disk_layout_is_private(confdir: Path, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    _load(confdir, ParseCache(str(root)))
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE((root / "key").stat().st_mode) == 0o600
    [entry] = _entries(root)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


def _tamper_flip(entry: Path) -> None:
    data = bytearray(entry.read_bytes())
    data[-1] ^= 0xFF
    entry.write_bytes(bytes(data))


def _tamper_mode(entry: Path) -> None:
    entry.chmod(0o644)


def _tamper_key(entry: Path) -> None:
    key = entry
    while key.name != "cache":
        key = key.parent
    (key / "key").write_bytes(b"k" * 32)


def _tamper_symlink(entry: Path) -> None:
    copy = entry.with_name("copy")
    copy.write_bytes(entry.read_bytes())
    copy.chmod(0o600)
    entry.unlink()
    entry.symlink_to(copy)


@pytest.mark.parametrize("tamper", [_tamper_flip, _tamper_mode, _tamper_key, _tamper_symlink])
def test_an_entry_that_fails_a_check_is_a_miss(confdir: Path, tmp_path: Path, tamper: object) -> None:
    root = tmp_path / "cache"
    _load(confdir, ParseCache(str(root)))
    [entry] = _entries(root)
    tamper(entry)  # type: ignore[operator]
    again = ParseCache(str(root))
    _load(confdir, again)
    assert again.stats.disk_hits == 0 and again.stats.misses == 1


def test_a_root_open_to_others_is_not_read_and_is_closed_on_write(confdir: Path, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    _load(confdir, ParseCache(str(root)))
    root.chmod(0o777)
    reader = ParseCache(str(root))
    _load(confdir, reader)
    assert reader.stats.disk_hits == 0
    assert stat.S_IMODE(root.stat().st_mode) == 0o700  # the miss rewrote the entry, closing the root


def test_a_root_owned_by_someone_else_is_never_used(confdir: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the directory away")
    root = tmp_path / "cache"
    _load(confdir, ParseCache(str(root)))
    os.chown(root, 65534, 65534)
    other = ParseCache(str(root))
    _load(confdir, other)
    _load(confdir, ParseCache(str(root)))
    assert other.stats.disk_hits == 0 and other.stats.misses == 1


def test_a_symlinked_root_is_never_used(confdir: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    _load(confdir, ParseCache(str(real)))
    link = tmp_path / "link"
    link.symlink_to(real)
    via_link = ParseCache(str(link))
    _load(confdir, via_link)
    assert via_link.stats.disk_hits == 0


def test_no_cache_parses_every_time(confdir: Path) -> None:
    _load(confdir, None)


@pytest.mark.parametrize(
    ("env", "directory"),
    [
        ({"XDG_CACHE_HOME": "/x/cache", "HOME": "/home/u"}, "/x/cache/relight/parse"),
        ({"HOME": "/home/u"}, "/home/u/.cache/relight/parse"),
        ({"HOME": "/home/u", "RELIGHT_PARSE_CACHE": "off"}, None),
        ({"HOME": "/home/u", "RELIGHT_PARSE_CACHE": "0"}, None),
        ({"HOME": "/home/u", "RELIGHT_PARSE_CACHE": "FALSE"}, None),
        ({"HOME": "/home/u", "RELIGHT_PARSE_CACHE": "on"}, "/home/u/.cache/relight/parse"),
    ],
)
def test_from_env_reads_only_the_mapping_it_is_given(env: dict[str, str], directory: str | None) -> None:
    assert ParseCache.from_env(env).directory == directory


def test_an_unwritable_cache_never_fails_a_load(confdir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = ParseCache(str(blocker / "cache"))
    _load(confdir, cache)
    assert cache.stats.misses == 1
