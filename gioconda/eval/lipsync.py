"""Lip-sync evaluation: held-out speech with exact phone timings, judged on rendered frames.

``gioconda eval lipsync`` synthesizes speech that the viseme network never trained on, drives
the bundled portrait with every audio-to-mouth method, renders the frames, re-detects the mouth
on them with MediaPipe (a tool we did not write) and prints one table, method by metric.

The speech
----------
Utterances are sentences written for this evaluation (:data:`HELD_OUT_SENTENCES`: many
/p b m/, open and rounded vowels), each spoken by :data:`VOICES_PER_SENTENCE` voices drawn
with the seed, at a drawn speaking rate, with :data:`LEAD_S` of silence before and
:data:`TAIL_S` after. They are the *test* split of the training data's split
(``training/splits.py``, which the package cannot import; the constants here must match it and
a test checks that they do): English spoken only by held-out speakers
(:data:`HELD_OUT_VARIANTS`), and the held-out languages (:data:`HELD_OUT_LANGUAGES`), and every
sentence hashes into the test buckets (:func:`text_bucket`). English and the held-out languages
are reported as two groups of rows. Speech comes from :data:`SPEECH_SOURCES` (eSpeak NG today;
another synthesizer is one more entry there). The synthesizer's own phone timings are the
ground truth ("true phones").

The methods (rows)
------------------
``loudness``: no phones, the jaw follows loudness (the baseline). ``pocketsphinx``: phones from
:class:`gioconda.recognize.PocketSphinxRecognizer`. ``network``: :class:`gioconda.visemenet.
VisemeNet`'s Viterbi path. ``combined``: PocketSphinx's words placed by the network
(:func:`gioconda.recognize.combined_phones`). ``tts``: the true
phones themselves, the upper bound of what the motion and the renderer can show. PocketSphinx's
model is English, so ``pocketsphinx`` and ``combined`` are n/a on the other languages.

The metrics (columns)
---------------------
Video frames are at ``fps`` (25); the frame "nearest" a time t is ``round(t * fps)``. The lip gap
is :func:`gioconda.measure.lip_gap` on MediaPipe's re-detection of each rendered frame (inner-lip
opening over mouth width, tracking from frame to frame as a viewer would; frames are measured as
rendered, with no video codec in between). A frame where no face is found has no lip gap.

* **viseme acc**: the share of 10 ms frames of the synthesized utterance (the added lead and
  tail silence excluded) whose viseme, read at the frame's centre from the method's phones,
  equals the true phones' viseme there (the convention of
  :func:`gioconda.recognize.viseme_accuracy`). In brackets the same over frames whose true
  viseme is not silence. Pooled over the utterances of a row. n/a for ``loudness``.
* **closure recall**: of the true /p b m/ phones (viseme ``PP``) lasting at least
  :data:`MIN_CLOSURE_S`, the share for which, at the frame nearest the phone's middle, the
  motion's ``MouthClose`` is at least :data:`CLOSED_MOUTH_CLOSE` *and* the re-detected lip gap
  is below :data:`CLOSED_LIP_GAP` mouth widths (a frame with no face found counts as open).
  In brackets the precision: of the runs of frames in which the motion shuts the lips
  (MouthClose >= :data:`CLOSED_MOUTH_CLOSE`), the share that come within one frame of a true
  /p b m/ (:func:`closure_precision`); n/a when the motion never shuts them.
* **open/closed**: the median over true open vowels (viseme ``aa``, at least
  :data:`MIN_OPEN_VOWEL_S`) of the widest re-detected lip gap during the vowel (the frames shown
  within it), over the median lip gap at the middles of the closures above (floored at
  :data:`CLOSED_GAP_FLOOR`, about MediaPipe's noise on shut lips); in brackets the two medians,
  in mouth widths. Pooled over the row's utterances. (The JSON also has ``vowels_opened``: the
  share of those vowels whose widest gap exceeds :data:`OPENED_LIP_GAP`, the counterpart of
  closure recall.)
* **A/V offset**: per utterance, the lag (ms) maximizing the Pearson correlation between the
  rendered lip-gap curve, shifted, and a reference aperture curve made from the true phones
  (:data:`REFERENCE_APERTURE` per viseme, on the 10 ms grid, Gaussian-smoothed with sigma
  :data:`REFERENCE_SMOOTHING_S`, read at the frame times). Lags are searched over whole frames
  within :data:`MAX_LAG_S`, refined by a parabola through the best lag and its neighbours.
  Positive: the mouth moves after the sound. The median over utterances; in brackets the share
  of utterances within one frame (40 ms at 25 fps), the target.
* **chatter**: open/close reversals per second of the lip-gap curve, a reversal being a turn
  after a move of at least :data:`LIP_GAP_HYSTERESIS` mouth widths (:func:`count_reversals`);
  in brackets the same for the reference curve, with :data:`REFERENCE_HYSTERESIS` (the same 10%
  of an open vowel's excursion: an open vowel is ~0.2 mouth widths on the portrait, 1 on the
  reference). More than the reference is chatter, fewer is mumbling. Pooled: all reversals over
  all seconds of the row's clips.

Everything is seeded (voices, rates, eSpeak's noise, head motion); the same seed and weights give
the same table.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import cast

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.eval.lipsync_methods import (
    DEFAULT_METHOD_NAMES,
    METHOD_NAMES,
    METHODS,
    PhoneEstimators,
    load_network,
)
from gioconda.eval.lipsync_metrics import (
    CLOSED_GAP_FLOOR,
    LIP_GAP_HYSTERESIS,
    MIN_CLOSURE_S,
    MIN_FACE_FOUND,
    MIN_OPEN_VOWEL_S,
    OPENED_LIP_GAP,
    REFERENCE_HYSTERESIS,
    av_offset_ms,
    closure_precision,
    closures_shown,
    count_reversals,
    frame_agreement,
    middle_frames,
    open_vowel_gaps,
    reference_aperture,
)
from gioconda.eval.measure import FaceMeasurer
from gioconda.eval.speech_sets import (
    ENGLISH,
    NEURAL_ENGLISH,
    OTHER_LANGUAGES,
    SPEECH_SOURCES,
    EvalClip,
    Utterance,
    held_out_utterances,
    make_clip,
    recorded_clip,
    recorded_utterances,
)
from gioconda.face.native_logs import native_stderr_silenced
from gioconda.face.photo import load_photo
from gioconda.face.portrait import Portrait, analyze_portrait
from gioconda.face.topology import INNER_LIP_MIDDLE, mouth_width
from gioconda.motion.blendshapes import BS
from gioconda.motion.controls import MotionControls
from gioconda.motion.frames import Motion
from gioconda.pipeline import Speech, motion_for_speech
from gioconda.progress import Progress, no_progress
from gioconda.render.renderer import Renderer
from gioconda.speech.visemes import PhoneSegment
from gioconda.timeline import (
    frame_count,
)


@dataclass(frozen=True)
class LipSyncEvalOptions:
    """What an evaluation run does.

    Attributes
    ----------
    seed: voices, rates and head motion of the utterances
    quick: a few utterances (for tests), see :data:`QUICK_LANGUAGES`
    fps: video frame rate
    size: side of the rendered square, pixels (small is fast; MediaPipe still reads 256 well)
    speech_sources: names in :data:`SPEECH_SOURCES`
    methods: names in :data:`METHOD_NAMES`, in the order of the rows
    network_weights: an ``.npz`` of viseme-network weights; None for the shipped ones
    real_speech: folders of recordings with phone labels (``NAME.wav`` beside ``NAME.lab``,
        see :func:`read_phone_labels`), or of such folders (:func:`recorded_utterances`);
        each folder of recordings is reported as a group of rows of its own
    """

    seed: int = 0
    quick: bool = False
    fps: float = 25.0
    size: int = 256
    speech_sources: tuple[str, ...] = ("espeak", "kokoro")
    methods: tuple[str, ...] = DEFAULT_METHOD_NAMES
    network_weights: str | None = None
    real_speech: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.real_speech, (str, os.PathLike)):  # one folder, as a convenience
            object.__setattr__(self, "real_speech", (os.fspath(self.real_speech),))
        if not (isinstance(self.seed, int) and self.seed >= 0):
            raise GiocondaError(f"seed must be a non-negative integer, got {self.seed!r}")
        sources = [name for name in self.speech_sources if name not in SPEECH_SOURCES]
        if sources or not self.speech_sources:
            raise GiocondaError(
                f"speech sources must be among {', '.join(SPEECH_SOURCES)}, got {sources}"
            )
        unknown = [m for m in self.methods if m not in METHOD_NAMES]
        if unknown or not self.methods:
            raise GiocondaError(f"methods must be among {', '.join(METHOD_NAMES)}, got {unknown}")
        if not 5 <= self.fps <= 120:
            raise GiocondaError(f"fps must be between 5 and 120, got {self.fps:g}")
        if not 128 <= self.size <= 1024:
            raise GiocondaError(f"size must be between 128 and 1024, got {self.size}")


@dataclass(frozen=True)
class ClipScores:
    """One method on one clip: the raw counts that the table's rows pool.

    Attributes
    ----------
    utterance: :attr:`Utterance.key`
    group: :data:`ENGLISH` or :data:`OTHER_LANGUAGES`
    method: the method's name
    frames_agree, frames: 10 ms frames agreeing with the truth, and counted (None: no phones)
    speech_frames_agree, speech_frames: the same over frames of true speech
    closures_shown, closures: see :func:`closures_shown`
    true_closures, motion_closures: see :func:`closure_precision`
    open_gaps: the widest lip gap during each open vowel, mouth widths
    closed_gaps: lip gaps at the middles of the closures, mouth widths
    offset_ms: see :func:`av_offset_ms` (NaN when too few frames had a face)
    reversals, reference_reversals: see :func:`count_reversals`
    duration_s: the clip's length
    face_found: share of frames in which MediaPipe found the face
    estimate_s: wall time the method took to find the clip's phones
    """

    utterance: str
    group: str
    method: str
    frames_agree: int | None
    frames: int | None
    speech_frames_agree: int | None
    speech_frames: int | None
    closures_shown: int
    closures: int
    true_closures: int
    motion_closures: int
    open_gaps: np.ndarray
    closed_gaps: np.ndarray
    offset_ms: float
    reversals: int
    reference_reversals: int
    duration_s: float
    face_found: float
    estimate_s: float


def score_clip(
    clip: EvalClip,
    method: str,
    phones: Sequence[PhoneSegment] | None,
    motion: Motion,
    lip_gap: np.ndarray,
    estimate_s: float = 0.0,
) -> ClipScores:
    """Every metric's raw counts for one method's rendering of one clip."""
    truth, fps, n = clip.truth, motion.fps, len(motion)
    if phones is None:
        agree = counted = speech_agree = speech_counted = None
    else:
        agree, counted = frame_agreement(phones, truth, clip.speech_s)
        speech_agree, speech_counted = frame_agreement(phones, truth, clip.speech_s, True)
    mouth_close = motion.blendshapes[:, BS["MouthClose"]]
    shown, scored = closures_shown(truth, mouth_close, lip_gap, fps)
    true_closures, motion_closures = closure_precision(truth, mouth_close, fps)
    face_found = float(np.isfinite(lip_gap).mean()) if n else 0.0
    reference = reference_aperture(truth, fps, n)
    usable = face_found >= MIN_FACE_FOUND
    return ClipScores(
        utterance=clip.utterance.key,
        group=clip.utterance.group,
        method=method,
        frames_agree=agree,
        frames=counted,
        speech_frames_agree=speech_agree,
        speech_frames=speech_counted,
        closures_shown=shown,
        closures=scored,
        true_closures=true_closures,
        motion_closures=motion_closures,
        open_gaps=open_vowel_gaps(truth, lip_gap, fps),
        closed_gaps=lip_gap[middle_frames(truth, "PP", MIN_CLOSURE_S, fps, n)],
        offset_ms=av_offset_ms(lip_gap, reference, fps) if usable else float("nan"),
        reversals=count_reversals(lip_gap, LIP_GAP_HYSTERESIS),
        reference_reversals=count_reversals(reference, REFERENCE_HYSTERESIS),
        duration_s=clip.audio.duration_s,
        face_found=face_found,
        estimate_s=estimate_s,
    )


@lru_cache(maxsize=4)
def bundled_portrait(size: int) -> Portrait:
    """The bundled Mona Lisa, analyzed once per size per process."""
    with resources.as_file(resources.files("gioconda") / "assets" / "mona_lisa.jpg") as path:
        return analyze_portrait(load_photo(path), size)


def render_and_measure(
    renderer: Renderer, motion: Motion, keep: Sequence[int] = ()
) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Render every frame and re-detect its lip gap.

    Returns
    -------
    lip_gap: (T,) in mouth widths, NaN where MediaPipe found no face
    kept: the rendered frames whose indices are in ``keep``
    """
    gaps = np.full(len(motion), np.nan)
    kept = {}
    wanted = set(keep)
    # MediaPipe's graph threads log as it opens and closes its models, outside the calls that
    # FaceMeasurer silences; a fresh tracker per clip (as a new viewer) makes that every clip.
    with native_stderr_silenced(), FaceMeasurer(video=True) as measurer:
        for i in range(len(motion)):
            frame = renderer.render(motion.frame(i))
            gaps[i] = measurer.measure(frame).lip_gap
            if i in wanted:
                kept[i] = frame
    return gaps, kept


