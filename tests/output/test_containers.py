"""``-o`` names the container: each suffix Gioconda accepts gets that container, H.264 + AAC
or, in WebM, VP9 + Opus (issue 12)."""

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
    ".webm": b"\x1a\x45\xdf\xa3",
}
#: The codecs each container carries.
_CODECS = {".webm": ["vp9", "opus"]}


@pytest.mark.parametrize("suffix", sorted(CONTAINERS))
def test_each_suffix_gets_its_container_and_codecs(tmp_path, suffix):
    path = tmp_path / f"clip{suffix}"
    audio = Audio(np.full(16000, 0.01, np.float32), 16000)
    with Mp4Writer(path, 25, 64, 64, audio) as video:
        for i in range(10):
            video.write(np.full((64, 64, 3), i * 20, np.uint8))
    head = path.read_bytes()[:12]
    assert _MAGIC[suffix] in head, head
    with av.open(str(path)) as container:
        assert [s.codec_context.name for s in container.streams] == _CODECS.get(
            suffix, ["h264", "aac"]
        )
        assert sum(1 for _ in container.decode(video=0)) == 10
    if suffix == ".webm":
        assert b"webm" in head or b"webm" in path.read_bytes()[:64]  # DocType, not "matroska"


def test_webm_keeps_pictures_and_sound_in_step(tmp_path):
    """VP9 and Opus decode to what was written: the frames' grey levels in order, and the
    sound's length and loudness (Opus's encoder delay is trimmed by the decoder)."""
    path = tmp_path / "clip.webm"
    tone = 0.3 * np.sin(2 * np.pi * 220 * np.arange(48000) / 48000).astype(np.float32)
    with Mp4Writer(path, 25, 96, 96, Audio(tone, 48000)) as video:
        for i in range(25):
            video.write(np.full((96, 96, 3), 40 + 8 * i, np.uint8))
    with av.open(str(path)) as container:
        greys = [float(f.to_ndarray(format="gray").mean()) for f in container.decode(video=0)]
    assert len(greys) == 25
    assert np.allclose(greys, 40 + 8 * np.arange(25), atol=4), greys
    with av.open(str(path)) as container:
        sound = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert abs(len(sound) - 48000) <= 960
    assert abs(np.sqrt(np.mean(sound**2)) - 0.3 / np.sqrt(2)) < 0.02
