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
in perspective: foreshortened, without a real turn's occlusion), ``astronaut_beard`` (a full
dark beard and moustache painted over the jaw, chin and upper lip from the photo's Face Mesh
landmarks, the lips bare), ``astronaut_hair_over_face`` (a lock of her own hair's colours
falling from the hairline over the forehead, the outer half of one eye and the cheek),
``astronaut_drawing`` (``cv2.pencilSketch``: a grey pencil drawing). Full runs add every photo in
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

from gioconda.errors import GiocondaError
from gioconda.face import (
    FACE_OVAL,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    Portrait,
    analyze_portrait,
    load_photo,
    native_stderr_silenced,
)
from gioconda.measure import FaceMeasurement, FaceMeasurer, pearson
from gioconda.motion import MotionFrame
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


def _drawing(photo: np.ndarray) -> np.ndarray:
    """A pencil sketch of the photo (``cv2.pencilSketch``, its grey output): outlines and
    hatching on white paper, no colour and little shading."""
    bgr = cv2.cvtColor(photo, cv2.COLOR_RGB2BGR)
    grey, _ = cv2.pencilSketch(bgr, sigma_s=60, sigma_r=0.07, shade_factor=0.09)
    return np.repeat(grey[..., None], 3, axis=2)


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


def _photo_landmarks(photo: np.ndarray) -> np.ndarray:
    """(478, 2) Face Mesh landmarks of the photo in photo pixels (by analyze_portrait)."""
    portrait = analyze_portrait(photo, size=SIZE)
    crop = portrait.crop
    scale = crop.side / portrait.size
    return np.array([crop.x0, crop.y0]) + portrait.landmarks[:, :2].astype(np.float64) * scale


