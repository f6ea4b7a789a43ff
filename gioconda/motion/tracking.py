"""Tracking the face in a driving video, frame by frame, with Face Mesh (the crop follows the
face and re-detects it when lost).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import av
import numpy as np

from gioconda.errors import GiocondaError
from gioconda.face.crop import CropBox
from gioconda.face.detect import MESH_INPUT_SIZE
from gioconda.face.native_logs import native_stderr_silenced
from gioconda.progress import Progress, no_progress
from gioconda.speech.audio import DEFAULT_MAX_AUDIO_S, Audio, load_audio
from gioconda.timeline import frame_times

#: While the face is lost, search the whole frame at most this often (seconds): the search
#: tiles big frames and costs more than tracking.
SEARCH_EVERY_S = 0.2


@dataclass(frozen=True)
class FaceTrack:
    """The driving face, frame by frame.

    Attributes
    ----------
    landmarks: (T, 478, 3) float64, Face Mesh landmarks in video pixels (z at the same scale,
        smaller is nearer); NaN in frames where no face was found
    times_s: (T,) float64, each frame's presentation time from the first frame, seconds
    fps: the video's average frame rate
    audio: the video's soundtrack, or None
    width, height: video frame size in pixels
    """

    landmarks: np.ndarray
    times_s: np.ndarray
    fps: float
    audio: Audio | None
    width: int
    height: int

    @property
    def found(self) -> np.ndarray:
        """(T,) bool, frames with a face."""
        return np.isfinite(self.landmarks[:, 0, 0])

    def __len__(self) -> int:
        return len(self.landmarks)


def track_video_face(
    path: str | os.PathLike[str],
    max_seconds: float | None = DEFAULT_MAX_AUDIO_S,
    progress: Progress = no_progress,
) -> FaceTrack:
    """Decode a video (PyAV) and follow its largest face with Face Mesh, frame by frame.

    Raises
    ------
    GiocondaError: the file is missing, is not a video, is longer than ``max_seconds``, or
        shows no face in any frame.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise GiocondaError(f"driving video not found: {path}")
    landmarks: list[np.ndarray | None] = []
    times: list[float] = []
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise GiocondaError(f"no video stream in {path}")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            fps = float(rate) if rate else 0.0
            if not (np.isfinite(fps) and fps > 0):
                raise GiocondaError(f"cannot tell the frame rate of {path}")
            duration = _video_duration_s(container, stream)
            if max_seconds is not None and duration is not None and duration > max_seconds:
                raise GiocondaError(f"driving video is longer than {max_seconds:g} s: {path}")
            total = max(1, round(duration * fps)) if duration else 0
            with _VideoFaceTracker(fps) as tracker:
                for frame in container.decode(stream):
                    rgb = frame.to_ndarray(format="rgb24")
                    width, height = rgb.shape[1], rgb.shape[0]
                    landmarks.append(tracker(rgb))
                    times.append(float(frame.time) if frame.time is not None else math.nan)
                    if max_seconds is not None and len(times) > max_seconds * fps + 1:
                        raise GiocondaError(
                            f"driving video is longer than {max_seconds:g} s: {path}"
                        )
                    progress("track", len(times), max(total, len(times)))
    except GiocondaError:
        raise
    except (av.error.FFmpegError, ValueError, OSError) as error:
        raise GiocondaError(f"cannot read video from {path}: {error}") from None
    if len(landmarks) < 2:
        raise GiocondaError(f"not a video (one frame or none): {path}")
    if all(lm is None for lm in landmarks):
        raise GiocondaError(f"no face found in the driving video: {path}")
    stacked = np.full((len(landmarks), 478, 3), np.nan)
    for i, lm in enumerate(landmarks):
        if lm is not None:
            stacked[i] = lm
    return FaceTrack(
        stacked, _frame_times(np.array(times), fps), fps, _soundtrack(path, max_seconds),
        width, height,
    )  # fmt: skip


def _video_duration_s(container: av.container.InputContainer, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _frame_times(times: np.ndarray, fps: float) -> np.ndarray:
    """Presentation times from the first frame; the nominal ``i / fps`` where unknown or
    not increasing."""
    nominal = frame_times(len(times), fps)
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        return nominal
    return times - times[0]


def _soundtrack(path: str, max_seconds: float | None) -> Audio | None:
    from gioconda.pipeline import OUTPUT_SAMPLE_RATE

    with av.open(path) as container:
        if not container.streams.audio:
            return None
    try:
        return load_audio(path, OUTPUT_SAMPLE_RATE, max_seconds)
    except GiocondaError as error:
        if "empty" in str(error):
            return None  # an empty audio track: the video is silent
        raise


class _VideoFaceTracker:
    """Face Mesh on a square crop that follows the face; BlazeFace when it is lost.

    Face Mesh sees its input at 192 px: on the whole of a big frame a face is a few pixels.
    A crop framed as :mod:`gioconda.face` frames the portrait, resampled to
    :data:`~gioconda.face.MESH_INPUT_SIZE`, keeps the face at the size Face Mesh is best at
    wherever it is in the frame. Face Mesh runs in tracking mode (landmarks of the last frame
    seed the next), and the crop moves only when the face has drifted, so the tracker's
    prior stays valid.
    """

    def __init__(self, fps: float) -> None:
        self._mesh = None  # made on first use, see __call__
        self._crop: CropBox | None = None
        self._search_every = max(1, round(SEARCH_EVERY_S * fps))
        self._since_search = self._search_every

    def __enter__(self) -> _VideoFaceTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._mesh is not None:
            self._mesh.close()

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        # Imported here: private framing helpers of face analysis, shared rather than copied.
        from gioconda.face.crop import crop_box, square_around
        from gioconda.face.detect import detect_face_boxes, mesh_in_crop

        with native_stderr_silenced():
            if self._mesh is None:
                # Made here, inside the same silenced block as its first frame: MediaPipe
                # starts its graph threads in the constructor and they log a moment later.
                from mediapipe.python.solutions import face_mesh

                self._mesh = face_mesh.FaceMesh(
                    static_image_mode=False, max_num_faces=1, refine_landmarks=True,
                    min_detection_confidence=0.3, min_tracking_confidence=0.3,
                )  # fmt: skip
            if self._crop is None:
                self._since_search += 1
                if self._since_search < self._search_every:
                    return None
                self._since_search = 0
                boxes = detect_face_boxes(frame)
                if not boxes:
                    return None
                first = mesh_in_crop(
                    self._mesh, frame, square_around(boxes[0], 2.2), MESH_INPUT_SIZE
                )
                if first is None:
                    return None
                self._crop = crop_box(first)
                # Once more on the new crop, so that this frame is read as the next ones will
                # be: from the landmarks of a frame framed the same way (a fresh detection
                # reads the same face a degree or two differently from tracking).
                mesh_in_crop(self._mesh, frame, self._crop, MESH_INPUT_SIZE)
            landmarks = mesh_in_crop(self._mesh, frame, self._crop, MESH_INPUT_SIZE)
        if landmarks is None:
            self._crop = None
            self._since_search = self._search_every  # search again on the next frame
            return None
        framed = crop_box(landmarks)
        shift = math.hypot(framed.x0 - self._crop.x0, framed.y0 - self._crop.y0)
        if shift > 0.08 * self._crop.side or abs(framed.side / self._crop.side - 1) > 0.12:
            self._crop = framed
        return landmarks
