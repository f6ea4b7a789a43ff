"""The motion evaluation's controls part: commanded gaze, head distance and emotions rendered
on portraits and re-detected with MediaPipe, each judged against what it commands."""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from gioconda.eval.measure import FaceMeasurer, pearson
from gioconda.eval.motion_report import FPS, MotionReport, _fmt
from gioconda.face.portrait import Portrait
from gioconda.face.topology import (
    EYE_LIDS,
    INNER_LIP_MIDDLE,
    IRIS_CENTRES,
    LEFT_BROW_UPPER,
    MOUTH_CORNERS,
    RIGHT_BROW_UPPER,
    eye_openness,
    inter_iris_distance,
    mouth_width,
)
from gioconda.motion.controls import EMOTIONS, MotionControls
from gioconda.motion.generate import generate_motion
from gioconda.progress import Progress
from gioconda.render.renderer import Renderer
from gioconda.speech.audio import AudioFeatures
from gioconda.timeline import FEATURE_HOP_S, frame_count

GAZE_COMMANDS = (
    (-20.0, 0.0),
    (-10.0, 0.0),
    (0.0, 0.0),
    (10.0, 0.0),
    (20.0, 0.0),
    (0.0, -15.0),
    (0.0, 15.0),
)


DISTANCE_COMMANDS = (0.8, 1.0, 1.2)


#: Background "far from the person": outside the person mask grown by this share of the crop
#: (a head drawn 1.2 times as big about its chin grows by about 0.12 of the crop upward).
FAR_FROM_PERSON = 0.15


#: Which way each emotion should move (mouth corners, brows, eye openness): +1 up/wider,
#: -1 down/narrower, 0 not judged. From the presets in :data:`gioconda.controls.EMOTIONS`.
EMOTION_DIRECTIONS: dict[str, tuple[int, int, int]] = {
    "happy": (1, 0, -1),
    "sad": (-1, 1, 0),
    "angry": (0, -1, -1),
    "surprised": (0, 1, 1),
    "disgusted": (0, -1, 0),
    "fearful": (0, 1, 1),
    "contempt": (1, 0, 0),
}


def controlled_frame(
    renderer: Renderer, controls: MotionControls, seconds: float = 1.2
) -> np.ndarray:
    """The last frame of a silent clip under ``controls`` with a still head and no blinks.

    Goes through the whole motion path (controls, :func:`generate_motion`, the renderer), so it
    measures what a user of the flags would get.
    """
    hops = round(seconds / FEATURE_HOP_S)
    silence = AudioFeatures(
        np.full(hops, -100.0, np.float32),
        np.zeros(hops, bool),
        np.zeros(hops, bool),
        np.zeros(hops, np.float32),
        np.zeros(hops, np.float32),
    )
    n = frame_count(seconds, FPS)
    motion = generate_motion(silence, [], n, FPS, controls)
    return renderer.render(motion.frame(n - 1))


def iris_position(landmarks: np.ndarray) -> np.ndarray:
    """Mean (x, y) offset of both irises from their eye-corner midpoints, in eye widths."""
    out = []
    for iris, (upper, _) in zip(IRIS_CENTRES, EYE_LIDS, strict=True):
        a, b = upper[0], upper[-1]
        mid = (landmarks[a, :2] + landmarks[b, :2]) / 2
        width = np.linalg.norm(landmarks[a, :2] - landmarks[b, :2])
        out.append((landmarks[iris, :2] - mid) / width)
    return np.mean(out, axis=0)