class _HairLayer:
    """Hair painted over the face's box of a photo: a soft undercoat (a blurred polygon, so its
    edge fades as hair thins out) and strands drawn at ``k`` times the photo's resolution, so a
    face 90 px wide still gets hairs thinner than a pixel, averaged down when laid over."""

    def __init__(self, photo: np.ndarray, lm: np.ndarray, undercoat: tuple) -> None:
        _, _, face_width, _ = _face_frame(lm)
        h, w = photo.shape[:2]
        lo = np.floor(lm.min(0) - 0.6 * face_width).astype(int)
        hi = np.ceil(lm.max(0) + 0.6 * face_width).astype(int)
        self.x0, self.y0 = max(0, lo[0]), max(0, lo[1])
        self.x1, self.y1 = min(w, hi[0]), min(h, hi[1])
        self.k = int(np.clip(round(400 / face_width), 1, 6))
        box = (self.y1 - self.y0, self.x1 - self.x0)
        self.under = np.zeros(box, np.float32)
        self.undercoat = np.array(undercoat, np.float32)
        # Strand colours start as the undercoat's, so anti-aliased strand edges blend into it.
        self.colour = np.zeros((box[0] * self.k, box[1] * self.k, 3), np.uint8)
        self.colour[:] = np.array(undercoat, np.uint8)
        self.cover = np.zeros(self.colour.shape[:2], np.uint8)

    def _at(self, points: np.ndarray, k: int) -> list[np.ndarray]:
        """Photo pixels -> int32 points at ``k`` times the box's resolution, 4 fraction bits."""
        p = (np.asarray(points, np.float64) - [self.x0, self.y0] + 0.5) * k - 0.5
        return [np.round(p * 16).astype(np.int32)]

    def soft_mask(self, polygon: np.ndarray, soft: float) -> np.ndarray:
        """(h, w) float32 over the box: 1 inside ``polygon`` (photo pixels), edge blurred by
        ``soft`` pixels."""
        mask = np.zeros_like(self.under)
        cv2.fillPoly(mask, self._at(polygon, 1), 1.0, cv2.LINE_AA, 4)
        return cv2.GaussianBlur(mask, (0, 0), soft)

    def fill(self, polygon: np.ndarray, soft: float, opacity: float) -> None:
        """Undercoat over ``polygon`` (photo pixels), edge blurred by ``soft`` pixels."""
        self.under = np.maximum(self.under, opacity * self.soft_mask(polygon, soft))

    def cut(self, polygon: np.ndarray, soft: float) -> None:
        """No undercoat over ``polygon`` (such as the lips)."""
        self.under *= 1 - self.soft_mask(polygon, soft)

    def strand(self, points: np.ndarray, colour, width: float) -> None:
        """One hair along the polyline ``points`` (photo pixels), ``width`` in photo pixels."""
        thick = max(1, round(width * self.k))
        cv2.polylines(self.colour, self._at(points, self.k), False, colour, thick, cv2.LINE_AA, 4)
        cv2.polylines(self.cover, self._at(points, self.k), False, 255, thick, cv2.LINE_AA, 4)

    def over(
        self, photo: np.ndarray, keep: np.ndarray | None = None, shading: float = 0.0
    ) -> np.ndarray:
        """The photo with the undercoat, then the strands, laid over it.

        keep: (h, w) float in [0, 1] over the box, where strands fade out too (the lips).
        shading: how much of the photo's own light the hair takes (0 none, 1 all): the painted
        colours are scaled by the photo's blurred luma over its mean under the undercoat, so a
        beard is darker on the face's shadowed side as the skin was.
        """
        size = (self.x1 - self.x0, self.y1 - self.y0)
        cover = self.cover.astype(np.float32) / 255
        colour = cv2.resize(self.colour.astype(np.float32) * cover[..., None], size,
                            interpolation=cv2.INTER_AREA)  # fmt: skip
        cover = cv2.resize(cover, size, interpolation=cv2.INTER_AREA)
        colour /= np.maximum(cover, 1e-4)[..., None]
        if keep is not None:
            cover *= 1 - keep
        out = photo.astype(np.float32)
        box = out[self.y0 : self.y1, self.x0 : self.x1]
        light = np.ones(box.shape[:2], np.float32)
        if shading > 0 and self.under.sum() > 0:
            grey = cv2.cvtColor(photo[self.y0 : self.y1, self.x0 : self.x1], cv2.COLOR_RGB2GRAY)
            luma = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 0.02 * max(size)) + 1
            mean = float((luma * self.under).sum() / self.under.sum())
            light = np.clip(luma / mean, 0.5, 1.6) ** shading
        under = self.under[..., None]
        box[:] = box * (1 - under) + self.undercoat * light[..., None] * under
        box[:] = box * (1 - cover[..., None]) + colour * light[..., None] * cover[..., None]
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _bezier(p: np.ndarray, n: int = 24) -> np.ndarray:
    """(n, 2) points along the cubic Bezier curve with control points p (4, 2)."""
    t = np.linspace(0, 1, n)[:, None]
    return ((1 - t) ** 3 * p[0] + 3 * (1 - t) ** 2 * t * p[1] + 3 * (1 - t) * t**2 * p[2]
            + t**3 * p[3])  # fmt: skip


def _through(p: np.ndarray, n: int) -> np.ndarray:
    """(n, 2) points along a smooth curve through the points p (K, 2) (Catmull-Rom)."""
    p = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    t = np.linspace(0, len(p) - 3, n)
    i = np.minimum(t.astype(int), len(p) - 4)
    f = (t - i)[:, None]
    a, b, c, d = p[i], p[i + 1], p[i + 2], p[i + 3]
    return 0.5 * (2 * b + (c - a) * f + (2 * a - 5 * b + 4 * c - d) * f**2
                  + (3 * b - a - 3 * c + d) * f**3)  # fmt: skip