#: Frames per method on the contact sheet: middles of this many closures and open vowels.
SHEET_CLOSURES, SHEET_OPEN_VOWELS = 3, 3


@dataclass(frozen=True)
class ContactSheet:
    """Frames of one clip under each method, for a person to look at.

    Attributes
    ----------
    utterance: the clip's key
    labels: one per column (``"PP 1.24s"``: the true viseme and the frame's time)
    frames: method name -> one (S, S, 3) uint8 frame per column
    mouth_box: (x0, y0, side) of the square around the mouth, in frame pixels
    """

    utterance: str
    labels: tuple[str, ...]
    frames: dict[str, list[np.ndarray]]
    mouth_box: tuple[int, int, int]


def _sheet_frames(clip: EvalClip, fps: float, n_frames: int) -> tuple[list[int], list[str]]:
    """Which frames of ``clip`` go on the contact sheet, and their column labels."""
    picks = []
    for viseme, count, min_s in (("PP", SHEET_CLOSURES, MIN_CLOSURE_S),
                                 ("aa", SHEET_OPEN_VOWELS, MIN_OPEN_VOWEL_S)):  # fmt: skip
        frames = middle_frames(clip.truth, viseme, min_s, fps, n_frames)
        if len(frames):
            chosen = frames[np.linspace(0, len(frames) - 1, min(count, len(frames))).astype(int)]
            picks += [(int(f), viseme) for f in dict.fromkeys(chosen.tolist())]
    picks.sort()
    return [f for f, _ in picks], [f"{v} {f / fps:.2f}s" for f, v in picks]


