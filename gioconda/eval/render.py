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
  angle against the commanded one (1 = the head turns as far as commanded). The solved yaw
  leans mostly on Face Mesh's depth of the turned frame (its own sense of the pose), which on
  some looks tilts far less than the landmarks moved (the stylized astronaut, turned 10 and 20
  degrees: its landmarks move 0.91 of the turn, its depth tilts 0.55); ``render_eval.json``
  also holds, per yaw frame, the yaw that the landmarks' sideways motion alone says
  (:func:`~gioconda.eval.render_metrics.yaw_in_image`, ``details.yaw.in_image``, and its
  slope ``details.yaw.in_image_slope``).
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
* **lid dE**, **lid tex**, **o/i W:H**, **sad corners**, **happy corners**, **talk corners**,
  **halo HF**, **halo streak**: the close-up of lids, the open mouth, the chosen expression and
  what a smaller head uncovers; see :mod:`gioconda.eval.closeup`.

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
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from gioconda.errors import GiocondaError
from gioconda.eval.closeup import CLOSEUP_COLUMNS, closeup_metrics
from gioconda.eval.measure import FaceMeasurement, FaceMeasurer, pearson
from gioconda.eval.portraits import default_portraits_dir, portraits_in, test_photos
from gioconda.eval.render_metrics import (
    SIZE,
    _roughness,
    background_mask,
    body_mask,
    contour_segments,
    contour_tear,
    iris_offset,
    psnr,
    seam_band,
    slope,
    yaw_in_image,
)
from gioconda.face.portrait import Portrait, analyze_portrait
from gioconda.face.topology import (
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from gioconda.geometry import solve_pose
from gioconda.motion.frames import MotionFrame
from gioconda.progress import Progress, no_progress
from gioconda.render.renderer import Renderer

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
    *CLOSEUP_COLUMNS,
)


# Not a pytest test despite the name; mypy has no way to declare an attribute on a function.
test_photos.__test__ = False  # type: ignore[attr-defined]


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
    assert rest_m is not None  # only background frames go unmeasured
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
        swept = sweep_of(key)
        solved = []
        for _, posed in swept:
            if rest_m.landmarks is None or posed.landmarks is None:
                solved.append([nan, nan, nan])
            else:
                solved.append(solve_pose(rest_m.landmarks, posed.landmarks).tolist())
        cmd = np.array([v for v, _ in swept])
        got = np.array(solved)[:, axis]
        metrics[f"{key}_r"] = pearson(cmd, got)
        err = np.abs(got - cmd)
        metrics[f"{key}_mae"] = float(np.nanmean(err)) if np.isfinite(err).any() else nan
        metrics[f"{key}_slope"] = slope(cmd, got)
        details[key] = {"commanded": cmd.tolist(), "solved_ypr": solved}
    # The yaw the landmarks' sideways motion in the frame says, beside the solved one (which
    # leans mostly on Face Mesh's depth of the turned face): a short solved yaw with a full
    # one here is Face Mesh's reading of the face, not the warp.
    in_image = [
        yaw_in_image(rest_m.landmarks, posed.landmarks)
        if rest_m.landmarks is not None and posed.landmarks is not None
        else nan
        for _, posed in sweep_of("yaw")
    ]
    details["yaw"]["in_image"] = in_image
    details["yaw"]["in_image_slope"] = slope(details["yaw"]["commanded"], in_image)

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
    metrics.update(closeup_metrics(renderer, measurer, rest_m))

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
    progress = progress or no_progress
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
