"""``gioconda eval provenance``: does the watermark survive what happens to videos, and does
it stay silent on videos Gioconda did not mark?

Marked: short clips rendered from different photos (the built-in test portraits and a folder of
the user's) and voices (eSpeak NG languages, Piper, Kokoro, and real recordings from a folder),
exactly as ``render_video`` marks them (label, then the mark), then every attack in
:data:`~gioconda.eval.provenance_attacks.ATTACKS`. Unmarked: the same renders with the mark
left out (as they are, at 300 kb/s, cropped), and the photos and scikit-image's pictures
encoded as still videos (cropped and whole). One table: detection and intact-payload rate per
attack, false positives per group, and the lowest (highest) score seen in each.

Each clip or still is one task; its outcome is written to a cache folder as soon as it is done,
keyed by the task and by the source of the watermark and the evaluation, so an interrupted run
continues where it stopped and a changed detector starts again. A task that fails is reported
in a line and counted, never ends the run.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from gioconda.eval.portraits import default_portraits_dir, portraits_in, test_photos
from gioconda.eval.provenance_attacks import ATTACKS, Attack, crop, decode, encode
from gioconda.progress import Progress, no_progress
from gioconda.provenance.watermark import (
    HOME_THRESHOLD,
    THRESHOLD,
    Payload,
    Watermarker,
    detect_video,
    home_false_alarm_odds,
)

#: Text-to-speech voices the clips cycle through (with the recordings found, if any): eSpeak NG
#: in several languages and accents (fast), Piper's native English voice, Kokoro's voices.
TTS_VOICES = ("en-us", "joe", "de", "jf_alpha", "en-gb", "fr", "jm_kumo", "es", "en-us+f3",
              "it", "jf_nezumi", "nl", "en-gb-x-rp+m3", "pt", "pl")  # fmt: skip
TEXTS = (
    "Good morning, and welcome to the evening news from the studio.",
    "Peter Piper picked a peck of pickled peppers, or so they say.",
    "Please remember to water the plants while I am away this week.",
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "I never said she stole my money, and I will not say it again.",
)
SIZE = 512
FPS = 25.0
#: Real recordings shared beside the checkout (a folder of WAV files), if present.
DEFAULT_SPEECH_DIR = Path("..") / "shared" / "data" / "speech"
SPEECH_ENV = "GIOCONDA_SPEECH"


@dataclass(frozen=True)
class ProvenanceEvalOptions:
    """clips: marked clips to render; seconds: their length (over 3: the excerpt is 3 s);
    quick: a few clips and attacks; workers: processes sharing the work; cache: folder of
    finished tasks' outcomes (None: a temporary one, nothing kept); speech: folder of real
    recordings (WAV/FLAC/MP3) the voices include."""

    clips: int = 50
    seconds: float = 3.4
    quick: bool = False
    workers: int = 2
    cache: Path | None = None
    speech: Path | None = None


@dataclass
class Row:
    """One line of the table: ``hits`` of ``total`` videos called watermarked."""

    name: str
    total: int = 0
    hits: int = 0
    payloads: int = 0
    scores: list[float] = field(default_factory=list)
    home_scores: list[float] = field(default_factory=list)

    def add(self, found: bool, payload_ok: bool, score: float, home_score: float) -> None:
        self.total += 1
        self.hits += int(found)
        self.payloads += int(payload_ok)
        self.scores.append(score)
        self.home_scores.append(home_score)


@dataclass
class ProvenanceReport:
    attacks: list[Row]
    unmarked: list[Row]
    psnr_db_min: float
    clips: int
    photos: int
    voices: int
    failed: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def default_speech_dir() -> Path | None:
    """The folder of real recordings the voices include (``GIOCONDA_SPEECH`` or ../shared)."""
    named = os.environ.get(SPEECH_ENV)
    if named:
        return Path(named)
    return DEFAULT_SPEECH_DIR if DEFAULT_SPEECH_DIR.is_dir() else None


def _photos(quick: bool) -> list[tuple[str, Callable[[], np.ndarray]]]:
    return test_photos(quick) + ([] if quick else portraits_in(default_portraits_dir()))


def _voices(quick: bool, speech: Path | None) -> list[str]:
    """Voice names, and ``file:PATH`` for each recording in ``speech``."""
    if quick:
        return ["en-us", "de"]
    voices = list(TTS_VOICES)
    if speech is not None and Path(speech).is_dir():
        audio = (".wav", ".flac", ".mp3", ".ogg")
        recordings = sorted(p for p in Path(speech).iterdir() if p.suffix.lower() in audio)
        # Interleaved, so that the first clips already have every kind of voice.
        for k, path in enumerate(recordings):
            voices.insert(min(len(voices), 3 * k + 2), f"file:{path.resolve()}")
    return voices


def _clip_frames(photo: np.ndarray, voice: str, text: str, seconds: float) -> np.ndarray:
    """Rendered frames (label on, no mark) for one photo and voice (a name or ``file:PATH``)."""
    from gioconda.face.portrait import analyze_portrait
    from gioconda.pipeline import (
        AnimateOptions,
        motion_for_speech,
        speech_from_audio,
        speech_from_text,
    )
    from gioconda.render.label import SyntheticLabel
    from gioconda.render.renderer import Renderer

    portrait = analyze_portrait(photo, SIZE)
    if voice.startswith("file:"):
        # The network alone: the watermark does not care how well the lips follow.
        options = AnimateOptions(lipsync="network")
        speech = speech_from_audio(voice[5:], options)
    else:
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
            "brick", "horse", "clock", "colorwheel", "checkerboard", "cell")  # fmt: skip
_UNMARKED_RENDERS = ("renders, mark left out", "  ... at 300 kb/s", "  ... cropped 10% each side")
_STILL_GROUPS = ("photos as still videos", "scikit-image pictures as still videos")

#: One video's outcome: (row name, watermark found, payload intact, score, home score).
Outcome = tuple[str, bool, bool, float, float]


@dataclass(frozen=True)
class _Task:
    """One clip (``kind`` "clip", ``which`` its index) or one still (a group and a photo)."""

    kind: str
    which: int | str
    group: str = ""

    @property
    def key(self) -> str:
        if self.kind == "clip":
            return f"clip-{int(self.which):03d}"
        slug = "photo" if self.group == _STILL_GROUPS[0] else "picture"
        return f"still-{slug}-{self.which}"


def _clip_task(index: int, seconds: float, quick: bool, voice: str) -> dict:
    """Render clip ``index``, mark it, attack it; the same render unmarked. Runs in a worker."""
    photos = _photos(quick)
    name, make = photos[index % len(photos)]
    frames = _clip_frames(make(), voice, TEXTS[index % len(TEXTS)], seconds)
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
            outcomes.append((attack.name, found.found, found.payload == payload, found.score,
                             found.home_score))  # fmt: skip
        clean = list(frames)
        for key, change, rate in zip(_UNMARKED_RENDERS, (None, None, crop),
                                     (None, 300_000, None), strict=True):  # fmt: skip
            encode(clean if change is None else change(clean), video, FPS, rate)
            found = detect_video(video)
            outcomes.append((key, found.found, False, found.score, found.home_score))
    psnr = 10 * float(np.log10(255**2 / max(mse, 1e-12)))
    label = voice if not voice.startswith("file:") else "recording " + Path(voice[5:]).name
    return {"what": f"{name} + {label}", "outcomes": outcomes, "psnr": psnr}


def _picture(name: str) -> np.ndarray:
    """A scikit-image sample picture as (H, W, 3) uint8."""
    from skimage import data as images

    photo = np.asarray(getattr(images, name)())
    if photo.dtype != np.uint8:  # the horse is a silhouette of booleans
        photo = (photo.astype(np.float32) * (255 / max(float(photo.max()), 1))).astype(np.uint8)
    return np.repeat(photo[..., None], 3, axis=2) if photo.ndim == 2 else photo[..., :3]


def _still_task(group: str, which: int | str, quick: bool) -> dict:
    """A photo (by index) or a scikit-image picture (by name) as two still videos."""
    if isinstance(which, int):
        name, make = _photos(quick)[which]
        photo = make()
    else:
        name, photo = which, _picture(which)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="gioconda-provenance-") as tmp:
        video = os.path.join(tmp, "v.mp4")
        for still in _stills(np.ascontiguousarray(photo)):
            encode([still] * 25, video, FPS)
            found = detect_video(video)
            outcomes.append((group, found.found, False, found.score, found.home_score))
    return {"what": str(name), "outcomes": outcomes, "psnr": None}


def _run_task(task: _Task, seconds: float, quick: bool, voice: str) -> dict:
    """A task's result, or ``{"error": ...}``: one bad photo or voice never ends the run."""
    started = time.monotonic()
    try:
        if task.kind == "clip":
            result = _clip_task(int(task.which), seconds, quick, voice)
        else:
            result = _still_task(task.group, task.which, quick)
    except Exception as error:  # reported with its task, then the run goes on
        where = traceback.extract_tb(error.__traceback__)[-1]
        return {"error": f"{type(error).__name__}: {error} ({Path(where.filename).name}:"
                         f"{where.lineno})"}  # fmt: skip
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _code_version(options: ProvenanceEvalOptions, photos: list[str], voices: list[str]) -> str:
    """What decides a task's outcome besides its index: the mark and detector, the attacks,
    which photo and voice each index takes, the clip's length. (Not this module's table.)"""
    from gioconda.eval import provenance_attacks
    from gioconda.provenance import mark_loops, watermark

    digest = hashlib.sha256()
    for module in (watermark, mark_loops, provenance_attacks):
        digest.update(Path(str(module.__file__)).read_bytes())
    setting = (photos, voices, TEXTS, PICTURES, options.seconds, options.quick, SIZE, FPS)
    digest.update(repr(setting).encode())
    return digest.hexdigest()[:16]