def _mouth_box(portrait: Portrait) -> tuple[int, int, int]:
    lm = portrait.landmarks
    width = mouth_width(lm)
    cx, cy = (float(v) for v in lm[list(INNER_LIP_MIDDLE), :2].mean(0))
    side = round(2.8 * width)
    return round(cx - side / 2), round(cy - 0.36 * side), side


@dataclass(frozen=True)
class MethodScores:
    """One row of the table: a method over a group of utterances (None: n/a).

    Attributes
    ----------
    group: :data:`ENGLISH` or :data:`OTHER_LANGUAGES`
    method: the method's name
    utterances: how many utterances the row pools
    viseme_accuracy, speech_viseme_accuracy: over all frames, over true speech frames
    closure_recall: closures shown over closures scored (``closures`` of them)
    closure_precision: the motion's closures on a true /p b m/ over all its closures
    open_gap, closed_gap: median lip gaps at open vowels and at closures, mouth widths
    aperture_ratio: open_gap / max(closed_gap, CLOSED_GAP_FLOOR)
    vowels_opened: share of open vowels whose widest gap exceeds OPENED_LIP_GAP
    offset_ms: median A/V offset over utterances; within_frame: share within one frame
    chatter_per_s, reference_chatter_per_s: reversals per second, rendered and reference
    face_found: share of frames with a face
    estimate_rtf: wall time finding phones over audio duration (combined reuses the
        network's posteriors: its own time is word decoding and alignment)
    """

    group: str
    method: str
    utterances: int
    viseme_accuracy: float | None = None
    speech_viseme_accuracy: float | None = None
    closure_recall: float | None = None
    closures: int = 0
    closure_precision: float | None = None
    open_gap: float | None = None
    closed_gap: float | None = None
    aperture_ratio: float | None = None
    vowels_opened: float | None = None
    offset_ms: float | None = None
    within_frame: float | None = None
    chatter_per_s: float | None = None
    reference_chatter_per_s: float | None = None
    face_found: float | None = None
    estimate_rtf: float | None = None


