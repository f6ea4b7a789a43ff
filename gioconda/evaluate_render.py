"""Renderer evaluation: fixed motions on several portraits, judged by MediaPipe re-detection.

``gioconda eval render`` renders a fixed set of single-frame motions on each portrait (working
crop 512 px), re-detects the face on every rendered frame with MediaPipe Face Mesh in static
image mode (:class:`gioconda.measure.FaceMeasurer` with ``video=False``: each frame on its own,
no tracking), and prints one table, one row per portrait.

The portraits (rows)
--------------------
``mona_lisa`` (the bundled painting), ``astronaut`` (scikit-image's photo of Eileen Collins) and
copies of the astronaut made in code: ``astronaut_grey`` (luma in all three channels),
``astronaut_small`` (scaled to half and pasted into a 1280 px grey canvas: a small face the
analysis must upsample to 512), ``astronaut_rot10`` (the photo rotated 10 degrees
counter-clockwise, borders reflected), ``astronaut_stylized`` (``cv2.stylization``, a painted
look), ``astronaut_glasses`` (dark-rimmed glasses drawn over the eyes BlazeFace finds),
``astronaut_dark`` (about three stops under), ``astronaut_bright`` (about a stop and a half
over, highlights clipped), ``astronaut_turned30`` (the photo as a flat card turned 30 degrees
in perspective: foreshortened, without a real turn's occlusion). Full runs add every photo in
a folder of portraits (``$GIOCONDA_PORTRAITS``, else ``../shared/data/portraits`` when it
exists), named ``folder/stem``. A portrait where :func:`gioconda.face.analyze_portrait`
fails is skipped with its one-line reason ("no face found in the photo ...").
``quick`` runs only the first two and fewer steps per sweep.

The metrics (columns)
---------------------
Every frame is rendered with all other controls at rest. A frame where MediaPipe finds no face
counts as missing (NaN) and the metric uses the frames that remain; the notes column counts the
misses. Pearson correlations are n/a when fewer than two frames remain or one side is constant.

* **rest PSNR** (dB): the rest frame against the working crop (``portrait.image``), over the
  whole frame, all channels; capped at 100 (identical). Target >= 40.
* **lip r**, **lip@0.6**: JawOpen swept over 0, 0.2, 0.4, 0.6 (quick: 0, 0.3, 0.6); Pearson
  correlation of the commanded JawOpen with the re-detected lip gap
  (:func:`gioconda.measure.lip_gap`: inner-lip opening over mouth width), and the re-detected gap
  at JawOpen 0.6.
* **eye r**, **shut/open**: EyeBlinkLeft = EyeBlinkRight swept over 0, 0.5, 1; correlation of the
  commanded openness (1 - blink) with the re-detected openness (mean of both eyes,
  :func:`gioconda.measure.eye_openness`), and the openness at blink 1 over that at blink 0
  (0 = fully shut, 1 = no change).
* **iris r**, **iris span**: gaze yaw swept over -15, 0, +15 degrees; the iris offset is the iris
  centre (468 right eye, 473 left) minus the midpoint of its eye's corners (33/133, 263/362), x
  component, in eye widths, averaged over both eyes. Correlation of commanded gaze yaw with it,
  and the span offset(+15) - offset(-15) in eye widths.
* **yaw r / yaw MAE**, **pitch r / pitch MAE**, **roll r / roll MAE**: yaw swept over -10, -5, 0,
  5, 10 degrees (quick: -10, 0, 10) with pitch and roll 0, likewise pitch; roll over -8, -4, 0, 4,
  8 (quick: -8, 0, 8). The pose is solved from the re-detected 3D mesh landmarks (0-467; x, y in
  pixels, z in MediaPipe's depth at the same scale) of the posed frame against those of the rest
  frame: the least-squares rotation between the centred point sets (Kabsch, :func:`solve_rotation`)
  is converted to yaw, pitch, roll in the motion's conventions (:func:`rotation_to_angles`: +yaw
  moves the nose to the image's right, +pitch down, +roll clockwise on screen). Per axis: Pearson
  correlation of commanded with solved angle over that axis' sweep, and mean absolute error in
  degrees. MediaPipe's depth is an estimate, so an MAE of a few degrees at 10 degrees commanded
  can be the measurement as much as the renderer; the correlation and sign are the robust part.
* **yaw k**, **pitch k**, **roll k**: least-squares slope through the origin of the solved
  angle against the commanded one (1 = the head turns as far as commanded).
* **body MAD**: mean absolute difference from the photo over the body and what lies around it,
  placed from the landmarks alone (:func:`body_mask`: below the ear lobes, outside the grown
  face oval, not the neck), in the same three frames as bg MAD; the worst. It catches a collar
  or shoulder dragged by the head, or its ghost left behind, which the segmentation-based bg
  MAD cannot see. Target < 1.
* **bg MAD**: mean absolute difference (grey levels, all channels) from the photo outside the
  person mask (``person_mask > 0.2``) dilated by 6 % of the crop, in the frames at yaw 10, pitch 8
  and roll 8; the worst of the three. Target < 1. n/a when less than 2 % of the crop is that far
  from the person.
* **seam**: the warped region is where any rendered frame of the run differs from the photo by
  more than 2 grey levels in any channel, closed and dilated by 1 % of the crop. Its boundary band
  is the region dilated by 2 % of the crop minus the region eroded by 2 %. Gradient energy is the
  mean absolute Laplacian of the grey image over the band; the column is the worst frame's energy
  over the photo's own in the same band (1.0 = as smooth as the photo, above ~1.2 suggests a
  visible seam or tearing, below ~0.8 blur).
* **contour**: tearing along the cheeks' contour, where the moving face meets what hangs beside
  it (hair, a collar), which the seam's wide band averages away. The band is the face oval's
  polyline (MediaPipe's FACE_OVAL landmarks of the photo) widened by 2 % of the crop either
  side, only its lateral part (landmarks more than 60 % of the half face width from the oval's
  centre, below the eye line) and cut into one segment per landmark (each band pixel goes to
  its nearest landmark). Per segment, the mean absolute Laplacian of the grey frame over the
  photo's own in the same segment; the column is the worst segment of the worst frame of the
  yaw and roll sweeps (rest frame excluded). A torn cheek (a sawtooth, a sliver of the still
  picture, a notch) raises one segment to ~1.4 or more; a clean turn stays near 1.0-1.15.

Outputs
-------
With ``out_dir``: ``render_eval.md`` (the table), ``render_eval.json`` (the table and every
measured value), and ``sheet_<portrait>.png`` per portrait: the rendered test frames with the
re-detected eye, lip and iris landmarks drawn in green, plus a panel of the photo with the
background-test region tinted blue, the body region green, the seam band red and the contour band
yellow.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from gioconda.blendshapes import BS
from gioconda.errors import GiocondaError
from gioconda.face import (
    FACE_OVAL,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    Portrait,
    analyze_portrait,
    load_photo,
    native_stderr_silenced,
)
from gioconda.measure import FaceMeasurement, FaceMeasurer
from gioconda.motion import Motion
from gioconda.render import Renderer

#: Reports progress: (stage name, units done, units in all).
Progress = Callable[[str, int, int], None]

SIZE = 512
PSNR_CAP = 100.0
BACKGROUND_REACH = 0.06
SEAM_THRESHOLD = 2
SEAM_GROW = 0.01
SEAM_BAND = 0.02
CONTOUR_BAND = 0.02
CONTOUR_LATERAL = 0.6
N_MESH = 468

FULL_STEPS = {
    "jaw": (0.0, 0.2, 0.4, 0.6),
    "blink": (0.0, 0.5, 1.0),
    "gaze": (-15.0, 0.0, 15.0),
    "yaw": (-10.0, -5.0, 0.0, 5.0, 10.0),
    "pitch": (-10.0, -5.0, 0.0, 5.0, 10.0),
    "roll": (-8.0, -4.0, 0.0, 4.0, 8.0),
}
QUICK_STEPS = {
    "jaw": (0.0, 0.3, 0.6),
    "blink": (0.0, 0.5, 1.0),
    "gaze": (-15.0, 0.0, 15.0),
    "yaw": (-10.0, 0.0, 10.0),
    "pitch": (-10.0, 0.0, 10.0),
    "roll": (-8.0, 0.0, 8.0),
}
BACKGROUND_POSES = ((10.0, 0.0, 0.0), (0.0, 8.0, 0.0), (0.0, 0.0, 8.0))

COLUMNS = (
    ("rest_psnr", "rest PSNR", "{:.1f}"),
    ("lip_r", "lip r", "{:.2f}"),
    ("lip_at_06", "lip@0.6", "{:.3f}"),
    ("eye_r", "eye r", "{:.2f}"),
    ("shut_open", "shut/open", "{:.2f}"),
    ("iris_r", "iris r", "{:.2f}"),
    ("iris_span", "iris span", "{:.3f}"),
    ("yaw_r", "yaw r", "{:.2f}"),
    ("yaw_mae", "yaw MAE", "{:.1f}"),
    ("yaw_slope", "yaw k", "{:.2f}"),
    ("pitch_r", "pitch r", "{:.2f}"),
    ("pitch_mae", "pitch MAE", "{:.1f}"),
    ("pitch_slope", "pitch k", "{:.2f}"),
    ("roll_r", "roll r", "{:.2f}"),
    ("roll_mae", "roll MAE", "{:.1f}"),
    ("roll_slope", "roll k", "{:.2f}"),
    ("background", "bg MAD", "{:.2f}"),
    ("body", "body MAD", "{:.2f}"),
    ("seam", "seam", "{:.2f}"),
    ("contour", "contour", "{:.2f}"),
)


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


# ------------------------------------------------------------------------------------------------
# Head pose from two landmark sets
# ------------------------------------------------------------------------------------------------


def angles_to_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Rotation matrix acting on (x right, y down, z away from the camera) column vectors.

    +yaw moves a point in front of the centre (the nose, z < 0) to +x, +pitch moves it to +y
    (down), +roll turns the image plane clockwise on screen. Applied yaw first, then pitch,
    then roll: ``R = Rroll @ Rpitch @ Ryaw``.
    """
    a, b, c = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(a), 0, -np.sin(a)], [0, 1, 0], [np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return rz @ rx @ ry


def rotation_to_angles(r: np.ndarray) -> np.ndarray:
    """Inverse of :func:`angles_to_rotation`: (yaw, pitch, roll) in degrees."""
    # R = Rz(roll) Rx(pitch) Ry(-yaw) in standard right-handed terms, whose third row is
    # (-cos p sin(-y), sin p, cos p cos(-y)) and second column (-sin r cos p, cos r cos p, sin p).
    pitch = np.arcsin(np.clip(r[2, 1], -1.0, 1.0))
    yaw = np.arctan2(r[2, 0], r[2, 2])
    roll = np.arctan2(-r[0, 1], r[1, 1])
    return np.degrees([yaw, pitch, roll])


def solve_rotation(rest: np.ndarray, posed: np.ndarray) -> np.ndarray:
    """Least-squares rotation R with ``posed - mean ~ s * R @ (rest - mean)`` (Kabsch).

    rest, posed: (N, 3) corresponding points. Returns (3, 3), a proper rotation.
    """
    p = rest - rest.mean(0)
    q = posed - posed.mean(0)
    u, _, vt = np.linalg.svd(p.T @ q)
    d = np.sign(np.linalg.det(vt.T @ u.T)) or 1.0
    return vt.T @ np.diag([1.0, 1.0, d]) @ u.T


def solve_pose(rest: np.ndarray, posed: np.ndarray) -> np.ndarray:
    """Head (yaw, pitch, roll) in degrees of ``posed`` landmarks relative to ``rest``."""
    return rotation_to_angles(solve_rotation(rest[:N_MESH], posed[:N_MESH]))


# ------------------------------------------------------------------------------------------------
# Portraits
# ------------------------------------------------------------------------------------------------


def _mona_lisa() -> np.ndarray:
    with resources.as_file(resources.files("gioconda") / "assets" / "mona_lisa.jpg") as path:
        return load_photo(path)


def _astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def _grey(photo: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def _small_in_canvas(photo: np.ndarray, scale: float = 0.5, canvas: int = 1280) -> np.ndarray:
    small = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    out = np.full((canvas, canvas, 3), 128, np.uint8)
    h, w = small.shape[:2]
    y0, x0 = (canvas - h) // 2, (canvas - w) // 2
    out[y0 : y0 + h, x0 : x0 + w] = small
    return out


def _rotated(photo: np.ndarray, degrees: float = 10.0) -> np.ndarray:
    h, w = photo.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(photo, m, (w, h), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT_101)  # fmt: skip


def _stylized(photo: np.ndarray) -> np.ndarray:
    bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    return cv2.cvtColor(cv2.stylization(bgr, sigma_s=60, sigma_r=0.45), cv2.COLOR_BGR2RGB)


def _dark(photo: np.ndarray) -> np.ndarray:
    """Underexposed: about three stops down, shadows crushed as a camera's curve does."""
    linear = (photo.astype(np.float32) / 255.0) ** 2.2 * 0.13
    return np.clip(255.0 * linear ** (1 / 2.2) + 0.5, 0, 255).astype(np.uint8)


def _bright(photo: np.ndarray) -> np.ndarray:
    """Overexposed: about a stop and a half up, highlights clipped to white."""
    linear = (photo.astype(np.float32) / 255.0) ** 2.2 * 2.8
    return np.clip(255.0 * np.clip(linear, 0, 1) ** (1 / 2.2) + 0.5, 0, 255).astype(np.uint8)


def _eye_points(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The subject's right and left eye centres (image left first), in pixels, by BlazeFace."""
    from mediapipe.python.solutions import face_detection

    h, w = photo.shape[:2]
    with native_stderr_silenced(), face_detection.FaceDetection(0, 0.5) as detector:
        found = detector.process(np.ascontiguousarray(photo)).detections
    if not found:
        raise GiocondaError("no face found to draw glasses on")
    keys = found[0].location_data.relative_keypoints
    return tuple(np.array([keys[i].x * w, keys[i].y * h]) for i in (0, 1))  # type: ignore[return-value]


def _with_glasses(photo: np.ndarray) -> np.ndarray:
    """Dark-rimmed glasses drawn over the eyes: rims, tinted lenses, bridge and temples."""
    right, left = _eye_points(photo)
    span = float(np.linalg.norm(left - right))
    angle = float(np.degrees(np.arctan2(*(left - right)[::-1])))
    axes = (round(0.36 * span), round(0.26 * span))
    thick = max(2, round(0.05 * span))
    out = photo.copy()
    lens = out.copy()
    for centre in (right, left):
        c = tuple(int(v) for v in np.round(centre + np.array([0.0, 0.04 * span])))
        cv2.ellipse(lens, c, axes, angle, 0, 360, (90, 100, 120), -1, cv2.LINE_AA)
    out = cv2.addWeighted(out, 0.8, lens, 0.2, 0)
    rim = (25, 22, 20)
    for centre in (right, left):
        c = tuple(int(v) for v in np.round(centre + np.array([0.0, 0.04 * span])))
        cv2.ellipse(out, c, axes, angle, 0, 360, rim, thick, cv2.LINE_AA)
    direction = (left - right) / span
    inner_r = right + direction * (axes[0] + 0.5 * thick)
    inner_l = left - direction * (axes[0] + 0.5 * thick)
    cv2.line(out, tuple(np.round(inner_r).astype(int)), tuple(np.round(inner_l).astype(int)), rim,
             thick, cv2.LINE_AA)  # fmt: skip
    for centre, sign in ((right, -1), (left, 1)):
        start = centre + sign * direction * axes[0]
        cv2.line(out, tuple(np.round(start).astype(int)),
                 tuple(np.round(start + sign * direction * 0.45 * span).astype(int)), rim, thick,
                 cv2.LINE_AA)  # fmt: skip
    return out


def _turned(photo: np.ndarray, degrees: float = 30.0) -> np.ndarray:
    """The photo as a flat card turned about its vertical axis (a perspective warp): the face
    shows foreshortened to one side, as a head turned about ``degrees`` would, without the
    occlusion a real turn has."""
    h, w = photo.shape[:2]
    f = 1.2 * max(h, w)
    a = np.radians(degrees)
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    centred = corners - [w / 2, h / 2]
    x = centred[:, 0] * np.cos(a)
    z = f + centred[:, 0] * np.sin(a)
    projected = np.stack([x * f / z + w / 2, centred[:, 1] * f / z + h / 2], 1)
    m = cv2.getPerspectiveTransform(corners.astype(np.float32), projected.astype(np.float32))
    return cv2.warpPerspective(photo, m, (w, h), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)  # fmt: skip


#: Where ``eval render`` looks for more portraits (JPEG/PNG files) when not told: the
#: environment variable GIOCONDA_PORTRAITS, then ``../shared/data/portraits`` from the
#: working directory. Missing is fine: the built-in portraits always run.
PORTRAITS_ENV = "GIOCONDA_PORTRAITS"
DEFAULT_PORTRAITS_DIR = Path("..") / "shared" / "data" / "portraits"


def portraits_in(folder: Path | None) -> list[tuple[str, Callable[[], np.ndarray]]]:
    """(name, loader) for each photo in ``folder``; none when it is None or missing."""
    if folder is None or not Path(folder).is_dir():
        return []
    files = sorted(
        p for p in Path(folder).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")
    )
    return [(f"{Path(folder).name}/{p.stem}", lambda p=p: load_photo(p)) for p in files]


def default_portraits_dir() -> Path | None:
    """The folder :func:`run_render_eval` reads extra portraits from (see PORTRAITS_ENV)."""
    named = os.environ.get(PORTRAITS_ENV)
    if named:
        return Path(named)
    return DEFAULT_PORTRAITS_DIR if DEFAULT_PORTRAITS_DIR.is_dir() else None


def test_photos(quick: bool = False) -> list[tuple[str, Callable[[], np.ndarray]]]:
    """(name, photo maker) per built-in portrait, in table order."""
    photos = [
        ("mona_lisa", _mona_lisa),
        ("astronaut", _astronaut),
        ("astronaut_grey", lambda: _grey(_astronaut())),
        ("astronaut_small", lambda: _small_in_canvas(_astronaut())),
        ("astronaut_rot10", lambda: _rotated(_astronaut())),
        ("astronaut_stylized", lambda: _stylized(_astronaut())),
        ("astronaut_glasses", lambda: _with_glasses(_astronaut())),
        ("astronaut_dark", lambda: _dark(_astronaut())),
        ("astronaut_bright", lambda: _bright(_astronaut())),
        ("astronaut_turned30", lambda: _turned(_astronaut())),
    ]
    return photos[:2] if quick else photos


test_photos.__test__ = False  # not a pytest test despite the name


# ------------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------------


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * math.log10(255.0**2 / mse))


def pearson(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def slope(commanded, measured) -> float:
    """Least-squares slope through the origin of measured against commanded (1 = exact)."""
    c, m = np.asarray(commanded, float), np.asarray(measured, float)
    ok = np.isfinite(c) & np.isfinite(m)
    c, m = c[ok], m[ok]
    denominator = float(np.sum(c * c))
    return float(np.sum(c * m) / denominator) if denominator > 0 else float("nan")


def iris_offset(landmarks: np.ndarray) -> float:
    """Mean x offset of both irises from their eye-corner midpoints, in eye widths."""
    out = []
    for iris, (a, b) in ((468, (33, 133)), (473, (263, 362))):
        mid = (landmarks[a, :2] + landmarks[b, :2]) / 2
        width = np.linalg.norm(landmarks[a, :2] - landmarks[b, :2])
        out.append((landmarks[iris, 0] - mid[0]) / width)
    return float(np.mean(out))


def _roughness(grey: np.ndarray, mask: np.ndarray) -> float:
    lap = np.abs(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F))
    return float(lap[mask].mean())


def _odd(x: float) -> int:
    return 2 * max(1, round(x)) + 1


def seam_band(photo: np.ndarray, frames: list[np.ndarray]) -> np.ndarray:
    """Boolean band along the boundary of the region any frame changed (see module docs)."""
    size = photo.shape[0]
    changed = np.zeros(photo.shape[:2], np.uint8)
    for f in frames:
        changed |= (np.abs(f.astype(np.int16) - photo).max(axis=2) > SEAM_THRESHOLD).astype(
            np.uint8
        )
    grow = np.ones((_odd(SEAM_GROW * size), _odd(SEAM_GROW * size)), np.uint8)
    region = cv2.dilate(cv2.morphologyEx(changed, cv2.MORPH_CLOSE, grow), grow)
    band_k = np.ones((_odd(SEAM_BAND * size), _odd(SEAM_BAND * size)), np.uint8)
    return (cv2.dilate(region, band_k) > 0) & ~(cv2.erode(region, band_k) > 0)


def contour_segments(portrait: Portrait) -> np.ndarray:
    """(S, S) int32: the lateral cheek contour's band cut into segments, one per face oval
    landmark (its index in FACE_OVAL); -1 off the band (see module docs)."""
    lm = portrait.landmarks[:, :2].astype(np.float64)
    size = portrait.size
    axes, centre, _, _ = _face_frame(lm)
    oval = lm[list(FACE_OVAL)]
    rel = (oval - centre) @ axes.T
    eye_line = float(
        (lm[list(RIGHT_EYE_UPPER + LEFT_EYE_UPPER + RIGHT_EYE_LOWER + LEFT_EYE_LOWER)].mean(0)
         - centre) @ axes[1]
    )  # fmt: skip
    lateral = (np.abs(rel[:, 0]) > CONTOUR_LATERAL * np.abs(rel[:, 0]).max()) & (
        rel[:, 1] > eye_line
    )
    points = np.round(oval).astype(np.int32)
    line = np.zeros((size, size), np.uint8)
    cv2.polylines(line, [points], True, 1, 1)
    reach = max(1, round(CONTOUR_BAND * size))
    band = cv2.dilate(line, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
    ys, xs = np.nonzero(band)
    nearest = (
        (xs[:, None] - points[None, :, 0]) ** 2 + (ys[:, None] - points[None, :, 1]) ** 2
    ).argmin(1)
    segments = np.full((size, size), -1, np.int32)
    segments[ys, xs] = np.where(lateral[nearest], nearest, -1)
    return segments


def contour_tear(photo: np.ndarray, frames: list[np.ndarray], segments: np.ndarray) -> float:
    """The worst segment's gradient energy over the photo's own, worst frame (module docs)."""
    ids = [i for i in np.unique(segments) if i >= 0]
    masks = [segments == i for i in ids]

    def energy(image: np.ndarray) -> np.ndarray:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        lap = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
        return np.array([lap[m].mean() for m in masks])

    base = np.maximum(energy(photo), 1e-3)
    return max(float((energy(f) / base).max()) for f in frames)


def background_mask(portrait: Portrait) -> np.ndarray:
    person = (portrait.person_mask > 0.2).astype(np.uint8)
    reach = _odd(BACKGROUND_REACH * portrait.size)
    return cv2.dilate(person, np.ones((reach, reach), np.uint8)) == 0


def _face_frame(lm: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    """The face's axes ((2, 2): x along the eye line, y down the face), the face oval's centre,
    and the oval's width and height along them, from (N, 2) landmarks in pixels."""
    eye_r = lm[list(RIGHT_EYE_UPPER + RIGHT_EYE_LOWER)].mean(0)
    eye_l = lm[list(LEFT_EYE_UPPER + LEFT_EYE_LOWER)].mean(0)
    ex = (eye_l - eye_r) / np.linalg.norm(eye_l - eye_r)
    axes = np.stack([ex, [-ex[1], ex[0]]])
    oval = lm[list(FACE_OVAL)]
    centre = oval.mean(0)
    face_width, face_height = np.ptp((oval - centre) @ axes.T, axis=0)
    return axes, centre, float(face_width), float(face_height)


def body_mask(portrait: Portrait) -> np.ndarray:
    """Where the body and what lies around it are: nothing there may move with the head.

    Drawn from the landmarks alone, whatever the segmentation found (it can miss part of a
    collar): in the face's frame, below the ear lobes' line by 15 % of the face's height,
    outside the face oval grown by 25 %, and not the neck (30 % of the face's width either
    side of the chin, down to 30 % of the face's height below it), which bends with the head.
    """
    lm = portrait.landmarks[:, :2].astype(np.float64)
    size = portrait.size
    axes, centre, face_width, face_height = _face_frame(lm)
    oval = lm[list(FACE_OVAL)]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    rel = (np.stack([xs, ys], -1) - centre) @ axes.T
    lobes = float(np.mean((lm[[132, 361]] - centre) @ axes[1]))
    chin = (lm[152] - centre) @ axes.T
    grown = np.zeros((size, size), np.uint8)
    cv2.fillPoly(grown, [np.round(centre + 1.25 * (oval - centre)).astype(np.int32)], 1)
    neck = (np.abs(rel[..., 0] - chin[0]) < 0.3 * face_width) & (
        rel[..., 1] < chin[1] + 0.3 * face_height
    )
    return (rel[..., 1] > lobes + 0.15 * face_height) & (grown == 0) & ~neck


# ------------------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------------------


@dataclass
class PortraitRow:
    """One portrait's scores (see the module docs); NaN where n/a."""

    portrait: str
    metrics: dict[str, float]
    notes: list[str] = field(default_factory=list)
    #: every measured value: sweep name -> {"commanded": [...], "measured": [...]}
    details: dict = field(default_factory=dict)


@dataclass
class RenderReport:
    rows: list[PortraitRow]
    skipped: list[tuple[str, str]]
    quick: bool
    wall_s: float


def _render(renderer: Renderer, rotation=(0.0, 0.0, 0.0), gaze=(0.0, 0.0), **shapes: float):
    motion = Motion.rest(1, 25.0)
    motion.head_rotation_deg[0] = rotation
    motion.gaze_deg[0] = gaze
    for name, value in shapes.items():
        motion.blendshapes[0, BS[name]] = value
    return renderer.render(motion.frame(0))


def _frame_jobs(steps: dict) -> list[tuple[str, float, dict]]:
    """(sweep, commanded value, render kwargs) for every frame of the run."""
    jobs: list[tuple[str, float, dict]] = [("rest", 0.0, {})]
    jobs += [("jaw", v, {"JawOpen": v}) for v in steps["jaw"]]
    jobs += [("blink", v, {"EyeBlinkLeft": v, "EyeBlinkRight": v}) for v in steps["blink"]]
    jobs += [("gaze", v, {"gaze": (v, 0.0)}) for v in steps["gaze"]]
    for axis, name in enumerate(("yaw", "pitch", "roll")):
        for v in steps[name]:
            rot = [0.0, 0.0, 0.0]
            rot[axis] = v
            jobs.append((name, v, {"rotation": tuple(rot)}))
    jobs += [("background", 0.0, {"rotation": r}) for r in BACKGROUND_POSES]
    return jobs


def evaluate_portrait(
    name: str, portrait: Portrait, measurer: FaceMeasurer, steps: dict
) -> tuple[PortraitRow, list[tuple[str, np.ndarray, FaceMeasurement | None]], np.ndarray]:
    """Render, measure and score one portrait. Also returns the frames for the sheet and the
    seam band."""
    renderer = Renderer(portrait)
    photo = portrait.image
    rendered = []
    for sweep, value, kwargs in _frame_jobs(steps):
        frame = _render(renderer, **kwargs)
        m = measurer.measure(frame) if sweep != "background" else None
        rendered.append((sweep, value, kwargs, frame, m))

    notes: list[str] = []
    metrics: dict[str, float] = {}
    details: dict = {}
    nan = float("nan")

    def sweep_of(s):
        return [(v, m) for sw, v, _, _, m in rendered if sw == s]

    misses = sum(1 for sw, _, _, _, m in rendered if m is not None and m.landmarks is None)
    if misses:
        notes.append(f"no face in {misses} frame(s)")

    rest_frame, rest_m = rendered[0][3], rendered[0][4]
    metrics["rest_psnr"] = psnr(rest_frame, photo)

    jaw = sweep_of("jaw")
    gaps = [m.lip_gap for _, m in jaw]
    metrics["lip_r"] = pearson([v for v, _ in jaw], gaps)
    metrics["lip_at_06"] = float(gaps[-1]) if jaw[-1][0] == 0.6 else nan
    details["jaw"] = {"commanded": [v for v, _ in jaw], "lip_gap": gaps}

    blink = sweep_of("blink")
    opens = [float(np.mean(m.eye_openness)) for _, m in blink]
    metrics["eye_r"] = pearson([1 - v for v, _ in blink], opens)
    metrics["shut_open"] = opens[-1] / opens[0] if opens[0] > 0 else nan
    details["blink"] = {"commanded": [v for v, _ in blink], "openness": opens}

    gaze = sweep_of("gaze")
    offs = [iris_offset(m.landmarks) if m.landmarks is not None else nan for _, m in gaze]
    metrics["iris_r"] = pearson([v for v, _ in gaze], offs)
    metrics["iris_span"] = offs[-1] - offs[0]
    details["gaze"] = {"commanded": [v for v, _ in gaze], "iris_offset": offs}

    for axis, key in enumerate(("yaw", "pitch", "roll")):
        sweep = sweep_of(key)
        solved = []
        for _, m in sweep:
            if rest_m.landmarks is None or m.landmarks is None:
                solved.append([nan, nan, nan])
            else:
                solved.append(solve_pose(rest_m.landmarks, m.landmarks).tolist())
        cmd = np.array([v for v, _ in sweep])
        got = np.array(solved)[:, axis]
        metrics[f"{key}_r"] = pearson(cmd, got)
        err = np.abs(got - cmd)
        metrics[f"{key}_mae"] = float(np.nanmean(err)) if np.isfinite(err).any() else nan
        metrics[f"{key}_slope"] = slope(cmd, got)
        details[key] = {"commanded": cmd.tolist(), "solved_ypr": solved}

    far = background_mask(portrait)
    if far.mean() < 0.02:
        metrics["background"] = nan
        notes.append("background test n/a: person fills the crop")
    else:
        diffs = [
            float(np.abs(f.astype(np.int16) - photo)[far].mean())
            for sw, _, _, f, _ in rendered
            if sw == "background"
        ]
        metrics["background"] = max(diffs)
        details["background"] = {"poses": [list(p) for p in BACKGROUND_POSES], "mad": diffs}

    body = body_mask(portrait)
    diffs = [
        float(np.abs(f.astype(np.int16) - photo)[body].mean())
        for sw, _, _, f, _ in rendered
        if sw == "background"
    ]
    metrics["body"] = max(diffs) if body.mean() > 0.01 else nan
    details["body"] = {"poses": [list(p) for p in BACKGROUND_POSES], "mad": diffs}

    frames = [f for sw, _, _, f, _ in rendered if sw != "rest"]
    band = seam_band(photo, frames)
    if band.sum() < 100:
        metrics["seam"] = nan
        notes.append("seam n/a: nothing moved")
    else:
        grey_photo = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
        base = _roughness(grey_photo, band)
        ratios = [_roughness(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), band) / base for f in frames]
        metrics["seam"] = max(ratios)
        details["seam_ratios"] = ratios

    turned = [f for sw, v, _, f, _ in rendered if sw in ("yaw", "roll") and v != 0]
    metrics["contour"] = contour_tear(photo, turned, contour_segments(portrait))

    for key, label, target_ok in (
        ("rest_psnr", "rest PSNR < 40", lambda x: x >= 40),
        ("background", "bg MAD >= 1", lambda x: x < 1),
        ("body", "body MAD >= 1", lambda x: x < 1),
    ):
        if np.isfinite(metrics[key]) and not target_ok(metrics[key]):
            notes.append(label)

    row = PortraitRow(name, {k: float(v) for k, v in metrics.items()}, notes, details)
    sheet = [
        (_sheet_label(sw, v, kw), f, m) for sw, v, kw, f, m in rendered if _on_sheet(sw, v, steps)
    ]
    return row, sheet, band


def _on_sheet(sweep: str, value: float, steps: dict) -> bool:
    if sweep == "rest":
        return True
    if sweep in ("jaw", "blink"):
        return value == steps[sweep][-1]
    if sweep in ("gaze", "yaw", "pitch", "roll"):
        return value in (steps[sweep][0], steps[sweep][-1])
    return False


def _sheet_label(sweep: str, value: float, kwargs: dict) -> str:
    return "rest" if sweep == "rest" else f"{sweep} {value:+g}"


_SHEET_POINTS = sorted(
    set(
        LIPS_INNER_UPPER
        + LIPS_INNER_LOWER
        + RIGHT_EYE_UPPER
        + RIGHT_EYE_LOWER
        + LEFT_EYE_UPPER
        + LEFT_EYE_LOWER
        + (468, 473)
    )
)


def contact_sheet(
    name: str,
    portrait: Portrait,
    sheet: list[tuple[str, np.ndarray, FaceMeasurement | None]],
    band: np.ndarray,
    tile: int = 256,
    columns: int = 4,
) -> np.ndarray:
    """RGB image: labelled tiles of the test frames and a mask panel (see module docs)."""
    scale = tile / portrait.size
    tiles = []
    for label, frame, m in sheet:
        t = cv2.resize(frame, (tile, tile), interpolation=cv2.INTER_AREA)
        if m is not None and m.landmarks is not None:
            for x, y in m.landmarks[_SHEET_POINTS, :2] * scale:
                cv2.circle(t, (round(x), round(y)), 1, (0, 255, 0), -1)
        else:
            label += " NO FACE"
        tiles.append((label, t))
    panel = portrait.image.astype(np.float32).copy()
    far = background_mask(portrait)
    panel[far] = 0.6 * panel[far] + 0.4 * np.array([0, 0, 255])
    body = body_mask(portrait)
    panel[body] = 0.6 * panel[body] + 0.4 * np.array([0, 255, 0])
    panel[band] = 0.5 * panel[band] + 0.5 * np.array([255, 0, 0])
    contour = contour_segments(portrait) >= 0
    panel[contour] = 0.5 * panel[contour] + 0.5 * np.array([255, 255, 0])
    small = cv2.resize(panel.astype(np.uint8), (tile, tile), interpolation=cv2.INTER_AREA)
    tiles.append(("bg blue, body green, seam red, contour yellow", small))
    rows = math.ceil(len(tiles) / columns)
    out = np.full((rows * tile, columns * tile, 3), 255, np.uint8)
    for i, (label, t) in enumerate(tiles):
        y, x = (i // columns) * tile, (i % columns) * tile
        out[y : y + tile, x : x + tile] = t
        for colour, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
            cv2.putText(out, label, (x + 6, y + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, colour, width,
                        cv2.LINE_AA)  # fmt: skip
    cv2.putText(out, name, (6, out.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 0), 2,
                cv2.LINE_AA)  # fmt: skip
    return out


def run_render_eval(
    out_dir: Path | None,
    quick: bool = False,
    progress: Progress | None = None,
    portraits_dir: Path | str | None = "auto",
) -> RenderReport:
    """Run the renderer evaluation (module docs); write the report into ``out_dir`` if given.

    ``portraits_dir``: a folder of more photos to add as rows (full runs only); "auto" uses
    :func:`default_portraits_dir`, None adds none.
    """
    progress = progress or _no_progress
    start = time.perf_counter()
    steps = QUICK_STEPS if quick else FULL_STEPS
    photos = test_photos(quick)
    if not quick:
        folder = default_portraits_dir() if portraits_dir == "auto" else portraits_dir
        photos += portraits_in(Path(folder) if folder is not None else None)
    rows: list[PortraitRow] = []
    skipped: list[tuple[str, str]] = []
    sheets: dict[str, np.ndarray] = {}
    with FaceMeasurer(video=False) as measurer:
        for i, (name, make) in enumerate(photos):
            progress("render eval", i, len(photos))
            try:
                portrait = analyze_portrait(make(), size=SIZE)
            except GiocondaError as error:
                skipped.append((name, str(error)))
                continue
            row, sheet, band = evaluate_portrait(name, portrait, measurer, steps)
            rows.append(row)
            if out_dir is not None:
                sheets[name] = contact_sheet(name, portrait, sheet, band)
    progress("render eval", len(photos), len(photos))
    report = RenderReport(rows, skipped, quick, time.perf_counter() - start)
    if out_dir is not None:
        write_report(report, Path(out_dir), sheets)
    return report


def write_report(report: RenderReport, out_dir: Path, sheets: dict[str, np.ndarray]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "render_eval.md").write_text(format_table(report) + "\n")

    def clean(x):
        if isinstance(x, float):
            return x if math.isfinite(x) else None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    (out_dir / "render_eval.json").write_text(json.dumps(clean(asdict(report)), indent=1))
    for name, image in sheets.items():
        path = out_dir / f"sheet_{name.replace('/', '_')}.png"
        cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def format_table(report: RenderReport) -> str:
    """Markdown table, one row per portrait, then skipped portraits and the wall time."""
    head = ["portrait"] + [label for _, label, _ in COLUMNS] + ["notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in report.rows:
        cells = [row.portrait]
        for key, _, fmt in COLUMNS:
            v = row.metrics.get(key, float("nan"))
            cells.append(fmt.format(v) if math.isfinite(v) else "n/a")
        cells.append("; ".join(row.notes))
        lines.append("| " + " | ".join(cells) + " |")
    for name, why in report.skipped:
        lines.append(f"\nskipped {name}: {why}")
    mode = "quick" if report.quick else "full"
    lines.append(f"\n{mode} run, {report.wall_s:.1f} s")
    return "\n".join(lines)
