"""Render: one frame of a portrait under one frame of motion.

The photo is warped by a dense backward map built from the rig's deformed landmarks:
a rigid 3D head motion (the head modelled as an ellipsoid, so hair moves with the face) plus a
piecewise-linear correction on a triangulation of the landmarks that carries the expression
and the face's true 3D shape. The map is inverted by fixed-point iteration, the photo sampled
with ``cv2.remap``, the mouth interior painted where the lips part, and the person composited
over a background plate so that nothing behind the head bends with it.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np
from scipy import sparse

try:  # SciPy's compiled sparse product, which its own ``@`` calls (private, hence the guard)
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover
    _csr_matvec = None

from gioconda.face.portrait import Portrait, surroundings
from gioconda.face.topology import (
    CHIN,
    FACE_OVAL,
    LEFT_BROW_UPPER,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_NOSE_WING,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    NOSE_BASE,
    RIGHT_BROW_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_NOSE_WING,
)
from gioconda.geometry import rotation_matrix
from gioconda.motion.frames import MotionFrame
from gioconda.render.covers import corner_cover, lip_cover, paint_out_occluders
from gioconda.render.cv2_typing import NO_ARRAY
from gioconda.render.distance import HeadDistance
from gioconda.render.eyes import IrisPainter
from gioconda.render.kernels import blend, coarse_steps, extent, field_box, fixed_rows
from gioconda.render.layers import head_layers
from gioconda.render.lids import LidCloser
from gioconda.render.mesh_cache import cached_landmark_mesh
from gioconda.render.mouth import MouthPainter, blur_sigma
from gioconda.render.occluders import EyeOccluders
from gioconda.render.photo_expression import photo_expression, undone_expression
from gioconda.render.regions import bounding_box
from gioconda.render.rig import (
    DELIVERY_GAIN_MAX,
    TURN_PROBE_YAW,
    FaceRig,
    HeadFrame,
    drawn_yaw,
    drawn_yaw_gain,
    rest_yaw,
    rigid_turn_share,
)
from gioconda.render.source_map import SourceMap
from gioconda.render.warp import (
    FILL_PAD,
    INVERSION_COARSENING,
    N_MESH_LANDMARKS,
    POINT_ROW,
    RELIEF_TAPER,
    RIGID_INVERSION_STEPS,
    LandmarkMotion,
    bilinear_samples,
    coarse_inverse,
    coarse_points,
    fill_from_around,
    head_depth_map,
    mesh_gain_outside,
    refine_inverse,
    refine_inverse_into,
    to_every_pixel,
    weighted_mesh,
)

#: Each eye's landmarks, right then left (where the lid closer looks for them in a frame).
EYES = (RIGHT_EYE_UPPER + RIGHT_EYE_LOWER, LEFT_EYE_UPPER + LEFT_EYE_LOWER)
#: How far past the crop's edges the photo is kept for what motion brings in, share of it.
SOURCE_PAD = 0.1
#: Full-resolution steps after the coarse inversion of the rigid motion over the occluders'
#: boxes (see :meth:`Renderer._rigid_source`): two leave a residual within about 0.01 px of
#: the four full-resolution steps they replace.
RIGID_REFINING_STEPS = 2
#: How far the full-resolution steps after the rigid motion's coarse inversion move a
#: source at most, pixels (0.42 measured over a talking clip with head turns).
RIGID_REFINING_REACH = 1.0
#: The largest step of the rigid motion's coarse inversion after its last (pixels) under
#: which it has settled, and the full-resolution steps move a source by well under a pixel
#: (a talking clip's turns: 0.02 at most; a head turned 12 degrees and tilted: 0.2 to 50).
COARSE_SETTLED = 0.05
#: How far the further turn's spread made on the smooth grid lies at most from the exact one,
#: pixels (the spread is smooth: a few tenths).
COARSE_SPREAD_ERROR = 2.0
#: A landmark on the nose's bridge, halfway between the eyes and its tip.
NOSE_BRIDGE_LOW = 195
#: The map is first found on a grid this many times coarser than the frame (a point at the
#: middle of each block of pixels), where the field is smooth (see
#: :meth:`Renderer._inverse_map`).
SMOOTH_SCALE = 4
#: The inversion's coarse grid is this many times coarser than that grid.
SMOOTH_COARSENING = 2
#: Pixels around the smooth grid's sources of a fine region where its field is computed.
FINE_SLACK = 4
#: How far past its output pixels a fine region's field is computed at most, share of the
#: crop (a torn pixel's source is noise and may lie anywhere).
FINE_REACH = 0.2
#: Where the coarse grid's map is not close enough, it is refined at full resolution, in
#: boxes around landmarks: (the landmarks, how far around their box, share of the crop
#: sideways and up and down, whether the box is inverted anew). Around the eyes and brows
#: (whose lashes and hairs show a shift of a fraction of a pixel) the coarse grid's map is
#: refined (within 0.15 px of the full inversion; the warp leaves blinks to the lids'
#: painter). Around the mouth the field bends sharply (between the lips' small triangles,
#: which part, and where a smile and the nose's relief fold the cheeks): there the map is
#: inverted anew at full resolution, over the box of the mouth, the nose's base, its bridge
#: and the chin. (Later boxes are written over earlier ones where they overlap.)
FINE_REGIONS = (
    (RIGHT_EYE_UPPER + RIGHT_EYE_LOWER + LEFT_EYE_UPPER + LEFT_EYE_LOWER + RIGHT_BROW_UPPER
     + LEFT_BROW_UPPER, (0.02, 0.02), False),
    (LIPS_OUTER_UPPER + LIPS_OUTER_LOWER + NOSE_BASE + RIGHT_NOSE_WING + LEFT_NOSE_WING
     + (NOSE_BRIDGE_LOW, CHIN), (0.06, 0.045), True),
)  # fmt: skip
#: How far around a fine region the field is ready to be computed in one product, share
#: of the crop: past the farthest its sources usually lie (see :meth:`Renderer._field_in`).
FINE_MARGIN = 0.07
#: The largest expression offset of the face's oval (pixels) below which the throat behind the
#: chin is not drawn apart from the face: the face's field moves the neck by about as little.
THROAT_LEAST_OFFSET = 0.25
#: Fixed-point steps of the rigid motion's inversion at the throat's coarse grid points (see
#: :meth:`Renderer._throat_source`): 8 left 1.3 px on the tilted head's throat turned 10 degrees
#: and pitched -10 (a slowly settling pose), 16 settle it (0.27 px off the full-resolution
#: inversion, the smooth grid's own error).
THROAT_INVERSION_STEPS = 16
#: ... or fewer, once a step moves no point by this much (frame pixels): a speech-like pose
#: settles in a few.
THROAT_SETTLED = 0.02
#: (What :func:`~gioconda.render.kernels.extent` is given when it skips nothing.)
_NONE_SKIPPED = np.zeros((0, 0), bool)
#: 8-bit alphas strictly between clear and opaque (bounds for ``cv2.inRange``).
_PARTLY_LOW, _PARTLY_HIGH = np.full(1, 1, np.uint8), np.full(1, 254, np.uint8)


class Renderer:
    """Renders frames of one portrait; all per-portrait work happens here, once."""

    def __init__(self, portrait: Portrait) -> None:
        self.portrait = portrait
        self.rig = FaceRig(portrait.landmarks)
        size = self.size = portrait.size
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        self._grid = np.stack([xs, ys], axis=-1)
        # The same coordinates along one row and one column: per-frame maps that are a sum of
        # a function of x and one of y are built from these, not from full-frame arrays.
        self._columns = xs[0]
        self._rows = ys[:, 0]
        self._photo = portrait.image
        layers = self.layers = head_layers(portrait, self.rig, self._grid, blur_sigma(portrait))
        self._head_weight = layers.weight
        self._moving_box = layers.moving_box
        # The meshes are read from the cache after a photo's first render (see
        # :mod:`gioconda.render.mesh_cache`): the same matrices, without building them.
        whole_mesh = cached_landmark_mesh(self.rig.neutral, size, self._grid)
        self._depth_map = head_depth_map(self.rig, whole_mesh, size)
        # The expression reaches each pixel by its share (none beside the still body below
        # the ear lobes, where the layer's edge is short: see
        # :meth:`~gioconda.render.layers._HeadLayerBuilder._make_expression_share`).
        self._mesh = weighted_mesh(whole_mesh, layers.expression_share)
        pivot = self.rig.pivot
        self._centred = (
            xs - np.float32(pivot[0]),
            ys - np.float32(pivot[1]),
            self._depth_map - np.float32(pivot[2]),
        )
        r0, r1, c0, c1 = self._moving_box
        w = self._head_weight[r0:r1, c0:c1]
        # The rigid displacement is linear in these four planes (weight times x, y, z about
        # the pivot, and the weight): see :func:`_linear_in`.
        rigid_basis = np.stack(
            [w * plane[r0:r1, c0:c1] for plane in self._centred] + [w], axis=-1
        ).astype(np.float32)
        self._rigid_planes = _planes(rigid_basis)
        # (The same, as one (4, h, w) array, for the compiled field: see :meth:`_field_in`.)
        self._rigid_stack = np.stack(self._rigid_planes)
        self._landmark_points, self._landmark_weight, self._relief = self._landmarks_on_head()
        # The features turn further than commanded (the outline does not), so that the turn
        # reads as the commanded angle: a face the photo shows from the front by
        # :data:`~gioconda.render.rig.FRONTAL_YAW_GAIN`, and any face at least as far as makes
        # its landmarks turn as far as the photo's own 3D landmarks (see :meth:`_delivering_gain`);
        # for turns to -yaw and to +yaw.
        frontal = drawn_yaw_gain(rest_yaw(portrait.landmarks))
        self.yaw_gain: float | tuple[float, float] = (
            max(frontal, self._delivering_gain(-TURN_PROBE_YAW)),
            max(frontal, self._delivering_gain(TURN_PROBE_YAW)),
        )
        # What a step of the rigid motion's inversion reads at each source (see
        # :meth:`_rigid_step`): the weight and the depth about the pivot.
        self._weight_depth = cv2.merge([self._head_weight, self._centred[2]])
        # The map is first found on a coarser grid (the "smooth grid": a point at the middle
        # of each SMOOTH_SCALE-square block of pixels), where the field costs far less: the
        # mesh triangulated over that grid, the rigid basis averaged over each block.
        s = SMOOTH_SCALE
        side = self._smooth_side = -(-size // s)
        hy, hx = np.mgrid[0:side, 0:side].astype(np.float32)
        self._smooth_grid = np.stack([hx, hy], axis=-1)
        self._smooth_mesh = weighted_mesh(
            cached_landmark_mesh((self.rig.neutral[:, :2] - (s - 1) / 2) / s, side,
                                 self._smooth_grid),
            cv2.resize(
                cv2.copyMakeBorder(layers.expression_share, 0, s * side - size, 0,
                                   s * side - size, cv2.BORDER_REPLICATE),
                (side, side), interpolation=cv2.INTER_AREA,
            ),
        )  # fmt: skip
        smooth = self._smooth_mesh.matrix
        self._smooth_rows = fixed_rows(smooth.indptr, smooth.indices, smooth.data)
        framed = np.zeros((size, size, 4), np.float32)
        framed[r0:r1, c0:c1] = rigid_basis
        odd = s * side - size
        basis = cv2.copyMakeBorder(framed, 0, odd, 0, odd, cv2.BORDER_REPLICATE)
        hr0, hr1, hc0, hc1 = r0 // s, -(-r1 // s), c0 // s, -(-c1 // s)
        self._smooth_moving_box = hr0, hr1, hc0, hc1
        self._smooth_planes = np.stack(_planes(
            cv2.resize(basis, (side, side), interpolation=cv2.INTER_AREA)[hr0:hr1, hc0:hc1]
        ))  # fmt: skip
        self._fine_boxes = []
        for region, share, _ in FINE_REGIONS:
            points = self.rig.neutral[list(region), :2]
            spread = np.array(share) * size
            (fx0, fy0), (fx1, fy1) = points.min(0) - spread, points.max(0) + spread
            self._fine_boxes.append((
                max(int(fy0), 0), min(int(np.ceil(fy1)), size),
                max(int(fx0), 0), min(int(np.ceil(fx1)), size),
            ))  # fmt: skip
        # The mesh's rows over each fine region and as far around it as a frame's sources
        # usually reach: the field there is one product a frame.
        # (The coarse grid's cells around a region and the slack around its sources too.)
        margin = round(FINE_MARGIN * size) + 2 * INVERSION_COARSENING + FINE_SLACK
        arounds = [
            (max(fy0 - margin, 0), min(fy1 + margin, size),
             max(fx0 - margin, 0), min(fx1 + margin, size))
            for fy0, fy1, fx0, fx1 in self._fine_boxes
        ]  # fmt: skip
        self._alpha, self._plate = layers.alpha, layers.plate
        # What a frame shows wherever the head layer is clear (alpha 0): the plate alone.
        self._plate_shown = np.clip(self._plate + 0.5, 0, 255).astype(np.uint8)
        # (Read by the compiled blend: row-major float32.)
        self._plate = np.ascontiguousarray(self._plate, np.float32)
        # The photo and the layer's alpha reach past the crop, so that hair cut by its edge
        # moves in whole instead of smearing its last row.
        pad = self._source_pad = max(1, round(SOURCE_PAD * size))
        self._source = surroundings(portrait, pad)
        # Where the smooth grid's points lie in the padded photo the composite reads (a point
        # at the middle of its block, and the ring around the pad), and what interpolating
        # those places misses by the frame's edges, past the first and the last point, where
        # OpenCV's resize repeats them (see :meth:`_inverse_map`).
        first, last = (s - 1) / 2, s * (side - 1) + (s - 1) / 2
        self._smooth_places = self._smooth_grid * np.float32(s) + np.float32(first + pad + 1)
        places = np.arange(size, dtype=np.float32)
        self._edge_steps = np.where(
            places < first, places - first, np.where(places > last, places - last, 0.0)
        ).astype(np.float32)
        self._edge_bands = [
            (a, b) for a, b in ((0, math.ceil(first)), (math.floor(last) + 1, size)) if b > a
        ]
        # Glasses rims (or hair) in front of the eyes: the warp drags skin where they were,
        # and they are put back on top where the head alone carries them.
        self.occluders = EyeOccluders(portrait)
        if self.occluders.boxes:
            paint_out_occluders(self._source, pad, self.rig.neutral, self.occluders)
        if self.occluders.paint_boxes:
            # The occluders' boxes and around them (where their sources lie, see
            # :meth:`_spread_at`), as one box: the eyes' boxes overlap.
            (bx0, by0), (bx1, by1) = (np.min(self.occluders.paint_boxes, 0)[:2],
                                      np.max(self.occluders.paint_boxes, 0)[2:])  # fmt: skip
            reach = round(FINE_MARGIN * size) + 3
            arounds.append((max(int(by0) - reach, 0), min(int(by1) + reach, size),
                            max(int(bx0) - reach, 0), min(int(bx1) + reach, size)))  # fmt: skip
        # The occluders' boxes' grids, for the inversion of the rigid motion over them.
        self._rigid_grids = {box: self._box_grids(box) for box in self.occluders.paint_boxes}
        # The mesh's matrix over each of those boxes: the spread there is one product of
        # some of its rows a frame (see :meth:`_spread_in`).
        self._mesh_boxes = [(around, self._mesh_rows(around)) for around in arounds]
        # (The compiled field reads the same rows each as long as the longest.)
        self._fixed_box_rows = {
            around: fixed_rows(matrix.indptr, matrix.indices, matrix.data)
            for around, matrix in self._mesh_boxes
        }
        self._fixed_whole: tuple[np.ndarray, np.ndarray] | None = None
        source_alpha = cv2.copyMakeBorder(self._alpha, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        # The composite reads the photo and the layer's alpha (as 8 bits) with one remap of
        # four channels (OpenCV's fastest). One ring more around them: the photo's edge
        # repeated and an alpha of 0, so that reads beyond it see the photo's edge (as a
        # replicated border would) and no layer (as a border of 0 would).
        alpha8 = np.clip(source_alpha * 255 + 0.5, 0, 255).astype(np.uint8)
        self._source_rgba = cv2.merge(
            [
                *cv2.split(cv2.copyMakeBorder(self._source, 1, 1, 1, 1, cv2.BORDER_REPLICATE)),
                cv2.copyMakeBorder(alpha8, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=(0,)),
            ]
        )
        # The throat behind the dropping chin (see :class:`~gioconda.render.layers.ThroatLayer`):
        # its masks read at the maps' sources, in the padded source's pixels (0 beyond), as
        # 8-bit shares (read per frame, 8-bit maps remap in half the time of float ones).
        self._throat_front, self._throat_behind = (
            cv2.copyMakeBorder(np.clip(mask * 255 + 0.5, 0, 255).astype(np.uint8),
                               pad + 1, pad + 1, pad + 1, pad + 1, cv2.BORDER_CONSTANT,
                               value=(0,))
            for mask in (layers.throat.front, layers.throat.behind)
        )  # fmt: skip
        self.distance = HeadDistance(portrait, self.rig.neutral)
        self.mouth = MouthPainter(portrait, self.rig)
        self.irises = IrisPainter(portrait)
        # Closing lids are the photo's own lid skin carried down; lips closing over what the
        # photo shows between them fade toward it painted out.
        self.lids = LidCloser(
            self.rig.neutral,
            self.rig.axes,
            self.occluders.mask,
            photo=self._source[pad:-pad, pad:-pad],
            softness=blur_sigma(portrait),
        )
        self._lip_cover = lip_cover(self._photo, self.rig.neutral)
        # A smile's dark corner pockets, which an opening mouth fades out (the opening's corners
        # come down with the jaw and are painted dark by the mouth painter).
        self._corner_cover = corner_cover(self._photo, self.rig.neutral)
        # What the photo's face already does, for an emotion chosen to replace it.
        self.photo_expression = photo_expression(self.rig)
        # A frame differs from the photo's own (no motion) only around the head layer: what
        # bounds how far motion reaches beyond it (see :meth:`_motion_window`), and that frame.
        shows = self._alpha > 0
        self._layer_box = bounding_box(shows) if shows.any() else (0, 0, 0, 0)
        r0, r1, c0, c1 = self._moving_box
        xc, yc, zc = self._centred
        self._rigid_extent = np.array(
            [
                np.abs(xc[0, c0:c1]).max(initial=0.0),
                np.abs(yc[r0:r1, 0]).max(initial=0.0),
                np.abs(zc).max(),
                1.0,
            ]
        )
        self._mesh_gain = mesh_gain_outside(self._mesh, self._layer_box, size)
        self._rest = self._composite(self._still_map())
        self._load_loops()

    def _load_loops(self) -> None:
        """Render one frame with the lips parted (the map tears between them, the mouth's
        interior is painted), the eyes looking aside and the lids half shut, so that every
        compiled loop a frame may call is loaded here, once per process, or compiled on a
        first run: not again in each render process forked later (each compiled them anew:
        21 s against 6 s on a cold cache), nor at a live session's first open mouth."""
        self.render(
            MotionFrame.still(
                (6.0, -4.0, 2.0), gaze=(8.0, -5.0), JawOpen=0.4, EyeBlinkLeft=0.6,
                EyeBlinkRight=0.6,
            )
        )  # fmt: skip

    # -- per portrait -----------------------------------------------------------------------

    def _landmarks_on_head(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each landmark on the head's smooth surface, about the pivot, as (x, y, z, 1), (478, 4);
        how much of the head's motion it takes, (478, 1); and its depth in front of (or behind)
        the smoothed surface where it moves with the head, (478,) float32."""
        neutral, pivot = self.rig.neutral, self.rig.pivot
        z = bilinear_samples(self._depth_map, neutral[:, :2])
        points = np.stack(
            [neutral[:, 0] - pivot[0], neutral[:, 1] - pivot[1], z - pivot[2], np.ones(len(z))], 1
        )
        weight = bilinear_samples(self._head_weight, neutral[:, :2])[:, None]
        self._taper = self._relief_taper()
        relief = (neutral[:, 2] - pivot[2] - points[:, 2]) * weight[:, 0] * self._taper
        return points, weight, relief.astype(np.float32)

    def _delivering_gain(self, yaw: float) -> float:
        """The further turn's gain that makes the landmarks drawn turned ``yaw`` degrees move as
        a rigid turn of the photo's own 3D landmarks would
        (:func:`~gioconda.render.rig.rigid_turn_share` of 1).

        The warp turns a smoothed depth map and tapers the landmarks' relief to nothing at the
        face's oval, so that the field does not fold; a frontal face's landmarks so move 0.91-0.94
        as far as its own 3D shape says. On a face the photo shows turned, the far half lies
        within that taper and behind the smoothing: its landmarks move only 0.71-0.83 as far,
        least on a turn toward the camera, and Face Mesh reads the turn as that much short.
        Worked out from the landmarks alone (no frame is rendered); the share is linear in the
        gain.
        """
        shares = [self._turn_share(yaw, gain) for gain in (1.0, 1.5)]
        if shares[1] - shares[0] < 1e-3:
            return 1.0  # (the further turn does not reach the landmarks)
        gain = 1.0 + 0.5 * (1.0 - shares[0]) / (shares[1] - shares[0])
        return float(np.clip(gain, 1.0, DELIVERY_GAIN_MAX))

    def _turn_share(self, yaw: float, gain: float) -> float:
        """:func:`~gioconda.render.rig.rigid_turn_share` of the landmarks as :meth:`render` draws
        them turned ``yaw`` degrees with ``gain``."""
        head = HeadFrame(rotation_matrix(yaw, 0.0, 0.0), self.rig.pivot, 1.0, np.zeros(2))
        moved = self._landmark_motion(head, self.rig.neutral)
        x = moved.head[:, 0] + self._relief_motion(head)[:, 0]
        if gain != 1.0:
            drawn = np.array([drawn_yaw(yaw, gain), 0.0, 0.0])
            x = x + self._further_turn(head, drawn)[:, 0]
        landmarks = self.rig.neutral[:N_MESH_LANDMARKS]
        return rigid_turn_share(landmarks, self.rig.pivot, [(yaw, x[:N_MESH_LANDMARKS])])

    def _relief_taper(self) -> np.ndarray:
        """How much of its relief each landmark carries, (478,) in [0, 1]: all of it inside
        the face, none on its oval. Along the oval the landmarks of a face turned from the
        camera crowd together at very different depths; their relief, spread over the thin
        triangles there, would fold the field and tear the cheek's contour into a sawtooth.
        """
        lm = self.rig.neutral[:, :2]
        oval = lm[list(FACE_OVAL)].astype(np.float32)
        inside = np.array([cv2.pointPolygonTest(oval, (float(x), float(y)), True) for x, y in lm])
        t = np.clip(inside / (RELIEF_TAPER * self.rig.face_width), 0.0, 1.0)
        return (t * t * (3 - 2 * t)).astype(np.float32)  # smoothstep: no kink

    # -- per frame ----------------------------------------------------------------------------

    def render(self, frame: MotionFrame) -> np.ndarray:
        """The portrait under ``frame``'s motion: (S, S, 3) uint8 RGB."""
        undo = undone_expression(frame.blendshapes, frame.replaces_photo, self.photo_expression)
        if undo is not None:
            # The rig is linear in the shapes it reads: negative weights take back what the
            # photo's face does.
            frame = dataclasses.replace(frame, blendshapes=frame.blendshapes - undo)
        head = self.rig.head(frame)
        head_deg = frame.head_rotation_deg
        if head_deg[0] != 0.0 and self.yaw_gain != 1.0:
            # The yaw the features are drawn at (see :meth:`_further_turn`); the irises' angle
            # in the head reads it, so the gaze holds.
            head_deg = head_deg.copy()
            head_deg[0] = drawn_yaw(float(head_deg[0]), self.yaw_gain)
        # The warp leaves the lids' blinks and squints out: the lids are drawn closing over
        # the eye (below), not the eye squeezed between them.
        without_lids, with_lids = self.rig.expressions(frame)
        moved = self._landmark_motion(head, without_lids)
        relief = self._relief_motion(head)
        on_face = moved.expression + relief
        # Where the head's own motion takes each landmark, the features' further turn included
        # (the upper teeth go with it).
        with_head = moved.head
        further = None
        if head_deg[0] != frame.head_rotation_deg[0]:
            further = self._further_turn(head, head_deg)
            on_face = on_face + further
            with_head = with_head + further
        with_lids = self._landmark_motion(head, with_lids).expression
        posed = self.rig.neutral[:, :2] + with_head + with_lids + relief
        skull = self.rig.neutral[:, :2] + with_head
        window = self._motion_window(head, on_face)
        backward = self._inverse_map(head, on_face, window)
        if not self._fill_inside(backward):
            # (never seen: torn pixels lie deep inside the face)
            backward = self._inverse_map(head, on_face, None)
        out = self._composite(backward, self._throat_source(head, moved.expression, backward))
        self.irises.paint(out, backward, posed, frame.gaze_deg, head_deg)
        warped = self.rig.neutral[:, :2] + moved.head + on_face
        self.lids.paint(out, backward, self._source, self._source_pad, frame.blendshapes,
                        [warped[list(eye)] for eye in EYES])  # fmt: skip
        self._lip_cover.apply(out, backward, self.mouth.closing(posed))
        if self._corner_cover is not None:
            opening = self.mouth.opening(posed)
            if opening > 0.02:
                self._corner_cover.apply(out, backward, opening)
                self._refill_torn(out, backward)
        if self.occluders.boxes:
            sources = [self._occluder_source(head, box, further)
                       for box in self.occluders.paint_boxes]  # fmt: skip
            # (what is behind a rim's lens, the eye's top, goes with the lid closing over it)
            closed = [up for up, _, _ in self.lids.shares(frame.blendshapes)]
            self.occluders.paint(out, sources, closed)
        self.mouth.paint(out, posed, skull, frame)
        if head.scale != 1.0:
            out = self.distance.apply(out, head.scale)
        return out

    def _motion_window(
        self, head: HeadFrame, on_face: np.ndarray
    ) -> tuple[int, int, int, int] | None:
        """Rows y0:y1 and columns x0:x1 outside which this frame is the frame without motion.

        Inverting the field moves an output pixel by at most the largest displacement it
        meets on its way. Outside the head layer's box that is bounded by the rigid motion
        (its weight is at most 1, over the moving box's extent about the pivot) plus the
        mesh's spread of the landmark offsets (at most its gain there times the largest
        offset). An output pixel further than that (and a bilinear neighbour) from the
        layer's box never lands on the layer: it shows the plate, as without motion. So only
        the window is inverted and composited, and the rest copied from the still frame.
        """
        if self._layer_box[1] == 0:
            return None
        c = np.abs(self._rigid_coefficients(head).astype(np.float64))
        mesh = np.abs(on_face[:N_MESH_LANDMARKS]).max(0) * self._mesh_gain
        # + 1 for rounding, + 2 for the bilinear neighbours and the reach beyond them
        dx, dy = (np.ceil(c @ self._rigid_extent + mesh + 1.0) + 2).astype(int)
        y0, y1, x0, x1 = self._layer_box
        size, s = self.size, SMOOTH_SCALE
        # On the smooth grid's blocks (see :meth:`_inverse_map`): a window whose edge cuts a
        # block interpolated the map from the grid's points otherwise than the whole frame
        # does, deep inside it too (at JawOpen 0.5 on the Mona Lisa 828 pixels off the whole
        # frame's render, 57 by more than 8 grey levels, round the mouth's rim), so that a
        # layer a pixel wider changed the frame there.
        y0, x0 = max(y0 - dy, 0) // s * s, max(x0 - dx, 0) // s * s
        y1, x1 = min(-(-(y1 + dy) // s) * s, size), min(-(-(x1 + dx) // s) * s, size)
        return y0, y1, x0, x1

    def _throat_source(
        self, head: HeadFrame, expression: np.ndarray, backward: SourceMap
    ) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
        """Where the throat behind the dropping chin may show in this frame (rows y0:y1,
        columns x0:x1 of the frame), and where each of its pixels comes from under the head's
        rigid motion alone: (h, w, 2) float32 photo pixels, the rigid motion on the smooth
        grid inverted at the coarse grid's points and interpolated to every pixel (the neck's
        share of the head's motion changes slowly: within 0.06 px of the full-resolution
        inversion over the throats of the astronaut, the Mona Lisa, the tilted head and the
        fur hat turned 4, 3 and 2 degrees, 0.27 turned 10 degrees every way); None where the
        face's oval (``expression``, landmark offsets, (478, 2) pixels) does not move (the
        face's field is then the neck's) or the throat lies outside the map's window."""
        ty0, ty1, tx0, tx1 = self.layers.throat.box
        # (The field below the jaw's line is spread from the face's oval.)
        if ty1 <= ty0 or np.abs(expression[list(FACE_OVAL)]).max() < THROAT_LEAST_OFFSET:
            return None
        # The throat's pixels in the frame lie within the rigid motion's reach of its box.
        c = self._rigid_coefficients(head)
        dx, dy = (np.ceil(np.abs(c.astype(np.float64)) @ self._rigid_extent) + 2).astype(int)
        wy0, wy1, wx0, wx1 = backward.window
        y0, y1 = max(ty0 - dy, wy0), min(ty1 + dy, wy1)
        x0, x1 = max(tx0 - dx, wx0), min(tx1 + dx, wx1)
        if y1 <= y0 or x1 <= x0:
            return None
        # The rigid motion on the smooth grid (in its pixels, none past the moving box),
        # inverted there at the throat box's coarse grid points.
        s = SMOOTH_SCALE
        hr0, _, hc0, _ = self._smooth_moving_box
        field = cv2.copyMakeBorder(_linear_in(list(self._smooth_planes), c * np.float32(1 / s)),
                                   1, 1, 1, 1, cv2.BORDER_CONSTANT, value=(0, 0))  # fmt: skip
        f = INVERSION_COARSENING
        xs, ys = coarse_points((y0, y1, x0, x1))
        middle = np.float32((s - 1) / 2)
        at_x = (xs - middle) / np.float32(s) - np.float32(hc0 - 1)
        at_y = (ys - middle) / np.float32(s) - np.float32(hr0 - 1)
        back = np.empty((len(ys), len(xs), 2), np.float32)
        coarse_steps(field, at_x, at_y, THROAT_INVERSION_STEPS, np.float32(1.0), back,
                     np.float32(THROAT_SETTLED / s))  # fmt: skip
        back *= np.float32(s)
        # Only the coarse grid's cells whose sources lie on the throat, and two more round
        # them (the interpolation to every pixel reads the next one), are made at every pixel.
        pad = np.float32(self._source_pad + 1)
        on_throat = cv2.remap(self._throat_behind, back[..., 0] + (xs + pad)[None, :],
                              back[..., 1] + (ys + pad)[:, None], cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT) > 0  # fmt: skip
        if not on_throat.any():
            return None
        r0, r1, c0, c1 = bounding_box(on_throat)
        r0, c0 = max(r0 - 2, 0), max(c0 - 2, 0)
        r1, c1 = min(r1 + 2, on_throat.shape[0]), min(c1 + 2, on_throat.shape[1])
        y0, x0 = y0 + f * r0, x0 + f * c0
        y1, x1 = min(y0 + f * (r1 - r0), y1), min(x0 + f * (c1 - c0), x1)
        cells = (slice(r0, r1), slice(c0, c1))
        h, w = y1 - y0, x1 - x0
        source = to_every_pixel(back[cells], h, w)
        source[..., 0] += self._columns[None, x0:x1]
        source[..., 1] += self._rows[y0:y1, None]
        return (y0, y1, x0, x1), source

    def _fill_inside(self, backward: SourceMap) -> bool:
        """Whether the fill over the map's torn pixels reads only inside its window (or the
        frame's edge), so that the window's composite is the whole frame's (up to where the
        coarse inversion's grid falls, see :meth:`_inverse_map`)."""
        tx0, ty0, tw, th = backward.torn_bounds
        if tw == 0:
            return True
        y0, y1, x0, x1 = backward.window
        ty1, tx1 = ty0 + th, tx0 + tw
        pad, size = FILL_PAD, self.size
        return (
            (ty0 - pad >= 0 or y0 == 0)
            and (tx0 - pad >= 0 or x0 == 0)
            and (ty1 + pad <= y1 - y0 or y1 == size)
            and (tx1 + pad <= x1 - x0 or x1 == size)
        )

    def _still_map(self) -> SourceMap:
        """The map of a frame without motion: every pixel its own source."""
        size, pad = self.size, np.float32(self._source_pad + 1)
        return SourceMap(self._grid + pad, np.zeros((size, size), bool), (0, size, 0, size),
                         float(pad), size)  # fmt: skip

    def _composite(
        self,
        backward: SourceMap,
        throat: tuple[tuple[int, int, int, int], np.ndarray] | None = None,
    ) -> np.ndarray:
        """The warped head layer over the still plate, (S, S, 3) uint8, given where each output
        pixel comes from in the photo (``backward``), and the throat behind the dropping chin
        (its box in the frame and its sources, see :meth:`_throat_source`; None: none).

        Only the map's window is composited, the rest is the frame without motion (see
        :meth:`_motion_window`). Inside it, the layer is warped and blended over the plate.
        """
        size = self.size
        wy0, wy1, wx0, wx1 = backward.window
        # The frame without motion around the window, the plate inside it.
        out = np.empty_like(self._plate_shown)
        if backward.window != (0, size, 0, size):
            band = slice(wy0, wy1)
            around = ((slice(0, wy0), slice(None)), (slice(wy1, size), slice(None)),
                      (band, slice(0, wx0)), (band, slice(wx1, size)))  # fmt: skip
            for part in around:
                out[part] = self._rest[part]
        warped = cv2.remap(self._source_rgba, backward.padded, NO_ARRAY, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        torn = backward.torn
        tx0, ty0, tw, th = backward.torn_bounds
        if tw:
            # A torn pixel's map is noise and may point off the head (below the chin, into
            # the background), whose alpha of 0 would let the plate show through as a dark
            # speck on the lip's edge or a blob beside the mouth's corner. The map tears only
            # where the face pulls apart, so the pixel belongs to the head layer, and the fill
            # paints it (from what lies around it).
            torn_box = (slice(ty0, ty0 + th), slice(tx0, tx0 + tw))
            warped[..., 3][torn_box][torn[torn_box]] = 255
            fill_from_around(warped[..., :3], torn, (tx0, ty0, tw, th))
        if throat is not None:
            self._throat_under_chin(warped, backward, *throat)
        # The layer over the plate: where it is opaque the frame is the warped pixel itself,
        # where it is clear the plate, and between them (its soft edge) their mix.
        blend(warped, self._plate, self._plate_shown, (wy0, wx0), out)
        return out

    def _throat_under_chin(
        self,
        warped: np.ndarray,
        backward: SourceMap,
        box: tuple[int, int, int, int],
        rough: np.ndarray,
    ) -> None:
        """Draw the throat under the dropping chin into the warped layer ``warped`` (the
        map's window, (h, w, 4) uint8, in place) over ``box`` (rows y0:y1, columns x0:x1 of
        the frame): the photo under the head's rigid motion alone (``rough``, photo pixels,
        see :meth:`_throat_source`) by its share of the throat there, less what the face (the
        face's field's source, ``backward``) covers; the alpha too, so the collar stays the
        plate's.
        """
        y0, y1, x0, x1 = box
        wy0, _, wx0, _ = backward.window
        part = (slice(y0 - wy0, y1 - wy0), slice(x0 - wx0, x1 - wx0))
        front = cv2.remap(self._throat_front, backward.padded[part], NO_ARRAY, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)  # fmt: skip
        pad = np.float32(self._source_pad + 1)
        behind = cv2.remap(self._throat_behind, rough + pad, NO_ARRAY, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT)  # fmt: skip
        # (the 8-bit shares as one in [0, 1]: behind x (1 - front))
        share = cv2.multiply(behind, 255 - front, scale=1 / 65025, dtype=cv2.CV_32F)
        # (A torn pixel's source is noise: it belongs to the face.)
        share[backward.torn[part]] = 0.0
        # Only where the throat shows (mostly below the chin) is it drawn.
        bx, by, bw, bh = cv2.boundingRect((share > 0.5 / 255).view(np.uint8))
        if bw == 0:
            return
        inside = (slice(by, by + bh), slice(bx, bx + bw))
        neck = cv2.remap(self._source_rgba, rough[inside] + pad, NO_ARRAY, cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        into = (slice(part[0].start + by, part[0].start + by + bh),
                slice(part[1].start + bx, part[1].start + bx + bw))  # fmt: skip
        weight = np.ascontiguousarray(share[inside])
        warped[into] = cv2.blendLinear(neck, np.ascontiguousarray(warped[into]), weight,
                                       1.0 - weight)  # fmt: skip

    def _refill_torn(self, out: np.ndarray, backward: SourceMap) -> None:
        """Fill the map's torn pixels in ``out`` (in place) again from what lies around them
        now: the composite filled them from the photo's pixels around, and beside an opening
        mouth's corner a tear filled from a smile's dark pocket before the pocket was faded
        out (:func:`gioconda.render.covers.corner_cover`) stays a black speck."""
        torn = backward.torn
        x, y, w, h = backward.torn_bounds
        if w == 0:
            return
        wy0, _, wx0, _ = backward.window
        # Only the torn pixels' box and the fill's reach around it (what the fill reads).
        y0, x0 = max(y - FILL_PAD, 0), max(x - FILL_PAD, 0)
        y1, x1 = min(y + h + FILL_PAD, torn.shape[0]), min(x + w + FILL_PAD, torn.shape[1])
        box = (slice(wy0 + y0, wy0 + y1), slice(wx0 + x0, wx0 + x1))
        part = np.ascontiguousarray(out[box])
        fill_from_around(part, np.ascontiguousarray(torn[y0:y1, x0:x1]), (x - x0, y - y0, w, h))
        out[box] = part

    def _rigid_coefficients(self, head: HeadFrame) -> np.ndarray:
        """Rows (dx, dy) of the rigid displacement, linear in (x, y, z, 1) about the pivot."""
        r = head.rotation
        return np.array(
            [
                [r[0, 0] - 1, r[0, 1], r[0, 2], head.translation[0]],
                [r[1, 0], r[1, 1] - 1, r[1, 2], head.translation[1]],
            ],
            np.float32,
        )

    def _landmark_motion(self, head: HeadFrame, expressed: np.ndarray) -> LandmarkMotion:
        """How each landmark moves: with the head's smooth surface, and with the expression.

        The head part uses the smoothed depth map, not each landmark's own depth: on a face
        turned from the camera the landmarks of the far side crowd together at very different
        depths, and following them exactly would fold the image over itself.
        """
        neutral = self.rig.neutral
        with_head = (
            self._landmark_points @ self._rigid_coefficients(head).T
        ) * self._landmark_weight
        offsets = (expressed - neutral) @ head.rotation.T
        return LandmarkMotion(with_head, offsets[:, :2])

    def _relief_motion(self, head: HeadFrame) -> np.ndarray:
        """What the face's own relief adds to the head's motion, (478, 2) pixel offsets.

        The rigid motion turns the smoothed depth map; the landmarks stand out from it (the
        nose in front, the eye sockets behind). Spread over the mesh, the difference makes the
        features turn as far as the face's true shape says, so a head turn reads as the
        commanded angle, while the smoothed map keeps the field from folding between them.
        """
        rigid = self._rigid_coefficients(head)
        return self._relief[:, None] * rigid[:, 2][None, :]

    def _further_turn(self, head: HeadFrame, drawn_deg: np.ndarray) -> np.ndarray:
        """What turning the face's features to ``drawn_deg`` rather than the head's own
        rotation adds to each landmark, (478, 2) pixel offsets: all of it inside the face,
        none on its oval (the taper of :meth:`_relief_taper`), so the cheek's contour, the
        hair and what lies beside them move only with the head."""
        drawn = rotation_matrix(*(float(a) for a in drawn_deg))
        about_pivot = self.rig.neutral - self.rig.pivot
        extra = about_pivot @ (drawn - head.rotation).T
        return (extra[:, :2] * self._taper[:, None]).astype(np.float32)

    def _spread(self, offsets: np.ndarray) -> np.ndarray:
        """Landmark offsets (478, 2) spread over the mesh as a field, (S, S, 2) float32, 0
        beyond it."""
        field = np.zeros((self.size, self.size, 2), np.float32)
        x0, y0, x1, y1 = self._mesh.box
        values = offsets[:N_MESH_LANDMARKS].astype(np.float32)
        for axis in (0, 1):
            spread = self._mesh.matrix @ np.ascontiguousarray(values[:, axis])
            field[y0:y1, x0:x1, axis] = spread.reshape(y1 - y0, x1 - x0)
        return field

    def _spread_at(self, offsets: np.ndarray, points: list[np.ndarray]) -> list[np.ndarray]:
        """The mesh's spread of ``offsets`` (as :meth:`_spread`, 0 beyond the frame) read
        bilinearly at each of ``points`` ((h, w, 2) float32 frame pixels each): the spread is
        made only over the box the reads reach (the eyes' region, not the frame)."""
        size = self.size
        # A bilinear read at x takes pixels floor(x) and the next (OpenCV rounds x to 1/32
        # pixel first: one more either side covers that).
        x0 = max(min(int(np.floor(p[..., 0].min())) for p in points) - 1, 0)
        x1 = min(max(int(np.floor(p[..., 0].max())) for p in points) + 3, size)
        y0 = max(min(int(np.floor(p[..., 1].min())) for p in points) - 1, 0)
        y1 = min(max(int(np.floor(p[..., 1].max())) for p in points) + 3, size)
        if x1 <= x0 or y1 <= y0:
            return [np.zeros_like(p) for p in points]  # (every read lies beyond the frame)
        spread = self._spread_in(offsets[:N_MESH_LANDMARKS].astype(np.float32), (y0, y1, x0, x1))
        # (Read at the points moved by the box's corner: the same samples, as the shift is
        # a whole number of pixels; beyond the box's clipped edges lies the frame's edge.)
        corner = np.complex64(complex(x0, y0))
        return [
            cv2.remap(spread, (p.view(np.complex64) - corner).view(np.float32), NO_ARRAY,
                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
            for p in points
        ]  # fmt: skip

    def _spread_in(self, offsets: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The mesh's spread of ``offsets`` ((468, 2) float32) over ``box`` (rows y0:y1,
        columns x0:x1) alone, (h, w, 2) float32, as :meth:`_spread` computes it: the product
        of the rows of the box's image rows only, in one of the matrices made for the boxes
        a frame's work usually lies in, else in the mesh's own."""
        y0, y1, x0, x1 = box
        field = np.zeros((y1 - y0, x1 - x0, 2), np.float32)
        around = next((near for near in self._mesh_boxes if _inside(box, near[0])), None)
        if around is not None:
            (ay0, _, ax0, ax1), matrix = around
            # (The box's rows, every column of the prepared box: cut after the product.)
            iy0, iy1, ix0, ix1 = y0, y1, x0, x1
        else:
            # The mesh's own matrix, over its box (0 beyond it).
            mx0, my0, mx1, my1 = self._mesh.box
            ay0, ax0, ax1, matrix = my0, mx0, mx1, self._mesh.matrix
            iy0, iy1, ix0, ix1 = max(y0, my0), min(y1, my1), max(x0, mx0), min(x1, mx1)
            if iy1 <= iy0 or ix1 <= ix0:
                return field
        width = ax1 - ax0
        start, stop = (iy0 - ay0) * width, (iy1 - ay0) * width
        for axis in (0, 1):
            spread = _band_product(matrix, start, stop, offsets[:, axis]).reshape(iy1 - iy0, width)
            field[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0, axis] = spread[:, ix0 - ax0 : ix1 - ax0]
        return field

    def forward_field(self, head: HeadFrame, expression: np.ndarray) -> np.ndarray:
        """Displacement of every photo pixel, (S, S, 2) float32, source to destination, at
        full resolution (what :meth:`_inverse_map` inverts on a coarser grid, and its tests
        hold it to)."""
        # The expression, spread from the landmarks over the mesh and fading out beyond the
        # face, plus the head's rigid motion.
        field = self._spread(expression)
        r0, r1, c0, c1 = self._moving_box
        if r1 > r0 and c1 > c0:
            moving = field[r0:r1, c0:c1]
            rigid = _linear_in(self._rigid_planes, self._rigid_coefficients(head))
            cv2.add(moving, rigid, dst=moving)
        return field

    def _inverse_map(
        self, head: HeadFrame, expression: np.ndarray, window: tuple[int, int, int, int] | None
    ) -> SourceMap:
        """Where each output pixel comes from in the photo under the head's motion and the
        ``expression`` spread over the mesh, and where that map tears (see
        :func:`~gioconda.render.warp.invert_field`).

        The forward field is inverted on the grid :data:`SMOOTH_SCALE` times coarser than
        the frame (called the smooth grid below; first on a grid coarser still, then refined
        on it), the backward map interpolated linearly to every pixel, and refined
        at full resolution only in the fine regions (around the eyes and the mouth, see
        :data:`FINE_REGIONS`): elsewhere the field is smooth and the interpolation within a
        quarter of a pixel but where hanging hair's share of the head's motion changes
        sharply (within a pixel there). Only
        ``window`` (rows y0:y1, columns x0:x1; None: the frame) is inverted: outside it the
        map is the identity and nothing is torn. A motion of zero gives the identity.
        """
        size, side = self.size, self._smooth_side
        y0, y1, x0, x1 = (0, size, 0, size) if window is None else window
        c = self._rigid_coefficients(head)
        offsets = expression[:N_MESH_LANDMARKS].astype(np.float32)
        # The smooth grid's window, one point wider on each side for the interpolation.
        s = SMOOTH_SCALE
        hy0, hy1 = max(y0 // s - 1, 0), min(-(-y1 // s) + 1, side)
        hx0, hx1 = max(x0 // s - 1, 0), min(-(-x1 // s) + 1, side)
        field = self._smooth_field(c, offsets)
        here = self._smooth_grid[hy0:hy1, hx0:hx1]
        source = here + coarse_inverse(field, (hy0, hy1, hx0, hx1), SMOOTH_COARSENING)
        torn_smooth = refine_inverse(field, (hx0, hy0), source)
        source -= here
        source *= np.float32(s)  # (smooth-grid pixels to the frame's)
        # The sources themselves (in the padded photo's pixels, what the composite reads) are
        # interpolated to every pixel: a smooth-grid point lies at the middle of its block,
        # where OpenCV's resize puts its samples, so between the points the interpolation of
        # the points' own places is each pixel's place, and no frame-sized sum follows.
        placed = source + self._smooth_places[hy0:hy1, hx0:hx1]
        spread = cv2.resize(placed, (s * (hx1 - hx0), s * (hy1 - hy0)),
                            interpolation=cv2.INTER_LINEAR)  # fmt: skip
        oy, ox = y0 - s * hy0, x0 - s * hx0
        padded = spread[oy : oy + y1 - y0, ox : ox + x1 - x0]
        # Past the last points, by the frame's edges, the resize repeats the points' values:
        # the places there are the pixels' own.
        for axis, (start, stop) in ((0, (x0, x1)), (1, (y0, y1))):
            for edge0, edge1 in self._edge_bands:
                a, b = max(edge0, start), min(edge1, stop)
                if b <= a:
                    continue
                step = self._edge_steps[a:b]
                if axis == 0:  # (columns: the places' x)
                    padded[:, a - start : b - start, 0] += step[None, :]
                else:  # (rows: their y)
                    padded[a - start : b - start, :, 1] += step[:, None]
        torn = np.zeros((y1 - y0, x1 - x0), bool)
        # The boxes of the window that may hold a torn pixel (the torn points' blocks, the fine
        # regions), as one: what the map's torn bounds are looked for in.
        within: list[tuple[int, int, int, int]] = []
        bx, by, bw, bh = cv2.boundingRect(torn_smooth.view(np.uint8))
        if bw:
            # Each torn point's block of pixels (where a nearest-neighbour resize puts it),
            # over the torn points' box alone.
            blocks = np.repeat(np.repeat(torn_smooth[by : by + bh, bx : bx + bw], s, 0), s, 1)
            ty0, tx0 = s * by - oy, s * bx - ox  # (the blocks' corner in the window)
            cy0, cx0 = max(ty0, 0), max(tx0, 0)
            cy1, cx1 = min(ty0 + s * bh, y1 - y0), min(tx0 + s * bw, x1 - x0)
            if cy1 > cy0 and cx1 > cx0:
                torn[cy0:cy1, cx0:cx1] = blocks[cy0 - ty0 : cy1 - ty0, cx0 - tx0 : cx1 - tx0]
                within.append((cy0, cy1, cx0, cx1))
        pad = np.float32(self._source_pad + 1)
        reach, f = round(FINE_REACH * size), INVERSION_COARSENING
        for (fy0, fy1, fx0, fx1), (_, _, anew) in zip(self._fine_boxes, FINE_REGIONS, strict=True):
            fy0, fy1, fx0, fx1 = max(fy0, y0), min(fy1, y1), max(fx0, x0), min(fx1, x1)
            if fy1 <= fy0 or fx1 <= fx0:
                continue
            inside = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
            within.append((fy0 - y0, fy1 - y0, fx0 - x0, fx1 - x0))
            if not anew:
                # The interpolated map is the guess, refined on the exact field where its
                # sources lie (and a few pixels around, for the steps on the way there).
                # (Refined in place in the map: its sources less the pad are the guess.)
                here = padded[inside]
                ly0, ly1, lx0, lx1 = _sources_box(here, (fy0, fy1, fx0, fx1), reach, size, pad)
                exact = self._field_in(c, offsets, (ly0, ly1, lx0, lx1))
                refine_inverse_into(exact, (fx0, fy0), here, here, torn[inside], (lx0, ly0),
                                    less=pad, less_after=-pad)  # fmt: skip
                continue
            # The region is inverted as the whole window would be at full resolution: on
            # the window's own coarse grid (its cells over the region and one more around,
            # which its interpolation reads), then refined.
            ey0 = max(y0 + ((fy0 - y0) // f - 1) * f, y0)
            ey1 = min(y0 + (-(-(fy1 - y0) // f) + 1) * f, y1)
            ex0 = max(x0 + ((fx0 - x0) // f - 1) * f, x0)
            ex1 = min(x0 + (-(-(fx1 - x0) // f) + 1) * f, x1)
            # The field where the region's sources lie (and a few pixels around, for the
            # iterations on the way there): bounded by the smooth grid's displacements.
            near = (slice(max(ey0 // s - hy0, 0), ey1 // s + 1 - hy0),
                    slice(max(ex0 // s - hx0, 0), ex1 // s + 1 - hx0))  # fmt: skip
            # (A torn point's source is noise: the field is not needed there.)
            dx_min, dx_max, dy_min, dy_max, read = extent(source[near], torn_smooth[near], True)
            if read == 0:  # (every point torn: NumPy's reductions of nothing say so)
                raise ValueError("no untorn point around the mouth to bound its field by")
            # (The float32 extremes, plus whole numbers: float64 sums, as NumPy's scalars make.)
            low = np.floor([np.float32(dx_min) + ex0, np.float32(dy_min) + ey0]).astype(int)
            high = np.ceil([np.float32(dx_max) + ex1, np.float32(dy_max) + ey1]).astype(int)
            low, high = low - FINE_SLACK, high + FINE_SLACK
            ly0, ly1 = max(low[1], ey0 - reach, 0), min(high[1], ey1 + reach, size)
            lx0, lx1 = max(low[0], ex0 - reach, 0), min(high[0], ex1 + reach, size)
            exact = self._field_in(c, offsets, (ly0, ly1, lx0, lx1))
            coarse = coarse_inverse(exact, (ey0, ey1, ex0, ex1), origin=(lx0, ly0))
            # (The pixels plus the coarse inversion's displacements are the guess, refined
            # into the map.)
            displaced = coarse[fy0 - ey0 : fy1 - ey0, fx0 - ex0 : fx1 - ex0]
            refine_inverse_into(exact, (fx0, fy0), displaced, padded[inside], torn[inside],
                                (lx0, ly0), from_pixels=True, less_after=-pad)  # fmt: skip
        boxes = [box for box in within if box[1] > box[0] and box[3] > box[2]]
        torn_within = (
            (min(b[0] for b in boxes), max(b[1] for b in boxes),
             min(b[2] for b in boxes), max(b[3] for b in boxes))
            if boxes else (0, 0, 0, 0)
        )  # fmt: skip
        return SourceMap(padded, torn, (y0, y1, x0, x1), float(pad), size, torn_within)

    def _smooth_field(self, c: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """The forward field on the smooth grid (:data:`SMOOTH_SCALE` times coarser than the
        frame), (h, h, 2) float32, in smooth-grid pixels."""
        side = self._smooth_side
        field = np.empty((side, side, 2), np.float32)
        x0, y0, x1, y1 = self._smooth_mesh.box
        scale = np.float32(1 / SMOOTH_SCALE)
        field_box(field, 0, 0, *self._smooth_rows, offsets * scale, (y0, y1, x0, x1),
                  self._smooth_planes, self._smooth_moving_box, c * scale)  # fmt: skip
        return field

    def _field_in(
        self, c: np.ndarray, offsets: np.ndarray, box: tuple[int, int, int, int]
    ) -> np.ndarray:
        """The forward field (as :meth:`forward_field` computes it) over ``box`` (rows y0:y1,
        columns x0:x1) alone, (h, w, 2) float32: the mesh's rows of one of the matrices
        made for the boxes a frame's work usually lies in (see :meth:`_spread_in`), else of
        the mesh's own, and the rigid motion, in one compiled pass."""
        y0, y1, x0, x1 = box
        field = np.empty((y1 - y0, x1 - x0, 2), np.float32)
        around = next((near for near, _ in self._mesh_boxes if _inside(box, near)), None)
        if around is not None:
            rows, fixed = around, self._fixed_box_rows[around]
        else:
            mx0, my0, mx1, my1 = self._mesh.box
            rows, fixed = (my0, my1, mx0, mx1), self._fixed_mesh_rows()
        field_box(field, y0, x0, *fixed, offsets, rows, self._rigid_stack, self._moving_box,
                  c)  # fmt: skip
        return field

    def _fixed_mesh_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole mesh's matrix as :func:`~gioconda.render.kernels.fixed_rows`, made the
        first time a frame's work lies outside the boxes prepared for it (under extreme poses:
        never in speech's motion; 10 ms and 6-8 MB, once)."""
        if self._fixed_whole is None:
            matrix = self._mesh.matrix
            self._fixed_whole = fixed_rows(matrix.indptr, matrix.indices, matrix.data)
        return self._fixed_whole

    def _mesh_rows(self, box: tuple[int, int, int, int]) -> sparse.csr_matrix:
        """The mesh's matrix for the pixels of ``box`` (rows y0:y1, columns x0:x1), row-major
        (zero rows for pixels outside the mesh's box)."""
        y0, y1, x0, x1 = box
        mx0, my0, mx1, my1 = self._mesh.box
        ys, xs = np.mgrid[y0:y1, x0:x1]
        inside = ((ys >= my0) & (ys < my1) & (xs >= mx0) & (xs < mx1)).reshape(-1)
        rows = ((ys - my0) * (mx1 - mx0) + (xs - mx0)).reshape(-1)
        # Pixels outside the mesh's box read an all-zero row appended to the matrix.
        matrix = sparse.vstack([self._mesh.matrix, sparse.csr_matrix((1, N_MESH_LANDMARKS))])
        rows[~inside] = matrix.shape[0] - 1
        return matrix.tocsr()[rows].astype(np.float32)

    def _rigid_source(self, head: HeadFrame, box: tuple[int, int, int, int]) -> np.ndarray:
        """Where each output pixel of ``box`` (x0, y0, x1, y1) comes from in the photo under
        the head's rigid motion alone (no expression), (h, w, 2) float32: the rigid part of
        :meth:`forward_field`, inverted by fixed-point steps (it is smooth: a few suffice)."""
        x0, y0, x1, y1 = box
        c = self._rigid_coefficients(head)
        # The rigid motion is smooth (the depth map is blurred, the weight is 1 around the
        # eyes): iterated on the warp's coarse grid, interpolated to every pixel, then refined
        # at full resolution.
        h, w = y1 - y0, x1 - x0
        coarse_x, coarse_y, here_x, here_y = self._rigid_grids.get(box) or self._box_grids(box)
        sx, sy = self._coarse_rigid_source(c, coarse_x, coarse_y)
        sx = here_x + to_every_pixel(sx - coarse_x, h, w)
        sy = here_y + to_every_pixel(sy - coarse_y, h, w)
        for _ in range(RIGID_REFINING_STEPS):
            sx, sy = self._rigid_step(c, here_x, here_y, sx, sy)
        return cv2.merge([sx, sy])

    def _coarse_rigid_source(
        self, c: np.ndarray, coarse_x: np.ndarray, coarse_y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The rigid motion (coefficients ``c``) inverted by fixed-point steps at a box's coarse
        grid points (``coarse_x``, ``coarse_y``): their x and y sources."""
        sx, sy = coarse_x, coarse_y
        for _ in range(RIGID_INVERSION_STEPS):
            sx, sy = self._rigid_step(c, coarse_x, coarse_y, sx, sy)
        return sx, sy

    def _occluder_source(
        self, head: HeadFrame, box: tuple[int, int, int, int], further: np.ndarray | None
    ) -> np.ndarray:
        """Where each output pixel of ``box`` (x0, y0, x1, y1) comes from in the photo for the
        occluders (glasses rims) put back on top, (h, w, 2) float32: :meth:`_rigid_source`,
        less the features' ``further`` turn ((478, 2) pixels, or None) spread as the face
        under the rims takes it, to the bit, wherever a rim may show; elsewhere (where no rim
        shows either) the rigid motion's coarse inversion.

        Rims are thin: the full-resolution steps (and the further turn's spread) are taken
        only at the pixels where a rim shows at the coarse inversion's sources, and around
        them as far as those steps and that spread can move a source.
        """
        x0, y0, x1, y1 = box
        c = self._rigid_coefficients(head)
        h, w = y1 - y0, x1 - x0
        coarse_x, coarse_y, here_x, here_y = self._rigid_grids.get(box) or self._box_grids(box)
        sx, sy = self._coarse_rigid_source(c, coarse_x, coarse_y)
        # Where the coarse inversion has not settled (a head turned far: some sources fall
        # off the head), a source may end anywhere: every pixel is stepped.
        nx, ny = self._rigid_step(c, coarse_x, coarse_y, sx, sy)
        if max(np.abs(nx - sx).max(), np.abs(ny - sy).max()) > COARSE_SETTLED:
            source = self._rigid_source(head, box)
            if further is not None:
                source -= self._spread_at(further, [source])[0]
            return source
        # Where a rim may show: where it shows at the guess (less the further turn's spread
        # made on the smooth grid and read at the coarse grid's sources), grown by how far the
        # refining steps and the spread's exact read may move a source from there (with
        # room for the map's stretch).
        read = None if further is None else self._coarse_spread_at(further, cv2.merge([sx, sy]))
        sx = here_x + to_every_pixel(sx - coarse_x, h, w)
        sy = here_y + to_every_pixel(sy - coarse_y, h, w)
        guess = cv2.merge([sx, sy])
        rough = guess if read is None else guess - to_every_pixel(read, h, w)
        near = self.occluders.near(rough, RIGID_REFINING_REACH + COARSE_SPREAD_ERROR)
        moving = np.flatnonzero(near)
        n = len(moving)
        if n == 0:
            return rough
        # The pixels as points in rows of a block (padded with the last), each stepped as
        # it would be in the image.
        rows = -(-n // POINT_ROW)
        pick = np.empty(rows * POINT_ROW, np.intp)
        pick[:n], pick[n:] = moving, moving[-1]
        pick = pick.reshape(rows, POINT_ROW)
        hx, hy = here_x.reshape(-1)[pick], here_y.reshape(-1)[pick]
        px, py = sx.reshape(-1)[pick], sy.reshape(-1)[pick]
        for _ in range(RIGID_REFINING_STEPS):
            px, py = self._rigid_step(c, hx, hy, px, py)
        points = cv2.merge([px, py])
        if further is not None:
            # Glasses sit in front of the eyes: they take the features' further turn too,
            # as the face under them spreads it (all of it at the eyes, none at the ears).
            # It is a few pixels and smooth: one step of its inversion is enough.
            (read,) = self._spread_at(further, [points])
            points = points - read
        rough.reshape(-1, 2)[moving] = points.reshape(-1, 2)[:n]
        return rough

    def _coarse_spread_at(self, offsets: np.ndarray, points: np.ndarray) -> np.ndarray:
        """The mesh's spread of landmark ``offsets`` ((478, 2) pixels) made on the smooth grid
        and read bilinearly at ``points`` ((h, w, 2) float32 frame pixels), (h, w, 2) float32
        pixels: within a few tenths of a pixel of :meth:`_spread_at` for a smooth spread."""
        x0, y0, x1, y1 = self._smooth_mesh.box
        s = SMOOTH_SCALE
        at = points * np.float32(1 / s)
        at -= np.float32((s - 1) / (2 * s))
        # Only the smooth grid's rows the reads reach (and one more either side).
        ys = at[..., 1]
        r0 = min(max(int(np.floor(ys.min())) - 1, y0), y1)
        r1 = max(min(int(np.floor(ys.max())) + 3, y1), r0)
        if r1 == r0:
            return np.zeros_like(points)
        matrix, width = self._smooth_mesh.matrix, x1 - x0
        values = offsets[:N_MESH_LANDMARKS].astype(np.float32)
        spread = cv2.merge([
            _band_product(matrix, (r0 - y0) * width, (r1 - y0) * width,
                          values[:, axis]).reshape(r1 - r0, width)
            for axis in (0, 1)
        ])  # fmt: skip
        at.view(np.complex64)[...] -= np.complex64(complex(x0, r0))
        return cv2.remap(spread, at, NO_ARRAY, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def _box_grids(
        self, box: tuple[int, int, int, int]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The x and y planes of the coarse grid over ``box`` (x0, y0, x1, y1), then of its
        pixels, float32 (what :meth:`_rigid_source` iterates from)."""
        x0, y0, x1, y1 = box
        xs, ys = coarse_points((y0, y1, x0, x1))
        h, w = y1 - y0, x1 - x0
        return (
            np.tile(xs, (len(ys), 1)),
            np.tile(ys[:, None], (1, len(xs))),
            np.tile(self._columns[x0:x1], (h, 1)),
            np.tile(self._rows[y0:y1, None], (1, w)),
        )

    def _rigid_step(
        self, c: np.ndarray, here_x: np.ndarray, here_y: np.ndarray, sx: np.ndarray,
        sy: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """One fixed-point step of the rigid motion's inversion: the sources (x and y planes)
        whose rigid displacement (coefficients ``c``) brings them to ``here``."""
        pivot = self.rig.pivot.astype(np.float32)
        # (Both planes in one remap: the same samples as a remap of each.)
        weight, depth = cv2.split(cv2.remap(self._weight_depth, sx, sy, cv2.INTER_LINEAR,
                                            borderMode=cv2.BORDER_REPLICATE))  # fmt: skip
        x, y = sx - pivot[0], sy - pivot[1]
        moved = []
        for axis in (0, 1):
            # c0 x + c1 y + c2 z + c3, summed left to right, in place
            total = c[axis, 0] * x
            total += c[axis, 1] * y
            total += c[axis, 2] * depth
            total += c[axis, 3]
            total *= weight
            moved.append(total)
        return np.subtract(here_x, moved[0], out=moved[0]), np.subtract(
            here_y, moved[1], out=moved[1]
        )


def _planes(image: np.ndarray) -> list[np.ndarray]:
    """The channels of an (h, w, n) image, each as a contiguous (h, w) float32 plane."""
    return [np.ascontiguousarray(image[..., k], np.float32) for k in range(image.shape[2])]


def _linear_in(planes: list[np.ndarray], c: np.ndarray) -> np.ndarray:
    """The (2, 4) float32 coefficients ``c`` times the four (h, w) ``planes``, (h, w, 2)
    float32: what ``cv2.transform`` of the planes stacked makes, to the bit (a product, then
    fused multiply-adds, term by term), in a third less time (its 4-to-2-channel loop is
    OpenCV's generic one)."""
    axes = []
    for row in c:
        total = planes[0] * row[0]  # (a product of two float32: rounded once either way)
        for plane, weight in zip(planes[1:], row[1:], strict=True):
            total = cv2.scaleAdd(plane, float(weight), total)
        axes.append(total)
    return cv2.merge(axes)


def _band_product(
    matrix: sparse.csr_matrix, start: int, stop: int, vector: np.ndarray
) -> np.ndarray:
    """Rows ``start:stop`` of a float32 CSR matrix times a float32 vector, (stop - start,)
    float32: SciPy's own product (the same sums in the same order) on a view of those rows,
    without making a matrix of them (its checks read all their indices)."""
    vector = np.ascontiguousarray(vector, np.float32)
    if _csr_matvec is None:  # (a SciPy without the module: the public way, the same values)
        first, last = matrix.indptr[start], matrix.indptr[stop]
        band = sparse.csr_matrix(
            (matrix.data[first:last], matrix.indices[first:last],
             matrix.indptr[start : stop + 1] - first),
            shape=(stop - start, matrix.shape[1]), copy=False,
        )  # fmt: skip
        return np.asarray(band @ vector, np.float32)
    out = np.zeros(stop - start, np.float32)
    # (The row pointers of the band index the whole matrix's columns and values.)
    _csr_matvec(stop - start, matrix.shape[1], matrix.indptr[start : stop + 1], matrix.indices,
                matrix.data, vector, out)  # fmt: skip
    return out


def _sources_box(
    sources: np.ndarray,
    box: tuple[int, int, int, int],
    reach: int,
    size: int,
    less: np.float32 | float = 0.0,
) -> tuple[int, int, int, int]:
    """Where the field is computed to refine ``sources`` less ``less`` ((h, w, 2) float32
    frame pixels) of the output pixels ``box`` (rows y0:y1, columns x0:x1): rows y0:y1 and
    columns x0:x1 of the frame around the sources, :data:`FINE_SLACK` wider (for the steps on
    the way there), no farther than ``reach`` pixels past ``box`` (a torn pixel's source is
    noise and may lie anywhere: the field would be computed over the whole frame) and never
    empty (sources all off the frame: the refining steps read its edge). (The least source
    less ``less`` is the least of the sources less it: a float subtraction keeps order.)"""
    y0, y1, x0, x1 = box
    # (The extremes as float32, less ``less`` in float32: what NumPy's reductions and
    # scalars of the array less ``less`` give.)
    x_min, x_max, y_min, y_max, _ = (
        np.float32(value) - np.float32(less) for value in extent(sources, _NONE_SKIPPED, False)
    )
    ly0 = min(max(int(np.floor(y_min)) - FINE_SLACK, y0 - reach, 0), size - 1)
    ly1 = max(min(int(np.ceil(y_max)) + FINE_SLACK, y1 + reach, size), ly0 + 1)
    lx0 = min(max(int(np.floor(x_min)) - FINE_SLACK, x0 - reach, 0), size - 1)
    lx1 = max(min(int(np.ceil(x_max)) + FINE_SLACK, x1 + reach, size), lx0 + 1)
    return ly0, ly1, lx0, lx1


def _inside(box: tuple[int, int, int, int], around: tuple[int, int, int, int]) -> bool:
    """Whether ``box`` (rows y0:y1, columns x0:x1) lies inside ``around``."""
    return (
        box[0] >= around[0] and box[1] <= around[1] and box[2] >= around[2] and box[3] <= around[3]
    )
