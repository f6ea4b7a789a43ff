"""Close-up measures for ``gioconda eval render``: lids, the open mouth and its shading, the
chosen expression and what a smaller head uncovers, each read back from the rendered pixels by
tools we did not write (MediaPipe Face Mesh and Selfie Segmentation re-detecting the frame,
OpenCV's colour conversion and derivatives).

Columns (see :data:`CLOSEUP_COLUMNS`):

* **lid dE**: CIE76 colour distance (Lab, L in 0-100) between the shut lid (full blink: the
  upper half of the eye's opening at rest, above where the lash line comes down) and the
  photo's own upper-lid skin (a band from 0.12 to 0.35 eye widths above the open lid's edge);
  mean of both eyes. Lower is nearer the lid's own colour.
* **lid tex**: the shut lid's grain against that skin's: mean absolute Laplacian of L over the
  shut lid over the same over the lid band (1 = the same grain, near 0 = a flat smudge).
* **o/i W:H**: the re-detected mouth's width over its inner height (corners 61-291 over
  13-14) on a rounded vowel (/o/: JawOpen 0.45, MouthFunnel 0.6, MouthPucker 0.4) over the
  same on a spread one (/i/: JawOpen 0.3, MouthStretch 0.5): below 1 the /o/ is the rounder.
* **sad corners**, **happy corners**: the re-detected mouth corners' height above the inner
  lips' middle (in mouth widths, along the eyes' perpendicular), in the frame with the
  emotion's preset at full strength replacing the photo's own expression, minus the same in
  the rest frame: sad must lower them, on a smiling photo too.
* **talk corners**: the same at JawOpen 0.5 alone (an open vowel), all else at rest: as the
  jaw drops the lips' middle goes down, and corners that stay up part the lips in a crescent
  grin; near 0 or below, the corners came down with the jaw.
* **cavity in:out**: at JawOpen 0.75 (a wide open vowel), inside the re-detected inner lip
  contour (the Face Mesh's, 78-308 round the inner lips), the mean lightness (Lab L) of the
  opening's core (its pixels at least 0.7 of the largest distance from the contour) over that
  of a ring just inside the lips (0.1 to 0.35 of it), both leaving out teeth (pixels lighter than
  0.75 of the upper teeth: the 90th percentile of L in the top 0.3 of the opening's middle half);
  below 1 the mouth darkens toward the throat as a real one does, light coming in between the
  lips; near 1 it is one flat tone. n/a when the opening shows too little.
* **cavity grain**: in the same frame and opening (teeth left out, and 2 pixels in from its
  edge), the median of the absolute Laplacian of lightness (Lab L; averaged over 3 x 3
  pixels) over the same in the photo's skin round the mouth (0.05 to 0.3 mouth widths outside
  the photo's outer lips): 1 = as grainy as the skin beside it (its noise, film grain or
  craquelure), near 0 = painted smooth, a sticker on a grainy photo. The median, so that a
  beard or stubble round the mouth does not count as grain. n/a as cavity in:out.
* **halo HF**, **halo streak**: at head distance 0.8, the background a smaller person
  uncovers (person in the photo, not in the frame, by Selfie Segmentation run on both) against
  the background beside it (not person in either, within 4 % of the frame of the uncovered
  band): the mean absolute Laplacian of grey over the one over the other (1 = as much detail
  as its surroundings, near 0 = a blurred halo), and the same ratio of the horizontal to the
  vertical gradient's mean magnitude (1 = no more streaky than beside it; vertical streaks
  raise it). n/a when less than 0.2 % of the frame is uncovered.
"""

from __future__ import annotations

import dataclasses
from typing import Any, cast

import cv2
import numpy as np

