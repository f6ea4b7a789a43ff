"""Render: one frame of a portrait under one frame of motion.

The photo is warped by a dense backward map built from the rig's deformed landmarks:
a rigid 3D head motion (the head modelled as an ellipsoid, so hair moves with the face) plus a
piecewise-linear correction on a triangulation of the landmarks that carries the expression
and the face's true 3D shape. The map is inverted by fixed-point iteration, the photo sampled
with ``cv2.remap``, the mouth interior painted where the lips part, and the person composited
over a background plate so that nothing behind the head bends with it.
"""

from __future__ import annotations

import cv2
import numpy as np

from gioconda.face.portrait import Portrait, surroundings
from gioconda.face.topology import (
    CHIN,
    FACE_OVAL,
)
from gioconda.motion.blendshapes import BS
from gioconda.motion.frames import MotionFrame
from gioconda.render.covers import lid_and_lip_covers, paint_out_occluders
from gioconda.render.eyes import IrisPainter, LashPainter, near_closed
from gioconda.render.layers import head_layers
from gioconda.render.mouth import MouthPainter
from gioconda.render.occluders import EyeOccluders
from gioconda.render.regions import bounding_box
from gioconda.render.rig import FaceRig, HeadFrame
from gioconda.render.warp import (
    FILL_PAD,
    N_MESH_LANDMARKS,
    RELIEF_TAPER,
    RIGID_INVERSION_STEPS,
    LandmarkMotion,
    bilinear_samples,
    fill_from_around,
    head_depth_map,
    invert_field,
    landmark_mesh,
)

