"""Speed benchmarks: ``gioconda bench``.

Numbers, not pass/fail, each printed beside its target (issue 16) with the median of several
runs (and their range): face analysis fresh and cached, the renderer alone on one thread and
on every core, full-frame rendering of a 1920x1080 and a 3840x2160 photo, H.264 encoding, the
whole ``gioconda animate`` of a recording as a new process (start, decoding, recognition,
motion, rendering, encoding and muxing), and its peak memory on a short and a long recording.
On a machine shared with other work the figures are lower than idle ones: the load average at
the start is printed for that reason.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from functools import partial
from importlib import resources
from typing import TextIO, TypeVar

import cv2
import numpy as np

from gioconda.face.cache import cached_analysis
from gioconda.face.photo import load_photo
from gioconda.face.portrait import analyze_portrait
from gioconda.motion.controls import MotionControls
from gioconda.motion.generate import generate_motion
from gioconda.output.video import DEFAULT_CRF, DEFAULT_PRESET, Mp4Writer
from gioconda.progress import Progress, no_progress
from gioconda.provenance.watermark import Watermarker
from gioconda.render.paste import FullFramePaste
from gioconda.render.renderer import Renderer
from gioconda.render.stream import available_cores, ordered_frames
from gioconda.speech.audio import Audio, analyze_audio, resample
from gioconda.speech.espeak import synthesize
from gioconda.speech.recognize import RECOGNIZERS
from gioconda.timeline import ANALYSIS_SAMPLE_RATE, frame_count

BENCH_SENTENCES = (
    "The quick brown fox jumps over the lazy dog. ",
    "Peter Piper picked a peck of pickled peppers. ",
    "She sells sea shells by the sea shore, and the shells she sells are surely seashells. ",
    "How much wood would a woodchuck chuck if a woodchuck could chuck wood? ",
)

#: The targets of issue 16 on a 2-core machine.
TARGET_ANIMATE_REALTIME = 4.0
TARGET_RENDER_FPS = 200.0
TARGET_FULL_FRAME_FPS = 50.0
TARGET_MEMORY_GROWTH = 0.20

#: Run in a new process: ``gioconda`` with the given arguments, then its peak resident memory
#: (kB) written to the file named by the first argument. The peak is the process's own
#: memory's high-water mark (VmHWM): getrusage's ru_maxrss is inherited from the parent at
#: fork on Linux, so under this benchmark it read the benchmark's own 1.7 GB for any clip.
_CHILD = """
import resource, sys
from gioconda.cli.app import finish, main
report, sys.argv = sys.argv[1], ["gioconda"] + sys.argv[2:]
try:
    code = main()
finally:
    try:
        with open("/proc/self/status") as status:
            peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):  # not Linux
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(report, "w") as out:
        out.write(str(peak))
finish(code)  # as the gioconda command ends
"""


def _speech(seconds: float) -> tuple[Audio, tuple]:
    text = ""
    while True:
        text += BENCH_SENTENCES[len(text) % len(BENCH_SENTENCES)]
        spoken = synthesize(text)
        if spoken.audio.duration_s >= seconds:
            return spoken.audio, spoken.phones


def _write_wav(audio: Audio, path: str, repeat: int = 1) -> None:
    pcm = np.clip(audio.samples * 32767, -32768, 32767).astype("<i2").tobytes()
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.sample_rate)
        for _ in range(repeat):
            out.writeframes(pcm)


def _median(
    measure: Callable[[], float],
    runs: int,
    stage: str = "",
    progress: Progress = no_progress,
) -> tuple[float, float, float]:
    """Median, lowest and highest of ``runs`` measurements; ``progress`` hears ``stage``
    start (at 0) and each run end."""
    progress(stage, 0, runs)
    values = []
    for run in range(runs):
        values.append(measure())
        progress(stage, run + 1, runs)
    return statistics.median(values), min(values), max(values)


_T = TypeVar("_T")


def _once(work: Callable[[], _T], stage: str, progress: Progress) -> _T:
    """``work()``, its start and end told to ``progress`` as ``stage``."""
    progress(stage, 0, 1)
    result = work()
    progress(stage, 1, 1)
    return result


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _one_thread_fps(renderer: Renderer, motion, paste: FullFramePaste | None = None) -> float:
    """Frames per second of the renderer (and the paste) on one thread, OpenCV's own pool
    off."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        start = time.perf_counter()
        for i in range(len(motion)):
            frame = renderer.render(motion.frame(i))
            if paste is not None:
                paste(frame)
        return len(motion) / (time.perf_counter() - start)
    finally:
        cv2.setNumThreads(threads)


