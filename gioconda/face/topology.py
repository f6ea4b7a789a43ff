"""Face Mesh's topology: every landmark set the project names, and small measures read off them.

Indices are MediaPipe's canonical face mesh (478 points with the irises). Upper and lower lists
of the lips and eyelids run corner to corner in the same direction, so entry i of each is a
matching pair. Eyes, brows and the rest are named by the subject's side (the subject's right eye
is on the image's left). Nothing else in the package writes a landmark index as a number.
"""

from __future__ import annotations

import numpy as np

N_LANDMARKS = 478
#: The mesh proper; 468-477 are the irises, which the eyes draw rather than the warp.
N_MESH_LANDMARKS = 468

# -- lips ------------------------------------------------------------------------------------
LIPS_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
#: The mouth's outer corners (right, left), where the lips meet.
MOUTH_CORNERS = (61, 291)
#: The inner lips' corners (right, left).
INNER_MOUTH_CORNERS = (78, 308)
#: The inner lips at the middle: upper, lower.
INNER_LIP_MIDDLE = (13, 14)
#: The middle three pairs of inner-lip points (upper, lower), for a gap no one point decides.
INNER_LIP_PAIRS = ((82, 87), (13, 14), (312, 317))

# -- eyes ------------------------------------------------------------------------------------
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
#: Each eye's lids, (upper, lower), right eye first.
EYE_LIDS = ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER))
#: The eyes' inner corners (right, left).
INNER_EYE_CORNERS = (133, 362)
RIGHT_IRIS = (468, 469, 470, 471, 472)  # centre first, then the ring
LEFT_IRIS = (473, 474, 475, 476, 477)
#: The irises' centres (right, left).
IRIS_CENTRES = (RIGHT_IRIS[0], LEFT_IRIS[0])

# -- brows and nose --------------------------------------------------------------------------
# Brows, outer end first (Face Mesh's eyebrow contours).
RIGHT_BROW_UPPER = (70, 63, 105, 66, 107)
RIGHT_BROW_LOWER = (46, 53, 52, 65, 55)
LEFT_BROW_UPPER = (300, 293, 334, 296, 336)
LEFT_BROW_LOWER = (276, 283, 282, 295, 285)
RIGHT_NOSE_WING = (129, 64, 48, 102)
LEFT_NOSE_WING = (358, 294, 278, 331)
#: Under the nose: the right wing's base, the middle, the left wing's base.
NOSE_BASE = (98, 2, 327)

# -- the face's outline and frame ------------------------------------------------------------
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
FOREHEAD, CHIN, NOSE_TIP = 10, 152, 1
#: Just in front of the ear lobes (right, left): above them the person is head.
EAR_LOBES = (132, 361)
#: The jaw's angles (right, left).
JAW_ANGLES = (172, 397)
#: The face's widest points, at the cheekbones (right, left).
FACE_SIDES = (234, 454)
#: Cheeks, as polygons (right, left): skin that never moves much with speech.
CHEEKS = ((50, 101, 118, 117, 123, 187, 205), (280, 330, 347, 346, 352, 411, 425))
#: Points that move only with the skull (not the jaw, lips, lids or brows): the midline from the
#: forehead down the nose, the forehead, the eyes' corners, the temples, beside the nose bridge.
SKULL_LANDMARKS = (
    10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1,
    109, 338, 67, 297, 108, 337, 69, 299,
    33, 133, 263, 362, 130, 359, 243, 463,
    127, 356, 162, 389, 234, 454, 21, 251,
    122, 351, 188, 412, 114, 343, 245, 465,
)  # fmt: skip


def mouth_width(landmarks: np.ndarray) -> float:
    """Corner-to-corner width of the mouth, in the landmarks' pixels."""
    right, left = MOUTH_CORNERS
    return float(np.linalg.norm(landmarks[left, :2] - landmarks[right, :2]))


def inner_lip_gap_px(landmarks: np.ndarray) -> float:
    """Distance between the inner lips at the middle, in the landmarks' pixels."""
    upper, lower = INNER_LIP_MIDDLE
    return float(np.linalg.norm(landmarks[lower, :2] - landmarks[upper, :2]))


def lip_gap(landmarks: np.ndarray) -> float:
    """Inner-lip opening at the middle over the mouth's width (the middle three inner-lip
    pairs, so one noisy landmark does not decide)."""
    gaps = [np.linalg.norm(landmarks[lo, :2] - landmarks[up, :2]) for up, lo in INNER_LIP_PAIRS]
    return float(np.mean(gaps) / mouth_width(landmarks))


def eye_openness(landmarks: np.ndarray) -> np.ndarray:
    """Each eye's mean lid-to-lid distance over its corner-to-corner width: (right, left)."""
    out = []
    for upper, lower in EYE_LIDS:
        up, lo = landmarks[list(upper[2:-2]), :2], landmarks[list(lower[2:-2]), :2]
        width = np.linalg.norm(landmarks[upper[0], :2] - landmarks[upper[-1], :2])
        out.append(np.mean(np.linalg.norm(lo - up, axis=1)) / width)
    return np.array(out)


def inter_iris_distance(landmarks: np.ndarray) -> float:
    """Distance between the irises' centres, in the landmarks' pixels."""
    right, left = IRIS_CENTRES
    return float(np.linalg.norm(landmarks[right, :2] - landmarks[left, :2]))
