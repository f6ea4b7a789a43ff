"""Make the synthetic training data of the audio-to-viseme network.

Usage::

    python training/make_data.py --out training/data --minutes 90 --seed 0 --workers 2

Every utterance is text (sentences of frequent words, or nonsense syllables; see
:mod:`training.texts`) spoken by a synthesizer that reports exact phone timings
(:mod:`training.synthesizers`), at a random rate and pitch, resampled to 16 kHz, padded with
silence, usually passed through a random chain of real-world effects
(:mod:`training.augment`), and turned into what the network sees and must say:

* ``features``: raw 40-band log-mel frames from :func:`gioconda.audio.log_mel` (hop ``i``
  centred at ``i * 10 ms``), exactly as at inference; the trainer normalizes them;
* ``labels``: the viseme index of the phone that covers each hop's centre.

Output: shards ``train-000.npz``, ``valid-000.npz``, ``test-000.npz``, ... holding
``features`` (N, 40) float16, ``labels`` (N,) int8, ``offsets`` (U + 1,) int64 (utterance
``u`` is rows ``offsets[u]:offsets[u + 1]``) and per-utterance string arrays (``language``,
``voice``, ``speaker``, ``synthesizer``, ``settings``, ``augmentation``, ``kind``,
``held_out``, ``text``); and ``manifest.json`` with the split definition and the counts.

Everything is drawn from generators seeded by ``--seed`` and the utterance's index, so the
shards are identical (byte for byte) for a given seed whatever the number of workers.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import multiprocessing
import os
import sys
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as connection_wait
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    # Run as a script (python training/make_data.py): make the repository importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gioconda.errors import GiocondaError
from gioconda.speech.audio import MEL_BANDS, Audio, log_mel
from gioconda.speech.visemes import VISEME_INDEX, VISEMES, PhoneSegment
from gioconda.timeline import FEATURE_HOP_S
from training import augment, splits, texts
from training.synthesizers import SYNTHESIZERS, get_synthesizer

#: Share of the audio that goes to valid and to test.
VALID_SHARE = 0.1
TEST_SHARE = 0.1
#: Audio per shard, minutes.
SHARD_MINUTES = 10.0
#: Silence added before and after each utterance, seconds (drawn for each end).
PAD_RANGE_S = (0.0, 0.5)
#: Relative weight of a language when drawing one: English is what most users speak to us;
#: languages we only have nonsense syllables for are there for their sounds, not their text.
ENGLISH_WEIGHT = 3.0
NONSENSE_ONLY_WEIGHT = 0.3
#: Share of valid/test utterances that speak a held-out language (the rest: a train
#: language with a held-out speaker).
HELD_OUT_LANGUAGE_SHARE = 0.5
#: Clean speech clips that babble noise is made of.
BABBLE_CLIPS = 24
#: Independent random streams: what a split's utterances are, how each is made, babble.
_PLAN_STREAM, _UTTERANCE_STREAM, _BABBLE_STREAM = 1, 2, 3
#: Per-utterance arrays of a shard besides features, labels and offsets.
PER_UTTERANCE_FIELDS = (
    "index", "language", "voice", "speaker", "synthesizer", "settings", "augmentation", "kind",
    "held_out", "text",
)  # fmt: skip
#: Utterances made in order by one fresh process (see :class:`FreshProcesses`).
BLOCK_UTTERANCES = 16


@dataclass(frozen=True)
class UtterancePlan:
    """What one utterance says, with which voice, in which split (all drawn up front)."""

    split: str
    index: int
    seed: int
    synthesizer: str
    language: str
    voice: str
    speaker: str
    held_out: str  # "language", "speaker" or "" (train)
    kind: str  # "sentence" or "nonsense"
    text: str


@dataclass(frozen=True)
class Utterance:
    """One finished utterance: features, labels and what it is."""

    plan: UtterancePlan
    features: np.ndarray  # (T, MEL_BANDS) float16, raw log-mel
    labels: np.ndarray  # (T,) int8 viseme indices
    settings: str
    augmentation: str
    channel_lags: tuple[tuple[str, int], ...]


@dataclass
class SplitStats:
    """Running counts of one split, for the manifest."""

    utterances: int = 0
    frames: int = 0
    shards: list[str] = field(default_factory=list)
    label_counts: np.ndarray = field(default_factory=lambda: np.zeros(len(VISEMES), np.int64))
    language_frames: collections.Counter[str] = field(default_factory=collections.Counter)
    voice_frames: collections.Counter[str] = field(default_factory=collections.Counter)
    speaker_counts: collections.Counter[str] = field(default_factory=collections.Counter)
    synthesizer_counts: collections.Counter[str] = field(default_factory=collections.Counter)
    kind_counts: collections.Counter[str] = field(default_factory=collections.Counter)
    held_out_counts: collections.Counter[str] = field(default_factory=collections.Counter)
    effect_counts: collections.Counter[str] = field(default_factory=collections.Counter)
    channel_lag_counts: collections.Counter[str] = field(default_factory=collections.Counter)

    def add(self, utterance: Utterance) -> None:
        plan, n = utterance.plan, len(utterance.labels)
        self.utterances += 1
        self.frames += n
        self.label_counts += np.bincount(utterance.labels, minlength=len(VISEMES))
        self.language_frames[plan.language] += n
        self.voice_frames[plan.voice.split("+")[0]] += n
        self.speaker_counts[f"{plan.synthesizer}:{plan.speaker or '(plain)'}"] += 1
        self.synthesizer_counts[plan.synthesizer] += 1
        self.kind_counts[plan.kind] += 1
        self.held_out_counts[plan.held_out or "none"] += 1
        for step in utterance.augmentation.split(augment.STEP_SEPARATOR):
            self.effect_counts[step.split("(")[0]] += 1
        for channel, lag in utterance.channel_lags:
            self.channel_lag_counts[f"{channel} {1000 * lag / augment.SAMPLE_RATE:+.1f} ms"] += 1

    def summary(self) -> dict[str, object]:
        minutes = lambda frames: round(frames * FEATURE_HOP_S / 60, 2)  # noqa: E731
        total = max(int(self.label_counts.sum()), 1)
        return {
            "utterances": self.utterances,
            "frames": self.frames,
            "minutes": minutes(self.frames),
            "shards": self.shards,
            "label_share": {
                v: round(int(c) / total, 4) for v, c in zip(VISEMES, self.label_counts, strict=True)
            },
            "label_counts": {v: int(c) for v, c in zip(VISEMES, self.label_counts, strict=True)},
            "language_minutes": {k: minutes(v) for k, v in sorted(self.language_frames.items())},
            "espeak_voice_minutes": {k: minutes(v) for k, v in sorted(self.voice_frames.items())},
            "speaker_utterances": dict(sorted(self.speaker_counts.items())),
            "synthesizer_utterances": dict(self.synthesizer_counts),
            "kind_utterances": dict(self.kind_counts),
            "held_out_utterances": dict(self.held_out_counts),
            "effect_utterances": dict(sorted(self.effect_counts.items())),
            "channel_residual_lag_utterances": dict(sorted(self.channel_lag_counts.items())),
        }


def language_weight(language: str) -> float:
    """How often ``language`` is drawn, relative to the others of its split."""
    if language == "en":
        return ENGLISH_WEIGHT
    return 1.0 if texts.has_words(language) else NONSENSE_ONLY_WEIGHT


def plan_utterances(
    split: str, seed: int, synthesizers: Sequence[str], stream: int = _PLAN_STREAM
) -> Iterator[UtterancePlan]:
    """The endless, seeded sequence of utterances of ``split``.

    Each draws a synthesizer, a route (train: train language and speaker; valid/test: a
    held-out language, or a train language with a held-out speaker), a language, a voice and
    speaker, and a text whose hash puts it in ``split`` (see :mod:`training.splits`).
    """
    rng = np.random.default_rng([seed, splits.SPLITS.index(split), stream])
    # routes[synth]["language" | "speaker" | ""] -> {language: [(voice, speaker), ...]}
    routes: dict[str, dict[str, dict[str, list[tuple[str, str]]]]] = {}
    for name in synthesizers:
        synth = get_synthesizer(name)
        for language in texts.LANGUAGES:
            for voice, speaker in synth.voices(language):
                if splits.voice_split(language, name, speaker) != split:
                    continue
                route = "" if split == splits.TRAIN else "speaker"
                if splits.language_split(language) == split != splits.TRAIN:
                    route = "language"
                by_route = routes.setdefault(name, {}).setdefault(route, {})
                by_route.setdefault(language, []).append((voice, speaker))
    names = sorted(routes)
    if not names:
        raise GiocondaError(f"no synthesizer can speak any language of the {split} split")
    synth_weights = np.array([SYNTHESIZERS[n][1] for n in names])
    index = 0
    while True:
        name = names[int(rng.choice(len(names), p=synth_weights / synth_weights.sum()))]
        by_route = routes[name]
        route_names = sorted(by_route)
        if len(route_names) == 2:
            route = "language" if rng.random() < HELD_OUT_LANGUAGE_SHARE else "speaker"
        else:
            route = route_names[0]
        languages = sorted(by_route[route])
        weights = np.array([language_weight(lang) for lang in languages])
        language = languages[int(rng.choice(len(languages), p=weights / weights.sum()))]
        pairs = by_route[route][language]
        synth = get_synthesizer(name)
        pair_weights = np.array([synth.speaker_weight(s) for _, s in pairs])
        voice, speaker = pairs[int(rng.choice(len(pairs), p=pair_weights / pair_weights.sum()))]
        for _ in range(10_000):
            text, kind = texts.utterance_text(language, rng)
            if splits.text_split(text) == split:
                break
        else:
            raise GiocondaError(f"cannot draw a {split} text in {language}")
        yield UtterancePlan(split, index, seed, name, language, voice, speaker, route, kind, text)
        index += 1


def hop_labels(
    phones: Sequence[PhoneSegment], n_hops: int, speed: float, lead_s: float
) -> np.ndarray:
    """Viseme index of the phone covering each hop's centre, (n_hops,) int8.

    Hop ``i`` is centred at ``i * 10 ms`` of the final audio, which is the synthesized audio
    played ``speed`` times faster and delayed by ``lead_s``: it shows source time
    ``(i * 10 ms - lead_s) * speed``. Outside the phones (the padding) it is silence.
    """
    starts = np.array([p.start_s for p in phones])
    end = phones[-1].end_s
    ids = np.array([VISEME_INDEX[p.viseme] for p in phones], np.int8)
    source_t = (np.arange(n_hops) * FEATURE_HOP_S - lead_s) * speed
    which = np.clip(np.searchsorted(starts, source_t, side="right") - 1, 0, len(phones) - 1)
    inside = (source_t >= 0.0) & (source_t < end)
    return np.where(inside, ids[which], np.int8(VISEME_INDEX["sil"])).astype(np.int8)


# The babble noise clips of this process (set once per process, before any utterance).
_babble: tuple[np.ndarray, ...] = ()


def _set_babble(clips: tuple[np.ndarray, ...]) -> None:
    global _babble
    _babble = clips


def babble_plans(seed: int, synthesizers: Sequence[str]) -> list[UtterancePlan]:
    """What the babble talkers say: train voices and languages, their own random stream."""
    plans = plan_utterances(splits.TRAIN, seed, synthesizers, stream=_BABBLE_STREAM)
    return list(itertools.islice(plans, BABBLE_CLIPS))


def make_babble(plans: Sequence[UtterancePlan]) -> tuple[np.ndarray, ...]:
    """Clean 16 kHz speech of ``plans``, silence trimmed, to mix into babble noise."""
    clips = []
    for plan in plans:
        rng = np.random.default_rng([plan.seed, _BABBLE_STREAM, plan.index])
        speech, _ = get_synthesizer(plan.synthesizer).speak(plan.text, plan.voice, rng)
        samples = augment.change_speed(speech.audio, 1.0)[0].samples
        loud = np.flatnonzero(np.abs(samples) > 0.01 * np.max(np.abs(samples)))
        clips.append(samples[loud[0] : loud[-1] + 1].astype(np.float32))
    return tuple(clips)


def make_utterance(plan: UtterancePlan) -> Utterance:
    """Synthesize, speed-change, pad, augment and featurize one planned utterance."""
    rng = np.random.default_rng(
        [plan.seed, splits.SPLITS.index(plan.split), _UTTERANCE_STREAM, plan.index]
    )
    speech, settings = get_synthesizer(plan.synthesizer).speak(plan.text, plan.voice, rng)
    clean = rng.random() < augment.CLEAN_SHARE
    speed = 1.0
    if not clean and rng.random() < augment.SPEED_SHARE:
        speed = float(rng.uniform(*augment.SPEED_RANGE))
    audio, speed = augment.change_speed(speech.audio, speed)
    lead, trail = (int(rng.uniform(*PAD_RANGE_S) * audio.sample_rate) for _ in range(2))
    samples = np.pad(audio.samples, (lead, trail))
    steps = [f"speed({speed:.3f})"] if speed != 1.0 else []
    lags: tuple[tuple[str, int], ...] = ()
    if clean:
        steps.append("clean")
    else:
        augmented = augment.augment(samples, rng, _babble)
        samples, lags = augmented.samples, augmented.channel_lags
        steps.append(augmented.description)
    features = log_mel(Audio(samples, audio.sample_rate))
    labels = hop_labels(speech.phones, len(features), speed, lead / audio.sample_rate)
    return Utterance(
        plan,
        features.astype(np.float16),
        labels,
        settings,
        augment.STEP_SEPARATOR.join(steps),
        lags,
    )


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` with fixed zip timestamps, so equal data give equal bytes."""
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.ascontiguousarray(array), allow_pickle=False)
    os.replace(partial, path)


