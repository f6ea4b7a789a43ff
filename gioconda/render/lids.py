"""Closing lids made of the photo's own lids.

A closing eye is not painted: the upper lid's own skin (its colour, grain and crease) is
carried down over the eye, its lash line translated whole to where the lid edge now is, and
the lower lid rises a little the same way. It is a change of where the warp reads the photo,
composed onto the renderer's backward map: every closed-lid pixel is a photo pixel, at the
photo's own sharpness, and nothing is read from inside the eye once it is covered.

Per eye, in the face's frame (``a`` across the eye, ``b`` down), per column ``a``:

- ``upper(a)``, ``lower(a)``: the photo's open lid edges; ``gap(a)`` between them.
- ``crease(a)``: how far above the upper lid the skin that unfolds reaches, up to short of
  the brow. Above it nothing moves.
- The upper lid's sheet: the band from the crease down to just below the lid edge is read
  from further up, by ``up * gap(a)`` at its lower edge (the lash line moves whole, by that
  much), easing to nothing at the crease. ``up`` is the share of the opening the upper lid
  travels. The lower lid likewise, upward, by ``low * gap(a)``.
- Above the lash band the upper sheet's skin is the lid's without the lashes that stand on
  it open (stretched down the lid they streak it): a shut lid is smooth skin down to the
  lash line at its margin.
- Between the two sheets the eye shows as the photo has it: the lid slides over the iris,
  it does not squeeze it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gioconda.face.topology import (
    LEFT_BROW_LOWER,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    RIGHT_BROW_LOWER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from gioconda.motion.blendshapes import BS
from gioconda.render.cv2_typing import NO_ARRAY
from gioconda.render.rig import SQUINT_LIDS
from gioconda.render.source_map import SourceMap

#: How far above the open lid edge the unfolding skin reaches, in the eye's largest opening
#: (capped by the room below the brow).
CREASE_REACH = 1.3
#: Share of the room between the lid edge and the brow's lower edge the sheet may reach.
CREASE_ROOM = 0.8
#: How far below the lower lid its skin moves with it, in the eye's largest opening.
LOWER_REACH = 0.8
#: The lash line, moved whole: how far above and below the landmark line of the lid edge it
#: reaches, in eye widths (Face Mesh's lid line sits on the inside of the lashes).
LASH_ABOVE = 0.07
LASH_BELOW = 0.0
#: Where the photo's lashes (or a painted or drawn lash line) run on as a dark band further up
#: than that, the whole band moves: how far it reaches is measured per eye (see
#: :func:`_photo_lash_band`), up to :data:`LASH_MOST` eye widths above the lid edge. A dark
#: sample is within :data:`LASH_DARK` of the way from the lashes' lightness to the lid skin's,
#: and this eye's lashes and skin must differ by at least :data:`LASH_CONTRAST` (CIELAB L).
LASH_MOST = 0.2
LASH_DARK = 0.3
LASH_CONTRAST = 25.0
#: The lower lid's margin, moved whole, in eye widths either side of its landmark line.
LOWER_MARGIN = 0.03
#: How much the line where shut lids meet darkens (the lashes and the fold between them), at
#: its middle: a soft shade over about the lash band's width, and in it a thin dark line as
#: wide as :data:`CONTACT_LINE_WIDTH` eye widths (the line's standard deviation), darkened by
#: :data:`CONTACT_LINE`. With the soft shade alone (0.4), where the photo's own lashes are
#: pale or thin (a painting, an old plate, the man in glasses) the shut lids met with no line:
#: MediaPipe read those full blinks at 0.58 (Mona Lisa), 0.79 (the side-lit plate), 0.57 (the
#: woman with her head tilted) of the open eye, more than their 0.8 blinks, whose dark slit
#: still showed; with the line, 0.48, 0.70 and 0.37 (the astronaut's 0.19, 0.16), and the
#: shut lid's colour and grain against the photo's lid skin within 0.6 dE and 0.07 of the
#: soft shade's on every portrait but two (the overexposed astronaut's grain 1.69 to 1.85).
#: On a soft photo (a crop upsampled from a small face) the line is as soft as the photo's
#: own lines: widened by the photo's blur and lightened to keep its darkness's sum, as the
#: blur would have left a real lash line (a crisp line on a soft face looks drawn on).
CONTACT_SHADOW = 0.2
CONTACT_LINE = 0.7
CONTACT_LINE_WIDTH = 0.028
#: Share of the opening the upper lid travels in a blink (the lower lid rises the rest): shut
#: lids meet a little below the middle of the eye.
UPPER_SHARE = 0.8
#: How much further (share of the opening) the lower lid rises under the upper one as the
#: eye shuts.
CLOSED_OVERLAP = 0.25
#: How much darker the eye that still shows between nearly shut lids is: in the lashes' and
#: lids' shade, a slit reads dark, not as a sliver of white. It darkens as the lids' travel
#: together goes from :data:`SLIT_FROM` to :data:`SLIT_FULL` of the opening.
SLIT_SHADOW = 0.6
SLIT_FROM, SLIT_FULL = 0.55, 0.9
#: How far past the eye's corners the sheets reach, in eye widths (their travel is zero at
#: the corners themselves, so nothing breaks there).
CORNER_REACH = 0.15
#: How far above Face Mesh's upper lid line the photo's own lid edge is looked for, in eye
#: widths: on some faces (a painting, an eye turned away) the landmark line runs through the
#: eye white below the painted lid, and a lid closed from it carries that white down.
EDGE_SEARCH = 0.2
#: The lid edge is told by colour from the eye's own white and lid skin, which must differ
#: by at least this (CIELAB distance) for it to be looked for at all.
EDGE_COLOURS = 10.0
#: ... and the white must be lighter than the skin by this much (CIELAB L).
EDGE_LIGHTER = 3.0
#: Below an edge the eye shows: the 2 px under it at least this share of the way from the
#: lid skin's colour to the white's, an edge a step of at least :data:`EDGE_STEP` of that
#: way, and from it down to the landmark line nothing darker than :data:`EDGE_CLEAR` of it
#: (no lashes: a shaded white in the eye's corner still passes).
EDGE_WHITE = 0.6
EDGE_STEP = 0.45
EDGE_CLEAR = 0.3
#: Past the outer corner Face Mesh places, the photo's eye may run on as dark as its lash line
#: (a winged liner's filled corner, a deep outer corner): there the lids close too, so the shut
#: lid's line runs on into the wing rather than rising to the landmarks' corner and leaving the
#: dark corner beside it (a kink). Looked for from :data:`OUTER_INSIDE` eye widths inside the
#: corner to :data:`OUTER_REACH` past it, down to :data:`OUTER_DEPTH` below the upper lid
#: line; a pixel is as dark as the lashes when it lies within :data:`OUTER_DARK` of the way
#: from the lash line's lightness to the lid skin's, and this eye's lashes and skin differ by
#: at least :data:`OUTER_CONTRAST` (CIELAB L). A column counts when that dark runs down at
#: least :data:`OUTER_LEAST` eye widths from the upper lid line.
OUTER_INSIDE, OUTER_REACH, OUTER_DEPTH = 0.1, 0.12, 0.2
#: The lids' travel there eases out straight to nothing this far past the corner (eye widths):
#: the rest of the wing bends down with the lid over that length, not at the corner. The
#: eye's columns reach on to :data:`OUTER_COLUMNS` past it (past its usual
#: :data:`CORNER_REACH`).
OUTER_TAPER = 0.3
OUTER_COLUMNS = OUTER_TAPER + 0.03 - CORNER_REACH
OUTER_DARK = 0.3
OUTER_CONTRAST = 25.0
OUTER_LEAST = 0.05

#: Lashes standing on the lid. Open, long upturned lashes stand in front of the upper lid's
#: skin; carried down with it and stretched two- or threefold, they combed the shut lid with
#: vertical streaks (on the woman with long curled lashes; finer on the astronaut and the
#: woman with her head tilted), where a real shut lid is smooth skin down to its margin. So
#: the closing sheet's skin, above the lash band it moves whole, is read from the photo's
#: lid without them (see :func:`_lash_free`): up to :data:`LASH_ZONE` eye widths above the
#: lid edge (and no more than :data:`LASH_ZONE_ROOM` of the way to the brow, whose skin
#: lends the zone its grain), against the lid along its edge within :data:`LASH_WINDOW` eye
#: widths either way.
LASH_ZONE = 0.25
LASH_ZONE_ROOM = 0.4
LASH_WINDOW = 0.1
#: There a strand is a pixel darker than the skin on both sides of it along the lid by
#: :data:`LASH_FROM` (none) to :data:`LASH_FULL` (all) CIELAB L; where strands cover
#: :data:`LASH_CLOSE` of the lid around a pixel, it is replaced whole (between close lashes
#: the skin shows mixed with them).
LASH_FROM, LASH_FULL = 2.0, 6.0
LASH_CLOSE = 0.12
#: A strand is as dark this far (pixels) up or down across the lid too.
LASH_RUN = 1.5
#: The lashes above the band fade from the closing lid as it travels from
#: :data:`LASH_FADE_FROM` to :data:`LASH_FADE` of a blink (stretched further, they would
#: streak; a squint, which moves the upper lid a tenth of the opening, keeps them).
LASH_FADE_FROM, LASH_FADE = 0.15, 0.4
#: Shut, the lashes hang from the margin: those told on the open lid, mirrored below the
#: moved lid edge and foreshortened to :data:`HANG_LENGTH` of their height (they point down
#: and toward the viewer), coming in as the upper lid travels from :data:`HANG_FROM` of a
#: blink to all of it.
HANG_LENGTH = 0.6
HANG_FROM = 0.5


@dataclass(frozen=True)
class _Eye:
    """One eye's lid geometry, in its face frame (pixels), sampled along ``a``."""

    origin: np.ndarray  # (2,) photo pixels
    a: np.ndarray  # (K,) columns across the eye, increasing
    upper: np.ndarray  # (K,) b of the open upper lid edge
    lower: np.ndarray  # (K,) b of the open lower lid edge
    gap: np.ndarray  # (K,) lower - upper, >= 0
    #: (K,) the lower edge and opening as the landmarks (and the photo's upper lid edge) have
    #: them, without the run on past the outer corner: what squints close (see
    #: :func:`_photo_outer_corner`; the same as ``lower`` and ``gap`` where there is none).
    lower_own: np.ndarray
    gap_own: np.ndarray
    crease: np.ndarray  # (K,) reach above the upper lid, pixels
    below: np.ndarray  # (K,) reach below the lower lid, pixels
    lash_above: float
    #: How wide the shade where shut lids meet is (pixels): the lash band's width; and the
    #: dark line in it (see :data:`CONTACT_LINE_WIDTH`).
    shade_width: float
    line_width: float
    line_depth: float  # how much the line darkens at its middle (see CONTACT_LINE)
    lash_below: float
    margin: float
    box: tuple[float, float, float, float]  # a0, b0, a1, b1 of what the lids may move


