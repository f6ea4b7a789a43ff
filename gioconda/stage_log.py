"""What each stage used, said on the ``gioconda`` logger at INFO: ``-v`` shows it on stderr
(``gioconda: render: 88 frames of 256x256 at 25 fps, ...``), nothing else does.

Kept here, not in the pipeline, so that the pipeline reads as its stages; every line is one
log record, in words, with the model, method and settings the stage ran with.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from gioconda.face.detect import MESH_INPUT_SIZE
from gioconda.face.portrait import Portrait
from gioconda.motion.frames import Motion
from gioconda.motion.tracking import SEARCH_EVERY_S, FaceTrack
from gioconda.output.video import encoding_for

_log = logging.getLogger("gioconda.stages")


def face(photo: np.ndarray, portrait: Portrait, face: int, full_frame: bool) -> None:
    """The face analysis: which face, of what photo, and the working crop."""
    _log.info(
        "face %d of the %dx%d photo (BlazeFace, MediaPipe Face Mesh, selfie segmentation), "
        "working crop %d px%s", face, photo.shape[1], photo.shape[0], portrait.size,
        ", pasted back full frame" if full_frame else "",
    )  # fmt: skip


def render(
    portrait: Portrait,
    motion: Motion,
    out_path: str | os.PathLike[str],
    full_frame: bool,
    preset: str,
    crf: int,
) -> None:
    """The render and the encoding: frames, size, rate, container, codecs and settings."""
    height, width = portrait.photo.shape[:2] if full_frame else (portrait.size, portrait.size)
    _log.info(
        "render: %d frames of %dx%d at %g fps, watermarked; %s", len(motion), width, height,
        motion.fps, encoding_for(out_path, preset, crf),
    )  # fmt: skip


def motion_file(motion: Motion, path: str | os.PathLike[str], motion_fps: float | None) -> None:
    """The motion file written beside the video, and its rate."""
    rate = motion.fps if motion_fps is None else motion_fps
    _log.info("motion file: %s at %g rows a second", os.fspath(path), rate)


def tracking(track: FaceTrack) -> None:
    """Reenactment's tracking of the driving video: the tracker's settings and what it found."""
    _log.info(
        "tracking: MediaPipe Face Mesh in tracking mode (478 landmarks with irises) on a %d px "
        "crop that follows the face, BlazeFace every %g s while it is lost; %d frames of "
        "%dx%d at %g fps, a face in %d; sound %s",
        MESH_INPUT_SIZE, SEARCH_EVERY_S, len(track), track.width, track.height, track.fps,
        int(track.found.sum()), "kept" if track.audio is not None else "none",
    )  # fmt: skip


def reenacted(motion: Motion, resampled: bool) -> None:
    """How reenactment turned the track into motion."""
    _log.info(
        "motion: head pose by a rigid fit on the skull's landmarks, blendshapes fitted with a "
        "rig of the driving face against its own neutral; %d frames at %g fps%s", len(motion),
        motion.fps, " (resampled by --fps)" if resampled else "",
    )  # fmt: skip
