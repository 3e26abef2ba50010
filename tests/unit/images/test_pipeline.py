"""The archive an image's policy check writes for the load: complete, or not there at all."""

from __future__ import annotations

import errno
from pathlib import Path

from orchestrator.images.pipeline import ArchiveFile, archive_name


class _FullDisk:
    def __init__(self, after: int) -> None:
        self.room = after

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return len(data)

    def close(self) -> None:
        pass


def test_a_complete_copy_is_the_archive(tmp_path: Path) -> None:
    archive = ArchiveFile(tmp_path / "a.tar")
    for chunk in (b"x" * 10, b"y" * 5):
        assert archive.write(chunk) == len(chunk)
    assert archive.close() == tmp_path / "a.tar"
    assert (tmp_path / "a.tar").read_bytes() == b"x" * 10 + b"y" * 5


def test_nothing_exported_leaves_no_file(tmp_path: Path) -> None:
    assert ArchiveFile(tmp_path / "a.tar").close() is None
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_drops_the_copy_and_lets_the_reading_go_on(tmp_path: Path) -> None:
    archive = ArchiveFile(tmp_path / "a.tar")
    archive._file.close()
    archive._file = _FullDisk(after=12)  # type: ignore[assignment]
    assert [archive.write(b"z" * 10) for _ in range(3)] == [10, 10, 10]  # the policy's walk is not cut short
    assert archive.failed
    assert archive.close() is None
    assert list(tmp_path.iterdir()) == []


def test_archive_names_are_file_names_unique_per_tag() -> None:
    assert archive_name("todo-backend:0123abcd4567") == "todo-backend_0123abcd4567.tar"
    assert archive_name("reg.example:5000/team/todo-frontend:9") == "reg.example_5000_team_todo-frontend_9.tar"