def pool_scores(group: str, method: str, clips: Sequence[ClipScores], fps: float) -> MethodScores:
    """A table row from its clips' raw counts (see the module docstring for the pooling)."""
    if not clips:
        return MethodScores(group, method, 0)

    def ratio(num: float, den: float) -> float | None:
        return num / den if den else None

    def total(counts: Iterable[int | None]) -> int:
        # Only where has_phones: every clip has the count then (a None fails here, as in sum).
        return sum(cast(int, n) for n in counts)

    has_phones = clips[0].frames is not None
    open_gaps = np.concatenate([c.open_gaps for c in clips])
    closed_gaps = np.concatenate([c.closed_gaps for c in clips])
    open_gap = float(np.nanmedian(open_gaps)) if np.isfinite(open_gaps).any() else None
    closed_gap = float(np.nanmedian(closed_gaps)) if np.isfinite(closed_gaps).any() else None
    offsets = np.array([c.offset_ms for c in clips])
    offsets = offsets[np.isfinite(offsets)]
    duration = sum(c.duration_s for c in clips)
    return MethodScores(
        group=group,
        method=method,
        utterances=len(clips),
        viseme_accuracy=ratio(total(c.frames_agree for c in clips), total(c.frames for c in clips))
        if has_phones
        else None,
        speech_viseme_accuracy=ratio(
            total(c.speech_frames_agree for c in clips), total(c.speech_frames for c in clips)
        )
        if has_phones
        else None,
        closure_recall=ratio(sum(c.closures_shown for c in clips), sum(c.closures for c in clips)),
        closures=sum(c.closures for c in clips),
        closure_precision=ratio(
            sum(c.true_closures for c in clips), sum(c.motion_closures for c in clips)
        ),
        open_gap=open_gap,
        closed_gap=closed_gap,
        aperture_ratio=open_gap / max(closed_gap, CLOSED_GAP_FLOOR)
        if open_gap is not None and closed_gap is not None
        else None,
        vowels_opened=float(np.mean(np.nan_to_num(open_gaps) > OPENED_LIP_GAP))
        if open_gaps.size
        else None,
        offset_ms=float(np.median(offsets)) if offsets.size else None,
        within_frame=float(np.mean(np.abs(offsets) <= 1000.0 / fps)) if offsets.size else None,
        chatter_per_s=sum(c.reversals for c in clips) / duration,
        reference_chatter_per_s=sum(c.reference_reversals for c in clips) / duration,
        face_found=float(np.mean([c.face_found for c in clips])),
        estimate_rtf=sum(c.estimate_s for c in clips) / duration,
    )


