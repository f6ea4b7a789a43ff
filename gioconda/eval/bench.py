"""Speed benchmarks: ``gioconda bench``.

Numbers, not pass/fail: frames per second of the renderer alone and of the whole
``animate`` (audio decoding, phone recognition, motion, rendering and H.264 encoding), and the
real-time factor (seconds of video made per second of work).
"""

from __future__ import annotations

import os
import tempfile
import time
import wave
from importlib import resources
from typing import TextIO

import numpy as np

from gioconda.face.photo import load_photo
from gioconda.face.portrait import analyze_portrait
from gioconda.motion.controls import MotionControls
from gioconda.motion.generate import generate_motion
from gioconda.pipeline import AnimateOptions, animate
from gioconda.provenance.watermark import Watermarker
from gioconda.render.renderer import Renderer
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


def _speech(seconds: float) -> tuple[Audio, tuple]:
    text = ""
    while True:
        text += BENCH_SENTENCES[len(text) % len(BENCH_SENTENCES)]
        spoken = synthesize(text)
        if spoken.audio.duration_s >= seconds:
            return spoken.audio, spoken.phones


def _write_wav(audio: Audio, path: str) -> None:
    pcm = np.clip(audio.samples * 32767, -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.sample_rate)
        out.writeframes(pcm.tobytes())


def run_benchmarks(seconds: float = 10.0, size: int = 512, out: TextIO | None = None) -> dict:
    """Run the benchmarks on the bundled portrait and print a table to ``out``."""
    photo_res = resources.files("gioconda") / "assets" / "mona_lisa.jpg"
    results: dict[str, float] = {}

    def say(line: str) -> None:
        if out is not None:
            print(line, file=out, flush=True)

    say(f"gioconda bench: {seconds:g} s of speech, {size}x{size}, 25 fps, {os.cpu_count()} cores")
    with resources.as_file(photo_res) as photo_path:
        photo = load_photo(photo_path)
        start = time.perf_counter()
        portrait = analyze_portrait(photo, size)
        results["face_analysis_s"] = time.perf_counter() - start

        audio, phones = _speech(seconds)
        features = analyze_audio(resample(audio, ANALYSIS_SAMPLE_RATE))
        n = frame_count(audio.duration_s, 25.0)
        start = time.perf_counter()
        motion = generate_motion(features, phones, n, 25.0, MotionControls())
        results["motion_fps"] = n / (time.perf_counter() - start)

        for name, recognizer_class in RECOGNIZERS.items():
            start = time.perf_counter()
            recognizer = recognizer_class()
            results[f"{name}_setup_s"] = time.perf_counter() - start
            start = time.perf_counter()
            recognizer.recognize(audio)
            results[f"{name}_realtime_factor"] = audio.duration_s / (time.perf_counter() - start)

        start = time.perf_counter()
        renderer = Renderer(portrait)
        results["renderer_setup_s"] = time.perf_counter() - start
        mark = Watermarker(size, size)
        render_s = mark_s = 0.0
        for i in range(n):
            start = time.perf_counter()
            frame = renderer.render(motion.frame(i))
            middle = time.perf_counter()
            mark(frame)
            render_s, mark_s = render_s + middle - start, mark_s + time.perf_counter() - middle
        results["render_fps"] = n / render_s
        results["watermark_ms"] = mark_s / n * 1000
        results["watermark_share"] = mark_s / render_s

        with tempfile.TemporaryDirectory() as tmp:
            wav = os.path.join(tmp, "speech.wav")
            _write_wav(audio, wav)
            start = time.perf_counter()
            animate(photo_path, os.path.join(tmp, "out.mp4"), audio_path=wav,
                    options=AnimateOptions(size=size))  # fmt: skip
            elapsed = time.perf_counter() - start
    results["animate_fps"] = n / elapsed
    results["animate_realtime_factor"] = audio.duration_s / elapsed

    say(f"{'face analysis (once per photo)':40s} {results['face_analysis_s'] * 1000:8.0f} ms")
    say(f"{'renderer set-up (once per photo)':40s} {results['renderer_setup_s'] * 1000:8.0f} ms")
    for name in RECOGNIZERS:
        label = f"phones: {name} (set-up {results[f'{name}_setup_s']:.2f} s)"
        say(f"{label:40s} {results[f'{name}_realtime_factor']:8.1f} x real time")
    say(f"{'motion generation':40s} {results['motion_fps']:8.0f} frames/s")
    say(f"{'render alone':40s} {results['render_fps']:8.1f} frames/s")
    label = f"watermark ({results['watermark_share']:.1%} of render)"
    say(f"{label:40s} {results['watermark_ms']:8.1f} ms/frame")
    say(f"{'whole animate (audio file to MP4)':40s} {results['animate_fps']:8.1f} frames/s")
    say(
        f"{'real-time factor (video s per wall s)':40s} {results['animate_realtime_factor']:8.2f} x"
    )
    return results