def _with_beard(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """A full dark beard and moustache over the jaw, chin and upper lip, placed from the Face
    Mesh landmarks of the photo: a soft undercoat and many short hairs that fall down the
    jaw, converge at the chin and sweep outward from the philtrum, the lips left bare."""
    rng = np.random.default_rng(seed)
    lm = _photo_landmarks(photo)
    axes, centre, face_width, face_height = _face_frame(lm)
    across, down = axes
    mouth_v = float((lm[[61, 291]].mean(0) - centre) @ down)
    chin_v = float((lm[152] - centre) @ down)
    # The beard's outline: the jaw from ear to ear, fuller below the mouth (a beard has
    # volume), then the cheek lines from the sideburns down to the mouth's corners, and the
    # moustache's top just under the nose.
    jaw = lm[list(FACE_OVAL[8:29])]
    depth = np.clip(((jaw - centre) @ down - mouth_v) / (chin_v - mouth_v), 0, 1)[:, None]
    jaw = jaw + 0.05 * (jaw - centre) + down * 0.1 * face_height * depth**1.5
    nose = lm[[98, 2, 327]] + down * 0.02 * face_height

    def cheek_line(ear: int, corner: int, ala: int) -> np.ndarray:
        # Between the mouth's corner and the nostril, a little outward.
        outward = (lm[corner] - centre) @ across * across
        tip = lm[corner] + 0.55 * (lm[ala] - lm[corner]) + 0.15 * outward
        bend = 0.5 * (lm[ear] + tip) + down * 0.08 * face_height
        return _bezier(np.array([lm[ear], bend, bend, tip]), 12)

    outline = np.concatenate([jaw, cheek_line(234, 61, 98), nose, cheek_line(454, 291, 327)[::-1]])
    lips = lm[list(LIPS_OUTER_UPPER + LIPS_OUTER_LOWER[::-1])]
    undercoat = (42, 32, 26)
    layer = _HairLayer(photo, lm, undercoat)
    soft = 0.02 * face_width
    layer.fill(outline, soft, 0.9)
    layer.cut(lips, 0.4 * soft)

    # Hairs: start points spread over the outline's box, kept where the undercoat lies.
    lo, hi = outline.min(0), outline.max(0)
    n = int(30 * np.prod(hi - lo) / face_width)
    starts = lo + rng.random((n, 2)) * (hi - lo)
    local = np.round(starts - [layer.x0, layer.y0]).astype(int)
    local = np.clip(local, 0, np.array(layer.under.shape[::-1]) - 1)
    inside = rng.random(n) < layer.under[local[:, 1], local[:, 0]] * 1.05
    starts = starts[inside]
    rel = (starts - centre) @ axes.T
    u = rel[:, 0] / (0.5 * face_width)
    upper_lip = rel[:, 1] < mouth_v - 0.02 * face_height
    # Down and toward the chin along the jaw; outward and down on the moustache.
    direction = np.where(
        upper_lip[:, None],
        np.stack([np.sign(u) * 0.8, np.full_like(u, 0.6)], 1),
        np.stack([-0.35 * u, np.ones_like(u)], 1),
    )
    angle = np.arctan2(direction[:, 1], direction[:, 0]) + rng.normal(0, 0.25, len(u))
    length = face_width * rng.uniform(0.035, 0.08, len(u)) * np.where(upper_lip, 0.7, 1.0)
    curl = rng.normal(0, 0.3, len(u))
    tone = rng.uniform(0.45, 1.5, len(u))
    light = rng.random(len(u)) < 0.08
    for s, a, reach, c, t, lit in zip(starts, angle, length, curl, tone, light, strict=True):
        # Two segments, the second turned by the hair's curl: a hair bends a little.
        d0 = np.array([np.cos(a), np.sin(a)]) @ axes
        d1 = np.array([np.cos(a + c), np.sin(a + c)]) @ axes
        points = np.array([s, s + 0.5 * reach * d0, s + 0.5 * reach * (d0 + d1)])
        colour = (110, 86, 66) if lit else tuple(float(v) * t for v in undercoat)
        layer.strand(points, colour, 0.25)
    return layer.over(photo, keep=layer.soft_mask(lips, 0.4 * soft), shading=0.8)


def _with_hair_over_face(photo: np.ndarray, seed: int = 0) -> np.ndarray:
    """A long lock of the photo's own hair colour falling from the hairline over the forehead,
    the outer half of the subject's right eye (image left) and the cheek, down past the jaw:
    a few hundred strands along curves that fan out from the parting."""
    rng = np.random.default_rng(seed)
    lm = _photo_landmarks(photo)
    axes, _, face_width, face_height = _face_frame(lm)
    across, down = axes
    # The hair's colours: a patch of hair above the forehead; each strand takes one of them.
    top = lm[10] - down * 0.3 * face_height
    r = max(2, round(0.1 * face_width))
    x, y = np.round(top).astype(int)
    h, w = photo.shape[:2]
    patch = photo[max(0, y - r) : min(h, y + r), max(0, x - r) : min(w, x + r)].reshape(-1, 3)
    patch = patch.astype(np.float64) if len(patch) else np.array([[70.0, 50.0, 35.0]])
    eye = lm[468]
    # The lock at five heights, each as (inner edge, outer edge): in the hair above the
    # forehead, on the brow, across the eye (from just outside the iris' centre past the
    # temple), on the cheek, and its tip below the jaw.
    rows = np.array([
        [lm[10] - down * 0.25 * face_height, lm[103] - down * 0.25 * face_height],
        [lm[107] + down * 0.02 * face_height, lm[54] - across * 0.1 * face_width],
        [eye - across * 0.03 * face_width, lm[234] - across * 0.1 * face_width],
        [lm[205] + down * 0.12 * face_height - across * 0.05 * face_width,
         lm[132] - across * 0.1 * face_width],
        [lm[205] + down * 0.45 * face_height - across * 0.12 * face_width,
         lm[132] + down * 0.4 * face_height - across * 0.2 * face_width],
    ])  # fmt: skip
    # The undercoat is the hair's shade between strands: darker than the strands.
    layer = _HairLayer(photo, lm, tuple(0.55 * np.median(patch, axis=0)))
    envelope = [_through(rows[:, side], 40)[8:] for side in (0, 1)]
    layer.fill(np.concatenate([envelope[0], envelope[1][::-1]]), 0.015 * face_width, 0.85)
    # Hair falls in clumps: strands of a clump share its wander and its light.
    n_clumps = 14
    # A clump drifts one way, more toward its tips (a smooth drift: no kinks).
    drift = np.linspace(0, 1, len(rows))[None, :, None] ** 1.5
    clump_shift = rng.normal(0, 0.04 * face_width, (n_clumps, 1, 2)) * drift
    clump_light = rng.uniform(0.75, 1.2, n_clumps)
    for s in rng.random(1600):
        clump = min(int(s * n_clumps), n_clumps - 1)
        controls = rows[:, 0] + s * (rows[:, 1] - rows[:, 0]) + clump_shift[clump]
        controls = controls + rng.normal(0, 0.008 * face_width, controls.shape)
        points = _through(controls, 40)
        # Ragged roots (it grows out of the hair above) and ragged tips.
        points = points[rng.integers(0, 10) : max(14, round(len(points) * rng.uniform(0.7, 1)))]
        light = clump_light[clump] * rng.uniform(0.85, 1.15)
        tone = np.clip(light * patch[rng.integers(len(patch))], 0, 255)
        layer.strand(points, tuple(tone.tolist()), rng.uniform(0.2, 0.45))
    return layer.over(photo)


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
        ("astronaut_beard", lambda: _with_beard(_astronaut())),
        ("astronaut_hair_over_face", lambda: _with_hair_over_face(_astronaut())),
        ("astronaut_drawing", lambda: _drawing(_astronaut())),
    ]
    return photos[:2] if quick else photos


test_photos.__test__ = False  # not a pytest test despite the name


# ------------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------------


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * math.log10(255.0**2 / mse))


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
    return renderer.render(MotionFrame.still(rotation, gaze, **shapes))


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