@dataclass(frozen=True)
class LipSyncReport:
    """The outcome of :func:`evaluate_lipsync`.

    Attributes
    ----------
    rows: the table, English rows first, then the other languages', then each folder of
        recordings', methods in order
    clips: every (utterance, method) scored
    utterances: what was spoken
    network: which weights the network had
    options: the run's options
    wall_s: how long the whole run took, seconds
    sheet: frames for the contact sheet (None if no clip had closures or open vowels)
    """

    rows: tuple[MethodScores, ...]
    clips: tuple[ClipScores, ...]
    utterances: tuple[Utterance, ...]
    network: str
    options: LipSyncEvalOptions
    wall_s: float
    sheet: ContactSheet | None = field(default=None, repr=False)


def evaluate_lipsync(
    options: LipSyncEvalOptions = LipSyncEvalOptions(), progress: Progress = no_progress
) -> LipSyncReport:
    """Run every lip-sync method on held-out speech and measure the rendered mouth.

    Parameters
    ----------
    options: see :class:`LipSyncEvalOptions`
    progress: called as (utterance, method) pairs are done, stage ``"lipsync"``

    Returns
    -------
    The table and everything behind it.

    Raises
    ------
    GiocondaError: bad options, unreadable network weights.
    """
    start = time.perf_counter()
    utterances = held_out_utterances(options.seed, options.quick, options.speech_sources)
    recorded_groups: list[str] = []
    for folder in options.real_speech:
        recorded = recorded_utterances(folder, options.seed)
        groups = list(dict.fromkeys(u.group for u in recorded))
        if clash := set(groups) & set(recorded_groups):
            raise GiocondaError(
                f"two real speech folders would both be reported as {sorted(clash)[0]!r}: "
                "rename one"
            )
        recorded_groups += groups
        utterances += recorded
    methods = [m for m in METHODS if m.name in options.methods]
    network, network_note = load_network(options.network_weights)
    tools = PhoneEstimators(network)
    portrait = bundled_portrait(options.size)
    renderer = Renderer(portrait)
    sources = {name: SPEECH_SOURCES[name]() for name in options.speech_sources}
    total = sum(1 for u in utterances for m in methods if u.language == "en" or not m.english_only)
    done = 0
    scores: list[ClipScores] = []
    sheet: ContactSheet | None = None
    for utterance in utterances:
        if utterance.recording is not None:
            clip = recorded_clip(utterance)
        else:
            clip = make_clip(utterance, sources[utterance.source])
        tools.start_clip()
        controls = MotionControls(seed=utterance.motion_seed)
        keep: list[int] = []
        if sheet is None:  # the first clip with something to show (English comes first)
            n_frames = frame_count(clip.audio.duration_s, options.fps)
            keep, labels = _sheet_frames(clip, options.fps, n_frames)
            if keep:
                sheet = ContactSheet(utterance.key, tuple(labels), {}, _mouth_box(portrait))
        for method in methods:
            if method.english_only and utterance.language != "en":
                continue
            began = time.perf_counter()
            phones = method.estimate(tools, clip)
            estimate_s = time.perf_counter() - began
            source = "recording" if method.name != "tts" else "synthesized"
            motion = motion_for_speech(Speech(clip.audio, phones, source), options.fps, controls)
            lip_gap, kept = render_and_measure(renderer, motion, keep)
            if keep and sheet is not None:
                sheet.frames[method.name] = [kept[i] for i in keep]
            scores.append(score_clip(clip, method.name, phones, motion, lip_gap, estimate_s))
            done += 1
            progress("lipsync", done, total)
    rows = []
    for group in (ENGLISH, NEURAL_ENGLISH, OTHER_LANGUAGES, *recorded_groups):
        if not any(u.group == group for u in utterances):
            continue
        for method in methods:
            clips = [s for s in scores if s.group == group and s.method == method.name]
            rows.append(pool_scores(group, method.name, clips, options.fps))
    return LipSyncReport(
        rows=tuple(rows),
        clips=tuple(scores),
        utterances=tuple(utterances),
        network=network_note,
        options=options,
        wall_s=time.perf_counter() - start,
        sheet=sheet,
    )


#: Side of one tile of the contact sheet, and the width of its column of method names.
_TILE, _NAME_W, _HEADER_H = 128, 120, 24