def expression_features(landmarks: np.ndarray) -> np.ndarray:
    """(mouth-corner lift in mouth widths, brow height in inter-iris distances, eye openness).

    Corner lift is how far the mouth's corners sit above the middle of the inner lips;
    brow height is the mean height of the brows' upper edge above the irises. Up is positive.
    """
    width = mouth_width(landmarks)
    lips_middle = landmarks[list(INNER_LIP_MIDDLE), 1].mean()
    corners = landmarks[list(MOUTH_CORNERS), 1].mean()
    iris_y = landmarks[list(IRIS_CENTRES), 1].mean()
    brows = np.mean([landmarks[list(b), 1].mean() for b in (RIGHT_BROW_UPPER, LEFT_BROW_UPPER)])
    iod = inter_iris_distance(landmarks)
    return np.array(
        [(lips_middle - corners) / width, (iris_y - brows) / iod, eye_openness(landmarks).mean()]
    )


def corner_lifts(landmarks: np.ndarray) -> np.ndarray:
    """Each mouth corner's height above the middle of the inner lips, (right, left) in mouth
    widths, up positive."""
    lips_middle = landmarks[list(INNER_LIP_MIDDLE), 1].mean()
    return (lips_middle - landmarks[list(MOUTH_CORNERS), 1]) / mouth_width(landmarks)


#: Expressions made on one side of the mouth (contempt's smirk raises the subject's left
#: corner): judged by how much higher that corner rises than the other. Over a smiling photo
#: the photo's own smile is undone first, so both corners may end up lower than in the photo.
ONE_SIDED = ("contempt",)


