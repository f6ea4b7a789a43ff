"""``gioconda verify``: was a video made by Gioconda? Watermark, metadata and C2PA together."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from gioconda.errors import GiocondaError
from gioconda.provenance.content_credentials import Credentials, read_credentials
from gioconda.provenance.watermark import Detection, detect_video

#: Exit codes of ``gioconda verify`` (for one file; for several, the worst one).
FOUND, NOT_FOUND, UNREADABLE = 0, 1, 2


@dataclass(frozen=True)
class Verification:
    """Everything one video says about where it came from.

    Attributes
    ----------
    path: the file checked
    error: why it could not be read (then nothing else is known)
    watermark: what the watermark detector found
    metadata: the container's tags (comment, encoder, ...): gone after any re-encode
    credentials: what its C2PA manifest says
    """

    path: str
    error: str | None = None
    watermark: Detection | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    credentials: Credentials | None = None

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return UNREADABLE
        return FOUND if self.watermark is not None and self.watermark.found else NOT_FOUND


def _metadata(path: str) -> dict[str, str]:
    import av

    with av.open(path) as container:
        return {str(k): str(v) for k, v in container.metadata.items()}


def verify(path: str | os.PathLike[str], max_frames: int = 250) -> Verification:
    """Check one video: the watermark, the container tags and any C2PA manifest.

    Never raises for a bad file: an unreadable one comes back with ``error`` set.
    """
    name = os.fspath(path)
    try:
        detection = detect_video(name, max_frames)
        metadata = _metadata(name)
    except GiocondaError as error:
        return Verification(name, error=str(error))
    return Verification(name, None, detection, metadata, read_credentials(name))


def describe(result: Verification) -> str:
    """A few lines for people, as ``gioconda verify`` prints them."""
    lines = [result.path]
    if result.error is not None:
        return "\n".join([*lines, f"  unreadable: {result.error}"])
    mark = result.watermark
    assert mark is not None
    if mark.found:
        odds = "below 1e-15" if mark.false_alarm < 1e-15 else f"{mark.false_alarm:.0e}"
        flipped = ", the video is mirrored" if mark.mirrored else ""
        lines.append(
            f"  watermark: FOUND (score {mark.score:.1f}, home {mark.home_score:.1f}, chance "
            f"without a mark {odds}; {mark.frames} frames{flipped})"
        )
    else:
        lines.append(
            f"  watermark: not found (score {mark.score:.1f}, home {mark.home_score:.1f}; "
            f"{mark.frames} frames)"
        )
    if mark.payload is not None:
        lines.append(
            f"  payload: format {mark.payload.version}, render id {mark.payload.render_id:05x}"
        )
    elif mark.found:
        lines.append("  payload: unreadable (the mark is there, its bits too damaged)")
    tags = ", ".join(f"{k}={v!r}" for k, v in sorted(result.metadata.items())) or "none"
    lines.append(f"  metadata: {tags}")
    c2pa = result.credentials
    if c2pa is None or not c2pa.checked:
        lines.append("  C2PA: not checked (pip install 'gioconda[credentials]')")
    elif not c2pa.present:
        lines.append("  C2PA: no manifest")
    else:
        lines.append(
            f"  C2PA: manifest by {c2pa.generator}, "
            f"{'AI-generated' if c2pa.ai_generated else 'no AI-generated claim'}, "
            f"signed by {c2pa.signer}, {c2pa.validation}"
        )
    return "\n".join(lines)