from gioconda.eval.measure import FaceMeasurement, FaceMeasurer
from gioconda.face.native_logs import native_stderr_silenced
from gioconda.face.topology import (
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from gioconda.motion.controls import EMOTIONS
from gioconda.motion.frames import MotionFrame
from gioconda.render.regions import outline, polygon_mask
from gioconda.render.renderer import Renderer

CLOSEUP_COLUMNS = (
    ("lid_de", "lid dE", "{:.1f}"),
    ("lid_tex", "lid tex", "{:.2f}"),
    ("o_over_i", "o/i W:H", "{:.2f}"),
    ("sad_corners", "sad corners", "{:+.3f}"),
    ("happy_corners", "happy corners", "{:+.3f}"),
    ("talk_corners", "talk corners", "{:+.3f}"),
    ("cavity_in_out", "cavity in:out", "{:.2f}"),
    ("cavity_grain", "cavity grain", "{:.2f}"),
    ("halo_hf", "halo HF", "{:.2f}"),
    ("halo_streak", "halo streak", "{:.2f}"),
)
#: The mouth shapes of a rounded and a spread vowel.
ROUNDED: dict[str, Any] = {"JawOpen": 0.45, "MouthFunnel": 0.6, "MouthPucker": 0.4}
SPREAD: dict[str, Any] = {"JawOpen": 0.3, "MouthStretchLeft": 0.5, "MouthStretchRight": 0.5}
#: An open vowel's jaw, at which the corners' height is judged (talk corners).
TALKING_JAW = 0.5
#: A wide open vowel's jaw, at which the cavity's shading is judged (cavity in:out).
CAVITY_JAW = 0.75
#: The cavity's core and ring (shares of the largest distance into the opening), and what is
#: taken for teeth (over this share of the upper teeth's lightness), for cavity in:out.
CAVITY_CORE, CAVITY_RING, CAVITY_TEETH = 0.7, (0.1, 0.35), 0.75
#: The skin round the mouth whose grain the cavity's is set against (mouth widths outside
#: the outer lips), for cavity grain.
GRAIN_SKIN = (0.05, 0.3)
#: Head distance at which what a smaller person uncovers is judged.
SMALLER = 0.8
#: The lid's skin band above the open lid's edge, in eye widths.
LID_BAND = (0.12, 0.35)
#: How far beside the uncovered band its surroundings are taken, share of the frame.
BESIDE = 0.04
_EYES = ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER))


