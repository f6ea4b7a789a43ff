"""``gioconda eval provenance``: does the watermark survive what happens to videos, and does
it stay silent on videos Gioconda did not mark?

Marked: short clips rendered from different photos and voices, exactly as ``render_video``
marks them (label, then the mark), then every attack in
:data:`~gioconda.eval.provenance_attacks.ATTACKS`. Unmarked: the same renders with the mark
left out (as they are, at 300 kb/s, cropped), and the photos themselves encoded as still
videos (cropped and whole). One table: detection and intact-payload rate per attack,
false positives per group, and the lowest (highest) score seen in each.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from gioconda.errors import GiocondaError
from gioconda.eval.portraits import default_portraits_dir, portraits_in, test_photos
from gioconda.eval.provenance_attacks import ATTACKS, Attack, crop, decode, encode
from gioconda.progress import Progress, no_progress
from gioconda.provenance.watermark import THRESHOLD, Payload, Watermarker, detect_video

#: eSpeak NG voices the clips cycle through (fast to synthesize; accents differ).
VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb-x-rp+m3", "en-029", "de", "fr", "es", "it", "nl")
TEXTS = (
    "Good morning, and welcome to the evening news from the studio.",
    "Peter Piper picked a peck of pickled peppers, or so they say.",
    "Please remember to water the plants while I am away this week.",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "I never said she stole my money, and I will not say it again.",
)
SIZE = 512
FPS = 25.0


@dataclass(frozen=True)
class ProvenanceEvalOptions:
    """clips: marked clips to render; seconds: their length (over 3: the excerpt is 3 s);
    quick: a few clips and attacks; workers: processes sharing the work."""

    clips: int = 50
    seconds: float = 3.4
    quick: bool = False
    workers: int = 2


@dataclass
class Row:
    """One line of the table: ``hits`` of ``total`` videos called watermarked."""

    name: str
    total: int = 0
    hits: int = 0
    payloads: int = 0
    scores: list[float] = field(default_factory=list)

    def add(self, found: bool, payload_ok: bool, score: float) -> None:
        self.total += 1
        self.hits += int(found)
        self.payloads += int(payload_ok)
        self.scores.append(score)


@dataclass
class ProvenanceReport:
    attacks: list[Row]
    unmarked: list[Row]
    psnr_db_min: float
    clips: int
    photos: int


def _photos(quick: bool) -> list[tuple[str, Callable[[], np.ndarray]]]:
    return test_photos(quick) + ([] if quick else portraits_in(default_portraits_dir()))


def _clip_frames(photo: np.ndarray, voice: str, text: str, seconds: float) -> np.ndarray | None:
    """Rendered frames (label on, no mark) for one photo and voice, or None without a face."""
    from gioconda.face.portrait import analyze_portrait
    from gioconda.pipeline import AnimateOptions, motion_for_speech, speech_from_text
    from gioconda.render.label import SyntheticLabel
    from gioconda.render.renderer import Renderer

    try:
        portrait = analyze_portrait(photo, SIZE)
    except GiocondaError:
        return None
    options = AnimateOptions(voice=voice)
    speech = speech_from_text(text, options)
    motion = motion_for_speech(speech, FPS, options.motion)
    renderer = Renderer(portrait)
    label = SyntheticLabel(SIZE, SIZE)
    frames = []
    for i in range(min(len(motion), round(seconds * FPS))):
        frame = renderer.render(motion.frame(i))
        label(frame)
        frames.append(frame)
    return np.stack(frames)


def _stills(photo: np.ndarray) -> list[np.ndarray]:
    """A photo as Gioconda never marked it: its centre at 512x512, the whole at 720 high."""
    height, width = photo.shape[:2]
    k = SIZE / min(height, width)
    scaled = cv2.resize(photo, (round(width * k), round(height * k)), interpolation=cv2.INTER_AREA)
    y0, x0 = (scaled.shape[0] - SIZE) // 2, (scaled.shape[1] - SIZE) // 2
    centre = scaled[y0 : y0 + SIZE, x0 : x0 + SIZE]
    k = 720 / min(height, width)
    whole = cv2.resize(photo, (round(width * k), round(height * k)), interpolation=cv2.INTER_AREA)
    return [centre, whole]


def _detect(frames: list[np.ndarray], attack: Attack | None, scratch: str, video: str):
    changed = frames if attack is None else attack.change(frames, scratch)
    encode(changed, video, FPS, None if attack is None else attack.bit_rate)
    return detect_video(video)


PICTURES = ("camera", "coffee", "chelsea", "rocket", "coins", "moon", "page", "text",
            "hubble_deep_field", "immunohistochemistry", "retina", "cat", "grass", "gravel",
            "brick", "horse")  # fmt: skip
_UNMARKED_RENDERS = ("renders, mark left out", "  ... at 300 kb/s", "  ... cropped 10% each side")
_STILL_GROUPS = ("photos as still videos", "scikit-image pictures as still videos")

#: One video's outcome: (row name, watermark found, payload intact, score).
Outcome = tuple[str, bool, bool, float]


def _clip_task(index: int, seconds: float, quick: bool) -> tuple[list[Outcome], float | None]:
    """Render clip ``index``, mark it, attack it; the same render unmarked. Runs in a worker."""
    photos = _photos(quick)
    frames = _clip_frames(
        photos[index % len(photos)][1](),
        VOICES[index % len(VOICES)],
        TEXTS[index % len(TEXTS)],
        seconds,
    )
    if frames is None:
        return [], None
    payload = Payload.new()
    mark = Watermarker(SIZE, SIZE, payload)
    marked = [mark(f) for f in frames]
    mse = max(float(np.mean((m.astype(np.float32) - f) ** 2))
              for m, f in zip(marked, frames, strict=True))  # fmt: skip
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="gioconda-provenance-") as tmp:
        video, scratch = os.path.join(tmp, "v.mp4"), os.path.join(tmp, "s.mp4")
        # As render_video writes it (CRF 20), then read back as anyone would.
        encode(marked, video, FPS, crf=20)
        delivered = decode(video)
        for attack in ATTACKS[:4] if quick else ATTACKS:
            found = _detect(delivered, attack, scratch, video)
            outcomes.append((attack.name, found.found, found.payload == payload, found.score))
        clean = list(frames)
        for key, change, rate in zip(_UNMARKED_RENDERS, (None, None, crop),
                                     (None, 300_000, None), strict=True):  # fmt: skip
            encode(clean if change is None else change(clean), video, FPS, rate)
            found = detect_video(video)
            outcomes.append((key, found.found, False, found.score))
    return outcomes, 10 * float(np.log10(255**2 / max(mse, 1e-12)))


def _still_task(group: str, which: int | str, quick: bool) -> tuple[list[Outcome], None]:
    """A photo (by index) or a scikit-image picture (by name) as two still videos."""
    if isinstance(which, int):
        photo = _photos(quick)[which][1]()
    else:
        from skimage import data as images

        photo = getattr(images, which)()
        if photo.dtype != np.uint8:  # the horse is a silhouette of booleans
            photo = (photo.astype(np.float32) * (255 / max(float(photo.max()), 1))).astype(np.uint8)
        photo = np.repeat(photo[..., None], 3, axis=2) if photo.ndim == 2 else photo[..., :3]
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="gioconda-provenance-") as tmp:
        video = os.path.join(tmp, "v.mp4")
        for still in _stills(photo):
            encode([still] * 25, video, FPS)
            found = detect_video(video)
            outcomes.append((group, found.found, False, found.score))
    return outcomes, None


def run_provenance_eval(
    options: ProvenanceEvalOptions = ProvenanceEvalOptions(), progress: Progress = no_progress
) -> ProvenanceReport:
    """Render, mark, attack and detect; see the module's docstring.

    Clips and stills are independent: ``options.workers`` processes share them.
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    quick = options.quick
    n_clips = 3 if quick else options.clips
    attacks = ATTACKS[:4] if quick else ATTACKS
    n_photos = len(_photos(quick))
    stills: list[tuple[str, int | str]] = [(_STILL_GROUPS[0], j) for j in range(n_photos)]
    if not quick:
        stills += [(_STILL_GROUPS[1], name) for name in PICTURES]
    rows = {a.name: Row(a.name) for a in attacks}
    unmarked = {name: Row(name) for name in (*_UNMARKED_RENDERS, *_STILL_GROUPS)}
    psnr_min = np.inf
    # Spawned, not forked: each worker starts its own MediaPipe.
    with ProcessPoolExecutor(options.workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_clip_task, i, options.seconds, quick) for i in range(n_clips)]
        futures += [pool.submit(_still_task, group, which, quick) for group, which in stills]
        for done, future in enumerate(as_completed(futures), start=1):
            outcomes, psnr = future.result()
            for name, found, payload_ok, score in outcomes:
                (rows.get(name) or unmarked[name]).add(found, payload_ok, score)
            if psnr is not None:
                psnr_min = min(psnr_min, psnr)
            progress("provenance: clips and stills", done, len(futures))
    return ProvenanceReport(list(rows.values()), list(unmarked.values()), float(psnr_min),
                            rows[attacks[0].name].total, min(n_photos, n_clips))  # fmt: skip


