"""Rotations and rigid fits shared by the renderer, reenactment and the evaluation: yaw/pitch/roll
to and from rotation matrices, and similarity (Umeyama) and Kabsch fits of landmark sets.
"""

from __future__ import annotations

import numpy as np

from gioconda.face.topology import N_MESH_LANDMARKS


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
    return rotation_to_angles(solve_rotation(rest[:N_MESH_LANDMARKS], posed[:N_MESH_LANDMARKS]))


def similarity(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares ``target ~ scale * source @ R.T + offset`` (Umeyama) for (N, 3) points.

    Returns ``(scale, R, offset)``, R a proper rotation (3, 3), offset (3,).
    """
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    u, sing, vt = np.linalg.svd(t.T @ s)
    d = np.ones(3)
    if np.linalg.det(u @ vt) < 0:
        d[2] = -1.0
    rotation = u @ np.diag(d) @ vt
    scale = float((sing * d).sum() / max((s**2).sum(), 1e-12))
    return scale, rotation, mu_t - scale * rotation @ mu_s


def rotation_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Rotation in image axes (x right, y down, z away from the camera).

    Positive yaw moves a point in front of the pivot (the nose) toward +x, positive pitch
    moves it toward +y (down), positive roll turns the top of the head toward +x.
    """
    y, p, r = np.radians([yaw_deg, pitch_deg, roll_deg])
    yaw = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    pitch = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    roll = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return roll @ pitch @ yaw
