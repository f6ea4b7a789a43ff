"""Face Mesh's topology: every landmark set the project names (lips, eyes, irises, brows, nose,
face oval), ordered as contours, and small measures read off landmarks.

Upper and lower lists of the lips and eyelids run in the same direction, so entry i of each
is a matching pair. Eyes and brows are named by the subject's side (the subject's right eye is
on the image's left).
"""

from __future__ import annotations

import numpy as np

# Ordered contours, from MediaPipe's canonical face-mesh topology. Upper and lower lists of
# the lips and eyelids run in the same direction, so entry i of each is a matching pair.
LIPS_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)


LIPS_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)


LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)


LIPS_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)


# Eyes, named by the subject's side (the subject's right eye is on the image's left).
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)


RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)


LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)


LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)


RIGHT_IRIS = (468, 469, 470, 471, 472)  # centre first, then the ring


LEFT_IRIS = (473, 474, 475, 476, 477)


FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip


N_LANDMARKS = 478


FOREHEAD, CHIN, NOSE_TIP = 10, 152, 1


def lip_gap(landmarks: np.ndarray) -> float:
    """Inner-lip opening at the middle (landmarks 13 and 14) over mouth width (61 to 291)."""
    width = np.linalg.norm(landmarks[291, :2] - landmarks[61, :2])
    # The middle three inner-lip pairs, so one noisy landmark does not decide.
    gaps = [np.linalg.norm(landmarks[lo, :2] - landmarks[up, :2])
            for up, lo in ((82, 87), (13, 14), (312, 317))]  # fmt: skip
    return float(np.mean(gaps) / width)


def eye_openness(landmarks: np.ndarray) -> np.ndarray:
    """Each eye's mean lid-to-lid distance over its corner-to-corner width: (right, left)."""
    out = []
    for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
        up, lo = landmarks[list(upper[2:-2]), :2], landmarks[list(lower[2:-2]), :2]
        width = np.linalg.norm(landmarks[upper[0], :2] - landmarks[upper[-1], :2])
        out.append(np.mean(np.linalg.norm(lo - up, axis=1)) / width)
    return np.array(out)


# Brows, outer end first, by the subject's side (Face Mesh's eyebrow contours).
RIGHT_BROW_UPPER = (70, 63, 105, 66, 107)


RIGHT_BROW_LOWER = (46, 53, 52, 65, 55)


LEFT_BROW_UPPER = (300, 293, 334, 296, 336)


LEFT_BROW_LOWER = (276, 283, 282, 295, 285)


# The wings of the nose, by the subject's side.
RIGHT_NOSE_WING = (129, 64, 48, 102)


LEFT_NOSE_WING = (358, 294, 278, 331)