def _cached(folder: Path, task: _Task, version: str) -> dict | None:
    path = folder / f"{task.key}.json"
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stored if stored.get("version") == version else None


def _store(folder: Path, task: _Task, version: str, result: dict) -> None:
    """Written whole (a temporary name, then renamed): a killed run leaves no half file."""
    path = folder / f"{task.key}.json"
    temp = path.with_suffix(f".{os.getpid()}.tmp")
    temp.write_text(json.dumps({**result, "version": version}))
    os.replace(temp, path)


def _summary(task: _Task, result: dict) -> str:
    if "error" in result:
        return f"{task.key} FAILED: {result['error']}"
    outcomes = result["outcomes"]
    if task.kind == "clip":
        marked = [o for o in outcomes if o[0] not in _UNMARKED_RENDERS]
        missed = [o[0] for o in marked if not o[1]]
        low = min(o[3] for o in marked)
        false = sum(o[1] for o in outcomes if o[0] in _UNMARKED_RENDERS)
        text = (f"{task.key} {result['what']}: found {len(marked) - len(missed)}/{len(marked)} "
                f"(lowest score {low:.1f}), PSNR {result['psnr']:.1f} dB, "
                f"unmarked false {false}/{len(outcomes) - len(marked)}")  # fmt: skip
        if missed:
            text += f"; missed: {', '.join(missed)}"
    else:
        high = max(o[3] for o in outcomes)
        home = max(o[4] for o in outcomes)
        false = sum(o[1] for o in outcomes)
        text = (f"{task.key} {result['what']}: false {false}/{len(outcomes)} (highest {high:.1f}, "
                f"home {home:.1f})")  # fmt: skip
    return f"{text} [{result.get('seconds', 0):.0f} s]"