def write_shard(path: Path, utterances: Sequence[Utterance]) -> None:
    """One shard: concatenated frames, utterance offsets and per-utterance metadata."""
    lengths = [len(u.labels) for u in utterances]
    arrays = {
        "features": np.concatenate([u.features for u in utterances]),
        "labels": np.concatenate([u.labels for u in utterances]),
        "offsets": np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        "index": np.array([u.plan.index for u in utterances], np.int64),
    }
    for name in PER_UTTERANCE_FIELDS[1:]:
        # Plain unicode arrays: they load without allow_pickle.
        owners = [u.plan if hasattr(u.plan, name) else u for u in utterances]
        arrays[name] = np.array([getattr(owner, name) for owner in owners], dtype=str)
    write_npz(path, arrays)


def make_block(plans: Sequence[UtterancePlan], babble: tuple[np.ndarray, ...]) -> list[Utterance]:
    """Make consecutive utterances in order (in a fresh process: see :class:`FreshProcesses`)."""
    _set_babble(babble)
    return [make_utterance(plan) for plan in plans]


def _run_task(connection: Connection, function: Callable[..., object], args: tuple) -> None:
    """Body of a fresh process: run one task, send its result (or its error) back."""
    try:
        result: object = function(*args)
    except BaseException as error:  # handed to the parent, which raises it
        result = error
    connection.send(result)
    connection.close()


