"""Output paths: symlinks written through, long names, kinds of file refused (issue 12)."""

from __future__ import annotations

import os
import stat

import pytest

from gioconda.errors import GiocondaError
from gioconda.motion.frames import Motion
from gioconda.output.files import _LIVE_TEMPS, check_writable
from gioconda.output.motion_files import read_motion, write_motion
from gioconda.output.targets import NAME_MAX, check_outputs, temp_path


def _motion(frames: int = 3) -> Motion:
    return Motion.rest(frames, 25.0)


def test_a_symlink_is_written_through_and_kept(tmp_path):
    (tmp_path / "clips").mkdir()
    target = tmp_path / "clips" / "monday.json"
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to("clips/monday.json")
    write_motion(_motion(), link)
    assert link.is_symlink() and os.readlink(link) == "clips/monday.json"
    assert len(read_motion(target)) == 3
    assert sorted(os.listdir(tmp_path / "clips")) == ["monday.json"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "latest.json"
    link.symlink_to("new.json")
    write_motion(_motion(), link)
    assert link.is_symlink() and len(read_motion(tmp_path / "new.json")) == 3


def test_a_255_byte_name_is_written(tmp_path):
    name = "m" * (NAME_MAX - len(".json")) + ".json"
    write_motion(_motion(), tmp_path / name)
    assert os.listdir(tmp_path) == [name]
    assert len(temp_path(tmp_path / name).name.encode()) <= NAME_MAX


def test_a_name_too_long_for_the_file_system_is_one_line(tmp_path):
    with pytest.raises(GiocondaError, match="longer than 255 bytes"):
        check_writable(tmp_path / ("m" * 300 + ".json"))


@pytest.mark.parametrize("kind", ["fifo", "socket"])
def test_special_files_are_refused_and_kept(tmp_path, kind):
    path = tmp_path / "out.json"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        import socket

        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
    with pytest.raises(GiocondaError, match="regular files"):
        write_motion(_motion(), path)
    mode = os.lstat(path).st_mode
    assert stat.S_ISFIFO(mode) if kind == "fifo" else stat.S_ISSOCK(mode)
    assert os.listdir(tmp_path) == ["out.json"]


def test_outputs_against_inputs_and_each_other(tmp_path):
    photo = tmp_path / "face.png"
    photo.write_bytes(b"photo")
    os.link(photo, tmp_path / "hard.png")
    (tmp_path / "soft.mp4").symlink_to("face.png")
    inputs = {"PHOTO": str(photo)}
    for output in ("face.png", "./face.png", "hard.png", "soft.mp4"):
        with pytest.raises(GiocondaError, match="is the input PHOTO"):
            check_outputs({"-o": str(tmp_path / output)}, inputs)
    (tmp_path / "sub").mkdir()
    with pytest.raises(GiocondaError, match="same file"):
        check_outputs(
            {"-o": str(tmp_path / "a.json"), "--motion-out": str(tmp_path / "sub/../a.json")}, {}
        )
    check_outputs(
        {"-o": str(tmp_path / "out.mp4"), "--motion-out": str(tmp_path / "m.json")}, inputs
    )
    assert photo.read_bytes() == b"photo" and not _LIVE_TEMPS
