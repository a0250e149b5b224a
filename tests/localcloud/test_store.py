"""The content store: point-in-time copies, moves, the trash and orphans (no emulator needed)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relight.localcloud.dataplane.store import Store, StoreError, copy_tree, tree_usage

_names = st.text(alphabet="abcdefgh0123456789-_. ", min_size=1, max_size=8).filter(lambda n: n not in (".", ".."))
_trees = st.recursive(
    st.binary(max_size=2048),
    lambda children: st.dictionaries(_names, children, max_size=4),
    max_leaves=12,
)


def _write(path: Path, tree: bytes | dict[str, object]) -> None:
    if isinstance(tree, bytes):
        path.write_bytes(tree)
        return
    path.mkdir()
    for name, sub in tree.items():
        _write(path / name, sub)  # type: ignore[arg-type]


def _read(path: Path) -> bytes | dict[str, object]:
    if path.is_file():
        return path.read_bytes()
    return {p.name: _read(p) for p in path.iterdir()}


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(tree=st.dictionaries(_names, _trees, max_size=5))
def test_a_copy_is_the_tree_as_it_was(tmp_path_factory: pytest.TempPathFactory, tree: dict[str, object]) -> None:
    base = tmp_path_factory.mktemp("copy")
    _write(base / "src", tree)
    copy_tree(base / "src", base / "dst")
    assert _read(base / "dst") == tree
    for path in (base / "src").rglob("*"):  # writing to the source afterwards leaves the copy alone
        if path.is_file():
            path.write_bytes(b"changed")
    assert _read(base / "dst") == tree


def test_links_fifos_modes_and_times_are_kept(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "f").write_text("x")
    (src / "d" / "f").chmod(0o640)
    os.utime(src / "d" / "f", (1_000_000, 1_000_000))
    os.link(src / "d" / "f", src / "hard")
    (src / "sym").symlink_to("d/f")
    (src / "dangling").symlink_to("/nowhere")
    os.mkfifo(src / "fifo")
    copy_tree(src, tmp_path / "dst")
    dst = tmp_path / "dst"
    assert stat.S_IMODE((dst / "d" / "f").stat().st_mode) == 0o640
    assert (dst / "d" / "f").stat().st_mtime == 1_000_000
    assert (dst / "hard").stat().st_ino == (dst / "d" / "f").stat().st_ino  # still one file, twice
    assert (dst / "hard").stat().st_ino != (src / "hard").stat().st_ino  # but not the source's
    assert os.readlink(dst / "sym") == "d/f" and os.readlink(dst / "dangling") == "/nowhere"
    assert stat.S_ISFIFO((dst / "fifo").lstat().st_mode)


def test_a_failed_copy_leaves_no_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from relight.localcloud.dataplane import store as module

    src = tmp_path / "src"
    src.mkdir()
    for name in "abc":
        (src / name).write_text(name)
    copied: list[Path] = []
    real = module._copy_file

    def disk_fills(source: Path, target: Path, durable: bool) -> None:
        if copied:
            raise OSError(28, "No space left on device")
        real(source, target, durable)
        copied.append(target)

    monkeypatch.setattr(module, "_copy_file", disk_fills)
    with pytest.raises(StoreError, match="No space left"):
        copy_tree(src, tmp_path / "dst")
    assert copied and not copied[0].exists()  # the partial copy is gone
    assert not (tmp_path / "dst").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]
    assert (src / "a").read_text() == "a"


def test_volumes_move_with_their_attachment_and_deletes_go_to_the_trash(tmp_path: Path) -> None:
    store = Store(tmp_path, durable=True)
    assert store.volume_path("vol-1") is None
    path = store.move_volume("vol-1", "i-1")
    assert path == tmp_path / "instances" / "i-1" / "attached" / "vol-1" and path.is_dir()
    (path / "f").write_text("x")
    back = store.move_volume("vol-1", None)
    assert back == tmp_path / "volumes" / "vol-1" and (back / "f").read_text() == "x"
    store.create_snapshot("snap-1", "vol-1")
    assert (tmp_path / "snapshots" / "snap-1" / "f").read_text() == "x"
    store.create_volume("vol-2", "snap-1")
    assert (store.volume_path("vol-2") / "f").read_text() == "x"  # type: ignore[operator]
    trashed = store.delete_volume("vol-1")
    assert trashed is not None and trashed.parent == tmp_path / "trash" and store.volume_path("vol-1") is None
    store.purge([trashed])
    assert not trashed.exists()


def test_a_store_reopened_finds_its_volumes_and_moves_content_without_an_object_to_orphans(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.move_volume("vol-a", "i-1")
    store.move_volume("vol-b", None)
    store.create_snapshot("snap-x", "vol-b")
    again = Store(tmp_path)
    assert again.volume_path("vol-a") == tmp_path / "instances" / "i-1" / "attached" / "vol-a"
    moved = again.keep_only(volumes={"vol-a"}, snapshots=set(), instances={"i-1"})
    assert sorted(Path(m).name.split(".")[0] for m in moved) == ["snapshot-snap-x", "volume-vol-b"]
    assert again.volume_path("vol-b") is None and again.volume_path("vol-a") is not None


def test_usage_counts_what_is_on_disk(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 100_000)
    os.link(tmp_path / "a", tmp_path / "b")
    with open(tmp_path / "sparse", "wb") as f:
        f.truncate(10_000_000)
    used = tree_usage(tmp_path)
    assert 100_000 <= used < 200_000  # the hard link once; the sparse file takes nothing