def _clear_above(
    mask: np.ndarray,
    origin: np.ndarray,
    axes: np.ndarray,
    a: np.ndarray,
    upper: np.ndarray,
    reach: np.ndarray,
) -> np.ndarray:
    """Per column ``a``, how far up from the lid edge ``upper`` the ``mask`` (bool) stays
    clear, up to ``reach``, pixels, less a pixel of margin."""
    size = mask.shape[0]
    steps = np.arange(0.0, float(reach.max()) + 1.0, 0.5)
    b = upper[:, None] - steps[None, :]
    points = origin + a[:, None, None] * axes[0] + b[..., None] * axes[1]
    xy = np.clip(np.round(points).astype(int), 0, size - 1)
    hit = mask[xy[..., 1], xy[..., 0]] & (steps[None, :] <= reach[:, None])
    first = np.where(hit.any(1), steps[np.argmax(hit, axis=1)], reach + 1.0)
    return np.maximum(first - 1.0, 0.0)


def _in_eye(at: np.ndarray, upper: np.ndarray, lower: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """How much of the open eye (not lid) the photo shows at ``at`` (b, per pixel, with its
    open lid edges ``upper``, ``lower`` and opening ``gap``): soft over a pixel, nothing past
    the corners, where the edges meet."""
    between = np.clip(at - upper + 0.5, 0.0, 1.0) * np.clip(lower - at + 0.5, 0.0, 1.0)
    return between * np.clip(gap - 0.5, 0.0, 1.0)


def _photo_upper_edge(
    photo: np.ndarray,
    origin: np.ndarray,
    axes: np.ndarray,
    a: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    search: float,
) -> np.ndarray:
    """Per column ``a``, where the photo's own upper lid edge is, as ``b``: the strongest step
    from lid down to eye white between ``search`` pixels above the landmark line ``upper``
    and the line itself, with eye white all the way from it down to the line; the line
    itself where there is none (over the iris, or where the line is the edge). Never below
    the line: a lid closed from a little too high only carries more of its own lashes.

    Eye white and lid skin are told apart by colour, against this eye's own: its white (the
    lightest of what lies between its landmark lines) and the skin under its lower lid.
    Where the two are too alike to tell (a dim painted eye under a lit lid), or no white
    shows lighter than the skin, the landmark line stands.

    ``photo``: (S, S, 3) uint8, what the lids are read from.
    """
    size = photo.shape[0]
    lab = cv2.cvtColor(photo.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)  # L 0-100
    lab = cv2.GaussianBlur(lab, (0, 0), 0.7)
    inside = (lower - upper > 1.0) & (a > a[0]) & (a < a[-1])
    if not inside.any():
        return upper

    def sample(b: np.ndarray, at: np.ndarray) -> np.ndarray:
        points = origin + at[:, None, None] * axes[0] + b[..., None] * axes[1]
        xy = np.clip(points, 0, size - 1).astype(np.float32)
        return cv2.remap(lab, xy[..., 0], xy[..., 1], cv2.INTER_LINEAR)

    steps = np.arange(-np.ceil(search) - 2.0, 2.5, 0.5)
    column = sample(upper[:, None] + steps[None, :], a)  # (K, N, 3)
    mid = np.linspace(0.0, 1.0, 9)[1:-1]
    eye = sample(upper[inside, None] + (lower - upper)[inside, None] * mid[None, :], a[inside])
    eye = eye.reshape(-1, 3)
    white = np.median(eye[eye[:, 0] >= np.percentile(eye[:, 0], 85)], axis=0)
    # The skin: under the lower lid (above the upper one may lie a crease's shadow or a lit
    # fold, each unlike the lid skin that shuts).
    under = lower[inside, None] + np.linspace(0.3, 1.0, 4)[None, :] * search
    skin = np.median(sample(under, a[inside]).reshape(-1, 3), axis=0)
    axis = white - skin
    if float(np.linalg.norm(axis)) < EDGE_COLOURS or axis[0] < EDGE_LIGHTER:
        # Too alike, or no white shows lighter than the skin (a narrow dark eye): no edge
        # can be told from the lashes.
        return upper
    # Where each sample lies from the lid skin (0) to the eye white (1).
    toward = (column - skin) @ axis / float(axis @ axis)
    is_white = toward >= EDGE_CLEAR
    # The step at each half pixel: up to 2 px below it against up to 2 px above it.
    kernel = np.ones(4, np.float32) / 4
    mean = np.stack([np.convolve(c, kernel, mode="valid") for c in toward])  # j..j+3
    at = steps[4:-4]
    step = mean[:, 5:] - mean[:, :-5]  # below (j+1..j+4) against above (j-4..j-1)
    # Eye white from a pixel under the edge down to the line: a lid's lashes between them
    # (the line on the lid's inside, as Face Mesh mostly has it) mean no edge above.
    line = int(np.argmin(np.abs(steps)))
    white_to_line = np.ones_like(is_white)
    for j in range(line - 1, -1, -1):
        white_to_line[:, j] = white_to_line[:, j + 1] & is_white[:, j]
    run = white_to_line[:, np.arange(4, len(steps) - 4) + 2]
    usable = (at >= -search) & (at <= 0.0)
    good = usable[None, :] & run & (step >= EDGE_STEP) & (mean[:, 5:] >= EDGE_WHITE)
    step = np.where(good, step, -np.inf)
    best = np.argmax(step, axis=1)
    found = np.isfinite(step[np.arange(len(a)), best]) & inside
    lift = np.where(found, np.maximum(-at[best], 0.0), 0.0)
    # One column's stray step is noise, not a lid: a lid edge runs on.
    lift = np.minimum(lift, np.maximum(np.roll(lift, 1), np.roll(lift, -1)))
    lift = np.convolve(np.pad(lift, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    # Toward a corner the white between the edges thins and shades until no column tells
    # an edge: there the lid edge stays above the line as in the last column that did,
    # less as the opening narrows (with its square root: the corner's white is rounder than
    # the landmarks' pointed corner), to nothing at the corner.
    gap = np.maximum(lower - upper, 0.0)
    for order in (range(1, len(a)), range(len(a) - 2, -1, -1)):
        for i in order:
            j = i - 1 if order.step == 1 else i + 1
            if gap[i] < gap[j]:
                lift[i] = max(lift[i], lift[j] * np.sqrt(gap[i] / gap[j]))
    if lift.max() < 1.0:
        return upper  # within the landmarks' own precision
    return upper - lift


def _lightness(photo: np.ndarray) -> np.ndarray:
    """CIELAB L (0-100) of ``photo`` (RGB uint8), softened a little: (S, S) float32."""
    lab = cv2.cvtColor(photo.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    return cv2.GaussianBlur(np.ascontiguousarray(lab[..., 0]), (0, 0), 0.7)


def _photo_outer_corner(
    light: np.ndarray,
    origin: np.ndarray,
    axes: np.ndarray,
    a: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    corner: float,
    width: float,
) -> np.ndarray:
    """The lower lid line ``lower`` run on past the outer corner (at ``a == corner``) where
    the photo's eye is as dark as its lash line below the upper lid line ``upper`` there (see
    :data:`OUTER_DARK`): from a little inside the corner straight on to the upper line a
    little past the dark's end. Unchanged where no such dark runs on from the corner.

    Face Mesh puts the outer corner of an eye whose corner is filled with liner (a winged
    liner) inside the dark: closed to that corner, the lid's line rises to it and the dark
    corner stays beside it, a kink. Closed over the dark too, the line runs on into the wing.

    ``light``: the photo's :func:`_lightness`.
    """
    size = light.shape[0]

    def sample(at: np.ndarray, b: np.ndarray) -> np.ndarray:
        points = origin + at[:, None, None] * axes[0] + b[..., None] * axes[1]
        xy = np.clip(points, 0, size - 1).astype(np.float32)
        return cv2.remap(light, xy[..., 0], xy[..., 1], cv2.INTER_LINEAR)

    gap = lower - upper
    inside = gap > 1.0
    if inside.sum() < 3:
        return lower
    middle = inside & (np.abs(a - a[inside].mean()) < 0.25 * width)
    if not middle.any():
        return lower
    above = np.arange(-0.1 * width, 0.5, 0.5)
    lash = float(np.median(sample(a[middle], upper[middle, None] + above[None, :]).min(1)))
    under = lower[inside, None] + np.linspace(0.1, 0.25, 4)[None, :] * width
    skin = float(np.median(sample(a[inside], under)))
    if skin - lash < OUTER_CONTRAST:
        return lower
    outward = np.sign(corner - a[inside].mean())
    past = outward * (a - corner)  # how far past the corner, pixels (negative: inside)
    near = (past >= -OUTER_INSIDE * width) & (past <= OUTER_REACH * width)
    steps = np.arange(0.0, OUTER_DEPTH * width, 0.5)
    dark = (sample(a, upper[:, None] + steps[None, :]) - lash) < OUTER_DARK * (skin - lash)
    run = np.cumprod(dark, axis=1).sum(1) * 0.5  # dark from the upper line down, pixels
    counts = near & (run >= OUTER_LEAST * width) & (past >= 0.0)
    # Only dark that runs on from the corner: outward from it, up to the first column without.
    beyond = np.flatnonzero(past >= 0.0)
    beyond = beyond[np.argsort(past[beyond])]
    stop = int(np.argmin(counts[beyond])) if not counts[beyond].all() else len(beyond)
    reached = beyond[:stop]
    if len(reached) == 0:
        return lower
    # From inside the corner (where the landmarks' lower lid still holds) the lower lid runs
    # straight on to the upper lid's height a little past the dark's end: the shut line (most
    # of the way down to it) has no step and no second rise, so it and the liner above it
    # bend smoothly into the wing.
    start = past >= -OUTER_INSIDE * width
    anchor = int(np.argmin(np.where(start, past, np.inf)))
    ends = max(float(past[reached[-1]]) + max(OUTER_LEAST * width, 1.0), OUTER_TAPER * width)
    # (never past the last column: beyond it the lids read its travel, which must be none)
    ends = min(ends, float(past.max()))
    last = int(np.argmin(np.abs(past - ends)))
    share = np.clip((past - float(past[anchor])) / max(ends - float(past[anchor]), 1e-6), 0, 1)
    straight = lower[anchor] + share * (upper[last] - lower[anchor])
    opening = np.where(start & (past <= ends), np.maximum(straight - upper, 0.0), 0.0)
    return np.maximum(lower, upper + opening)


def _photo_lash_band(
    light: np.ndarray,
    origin: np.ndarray,
    axes: np.ndarray,
    a: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    width: float,
) -> float:
    """How far above the upper lid edge ``upper`` the photo's dark lash line reaches, pixels
    (the median over the eye's middle half; 0 where it cannot be told).

    A thick lash line (dense lashes, liner, a painting's or a stylized photo's dark outline)
    left where it is while the lid's edge moves down stays as a dark rim around the shut lid:
    the eye reads open, with a veil of skin inside it. So the band is measured: from the lid
    edge up, as long as the photo stays as dark as the lashes (the darkest just above the edge)
    are against this lid's own skin (the lighter quarter of what lies up to twice
    :data:`LASH_MOST` above the edge); see :data:`LASH_DARK`.

    ``light``: the photo's :func:`_lightness`.
    """
    size = light.shape[0]
    gap = lower - upper
    centre = a[gap > 1.0].mean() if (gap > 1.0).any() else 0.0
    middle = (gap > 1.0) & (np.abs(a - centre) < 0.25 * width)
    if middle.sum() < 3:
        return 0.0
    steps = np.arange(0.0, 2 * LASH_MOST * width + 0.5, 0.5)
    b = upper[middle, None] - steps[None, :]
    points = origin + a[middle, None, None] * axes[0] + b[..., None] * axes[1]
    xy = np.clip(points, 0, size - 1).astype(np.float32)
    above = cv2.remap(light, xy[..., 0], xy[..., 1], cv2.INTER_LINEAR)  # (K, N)
    lash = float(np.median(above[:, : max(int(0.05 * width / 0.5), 2)].min(1)))
    skin = float(np.percentile(above, 75))
    if skin - lash < LASH_CONTRAST:
        return 0.0
    dark = above - lash < LASH_DARK * (skin - lash)
    run = np.cumprod(dark, axis=1).sum(1) * 0.5  # dark from the edge up, pixels
    return float(min(np.median(run), LASH_MOST * width))


def _along_lid(
    photo: np.ndarray,
    origin: np.ndarray,
    axes: np.ndarray,
    a: np.ndarray,
    line: np.ndarray,
    near: float,
    far: float,
    width: float,
) -> tuple[tuple[slice, slice], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The photo's pixels from ``near`` to ``far`` pixels below the lid line ``line``
    (negative: above it) over the eye's columns ``a``, each against what lies along the line
    (parallel to it) within :data:`LASH_WINDOW` eye widths either way. None where that box
    is empty.

    Returns the photo box (rows, columns); per pixel of it ``a`` and how far below the line
    it lies; the skin's colour along the line (the mean of its lighter half: strands across
    the lid cover less than half of it), (h, w, 3) float32; the photo's grain: itself less the mean
    along the line (what runs along the line, a crease or a lash line, is not grain); and
    how much darker (CIELAB L) each pixel is than the skin on both sides of it.
    ``photo``: (S, S, 3) uint8.
    """
    size = photo.shape[0]
    corners = [
        origin + a_ * axes[0] + b_ * axes[1]
        for a_ in (a[0], a[-1])
        for b_ in (float(line.min()) + near, float(line.max()) + far)
    ]
    lo = np.clip(np.floor(np.min(corners, axis=0)).astype(int), 0, size - 1)
    hi = np.clip(np.ceil(np.max(corners, axis=0)).astype(int) + 1, 1, size)
    if (hi <= lo).any():
        return None
    ys, xs = np.mgrid[lo[1] : hi[1], lo[0] : hi[0]].astype(np.float64)
    rel = np.stack([xs - origin[0], ys - origin[1]], -1)
    pa, pb = rel @ axes[0], rel @ axes[1]
    here = np.interp(pa, a, line)
    rgb = photo.astype(np.float32)
    along = []
    for delta in np.linspace(-LASH_WINDOW * width, LASH_WINDOW * width, 15):
        at = pa + delta
        b = pb + np.interp(at, a, line) - here
        pts = origin + at[..., None] * axes[0] + b[..., None] * axes[1]
        mx, my = pts[..., 0].astype(np.float32), pts[..., 1].astype(np.float32)
        along.append(cv2.remap(rgb, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
    samples = np.stack(along)  # (K, h, w, 3)
    box = (slice(lo[1], hi[1]), slice(lo[0], hi[0]))
    grain = rgb[box] - samples.mean(0)
    # How much darker the pixel is than the skin on either side of it (the lighter of the
    # two sides' medians: the edge of a wide dark patch, a fold crossing the lid, is darker
    # than one side only).
    own = cv2.cvtColor(rgb[box] / 255, cv2.COLOR_RGB2LAB)[..., 0]
    sides = [
        cv2.cvtColor(np.median(samples[half], axis=0) / 255, cv2.COLOR_RGB2LAB)[..., 0]
        for half in (slice(0, 7), slice(8, 15))
    ]
    darker = np.minimum(sides[0], sides[1]) - own
    # The skin: the lighter half of what lies along the line (strands cover less of it).
    light = np.stack([cv2.cvtColor(x / 255, cv2.COLOR_RGB2LAB)[..., 0] for x in samples])
    lighter = light >= np.median(light, axis=0)[None]
    skin = (samples * lighter[..., None]).sum(0) / lighter.sum(0)[..., None]
    return box, pa, pb - here, skin, grain, darker


def _lash_free(
    photo: np.ndarray,
    origin: np.ndarray,
    axes: np.ndarray,
    a: np.ndarray,
    upper: np.ndarray,
    reach: np.ndarray,
    width: float,
    skin_out: np.ndarray,
    lash_out: np.ndarray,
) -> None:
    """The upper lid's skin without the lashes standing on it, in ``skin_out`` (the photo,
    (S, S, 3) float32, changed in place) up to ``reach`` (per column ``a``) above the lid edge
    ``upper``: what the closing lid's sheet is read from (see :data:`LASH_ZONE`).

    There a lash is a strand across the lid: darker than the skin on both sides of it along
    the lid (parallel to its edge; see :data:`LASH_FROM`) and a little up and down it too
    (:data:`LASH_RUN`). A lash, and all of the lid where lashes stand close
    (:data:`LASH_CLOSE`), becomes the skin along the lid (the lighter half of it within
    :data:`LASH_WINDOW` eye widths either way: the lid's own colour, with its crease and its
    lash line, which run along the lid) with the grain of the lid just above the zone,
    mirrored about the zone's top (the photo less its mean along the lid, so no crease comes
    with it). Elsewhere (a lid's own speckle, wrinkles, a painting's cracks, a liner) the
    photo stays as it is.
    ``photo``: (S, S, 3) uint8.
    """
    top = float(reach.max())
    # (twice as high: the skin above the zone lends it its grain)
    found = _along_lid(photo, origin, axes, a, upper, -2.0 * top - 2.0, 0.5, width)
    if found is None:
        return
    box, pa, d, skin, grain, darker = found
    zone_top = np.interp(pa, a, reach)
    zone = np.clip(d + zone_top, 0.0, 1.0) * np.clip(0.5 - d, 0.0, 1.0)
    zone *= (pa >= a[0]) & (pa <= a[-1])
    mirrored = np.interp(pa, a, upper) - 2.0 * zone_top - d
    at = origin + pa[..., None] * axes[0] + mirrored[..., None] * axes[1]
    mx = (at[..., 0] - box[1].start).astype(np.float32)
    my = (at[..., 1] - box[0].start).astype(np.float32)
    lent = cv2.remap(grain, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    strand = np.clip((darker - LASH_FROM) / (LASH_FULL - LASH_FROM), 0.0, 1.0)
    strand = (strand * strand * (3 - 2 * strand)).astype(np.float32)
    # A lash runs across the lid: dark too a little up or down it (a thin line along the lid
    # at a slant, a liner's edge, and a pore are not).
    h, w = strand.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    step = (LASH_RUN * axes[1]).astype(np.float32)
    runs = [
        cv2.remap(strand, xs + sign * step[0], ys + sign * step[1], cv2.INTER_LINEAR,
                  borderMode=cv2.BORDER_REPLICATE)
        for sign in (-1.0, 1.0)
    ]  # fmt: skip
    strand = np.minimum(strand, np.maximum(runs[0], runs[1]))
    close = cv2.GaussianBlur(strand, (0, 0), 0.5 * LASH_WINDOW * width) / LASH_CLOSE
    replace = np.clip(np.maximum(strand, close), 0.0, 1.0) * zone
    lid = skin_out[box]
    lid += replace[..., None] * (skin + lent - lid)
    # (what hangs from the shut lid's margin: the lashes told here)
    lash_out[box] = np.maximum(lash_out[box], strand * zone)


def _line(a: np.ndarray, b: np.ndarray, at: np.ndarray) -> np.ndarray:
    order = np.argsort(a)
    return np.interp(at, a[order], b[order])


class LidCloser:
    """Closes each eye by redirecting the renderer's backward map over its lids."""

    def __init__(
        self,
        landmarks: np.ndarray,
        axes: np.ndarray,
        in_front: np.ndarray | None = None,
        photo: np.ndarray | None = None,
        softness: float = 0.0,
    ) -> None:
        """``in_front``: (S, S) bool, what stands in front of the lids (glasses rims): the
        unfolding skin stops short of it, so that no rim's painted-out place is drawn out
        down the lid. ``photo``: (S, S, 3) uint8, what the lids are read from: where its
        own upper lid edge lies above the landmarks' line, the lid closes from that edge (a
        shut lid covers all of the eye the photo shows). ``softness``: how soft the photo
        is, a Gaussian's sigma in pixels (see :data:`CONTACT_LINE_WIDTH`)."""
        self.axes = axes.astype(np.float32)
        lm = landmarks[:, :2].astype(np.float64)
        self.eyes: list[_Eye] = []
        light = None if photo is None else _lightness(photo)
        # The photo with the lashes standing on the upper lids taken out: the closing
        # sheets' skin (padded as the warp's source on the first frame).
        self._skin = None if photo is None else photo.astype(np.float32)
        self._lash = None if photo is None else np.zeros(photo.shape[:2], np.float32)
        self._skin_source: tuple[np.ndarray, int, np.ndarray, np.ndarray] | None = None
        for upper_ids, lower_ids, brow_ids in (
            (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_BROW_LOWER),
            (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_BROW_LOWER),
        ):
            origin = lm[list(upper_ids + lower_ids)].mean(0)
            local = (lm - origin) @ axes.T
            up, lo, brow = local[list(upper_ids)], local[list(lower_ids)], local[list(brow_ids)]
            a0, a1 = min(up[:, 0].min(), lo[:, 0].min()), max(up[:, 0].max(), lo[:, 0].max())
            width = max(a1 - a0, 1.0)
            reach = CORNER_REACH * width
            a = np.linspace(a0 - reach, a1 + reach, 64)
            columns = slice(0, len(a))
            outer = float(local[upper_ids[0], 0])  # Face Mesh's outer corner comes first
            if photo is not None:
                # Columns on past the outer corner at the same spacing, where a lid run on
                # into a wing eases out (see :data:`OUTER_TAPER`); dropped where none is.
                step = float(a[1] - a[0])
                more = step * np.arange(1, int(np.ceil(OUTER_COLUMNS * width / step)) + 1)
                if outer > (a0 + a1) / 2:
                    a = np.concatenate([a, a[-1] + more])
                else:
                    a = np.concatenate([a[0] - more[::-1], a])
                    columns = slice(len(more), len(a))
            # Past the corners both edges are the corner's height (gap 0): nothing moves.
            upper = _line(up[:, 0], up[:, 1], a)
            lower = _line(lo[:, 0], lo[:, 1], a)
            inside = (a >= a0) & (a <= a1)
            lower_own, inside_own = lower, inside
            if photo is not None and light is not None:
                upper = _photo_upper_edge(photo, origin, axes, a, upper, lower, EDGE_SEARCH * width)
                run_on = _photo_outer_corner(light, origin, axes, a, upper, lower, outer, width)
                if (run_on > lower).any():
                    inside = inside | (run_on > lower)
                    lower = run_on
                else:
                    # (the columns' own values are those of the grid without the extra ones)
                    a, upper, lower, inside = (
                        a[columns],
                        upper[columns],
                        lower[columns],
                        inside[columns],
                    )
                    lower_own, inside_own = lower, inside
            # Closed lids overlap: the landmarks sit inside the lid margins, and a shut eye
            # shows no sliver of white between them.
            gap = np.where(inside, np.maximum(lower - upper, 0.0), 0.0)
            gap_own = np.where(inside_own, np.maximum(lower_own - upper, 0.0), 0.0)
            biggest = max(float(gap.max()), 1.0)
            brow_b = _line(brow[:, 0], brow[:, 1], a)
            room = np.maximum(upper - brow_b, 0.0) * CREASE_ROOM
            lash_above, lash_below = LASH_ABOVE * width, LASH_BELOW * width
            if light is not None:
                lash_above = max(
                    lash_above, _photo_lash_band(light, origin, axes, a, upper, lower, width)
                )
            # Never so short that the sheet folds: the sheet's eased travel must stay under
            # its length (see :meth:`_upper_source`).
            least = 0.6 * biggest + lash_above + lash_below + 1.0
            # (a pixel at least: on a small eye a thinner line is a pixel's, lighter)
            line_width = max(float(np.hypot(CONTACT_LINE_WIDTH * width, softness)), 1.0)
            crease = np.minimum(CREASE_REACH * biggest, room)
            if in_front is not None and in_front.any():
                crease = np.minimum(crease, _clear_above(in_front, origin, axes, a, upper, crease))
            crease = np.maximum(crease, least)
            if photo is not None and self._skin is not None and self._lash is not None:
                zone = np.minimum(LASH_ZONE * width, LASH_ZONE_ROOM * (upper - brow_b))
                _lash_free(photo, origin, axes, a, upper, np.maximum(zone, 0.0), width,
                           self._skin, self._lash)  # fmt: skip
            below = np.full_like(a, LOWER_REACH * biggest + LOWER_MARGIN * width)
            box = (
                float(a[0]),
                float((upper - crease).min() - 1),
                float(a[-1]),
                float((lower + below).max() + 1),
            )
            self.eyes.append(
                _Eye(
                    origin,
                    a,
                    upper,
                    lower,
                    gap,
                    lower_own,
                    gap_own,
                    crease,
                    below,
                    lash_above,
                    LASH_ABOVE * width,
                    line_width,
                    CONTACT_LINE * CONTACT_LINE_WIDTH * width / line_width,
                    lash_below,
                    LOWER_MARGIN * width,
                    box,
                )
            )
        # Where (along a, then b) a pixel's source must lie for the lids to change it: the
        # sheets' reach (the box), the lower margin's travel when the lids overlap shut, and
        # the eye's own opening (which darkens as it narrows), a pixel wider.
        self._near_low: list[np.ndarray] = []
        self._near_high: list[np.ndarray] = []
        for eye in self.eyes:
            lowest = min(
                eye.box[1],
                float((eye.lower - (1 + CLOSED_OVERLAP) * eye.gap).min() - eye.margin),
                float(eye.upper.min()),
            )
            highest = max(eye.box[3], float(eye.lower.max() + eye.lash_below))
            self._near_low.append(np.array([eye.a[0] - 1, lowest - 1]))
            self._near_high.append(np.array([eye.a[-1] + 1, highest + 1]))

    def _lash_free_source(self, source: np.ndarray, pad: int) -> tuple[np.ndarray, np.ndarray]:
        """The lash-free skin and the lashes told on the lids (0 to 1), padded as ``source``
        is (the photo padded by ``pad``: what the warp reads), made on the first frame, then
        kept."""
        # Kept with the source itself (not its id, which a new array may reuse once freed).
        kept = self._skin_source
        if kept is None or kept[0] is not source or kept[1] != pad:
            skin = source.copy()
            lash = np.zeros(source.shape[:2], np.float32)
            if self._skin is not None and self._lash is not None:
                inside = (slice(pad, source.shape[0] - pad), slice(pad, source.shape[1] - pad))
                skin[inside] = np.clip(self._skin + 0.5, 0, 255).astype(np.uint8)
                lash[inside] = self._lash
            self._skin_source = kept = (source, pad, skin, lash)
        return kept[2], kept[3]

    @staticmethod
    def shares(shapes: np.ndarray) -> list[tuple[float, float, float]]:
        """(upper, lower) lid travel per eye, shares of the opening, from blinks and squints;
        and how much of it is the blink's (0 to 1)."""
        out = []
        for side in ("Right", "Left"):
            blink, squint = shapes[BS[f"EyeBlink{side}"]], shapes[BS[f"EyeSquint{side}"]]
            upper = blink * UPPER_SHARE + squint * SQUINT_LIDS[0]
            lower = blink * (1 - UPPER_SHARE) + squint * SQUINT_LIDS[1]
            blinking = blink / max(blink + squint * sum(SQUINT_LIDS), 1e-9)
            if upper + lower > 1.0:
                upper, lower = upper / (upper + lower), lower / (upper + lower)
            out.append((float(upper), float(lower), float(np.clip(blinking, 0.0, 1.0))))
        return out

    def paint(
        self,
        frame: np.ndarray,
        backward: SourceMap,
        source: np.ndarray,
        pad: int,
        shapes: np.ndarray,
        posed_eyes: list[np.ndarray],
    ) -> None:
        """Draw each eye's lids closed by the blendshapes' blinks and squints, in place.

        ``frame``: (S, S, 3) uint8, the warped frame (whose warp left the lids open);
        ``backward``: where each of its pixels comes from in the photo;
        ``source``: the photo padded by ``pad`` on every side (what the warp reads);
        ``posed_eyes``: per eye, where its landmarks are in the frame, (N, 2): the window
        of output pixels looked at.
        """
        size = frame.shape[0]
        down = self.axes[1]
        skin_source, lash_source = self._lash_free_source(source, pad)
        for k, (eye, (up, low, blinking), posed) in enumerate(
            zip(self.eyes, self.shares(shapes), posed_eyes, strict=True)
        ):
            if up <= 1e-3 and low <= 1e-3:
                continue
            a0, b0, a1, b1 = eye.box
            reach = max(a1 - a0, b1 - b0)
            x0, y0 = np.maximum(np.floor(posed.min(0) - reach).astype(int), 0)
            x1, y1 = np.minimum(np.ceil(posed.max(0) + reach).astype(int), size)
            if x1 <= x0 or y1 <= y0:
                continue
            where = backward.box(y0, y1, x0, x1)
            rel: np.ndarray = where - eye.origin.astype(np.float32)
            a = rel @ self.axes[0]
            b = rel @ down
            # Only pixels whose source lies on the eye's lids change (past its corners the
            # opening is 0 and nothing moves): the work is done on their box alone.
            near = cv2.inRange(cv2.merge([a, b]), self._near_low[k], self._near_high[k])
            bx, by, bw, bh = cv2.boundingRect(near)
            if bw == 0:
                continue
            y0, y1, x0, x1 = y0 + by, y0 + by + bh, x0 + bx, x0 + bx + bw
            where = where[by : by + bh, bx : bx + bw]
            a, b = a[by : by + bh, bx : bx + bw], b[by : by + bh, bx : bx + bw]
            upper = np.interp(a, eye.a, eye.upper)
            # A blink closes over the dark the eye runs on into past its outer corner; a
            # squint keeps to the landmarks' corner (in between, as much as the blink's share).
            lower = np.interp(a, eye.a, eye.lower_own)
            gap = np.interp(a, eye.a, eye.gap_own)
            if blinking > 0.0 and eye.lower is not eye.lower_own:
                lower += blinking * (np.interp(a, eye.a, eye.lower) - lower)
                gap += blinking * (np.interp(a, eye.a, eye.gap) - gap)
            # Nearly shut, the lower lid rises further, under the upper one: no sliver of
            # the eye between them.
            low = low + CLOSED_OVERLAP * float(np.clip((up + low - 0.75) / 0.25, 0.0, 1.0))
            patch = frame[y0:y1, x0:x1].astype(np.float32)
            # The lower lid first: where the sheets overlap, the upper lid lies over it.
            sheets = (
                self._lower_sheet(b - lower, low * gap, np.interp(a, eye.a, eye.below),
                                  eye.margin),
                self._upper_sheet(b - upper, up * gap, np.interp(a, eye.a, eye.crease),
                                  eye.lash_above, eye.lash_below),
            )  # fmt: skip
            # Where the lids meet, the lashes of both and the fold between them shade the
            # line: darker as the eye shuts, softly over about the lash band's width and
            # darkest in a line as thin as the lashes'.
            meet = b - (upper + up * gap + eye.lash_below)
            contact = np.exp(-0.5 * (meet / max(eye.shade_width, 1.0)) ** 2)
            line = np.exp(-0.5 * (meet / eye.line_width) ** 2)
            # (fading to nothing at the corners, where the lids always meet)
            along = np.clip(gap / max(float(eye.gap.max()), 1e-3), 0.0, 1.0) ** 0.5
            shut = min(up / 0.8, 1.0) * along
            shade = (1.0 - CONTACT_SHADOW * shut * contact) * (1.0 - eye.line_depth * shut * line)
            closing = float(np.clip((up + low - SLIT_FROM) / (SLIT_FULL - SLIT_FROM), 0.0, 1.0))
            slit = SLIT_SHADOW * closing * closing * (3 - 2 * closing)
            if slit > 0.0:
                patch *= (1.0 - slit * _in_eye(b, upper, lower, gap))[..., None]
            # As the upper lid shuts, the lashes standing on it above the band fade (see
            # :data:`LASH_FADE`).
            fading = (up / UPPER_SHARE - LASH_FADE_FROM) / (LASH_FADE - LASH_FADE_FROM)
            standing = float(np.clip(1.0 - fading, 0.0, 1.0))
            for n, (shift, alpha) in enumerate(sheets):
                if not (alpha > 0).any():
                    continue
                read = where + np.float32(pad) + (shift[..., None] * down).astype(np.float32)
                lid = cv2.remap(source, read, NO_ARRAY, cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_REPLICATE).astype(np.float32)  # fmt: skip
                if n == 1 and standing < 1.0:
                    # The upper lid: its skin without the lashes standing on it, but for the
                    # lash band moved whole (where the sheet reads from at most
                    # ``lash_above`` above the open edge).
                    skin = cv2.remap(
                        skin_source, read, NO_ARRAY, cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE,
                    ).astype(np.float32)  # fmt: skip
                    from_edge = b - upper + shift
                    band = np.clip(from_edge + eye.lash_above + 1.0, 0.0, 1.0)
                    keep = np.maximum(band, standing)
                    lid = skin + keep[..., None] * (lid - skin)
                lid *= shade[..., None]
                if slit > 0.0:
                    # A lid margin carried whole brings the white it bordered with it: in
                    # the shut eye's shade too.
                    lid *= (1.0 - slit * _in_eye(b + shift, upper, lower, gap))[..., None]
                w = alpha[..., None]
                patch = patch * (1 - w) + lid * w
            hang = float(np.clip((up / UPPER_SHARE - HANG_FROM) / (1.0 - HANG_FROM), 0.0, 1.0))
            if hang > 0.0:
                # Shut, the lashes hang from the margin: below it, the lashes told on the open
                # lid read mirrored (as far up from the open edge as this pixel is down from
                # the moved margin, over their foreshortening), over the eye or the lower lid.
                hanging = b - (upper + up * gap + eye.lash_below)
                from_edge = np.maximum(hanging, 0.0) / (HANG_LENGTH * hang)
                read = (
                    where
                    + np.float32(pad)
                    + ((upper - from_edge - b)[..., None] * down).astype(np.float32)
                )
                lashes = cv2.remap(source, read, NO_ARRAY, cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REPLICATE).astype(np.float32)  # fmt: skip
                told = cv2.remap(lash_source, read, NO_ARRAY, cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT)  # fmt: skip
                w = (told * (hanging >= 0.0) * hang * along)[..., None]
                patch = patch * (1 - w) + lashes * w
            frame[y0:y1, x0:x1] = np.clip(patch + 0.5, 0, 255).astype(np.uint8)

    @staticmethod
    def _upper_sheet(
        d: np.ndarray, travel: np.ndarray, crease: np.ndarray, above: float, below: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Where the upper lid's sheet reads from (shift along b, negative: up) and how much
        of it shows (alpha), for points ``d`` below the open lid edge (negative above it).

        The lash band (``above`` over to ``below`` under the edge) moves whole by ``travel``;
        the skin from the crease down to it is read from an eased share of that. The sheet's
        lower edge is anti-aliased over a pixel.
        """
        top = -crease
        edge = travel + below  # where the sheet ends now
        band_top = travel - above  # where the moved lash band begins now
        t = np.clip((d - top) / np.maximum(band_top - top, 1e-3), 0.0, 1.0)
        # Half linear, half smoothstep: no kink at the crease, and the stretch spread over
        # the lid rather than piled in its middle.
        ease = 0.5 * t + 0.5 * t * t * (3 - 2 * t)
        shift = (-travel * ease).astype(np.float32)
        alpha = np.clip(edge - d + 0.5, 0.0, 1.0) * (d > top) * (travel > 1e-3)
        return shift, alpha.astype(np.float32)

    @staticmethod
    def _lower_sheet(
        d: np.ndarray, travel: np.ndarray, reach: np.ndarray, margin: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The lower lid's sheet (shift along b, positive: down; alpha), for points ``d``
        below the open lower lid edge. Its margin moves whole by ``travel``."""
        bottom = reach
        edge = -travel - margin
        band_bottom = -travel + margin
        t = np.clip((bottom - d) / np.maximum(bottom - band_bottom, 1e-3), 0.0, 1.0)
        ease = 0.5 * t + 0.5 * t * t * (3 - 2 * t)
        shift = (travel * ease).astype(np.float32)
        alpha = np.clip(d - edge + 0.5, 0.0, 1.0) * (d < bottom) * (travel > 1e-3)
        return shift, alpha.astype(np.float32)