def format_table(report: ProvenanceReport) -> str:
    """The report as a Markdown table."""
    lines = [
        f"Watermark detection on {report.clips} clips ({report.photos} photos, "
        f"{len(VOICES)} voices), {SIZE}x{SIZE}; lowest PSNR of a marked frame "
        f"{report.psnr_db_min:.1f} dB",
        "",
        "| attack | detected | payload intact | lowest score |",
        "|---|---|---|---|",
    ]
    for row in report.attacks:
        lines.append(
            f"| {row.name} | {row.hits}/{row.total} ({100 * row.hits / max(row.total, 1):.0f}%) "
            f"| {row.payloads}/{row.total} | {min(row.scores, default=float('nan')):.1f} |"
        )
    total = sum(row.total for row in report.unmarked)
    hits = sum(row.hits for row in report.unmarked)
    lines += ["", f"False positives on {total} unmarked videos: {hits}", "",
              "| unmarked videos | false positives | highest score |", "|---|---|---|"]  # fmt: skip
    for row in report.unmarked:
        lines.append(
            f"| {row.name} | {row.hits}/{row.total} | {max(row.scores, default=float('nan')):.1f} |"
        )
    null = np.array([score for row in report.unmarked for score in row.scores])
    if len(null) > 1:
        # Gumbel by moments: the best of many near-Gaussian correlations (the detector's
        # NULL_GUMBEL comes from this line).
        spread = float(null.std()) * np.sqrt(6) / np.pi
        location = float(null.mean()) - 0.5772 * spread
        lines += ["", f"Unmarked scores: mean {null.mean():.2f}, sd {null.std():.2f}, max "
                  f"{null.max():.2f}; Gumbel fit location {location:.2f}, scale {spread:.3f}: "
                  f"odds of a score >= {THRESHOLD:g} without a mark "
                  f"{-np.expm1(-np.exp(-(THRESHOLD - location) / spread)):.0e}"]  # fmt: skip
    return "\n".join(lines)


def report_json(report: ProvenanceReport) -> dict:
    """Every score, for plots and for refitting the detector's threshold."""
    return {
        "psnr_db_min": report.psnr_db_min,
        "attacks": {row.name: {"hits": row.hits, "payloads": row.payloads, "scores": row.scores}
                    for row in report.attacks},
        "unmarked": {row.name: {"hits": row.hits, "scores": row.scores}
                     for row in report.unmarked},
    }  # fmt: skip