def lid_distance(photo: np.ndarray, shut: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    """(colour distance, grain ratio) of the shut lid in ``shut`` against the photo's own
    upper-lid skin, both eyes' mean (see the module docs); ``landmarks``: the photo's."""
    lab_photo = cv2.cvtColor(photo, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_shut = cv2.cvtColor(shut, cv2.COLOR_RGB2LAB).astype(np.float32)
    # OpenCV's 8-bit Lab has L in 0-255; scaled to 0-100, as CIE76 distances are quoted.
    scale = np.array([100 / 255, 1.0, 1.0], np.float32)
    grain_photo = np.abs(cv2.Laplacian(lab_photo[..., 0], cv2.CV_32F))
    grain_shut = np.abs(cv2.Laplacian(lab_shut[..., 0], cv2.CV_32F))
    distances, ratios = [], []
    for upper, lower in _EYES:
        top, bottom = landmarks[list(upper), :2], landmarks[list(lower), :2]
        width = float(np.ptp(top[:, 0]))
        lid = polygon_mask(photo.shape[:2], np.concatenate([top, (0.5 * (top + bottom))[::-1]]),
                           soft=False)  # fmt: skip
        near, far = LID_BAND
        above = np.concatenate([top - [0, near * width], (top - [0, far * width])[::-1]])
        band = polygon_mask(photo.shape[:2], above, soft=False)
        if lid.sum() < 10 or band.sum() < 10:
            continue
        difference = (lab_shut[lid].mean(0) - lab_photo[band].mean(0)) * scale
        distances.append(float(np.linalg.norm(difference)))
        ratios.append(float(grain_shut[lid].mean() / max(grain_photo[band].mean(), 1e-3)))
    if not distances:
        return float("nan"), float("nan")
    return float(np.mean(distances)), float(np.mean(ratios))


def mouth_aspect(landmarks: np.ndarray) -> float:
    """The mouth's width (corners 61-291) over its inner height (13-14)."""
    width = np.linalg.norm(landmarks[291, :2] - landmarks[61, :2])
    height = np.linalg.norm(landmarks[14, :2] - landmarks[13, :2])
    # cast, not float(): the landmarks are float32 and a Python float would divide in float64.
    return float(width / cast("np.floating[Any] | float", max(height, 1e-3)))


def corner_lift(landmarks: np.ndarray) -> float:
    """The mouth corners' mean height above the inner lips' middle, in mouth widths, along
    the perpendicular to the eyes' line (positive: up, a smile)."""
    across = landmarks[263, :2] - landmarks[33, :2]
    across /= np.linalg.norm(across)
    down = np.array([-across[1], across[0]])
    width = np.linalg.norm(landmarks[291, :2] - landmarks[61, :2])
    middle = (landmarks[13, :2] + landmarks[14, :2]) / 2
    return float(np.mean([(middle - landmarks[c, :2]) @ down for c in (61, 291)]) / width)


def cavity_depth(frame: np.ndarray, landmarks: np.ndarray) -> float:
    """The open mouth's core over its rim (mean lightness, teeth left out) in ``frame`` (RGB),
    inside the inner lip contour of ``landmarks`` (the frame's re-detected ones); see the
    module docs. NaN when the opening, its core or its ring has under 10 pixels."""
    found = _opening(frame, landmarks)
    if found is None:
        return float("nan")
    opening, teeth, lightness = found
    inside = cv2.distanceTransform(opening.astype(np.uint8), cv2.DIST_L2, 3)
    deepest = float(inside.max())
    dark = opening & ~teeth
    core = dark & (inside >= CAVITY_CORE * deepest)
    near, far = CAVITY_RING
    ring = dark & (inside > near * deepest) & (inside < far * deepest)
    if core.sum() < 10 or ring.sum() < 10:
        return float("nan")
    return float(lightness[core].mean() / max(float(lightness[ring].mean()), 1e-3))


def _opening(
    frame: np.ndarray, landmarks: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The open mouth in ``frame`` (RGB): inside the inner lip contour of ``landmarks`` (the
    frame's re-detected ones), (h, w) bool, its teeth (lighter than :data:`CAVITY_TEETH` of
    the upper teeth's lightness), (h, w) bool, and the frame's lightness (Lab L, 0-100);
    None when the opening or its top shows under 10 pixels."""
    inner = outline(landmarks, LIPS_INNER_UPPER, LIPS_INNER_LOWER)
    opening = polygon_mask(frame.shape[:2], inner, soft=False)
    if opening.sum() < 10:
        return None
    lightness = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB)[..., 0].astype(np.float32) * (100 / 255)
    ys, xs = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]].astype(np.float32)
    upper = landmarks[list(LIPS_INNER_UPPER), :2]
    lower = landmarks[list(LIPS_INNER_LOWER), :2]
    upper, lower = upper[np.argsort(upper[:, 0])], lower[np.argsort(lower[:, 0])]
    upper_y = np.interp(xs, upper[:, 0], upper[:, 1])
    lower_y = np.interp(xs, lower[:, 0], lower[:, 1])
    down = (ys - upper_y) / np.maximum(lower_y - upper_y, 1.0)
    width = float(np.linalg.norm(landmarks[291, :2] - landmarks[61, :2]))
    middle = opening & (np.abs(xs - (landmarks[61, 0] + landmarks[291, 0]) / 2) < 0.25 * width)
    top = middle & (down < 0.3)
    if top.sum() < 10:
        return None
    teeth = lightness > CAVITY_TEETH * float(np.percentile(lightness[top], 90))
    return opening, teeth, lightness


def cavity_grain(
    frame: np.ndarray, landmarks: np.ndarray, photo: np.ndarray, photo_landmarks: np.ndarray
) -> float:
    """The open mouth's grain in ``frame`` (RGB; ``landmarks``: its re-detected ones) over the
    photo's skin's round its mouth (``photo_landmarks``: the photo's); see the module docs.
    NaN when the opening's dark or the skin has under 10 pixels."""
    found = _opening(frame, landmarks)
    if found is None:
        return float("nan")
    opening, teeth, _ = found
    # (2 pixels in: not the lips' edge, nor the teeth's)
    dark = cv2.erode((opening & ~teeth).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    lips = polygon_mask(photo.shape[:2], outline(photo_landmarks, LIPS_OUTER_UPPER,
                                                 LIPS_OUTER_LOWER), soft=False)  # fmt: skip
    outside = cv2.distanceTransform((~lips).astype(np.uint8), cv2.DIST_L2, 3)
    width = float(np.linalg.norm(photo_landmarks[291, :2] - photo_landmarks[61, :2]))
    near, far = GRAIN_SKIN
    skin = (outside > near * width) & (outside < far * width)
    if dark.sum() < 10 or skin.sum() < 10:
        return float("nan")

    def grain(image: np.ndarray) -> np.ndarray:
        # (averaged over 3 x 3 pixels: an 8-bit image's Laplacian takes few values, and their
        # median would jump between them)
        lightness = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)[..., 0]
        return cv2.blur(np.abs(cv2.Laplacian(lightness, cv2.CV_32F)), (3, 3))

    return float(np.median(grain(frame)[dark]) / max(float(np.median(grain(photo)[skin])), 1e-3))


def _segment(image: np.ndarray) -> np.ndarray:
    """MediaPipe Selfie Segmentation's person mask (bool) of an RGB image."""
    from mediapipe.python.solutions import selfie_segmentation

    with (
        native_stderr_silenced(),
        selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter,
    ):
        return segmenter.process(np.ascontiguousarray(image)).segmentation_mask > 0.5


def uncovered_background(photo: np.ndarray, frame: np.ndarray) -> tuple[float, float]:
    """(detail ratio, streak ratio) of the background ``frame`` shows where ``photo``
    showed the person, against the background beside it (see the module docs)."""
    before, after = _segment(photo), _segment(frame)
    size = photo.shape[0]
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    uncovered = cv2.erode((before & ~after).astype(np.uint8), grow) > 0
    if uncovered.mean() < 0.002:
        return float("nan"), float("nan")
    reach = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * round(BESIDE * size) + 1,) * 2)
    near = cv2.dilate(uncovered.astype(np.uint8), reach) > 0
    beside = near & ~before & ~after & ~uncovered
    if beside.sum() < 50:
        return float("nan"), float("nan")
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    across = np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0))
    down = np.abs(cv2.Sobel(grey, cv2.CV_32F, 0, 1))

    def streak(mask: np.ndarray) -> float:
        return float(across[mask].mean() / max(down[mask].mean(), 1e-3))

    hf = float(detail[uncovered].mean() / max(detail[beside].mean(), 1e-3))
    return hf, streak(uncovered) / max(streak(beside), 1e-3)


def closeup_metrics(
    renderer: Renderer, measurer: FaceMeasurer, rest: FaceMeasurement
) -> dict[str, float]:
    """The close-up columns for one portrait (NaN where the face is not re-detected)."""
    nan = float("nan")
    portrait = renderer.portrait
    photo, landmarks = portrait.image, portrait.landmarks
    shut = renderer.render(MotionFrame.still(EyeBlinkLeft=1.0, EyeBlinkRight=1.0))
    metrics: dict[str, float] = {}
    metrics["lid_de"], metrics["lid_tex"] = lid_distance(photo, shut, landmarks)

    def seen(frame: MotionFrame) -> np.ndarray | None:
        return measurer.measure(renderer.render(frame)).landmarks

    rounded, spread = seen(MotionFrame.still(**ROUNDED)), seen(MotionFrame.still(**SPREAD))
    metrics["o_over_i"] = (
        mouth_aspect(rounded) / mouth_aspect(spread)
        if rounded is not None and spread is not None
        else nan
    )
    for emotion in ("sad", "happy"):
        shapes: dict[str, Any] = EMOTIONS[emotion]
        posed = seen(MotionFrame.still(replaces_photo=1.0, **shapes))
        metrics[f"{emotion}_corners"] = (
            corner_lift(posed) - corner_lift(rest.landmarks)
            if posed is not None and rest.landmarks is not None
            else nan
        )
    talking = seen(MotionFrame.still(JawOpen=TALKING_JAW))
    metrics["talk_corners"] = (
        corner_lift(talking) - corner_lift(rest.landmarks)
        if talking is not None and rest.landmarks is not None
        else nan
    )
    wide = renderer.render(MotionFrame.still(JawOpen=CAVITY_JAW))
    wide_landmarks = measurer.measure(wide).landmarks
    metrics["cavity_in_out"] = (
        cavity_depth(wide, wide_landmarks) if wide_landmarks is not None else nan
    )
    metrics["cavity_grain"] = (
        cavity_grain(wide, wide_landmarks, photo, landmarks) if wide_landmarks is not None else nan
    )
    smaller = renderer.render(dataclasses.replace(MotionFrame.still(), head_scale=SMALLER))
    metrics["halo_hf"], metrics["halo_streak"] = uncovered_background(photo, smaller)
    return metrics