class FreshProcesses:
    """Runs each task in a new process, a few at a time, and hands results back in order.

    eSpeak keeps state between utterances and only starts from a known one in a process that
    has never synthesized. Processes forked from a forkserver that has imported everything
    but never loaded eSpeak start in a few milliseconds, and the results do not depend on
    how many run at once, nor on what the parent process has synthesized.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload([__name__])

    def run(self, function: Callable[..., object], args: tuple) -> object:
        """One task, waited for."""
        return next(self.map(function, iter([args])))

    def map(self, function: Callable[..., object], tasks: Iterator[tuple]) -> Iterator[object]:
        """``function(*args)`` for each of ``tasks`` (which may be endless), in order."""
        running: dict[int, tuple[multiprocessing.process.BaseProcess, Connection]] = {}
        finished: dict[int, object] = {}
        submitted = yielded = 0
        try:
            while True:
                while len(running) + len(finished) < self.workers:
                    args = next(tasks, None)
                    if args is None:
                        break
                    receiver, sender = self.context.Pipe(duplex=False)
                    process = self.context.Process(
                        target=_run_task, args=(sender, function, args), daemon=True
                    )
                    process.start()
                    sender.close()
                    running[submitted] = (process, receiver)
                    submitted += 1
                if not running and not finished:
                    return
                if yielded not in finished:
                    ready = connection_wait([r for _, r in running.values()])
                    for index, (process, receiver) in list(running.items()):
                        if receiver in ready:
                            finished[index] = self._receive(process, receiver)
                            del running[index]
                    continue
                result = finished.pop(yielded)
                yielded += 1
                if isinstance(result, BaseException):
                    raise result
                yield result
        finally:
            for process, receiver in running.values():
                process.kill()
                process.join()
                receiver.close()

    @staticmethod
    def _receive(process: multiprocessing.process.BaseProcess, receiver: Connection) -> object:
        try:
            result = receiver.recv()
        except EOFError:
            result = RuntimeError(f"worker process died (exit code {process.exitcode})")
        finally:
            receiver.close()
        process.join()
        return result


class Progress:
    """One line on stderr every few seconds: audio done, speed, time left."""

    def __init__(self, total_minutes: float) -> None:
        self.total_minutes = total_minutes
        self.start = time.monotonic()
        self.last = 0.0
        self.done_minutes = 0.0

    def update(
        self, split: str, split_minutes: float, split_target: float, force: bool = False
    ) -> None:
        now = time.monotonic()
        if not force and now - self.last < 5.0:
            return
        self.last = now
        elapsed = now - self.start
        done = self.done_minutes + split_minutes
        rate = done * 60 / max(elapsed, 1e-9)  # seconds of audio per second
        left = max(self.total_minutes - done, 0.0) * 60 / max(rate, 1e-9)
        print(
            f"{split}: {split_minutes:.1f}/{split_target:.1f} min | all: {done:.1f}/"
            f"{self.total_minutes:.1f} min, {rate:.1f}x real time, "
            f"{elapsed / 60:.1f} min elapsed, ~{left / 60:.1f} min left",
            file=sys.stderr,
            flush=True,
        )


def make_split(
    split: str,
    minutes: float,
    args: argparse.Namespace,
    processes: FreshProcesses,
    babble: tuple[np.ndarray, ...],
    progress: Progress,
) -> SplitStats:
    """Make utterances of ``split`` in order until they hold ``minutes`` of audio."""
    stats = SplitStats()
    target_frames = int(minutes * 60 / FEATURE_HOP_S)
    shard_frames = int(args.shard_minutes * 60 / FEATURE_HOP_S)
    plans = plan_utterances(split, args.seed, args.synthesizers)
    tasks = ((list(itertools.islice(plans, BLOCK_UTTERANCES)), babble) for _ in itertools.count())
    buffer: list[Utterance] = []

    def flush() -> None:
        if buffer:
            name = f"{split}-{len(stats.shards):03d}.npz"
            write_shard(args.out / name, buffer)
            stats.shards.append(name)
            buffer.clear()

    blocks = processes.map(make_block, tasks)
    try:
        for block in blocks:
            for utterance in block:  # type: ignore[attr-defined]
                stats.add(utterance)
                buffer.append(utterance)
                if sum(len(u.labels) for u in buffer) >= shard_frames:
                    flush()
                if stats.frames >= target_frames:
                    break
            progress.update(split, stats.frames * FEATURE_HOP_S / 60, minutes)
            if stats.frames >= target_frames:
                break
    finally:
        blocks.close()  # type: ignore[attr-defined]
    flush()
    progress.update(split, stats.frames * FEATURE_HOP_S / 60, minutes, force=True)
    progress.done_minutes += stats.frames * FEATURE_HOP_S / 60
    return stats


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("training/data"), help="output folder")
    parser.add_argument("--minutes", type=float, default=90.0, help="audio to make, all splits")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--shard-minutes", type=float, default=SHARD_MINUTES)
    parser.add_argument(
        "--synthesizers",
        default="espeak",
        help="comma-separated, of: " + ", ".join(SYNTHESIZERS) + " (kokoro is slow: opt in)",
    )
    args = parser.parse_args(argv)
    args.synthesizers = [s for s in args.synthesizers.split(",") if s]
    unknown = [s for s in args.synthesizers if s not in SYNTHESIZERS]
    if unknown or not args.synthesizers:
        parser.error(f"unknown synthesizer(s) {unknown}; known: {sorted(SYNTHESIZERS)}")
    if args.minutes <= 0 or args.workers < 1:
        parser.error("--minutes must be positive and --workers at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    # Shards left from an earlier, larger run would pass for this one's; its manifest too.
    for old in [*args.out.glob("*.npz"), args.out / "manifest.json"]:
        old.unlink(missing_ok=True)
    start = time.monotonic()
    processes = FreshProcesses(args.workers)
    babble_plan = babble_plans(args.seed, args.synthesizers)
    babble: tuple[np.ndarray, ...] = processes.run(make_babble, (babble_plan,))  # type: ignore[assignment]
    shares = {
        splits.TRAIN: 1.0 - VALID_SHARE - TEST_SHARE,
        splits.VALID: VALID_SHARE,
        splits.TEST: TEST_SHARE,
    }
    progress = Progress(args.minutes)
    stats = {
        split: make_split(split, args.minutes * share, args, processes, babble, progress)
        for split, share in shares.items()
    }
    elapsed = time.monotonic() - start
    total_minutes = sum(s.frames for s in stats.values()) * FEATURE_HOP_S / 60
    manifest = {
        "format": {
            "features": f"(N, {MEL_BANDS}) float16: raw gioconda.audio.log_mel, hop i "
            f"centred at i * {FEATURE_HOP_S} s; apply gioconda.audio.normalize_features "
            "per utterance",
            "labels": "(N,) int8: index into visemes of the phone covering the hop's centre",
            "offsets": "(U + 1,) int64: utterance u is rows offsets[u]:offsets[u + 1]",
            "per_utterance": list(PER_UTTERANCE_FIELDS),
            "visemes": list(VISEMES),
        },
        "command": {
            "minutes": args.minutes,
            "seed": args.seed,
            "synthesizers": args.synthesizers,
            "shard_minutes": args.shard_minutes,
        },
        "split_shares": shares,
        "split_definition": splits.describe(),
        "languages": {
            code: {**asdict(lang), "split": splits.language_split(code)}
            for code, lang in texts.LANGUAGES.items()
        },
        "text": {
            "words_per_sentence": [texts.MIN_WORDS, texts.MAX_WORDS],
            "nonsense_share": texts.NONSENSE_SHARE,
        },
        "augmentation": {
            "clean_share": augment.CLEAN_SHARE,
            "speed_range": list(augment.SPEED_RANGE),
            "snr_db_range": list(augment.SNR_DB_RANGE),
            "rt60_range_s": list(augment.RT60_RANGE_S),
            "pad_range_s": list(PAD_RANGE_S),
        },
        "splits": {split: s.summary() for split, s in stats.items()},
        "generation": {
            "wall_seconds": round(elapsed, 1),
            "workers": args.workers,
            "audio_minutes": round(total_minutes, 2),
            "real_time_factor": round(total_minutes * 60 / elapsed, 1),
        },
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
    print(
        f"done: {total_minutes:.1f} min of audio in {elapsed / 60:.1f} min "
        f"({total_minutes * 60 / elapsed:.1f}x real time) -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    # Run the module's own copy, so that worker processes find the same functions by name.
    from training.make_data import main as module_main

    sys.exit(module_main())