def run_provenance_eval(
    options: ProvenanceEvalOptions = ProvenanceEvalOptions(),
    progress: Progress = no_progress,
    log: Callable[[str], None] = lambda line: None,
) -> ProvenanceReport:
    """Render, mark, attack and detect; see the module's docstring.

    Clips and stills are independent: ``options.workers`` processes share them. ``log`` gets
    a line per finished task (and says which came from the cache).
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from multiprocessing import get_context

    quick = options.quick
    n_clips = min(options.clips, 3) if quick else options.clips
    attacks = ATTACKS[:4] if quick else ATTACKS
    photos = _photos(quick)
    voices = _voices(quick, options.speech)
    clips = [_Task("clip", i) for i in range(n_clips)]
    stills = [_Task("still", j, _STILL_GROUPS[0]) for j in range(len(photos))]
    if not quick:
        stills += [_Task("still", name, _STILL_GROUPS[1]) for name in PICTURES]
    # Clips and stills alternate: a run stopped early has both kinds, in proportion.
    tasks = [task for pair in zip(clips, stills, strict=False) for task in pair]
    tasks += clips[len(stills) :] + stills[len(clips) :]
    rows = {a.name: Row(a.name) for a in attacks}
    unmarked = {name: Row(name) for name in (*_UNMARKED_RENDERS, *_STILL_GROUPS)}
    report = ProvenanceReport(list(rows.values()), list(unmarked.values()), float("inf"),
                              0, min(len(photos), n_clips), min(len(voices), n_clips))  # fmt: skip

    def take(task: _Task, result: dict) -> None:
        if "error" in result:
            report.failed.append(f"{task.key}: {result['error']}")
            return
        for name, found, payload_ok, score, home in result["outcomes"]:
            row = rows.get(name) or unmarked[name]
            row.add(bool(found), bool(payload_ok), float(score), float(home))
            if name in rows and not found:
                what = f"{result['what']} (score {score:.1f}, home {home:.1f})"
                report.misses.append(f"{name}: {what}")
        if result["psnr"] is not None:
            report.psnr_db_min = min(report.psnr_db_min, float(result["psnr"]))
            report.clips += 1

    with tempfile.TemporaryDirectory(prefix="gioconda-provenance-cache-") as temporary:
        folder = Path(options.cache) if options.cache is not None else Path(temporary)
        folder.mkdir(parents=True, exist_ok=True)
        version = _code_version(options, [name for name, _ in photos], voices)
        todo = []
        for task in tasks:
            result = _cached(folder, task, version)
            if result is None:
                todo.append(task)
            else:
                take(task, result)
        done = len(tasks) - len(todo)
        if done:
            log(f"{done} of {len(tasks)} tasks already done (cache {folder})")
        # Spawned, not forked: each worker starts its own MediaPipe.
        with ProcessPoolExecutor(options.workers, mp_context=get_context("spawn")) as pool:
            futures = {
                pool.submit(_run_task, task, options.seconds, quick,
                            voices[int(task.which) % len(voices)] if task.kind == "clip" else ""):
                task
                for task in todo
            }  # fmt: skip
            for future in as_completed(futures):
                task = futures[future]
                result = future.result()
                if "error" not in result:
                    _store(folder, task, version, result)
                take(task, result)
                done += 1
                log(f"[{done}/{len(tasks)}] {_summary(task, result)}")
                progress("provenance: clips and stills", done, len(tasks))
    return report


def format_table(report: ProvenanceReport) -> str:
    """The report as a Markdown table."""
    lines = [
        f"Watermark detection on {report.clips} clips ({report.photos} photos, "
        f"{report.voices} voices), {SIZE}x{SIZE}; lowest PSNR of a marked frame "
        f"{report.psnr_db_min:.1f} dB",
        "",
        "| attack | detected | payload intact | lowest score | lowest home score |",
        "|---|---|---|---|---|",
    ]
    for row in report.attacks:
        lines.append(
            f"| {row.name} | {row.hits}/{row.total} ({100 * row.hits / max(row.total, 1):.0f}%) "
            f"| {row.payloads}/{row.total} | {min(row.scores, default=float('nan')):.1f} "
            f"| {min(row.home_scores, default=float('nan')):.1f} |"
        )
    total = sum(row.total for row in report.unmarked)
    hits = sum(row.hits for row in report.unmarked)
    lines += ["", f"False positives on {total} unmarked videos: {hits}", "",
              "| unmarked videos | false positives | highest score | highest home score |",
              "|---|---|---|---|"]  # fmt: skip
    for row in report.unmarked:
        lines.append(
            f"| {row.name} | {row.hits}/{row.total} | {max(row.scores, default=float('nan')):.1f} "
            f"| {max(row.home_scores, default=float('nan')):.1f} |"
        )
    if report.misses:
        lines += ["", "Missed: " + "; ".join(report.misses)]
    if report.failed:
        lines += ["", f"Tasks that failed ({len(report.failed)}): " + "; ".join(report.failed)]
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
        home = np.array([score for row in report.unmarked for score in row.home_scores])
        # The home score is one correlation at a known place: a standard normal draw.
        lines += ["", f"Unmarked home scores: mean {home.mean():.2f}, sd {home.std():.2f}, max "
                  f"{home.max():.2f}; odds of a home score >= {HOME_THRESHOLD:g} for a standard "
                  f"normal {home_false_alarm_odds(HOME_THRESHOLD):.0e}"]  # fmt: skip
    return "\n".join(lines)


def report_json(report: ProvenanceReport) -> dict:
    """Every score, for plots and for refitting the detector's threshold."""
    return {
        "psnr_db_min": report.psnr_db_min,
        "failed": report.failed,
        "attacks": {row.name: {"hits": row.hits, "payloads": row.payloads, "scores": row.scores,
                               "home_scores": row.home_scores}
                    for row in report.attacks},
        "unmarked": {row.name: {"hits": row.hits, "scores": row.scores,
                                "home_scores": row.home_scores}
                     for row in report.unmarked},
    }  # fmt: skip