def _wide_photo(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """The photo scaled to ``height`` and widened to ``width`` by mirroring its sides."""
    scale = height / photo.shape[0]
    scaled = cv2.resize(photo, (round(photo.shape[1] * scale), height),
                        interpolation=cv2.INTER_CUBIC)  # fmt: skip
    extra = max(0, width - scaled.shape[1])
    wide = cv2.copyMakeBorder(scaled, 0, 0, extra // 2, extra - extra // 2, cv2.BORDER_REFLECT_101)
    return np.ascontiguousarray(wide[:, :width])


def _animate_process(
    photo: str, wav: str, out: str, size: int, tmp: str, whole_job: bool = False
) -> tuple[float, float, float]:
    """Wall seconds of ``gioconda animate`` as a new process, its own peak RSS in MB, and
    with ``whole_job`` the peak of the memory of it and its children (the forked render and
    alignment processes) together (:func:`_job_kb`), in MB (else 0), sampled every
    :data:`_JOB_SAMPLE_S`: a spike shorter than that may be missed, which the process's own
    high-water mark (VmHWM) is not."""
    report = os.path.join(tmp, "rss.txt")
    command = [sys.executable, "-c", _CHILD, report, "animate", photo, wav, "-o", out,
               "--size", str(size), "-q", "--max-audio-seconds", "7200"]  # fmt: skip
    start = time.perf_counter()
    job_peak_kb = 0
    with subprocess.Popen(command, stdout=subprocess.DEVNULL) as process:
        while whole_job and process.poll() is None:
            job_peak_kb = max(job_peak_kb, _job_kb(process.pid))
            time.sleep(_JOB_SAMPLE_S)
    if process.wait() != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    elapsed = time.perf_counter() - start
    with open(report) as f:
        return elapsed, int(f.read()) / 1024, job_peak_kb / 1024


#: How often the whole job's memory is sampled (s).
_JOB_SAMPLE_S = 0.05


def _job_kb(pid: int) -> int:
    """The memory (kB) of process ``pid`` and its descendants now: its resident set and what
    each descendant has of its own (private pages; the pages it shares with ``pid``, forked
    copy-on-write, are counted once, in ``pid``'s). Linux; 0 elsewhere."""
    total = 0
    pending: list[tuple[int, tuple[str, ...]]] = [(pid, ("Rss:",))]
    while pending:
        current, fields = pending.pop()
        try:
            with open(f"/proc/{current}/smaps_rollup") as rollup:
                total += sum(int(line.split()[1]) for line in rollup if line.startswith(fields))
            with open(f"/proc/{current}/task/{current}/children") as children:
                pending += [
                    (int(child), ("Private_Clean:", "Private_Dirty:"))
                    for child in children.read().split()
                ]
        except (OSError, ValueError):
            continue  # gone meanwhile, or not Linux
    return total


def _whisper_speed(audio: Audio) -> dict[str, float]:
    """Whisper's words plus their alignment, warm (models loaded by a first call): the
    English path (tiny.en, no language detection) and the path that detects the language."""
    from gioconda.speech.transcript import WhisperRecognizer
    from gioconda.speech.whisper import MODELS, WhisperListener

    results = {}
    start = time.perf_counter()
    listener = WhisperListener()
    listener.preload(MODELS)
    listener.wait_for_preload()
    results["whisper_load_s"] = time.perf_counter() - start
    start = time.perf_counter()
    english = WhisperRecognizer(language="en", listener=listener)
    english.recognize(audio)
    detecting = WhisperRecognizer(listener=english.listener)
    detecting.recognize(audio)
    results["whisper_setup_s"] = time.perf_counter() - start
    for name, recognizer in (("en", english), ("detect", detecting)):
        start = time.perf_counter()
        recognizer.recognize(audio)
        results[f"whisper_{name}_realtime_factor"] = audio.duration_s / (
            time.perf_counter() - start
        )
    return results


def run_benchmarks(
    seconds: float = 60.0,
    size: int = 512,
    runs: int = 3,
    long_minutes: float = 10.0,
    out: TextIO | None = None,
    progress: Progress = no_progress,
) -> dict[str, float]:
    """Run the benchmarks on the bundled portrait and print a table to ``out``.

    Parameters
    ----------
    seconds: length of the recording for the whole ``animate`` (and of the motion rendered)
    size: side of the square video
    runs: measurements per figure (the median is printed, with the range)
    long_minutes: length of the long recording whose peak memory is compared with a 10 s
        one (0 leaves the memory figures out; they take the longest)
    progress: told what each row measures as it starts ("bench face analysis", 0 of
        ``runs``) and as each of its runs ends
    """
    results: dict[str, float] = {}

    def measured(
        stage: str, measure: Callable[[], float], times: int = runs
    ) -> tuple[float, float, float]:
        return _median(measure, times, f"bench {stage}", progress)

    def once(stage: str, work: Callable[[], _T]) -> _T:
        return _once(work, f"bench {stage}", progress)

    def say(line: str) -> None:
        if out is not None:
            print(line, file=out, flush=True)

    def row(name: str, value: str, target: str = "", spread: str = "") -> None:
        say(f"{name:44s} {value:>14s}  {target:18s} {spread}")

    cores = available_cores()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    say(f"gioconda bench: {cores} cores, load average {load:.1f} at the start; {size}x{size}, "
        f"25 fps, {seconds:g} s of speech; median of {runs} runs [lowest - highest]")  # fmt: skip
    row("", "measured", "target")
    photo_res = resources.files("gioconda") / "assets" / "mona_lisa.jpg"
    with resources.as_file(photo_res) as photo_path, tempfile.TemporaryDirectory() as tmp:
        photo = load_photo(photo_path)
        med, lo, hi = measured(
            "face analysis", lambda: _timed(lambda: analyze_portrait(photo, size))
        )
        results["face_analysis_s"] = med
        row(
            "face analysis (once per photo)",
            f"{med * 1000:.0f} ms",
            "",
            f"[{lo * 1000:.0f}-{hi * 1000:.0f}]",
        )
        # The cache in a folder of its own: the first call fills it, the next ones read it.
        saved = os.environ.get("GIOCONDA_CACHE")
        os.environ["GIOCONDA_CACHE"] = os.path.join(tmp, "cache")
        try:
            cached_analysis(photo, size)
            med, lo, hi = measured(
                "face analysis, cached", lambda: _timed(lambda: cached_analysis(photo, size))
            )
        finally:
            if saved is None:
                del os.environ["GIOCONDA_CACHE"]
            else:
                os.environ["GIOCONDA_CACHE"] = saved
        results["face_analysis_cached_s"] = med
        row("face analysis, cached (the same photo again)", f"{med * 1000:.1f} ms", "skips it",
            f"[{lo * 1000:.1f}-{hi * 1000:.1f}]")  # fmt: skip
        portrait = analyze_portrait(photo, size)

        audio, phones = once(f"making {seconds:g} s of eSpeak speech", partial(_speech, seconds))
        features = analyze_audio(resample(audio, ANALYSIS_SAMPLE_RATE))
        n = frame_count(audio.duration_s, 25.0)
        motion = generate_motion(features, phones, n, 25.0, MotionControls())
        med, lo, hi = measured(
            "motion generation",
            lambda: (
                n / _timed(lambda: generate_motion(features, phones, n, 25.0, MotionControls()))
            ),
        )
        row("motion generation", f"{med:.0f} frames/s")
        for name, recognizer_class in RECOGNIZERS.items():
            if name == "whisper":
                continue  # below: its models load on first use, so it is timed warm
            recognizer = recognizer_class()
            work = partial(_timed, partial(recognizer.recognize, audio))
            factor = audio.duration_s / once(f"phones: {name}", work)
            results[f"{name}_realtime_factor"] = factor
            row(f"phones: {name}", f"{factor:.1f} x real time", "(one run)")

        whisper = once(
            "phones: whisper + alignment (loading, English, detecting)",
            partial(_whisper_speed, audio),
        )
        results.update(whisper)
        for label, key, target in (
            ("phones: whisper + alignment, English", "whisper_en_realtime_factor", ">= 8 x"),
            ("phones: whisper + alignment, detecting", "whisper_detect_realtime_factor", ""),
        ):
            row(label, f"{whisper[key]:.1f} x real time", target, "(warm, one run)")
        row("  whisper's models load (tiny.en, base)", f"{whisper['whisper_load_s']:.2f} s")
        row("  whisper's first calls (both readings)", f"{whisper['whisper_setup_s']:.2f} s")
        med, lo, hi = measured("renderer set-up", lambda: _timed(lambda: Renderer(portrait)))
        row(
            "renderer set-up (once per photo)",
            f"{med * 1000:.0f} ms",
            "",
            f"[{lo * 1000:.0f}-{hi * 1000:.0f}]",
        )
        renderer = Renderer(portrait)
        med, lo, hi = measured(
            f"render alone, {size}, one thread", lambda: _one_thread_fps(renderer, motion)
        )
        results["render_fps"] = med
        row(f"render alone, {size}, one thread", f"{med:.1f} frames/s",
            f">= {TARGET_RENDER_FPS:.0f}", f"[{lo:.1f}-{hi:.1f}]")  # fmt: skip
        mark = Watermarker(size, size)
        mark(renderer.render(motion.frame(0)))  # the first call builds tables, loads its loops
        marked = min(n, 100)

        def marking() -> float:
            # As the pipeline marks: each frame by the thread that rendered it, right after
            # rendering it (render_frames). The render pushes the mark's tables out of the
            # caches and leaves the frame in them, so this is what the mark costs a video; a
            # pass over frames kept in a list read 0.88 ms a frame where this reads 0.95 (float
            # tables) and 0.83 where this reads 0.80 (8-bit tables). The median of several
            # passes, as the render's. One thread, as the render it is compared with
            # (OpenCV's pool off).
            threads = cv2.getNumThreads()
            cv2.setNumThreads(1)
            spent = 0.0
            try:
                for i in range(marked):
                    frame = renderer.render(motion.frame(i))
                    spent += _timed(partial(mark, frame))
            finally:
                cv2.setNumThreads(threads)
            return spent

        mark_s, mark_lo, mark_hi = measured("watermark, one thread", marking)
        mark_ms = 1000 * mark_s / marked
        share = mark_ms / (1000 / med)
        results["watermark_ms"], results["watermark_share"] = mark_ms, share
        row("watermark, one thread", f"{mark_ms:.2f} ms/frame", "<= 10% of render",
            f"({share:.1%} of render) [{1000 * mark_lo / marked:.2f}-"
            f"{1000 * mark_hi / marked:.2f}]")  # fmt: skip

        def threaded() -> float:
            frames = ordered_frames(lambda i: renderer.render(motion.frame(i)), n)
            return n / _timed(lambda: sum(1 for _ in frames))

        med, lo, hi = measured(f"render, {cores} threads", threaded)
        results["render_fps_all_cores"] = med
        row(f"render, {cores} threads", f"{med:.1f} frames/s", "", f"[{lo:.1f}-{hi:.1f}]")

        frames = [renderer.render(motion.frame(i)) for i in range(min(n, 250))]

        def encode() -> float:
            path = os.path.join(tmp, "encode.mp4")
            with Mp4Writer(path, 25, size, size, preset=DEFAULT_PRESET, crf=DEFAULT_CRF) as video:

                def write_all() -> None:
                    for f in frames:
                        video.write(f)

                return 1000 * _timed(write_all) / len(frames)

        med, lo, hi = measured("H.264 encoding", encode)
        row(f"H.264 encoding ({DEFAULT_PRESET}, crf {DEFAULT_CRF})", f"{med:.2f} ms/frame", "",
            f"[{lo:.2f}-{hi:.2f}]")  # fmt: skip

        short = motion if n <= 100 else _first(motion, 100)
        for width, height in ((1920, 1080), (3840, 2160)):
            wide_photo = _wide_photo(photo, width, height)
            wide = once(
                f"face analysis of a {width}x{height} photo",
                partial(analyze_portrait, wide_photo, None),
            )
            wide_renderer = Renderer(wide)
            paste = FullFramePaste(wide)
            med, lo, hi = measured(
                f"--full-frame {width}x{height}, one thread",
                partial(_one_thread_fps, wide_renderer, short, paste),
            )
            results[f"full_frame_{height}p_fps"] = med
            target = f">= {TARGET_FULL_FRAME_FPS:.0f}" if height == 1080 else "(its cost)"
            row(f"--full-frame {width}x{height} (crop {wide.size}), one thread",
                f"{med:.1f} frames/s", target, f"[{lo:.1f}-{hi:.1f}]")  # fmt: skip

        wav = os.path.join(tmp, "speech.wav")
        _write_wav(audio, wav)
        video = os.path.join(tmp, "out.mp4")
        photo_file = os.fspath(photo_path)
        stage = f"bench whole animate of {audio.duration_s:.0f} s, new process"
        progress(stage, 0, runs)
        timings = []
        for run in range(runs):
            timings.append(_animate_process(photo_file, wav, video, size, tmp)[:2])
            progress(stage, run + 1, runs)
        factors = sorted(audio.duration_s / t for t, _ in timings)
        med = statistics.median(factors)
        results["animate_realtime_factor"] = med
        spread = f"[{factors[0]:.2f}-{factors[-1]:.2f}]"
        row(f"whole animate of {audio.duration_s:.0f} s, new process", f"{med:.2f} x real time",
            f">= {TARGET_ANIMATE_REALTIME:g} x", spread)  # fmt: skip

        if long_minutes > 0:
            ten = os.path.join(tmp, "ten.wav")
            _write_wav(_first_seconds(audio, 10.0), ten)
            long_wav = os.path.join(tmp, "long.wav")
            _write_wav(audio, long_wav, repeat=max(1, round(long_minutes * 60 / audio.duration_s)))
            stage = f"bench peak memory, 10 s and {long_minutes:g} min recordings"
            progress(stage, 0, 2)
            _, rss_short, job_short = _animate_process(photo_file, ten, video, size, tmp, True)
            progress(stage, 1, 2)
            _, rss_long, job_long = _animate_process(photo_file, long_wav, video, size, tmp, True)
            progress(stage, 2, 2)
            results["peak_rss_short_mb"], results["peak_rss_long_mb"] = rss_short, rss_long
            results["peak_job_short_mb"], results["peak_job_long_mb"] = job_short, job_long
            row("peak memory, 10 s recording: the process / all its processes",
                f"{rss_short:.0f} / {job_short:.0f} MB")  # fmt: skip
            growth = f"+{rss_long / rss_short - 1:.0%} / +{job_long / job_short - 1:.0%}"
            row(f"peak memory, {long_minutes:g} min recording: the process / all",
                f"{rss_long:.0f} / {job_long:.0f} MB", f"<= +{TARGET_MEMORY_GROWTH:.0%}",
                f"({growth}, one run)")  # fmt: skip
    if out is not None:
        say(json.dumps({k: round(v, 3) for k, v in results.items()}))
    return results


def _first(motion, count: int):
    """The first ``count`` frames of a motion."""
    from gioconda.motion.frames import Motion

    return Motion(
        motion.fps,
        motion.blendshapes[:count],
        motion.head_rotation_deg[:count],
        motion.head_translation[:count],
        motion.head_scale[:count],
        motion.gaze_deg[:count],
    )


def _first_seconds(audio: Audio, seconds: float) -> Audio:
    return Audio(audio.samples[: round(seconds * audio.sample_rate)], audio.sample_rate)
