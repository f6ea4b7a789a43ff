"""``-o`` names the container: each suffix Gioconda accepts gets that container (issue 12)."""

from __future__ import annotations

import av
import numpy as np
import pytest

from gioconda.output.video import CONTAINERS, Mp4Writer
from gioconda.speech.audio import Audio

#: How each container's file begins (the ISO brand, or Matroska's EBML magic number).
_MAGIC = {
    ".mp4": b"ftypisom",
    ".m4v": b"ftypisom",
    ".mov": b"ftypqt  ",
    ".mkv": b"\x1a\x45\xdf\xa3",
}


@pytest.mark.parametrize("suffix", sorted(CONTAINERS))
def test_each_suffix_gets_its_container_with_h264_and_aac(tmp_path, suffix):
    path = tmp_path / f"clip{suffix}"
    audio = Audio(np.full(16000, 0.01, np.float32), 16000)
    with Mp4Writer(path, 25, 64, 64, audio) as video:
        for i in range(10):
            video.write(np.full((64, 64, 3), i * 20, np.uint8))
    head = path.read_bytes()[:12]
    assert _MAGIC[suffix] in head, head
    with av.open(str(path)) as container:
        assert [s.codec_context.name for s in container.streams] == ["h264", "aac"]
        assert sum(1 for _ in container.decode(video=0)) == 10