def far_background(portrait: Portrait) -> np.ndarray:
    """Pixels well away from the person: beyond where a head drawn 1.2 times as big reaches."""
    person = (portrait.person_mask > 0.2).astype(np.uint8)
    reach = max(3, round(FAR_FROM_PERSON * portrait.size))
    grown = cv2.dilate(person, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
    return grown == 0


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    tile = tile.copy()
    for colour, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
        cv2.putText(tile, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, colour, width, cv2.LINE_AA)
    return tile


def measure_controls(
    report: MotionReport, name: str, portrait: Portrait, tiles: list[np.ndarray], progress: Progress
) -> None:
    """Add the control-accuracy rows for one portrait; append its labelled frames to ``tiles``."""
    renderer = Renderer(portrait)
    still: dict[str, Any] = dict(motion_intensity=0.0, blink_rate=0.0)
    jobs: list[tuple[str, MotionControls]] = []
    jobs += [
        (f"gaze {y:+.0f},{p:+.0f}", MotionControls(gaze=(y, p), **still)) for y, p in GAZE_COMMANDS
    ]
    jobs += [
        (f"distance {d:.1f}", MotionControls(head_distance=d, **still)) for d in DISTANCE_COMMANDS
    ]
    jobs += [(e, MotionControls(emotion=e, **still)) for e in EMOTIONS]
    frames, found = {}, {}
    with FaceMeasurer(video=False) as measurer:
        for i, (label, controls) in enumerate(jobs):
            frames[label] = controlled_frame(renderer, controls)
            found[label] = measurer.measure(frames[label]).landmarks
            progress(f"controls {name}", i + 1, len(jobs))
    missing = [label for label, lm in found.items() if lm is None]
    if missing:
        report.add(f"controls {name}", "frames with no face re-detected", ", ".join(missing))

    section = f"gaze {name}"
    iris = {
        label: iris_position(lm)
        for label, lm in found.items()
        if lm is not None and label.startswith("gaze")
    }
    commanded = [(y, p) for y, p in GAZE_COMMANDS if f"gaze {y:+.0f},{p:+.0f}" in iris]
    measured = np.array([iris[f"gaze {y:+.0f},{p:+.0f}"] for y, p in commanded])
    if len(commanded) == len(GAZE_COMMANDS):
        yaw_rows = [i for i, (_, p) in enumerate(commanded) if p == 0]
        rest = measured[commanded.index((0.0, 0.0))]
        report.add(
            section,
            "r(commanded yaw, iris x)",
            _fmt(pearson([commanded[i][0] for i in yaw_rows], measured[yaw_rows, 0])),
            "1",
        )
        shift = measured - rest
        left, right = shift[commanded.index((-20.0, 0.0))], shift[commanded.index((20.0, 0.0))]
        up, down = shift[commanded.index((0.0, -15.0))], shift[commanded.index((0.0, 15.0))]
        moves = {"left": left[0] < 0, "right": right[0] > 0, "up": up[1] < 0, "down": down[1] > 0}
        wrong = [k for k, v in moves.items() if not v]
        moved = f"{sum(moves.values())}/4" + (f" (not {', '.join(wrong)})" if wrong else "")
        report.add(section, "irises move left/right/up/down", moved, "4/4")
        report.add(
            section, "iris x at yaw -20 / +20 (eye widths)", f"{left[0]:+.3f} / {right[0]:+.3f}"
        )
        report.add(
            section, "iris y at pitch -15 / +15 (eye widths)", f"{up[1]:+.3f} / {down[1]:+.3f}"
        )

    section = f"distance {name}"
    base = found.get("distance 1.0")
    background = far_background(portrait)
    if base is not None:
        ratios, changes = [], []
        for d in DISTANCE_COMMANDS:
            lm = found[f"distance {d:.1f}"]
            ratios.append(
                float("nan") if lm is None else inter_iris_distance(lm) / inter_iris_distance(base)
            )
            diff = np.abs(frames[f"distance {d:.1f}"].astype(float) - portrait.image.astype(float))
            changes.append(float(diff[background].mean()) if background.any() else float("nan"))
        report.add(
            section,
            "iris distance ratio at 0.8 / 1.0 / 1.2",
            " / ".join(_fmt(r, 3) for r in ratios),
            "0.800 / 1.000 / 1.200",
        )
        error = np.nanmax(np.abs(np.array(ratios) - np.array(DISTANCE_COMMANDS)))
        report.add(section, "largest error of the ratio", _fmt(error, 3), "0")
        report.add(
            section,
            "background change far from the person (grey levels)",
            " / ".join(_fmt(c, 2) for c in changes),
            "< 1",
        )

    section = f"emotion {name}"
    neutral = found.get("neutral")
    if neutral is not None:
        rest = expression_features(neutral)
        met = total = 0
        for emotion, directions in EMOTION_DIRECTIONS.items():
            lm = found.get(emotion)
            if lm is None:
                continue
            change = expression_features(lm) - rest
            if emotion in ONE_SIDED:
                right, left = corner_lifts(lm) - corner_lifts(neutral)
                change[0] = left - right
            judged = [(c, d) for c, d in zip(change, directions, strict=True) if d != 0]
            # A change under these (corner lift, brow height, openness) is not a visible move.
            ok = [d * c > t for (c, d), t in zip(judged, [0.01] * len(judged), strict=True)]
            met += sum(ok)
            total += len(judged)
            report.add(
                section,
                f"{emotion}: {'left corner over right' if emotion in ONE_SIDED else 'corners'}"
                " / brows / eyes",
                " / ".join(f"{c:+.3f}" for c in change),
                "expected " + " / ".join({1: "up", -1: "down", 0: "-"}[d] for d in directions),
            )
        report.add(section, "expected directions met", f"{met}/{total}", f"{total}/{total}")

    sheet_labels = [
        "gaze -20,+0",
        "gaze +20,+0",
        "gaze +0,-15",
        "gaze +0,+15",
        "distance 0.8",
        "distance 1.0",
        "distance 1.2",
        *EMOTIONS,
    ]
    for label in sheet_labels:
        tile = cv2.resize(frames[label], (256, 256), interpolation=cv2.INTER_AREA)
        tiles.append(_label(tile, f"{name}: {label}"))


def contact_sheet(tiles: list[np.ndarray], columns: int = 5) -> np.ndarray:
    rows = math.ceil(len(tiles) / columns)
    h, w = tiles[0].shape[:2]
    out = np.full((rows * h, columns * w, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        y, x = (i // columns) * h, (i % columns) * w
        out[y : y + h, x : x + w] = tile
    return out
