"""Render metrics read off frames by a tool we did not write: PSNR, slopes of re-detected over
commanded motion, and the tears a warp can make (seam, contour, background and body change).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from gioconda.face.portrait import Portrait
from gioconda.face.topology import (
    CHIN,
    FACE_OVAL,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    N_MESH_LANDMARKS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)

SIZE = 512


PSNR_CAP = 100.0


BACKGROUND_REACH = 0.06


SEAM_THRESHOLD = 2


SEAM_GROW = 0.01


SEAM_BAND = 0.02


CONTOUR_BAND = 0.02


CONTOUR_LATERAL = 0.6


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


def yaw_in_image(rest: np.ndarray, posed: np.ndarray) -> float:
    """The yaw, degrees, whose rigid turn of the rest frame's re-detected 3D landmarks best
    explains how far the posed frame's landmarks moved sideways in the image (+ when the nose
    goes to the image's right).

    Unlike :func:`~gioconda.geometry.solve_pose`, it does not read the posed frame's depth:
    Face Mesh's depth on a turned face follows its own sense of the pose, and faces the
    features themselves, wide (the x spread of the landmarks is several times their depth
    spread), weigh most in the least-squares rotation. A turn by ``t`` moves a point at depth
    ``z`` (about the face's mean) ``-sin(t) z`` sideways, beside a shift and the foreshortening
    ``(cos(t) - 1) x``, which are fitted with it.

    rest, posed: (N, 3) re-detected landmarks (x, y in pixels, z at the same scale)
    """
    x, z = rest[:N_MESH_LANDMARKS, 0], rest[:N_MESH_LANDMARKS, 2]
    moved = posed[:N_MESH_LANDMARKS, 0] - x
    design = np.stack([np.ones_like(x), x - x.mean(), -(z - z.mean())], axis=1)
    sine = np.linalg.lstsq(design, moved, rcond=None)[0][2]
    return float(np.degrees(np.arcsin(np.clip(sine, -1.0, 1.0))))


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
    cv2.polylines(line, [points], True, (1,), 1)
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
    chin = (lm[CHIN] - centre) @ axes.T
    grown = np.zeros((size, size), np.uint8)
    cv2.fillPoly(grown, [np.round(centre + 1.25 * (oval - centre)).astype(np.int32)], (1,))
    neck = (np.abs(rel[..., 0] - chin[0]) < 0.3 * face_width) & (
        rel[..., 1] < chin[1] + 0.3 * face_height
    )
    return (rel[..., 1] > lobes + 0.15 * face_height) & (grown == 0) & ~neck