#: How far past the crop's edges the photo is kept for what motion brings in, share of it.
SOURCE_PAD = 0.1


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
        layers = self.layers = head_layers(portrait, self.rig, self._grid)
        self._head_weight = layers.weight
        self._moving_box = layers.moving_box
        self._mesh = landmark_mesh(self.rig.neutral, size, self._grid)
        self._depth_map = head_depth_map(self.rig, self._mesh, size)
        pivot = self.rig.pivot
        self._centred = (
            xs - np.float32(pivot[0]),
            ys - np.float32(pivot[1]),
            self._depth_map - np.float32(pivot[2]),
        )
        self._landmark_points, self._landmark_weight, self._relief = self._landmarks_on_head()
        self._alpha, self._plate = layers.alpha, layers.plate
        # What a frame shows wherever the head layer is clear (alpha 0): the plate alone.
        self._plate_shown = np.clip(self._plate + 0.5, 0, 255).astype(np.uint8)
        # The photo and the layer's alpha reach past the crop, so that hair cut by its edge
        # moves in whole instead of smearing its last row.
        pad = self._source_pad = max(1, round(SOURCE_PAD * size))
        self._source = surroundings(portrait, pad)
        # Glasses rims (or hair) in front of the eyes: the warp drags skin where they were,
        # and they are put back on top where the head alone carries them.
        self.occluders = EyeOccluders(portrait)
        if self.occluders.boxes:
            paint_out_occluders(self._source, pad, self.rig.neutral, self.occluders)
        self._source_alpha = cv2.copyMakeBorder(self._alpha, pad, pad, pad, pad,
                                                cv2.BORDER_REPLICATE)  # fmt: skip
        # For head distance: the whole person (the mask continued past the crop, as the
        # body goes on below it) over the background with the person painted out.
        person = portrait.person_mask.astype(np.float32)
        self._person_alpha = cv2.copyMakeBorder(person, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        self._background = portrait.background.astype(np.float32)
        self.mouth = MouthPainter(portrait, self.rig)
        self.lashes = LashPainter(portrait)
        self.irises = IrisPainter(portrait)
        unoccluded = self._source[pad : pad + size, pad : pad + size]
        self._covers = lid_and_lip_covers(self._photo, unoccluded, self.rig.neutral)

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
        relief = (neutral[:, 2] - pivot[2] - points[:, 2]) * weight[:, 0] * self._relief_taper()
        return points, weight, relief.astype(np.float32)

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
        head = self.rig.head(frame)
        moved = self._landmark_motion(head, self.rig.expression(frame))
        on_face = moved.expression + self._relief_motion(head)
        field = self.forward_field(head, on_face)
        posed = self.rig.neutral[:, :2] + moved.head + on_face
        skull = self.rig.neutral[:, :2] + moved.head
        backward, torn = invert_field(field, self._grid)
        in_source = backward + np.float32(self._source_pad)
        out = self._composite(in_source, torn)
        self.irises.paint(out, backward, posed, frame.gaze_deg, frame.head_rotation_deg)
        shapes = frame.blendshapes
        closing = self.mouth.closing(posed)
        for cover, amount in zip(
            self._covers,
            # A half-closed eye still shows its iris: paint the eye out only near closure.
            (
                near_closed(shapes[BS["EyeBlinkRight"]]),
                near_closed(shapes[BS["EyeBlinkLeft"]]),
                closing,
            ),
            strict=False,
        ):
            cover.apply(out, backward, float(amount))
        self.lashes.paint(out, posed, (shapes[BS["EyeBlinkRight"]], shapes[BS["EyeBlinkLeft"]]))
        if self.occluders.boxes:
            sources = [self._rigid_source(head, box) for box in self.occluders.paint_boxes]
            self.occluders.paint(out, sources)
        self.mouth.paint(out, posed, skull, frame)
        if head.scale != 1.0:
            out = self._zoom_person(out, head.scale)
        return out

    def _composite(self, in_source: np.ndarray, torn: np.ndarray) -> np.ndarray:
        """The warped head layer over the still plate, (S, S, 3) uint8, given where each output
        pixel lies in the padded source.

        Only the box where the layer shows (its alpha above 0), and around the torn pixels
        that the fill reads, is warped and blended: everywhere else the frame is the plate.
        """
        # Whatever comes from further out (above a head drawn smaller) is background plate.
        alpha = cv2.remap(self._source_alpha, in_source, None, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)  # fmt: skip
        # A torn pixel's map is noise and may point off the head (below the chin, into the
        # background), whose alpha of 0 would let the plate show through as a dark speck on
        # the lip's edge or a blob beside the mouth's corner. The map tears only where the
        # face pulls apart, so the pixel belongs to the head layer, and the fill paints it.
        alpha[torn] = 1.0
        out = self._plate_shown.copy()
        shows = alpha > 0
        if not shows.any():
            return out
        y0, y1, x0, x1 = bounding_box(shows)
        if torn.any():
            # The fill over torn pixels averages what lies around them: warp that too.
            pad = FILL_PAD
            ty0, ty1, tx0, tx1 = bounding_box(torn)
            y0, y1 = min(y0, max(ty0 - pad, 0)), max(y1, ty1 + pad)
            x0, x1 = min(x0, max(tx0 - pad, 0)), max(x1, tx1 + pad)
        window = (slice(y0, y1), slice(x0, x1))
        warped = cv2.remap(self._source, in_source[window], None, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        fill_from_around(warped, torn[window])
        a = alpha[window]
        shown = out[window]
        # Where the layer is opaque the blend is the warped pixel itself, and where it is
        # clear the plate: only the pixels between (the layer's soft edge) need the sum.
        opaque = a == 1
        # (OpenCV writes into the view; assigning its result back keeps that explicit.)
        shown[...] = cv2.copyTo(warped, opaque.view(np.uint8), shown)
        between = (a > 0) & ~opaque
        share = a[between][:, None]
        blended = warped[between] * share + self._plate[window][between] * (1 - share)
        shown[between] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        return out

    def _zoom_person(self, frame: np.ndarray, zoom: float) -> np.ndarray:
        """The whole person drawn ``zoom`` times as big about the chin, over the background.

        Head distance: a person who comes closer to the camera grows as a whole, hair and
        shoulders too, so nothing tears between what moves and what does not, and what a
        smaller person uncovers is the background plate (the person painted out), never the
        head's own painted-out place. Beyond the crop the photo's surroundings show (the
        body goes on below the frame).
        """
        centre = self.rig.neutral[CHIN, :2].astype(np.float32)
        scale = np.float32(zoom)
        # x depends on the column alone and y on the row alone: computed once each.
        unzoomed = np.empty_like(self._grid)
        unzoomed[..., 0] = centre[0] + (self._columns - centre[0]) / scale
        unzoomed[..., 1] = (centre[1] + (self._rows - centre[1]) / scale)[:, None]
        # The frame inside the photo's own surroundings: a smaller person shows the body
        # and hair that the crop cut off.
        pad = self._source_pad
        extended = self._source.copy()
        extended[pad : pad + self.size, pad : pad + self.size] = frame
        unzoomed += np.float32(pad)
        shown = cv2.remap(extended, unzoomed, None, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        alpha = cv2.remap(self._person_alpha, unzoomed, None, cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)[..., None]  # fmt: skip
        out = shown * alpha + self._background * (1.0 - alpha)
        return np.clip(out + 0.5, 0, 255).astype(np.uint8)

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

    def forward_field(self, head: HeadFrame, expression: np.ndarray) -> np.ndarray:
        """Displacement of every photo pixel, (S, S, 2) float32, source to destination."""
        c = self._rigid_coefficients(head)
        field = np.zeros((self.size, self.size, 2), np.float32)
        r0, r1, c0, c1 = self._moving_box
        xc, yc, zc = self._centred
        # x and y about the pivot vary along one axis each.
        x, y, zc = xc[0, c0:c1], yc[r0:r1, 0], zc[r0:r1, c0:c1]
        w = self._head_weight[r0:r1, c0:c1]
        for axis in (0, 1):
            planar = c[axis, 0] * x + (c[axis, 1] * y)[:, None]
            planar += c[axis, 2] * zc
            planar += c[axis, 3]
            np.multiply(w, planar, out=field[r0:r1, c0:c1, axis])
        # The expression, spread from the landmarks over the mesh and fading out beyond
        # the face.
        x0, y0, x1, y1 = self._mesh.box
        offsets = expression[:N_MESH_LANDMARKS].astype(np.float32)
        for axis in (0, 1):  # one vector at a time: SciPy's product is faster so
            spread = self._mesh.matrix @ np.ascontiguousarray(offsets[:, axis])
            field[y0:y1, x0:x1, axis] += spread.reshape(y1 - y0, x1 - x0)
        return field

    def _rigid_source(self, head: HeadFrame, box: tuple[int, int, int, int]) -> np.ndarray:
        """Where each output pixel of ``box`` (x0, y0, x1, y1) comes from in the photo under
        the head's rigid motion alone (no expression), (h, w, 2) float32: the rigid part of
        :meth:`forward_field`, inverted by fixed-point steps (it is smooth: a few suffice)."""
        x0, y0, x1, y1 = box
        c = self._rigid_coefficients(head)
        pivot = self.rig.pivot.astype(np.float32)
        grid = self._grid[y0:y1, x0:x1]
        source = grid.copy()
        for _ in range(RIGID_INVERSION_STEPS):
            weight = cv2.remap(self._head_weight, source, None, cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
            depth = cv2.remap(self._centred[2], source, None, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
            x = source[..., 0] - pivot[0]
            y = source[..., 1] - pivot[1]
            for axis in (0, 1):
                moved = c[axis, 0] * x + c[axis, 1] * y + c[axis, 2] * depth + c[axis, 3]
                source[..., axis] = grid[..., axis] - weight * moved
        return source
