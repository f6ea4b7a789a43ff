"""The page as a person uses it: real headless Chromium, a speech file as the microphone.

Debian's ``chromium`` (``apt-get install chromium``) driven by Playwright; Chromium's fake media
flags play a WAV made here with eSpeak NG as the microphone. The page streams it to the server,
draws the frames that come back, and MediaPipe re-detects the mouth on the frames the page
received: it must open while the speech plays and shut in the silences around it. File mode on
the same page: a photo and a recording uploaded, the progress bar, a video that plays, an MP4
downloaded that PyAV decodes. The "Check a video" form answers a marked and an unmarked upload.
"""

from __future__ import annotations

import base64
import shutil
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest

from gioconda.speech.audio import resample
from gioconda.speech.synthesis import speak

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which(CHROMIUM) is None,
        reason="Debian's chromium is not installed (apt-get install -y chromium)",
    ),
]
RATE = 48_000
LEAD_S, TAIL_S = 1.5, 2.0
CHUNK_S = 0.02  # the page sends 20 ms chunks, numbered from 0


def make_microphone_wav(path: Path) -> tuple[float, float, float]:
    """Silence, a sentence, silence: returns (speech start, speech end, length) in seconds."""
    text = "Hello there. My name is Lisa, and I am pleased to meet you. Shall we go for a walk?"
    speech = resample(speak(text, "en-us").audio, RATE).samples
    samples = np.concatenate([np.zeros(int(LEAD_S * RATE)), speech, np.zeros(int(TAIL_S * RATE))])
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return LEAD_S, LEAD_S + len(speech) / RATE, len(samples) / RATE


@pytest.fixture(scope="module")
def microphone_wav(tmp_path_factory) -> tuple[Path, float, float, float]:
    wav = tmp_path_factory.mktemp("chromium") / "microphone.wav"
    return (wav, *make_microphone_wav(wav))


@pytest.fixture(scope="module")
def browser(microphone_wav):
    """One headless Chromium for the module (launching it is the slow part), the speech file
    as its microphone."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={microphone_wav[0]}",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def test_microphone_to_talking_portrait_in_chromium(
    live_server, browser, microphone_wav, tmp_path: Path, capsys
) -> None:
    from gioconda.eval.measure import FaceMeasurer

    server_url, _ = live_server
    _, speech_start, speech_end, wav_s = microphone_wav
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(f"{server_url}/?record=1")
        page.click("#mic")
        page.wait_for_function("window.gioconda.ready", timeout=60_000)
        # The fake microphone loops the file: stop after one pass.
        page.wait_for_timeout(int(wav_s * 1000) - 200)
        page.screenshot(path=str(tmp_path / "live_page.png"))
        # Text mode on the same page: typed, spoken, its audio streamed with the frames.
        page.click("#stop")
        page.fill("#text", "Good morning.")
        page.select_option("#voice", "en-us")
        page.select_option("#emotion", "happy")
        page.click("#say")
        # Its speech comes with the frames drawn (as many as the machine draws meanwhile).
        page.wait_for_function("window.gioconda.speechSeconds > 0.5", timeout=60_000)
        seen = page.evaluate(
            "({frames: gioconda.frames, latencies: gioconda.latencies, errors: gioconda.errors})"
        )
    finally:
        page.close()
    assert seen["errors"] == []
    frames = seen["frames"]
    # Frames keep coming (how many a second depends on the machine: gioconda bench live).
    assert len(frames) >= 25 and frames[-1]["drawn"] - frames[0]["drawn"] > 0.8 * wav_s * 1000
    lip_gap, heard_s = [], []
    with FaceMeasurer(video=False) as measurer:
        for frame in frames:
            if frame["tag"] == 0xFFFFFFFF:
                continue  # silence before the microphone started, or the typed text
            jpeg = np.frombuffer(base64.b64decode(frame["jpeg"]), np.uint8)
            image = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)[:, :, ::-1]
            lip_gap.append(measurer.measure(np.ascontiguousarray(image)).lip_gap)
            heard_s.append(frame["tag"] * CHUNK_S)  # microphone time of the frame's audio
    lip_gap, heard_s = np.array(lip_gap), np.array(heard_s)
    assert np.isfinite(lip_gap).all()  # a face on every frame

    # The fake microphone starts playing the file when Chromium opens it, a moment before the
    # page's first chunk: find where in the file the first chunk was (the best agreement of
    # the mouth with the speech), then judge the mouth there.
    def split(offset_s: float) -> np.ndarray:
        t = (heard_s + offset_s) % wav_s
        return (speech_start + 0.1 < t) & (t < speech_end - 0.1)

    def contrast(offset_s: float) -> float:
        speech = split(offset_s)
        if speech.sum() < 5 or (~speech).sum() < 3:
            return -1.0
        return lip_gap[speech].mean() - lip_gap[~speech].mean()

    offset = max(np.arange(0.0, wav_s, CHUNK_S), key=contrast)
    in_speech = split(offset)
    silent = ~in_speech
    assert in_speech.sum() >= 10 and silent.sum() >= 4
    # The mouth opens with the speech and shuts in the silence around it ...
    assert np.percentile(lip_gap[in_speech], 90) > 0.1
    assert np.median(lip_gap[silent]) < 0.03
    # ... and moves while it talks: open and nearly shut frames both, not held open.
    assert (lip_gap[in_speech] < 0.05).sum() >= 2
    latency = np.array(seen["latencies"])
    with capsys.disabled():
        print(
            f"\nchromium: {len(frames)} frames, sound to picture "
            f"p50 {np.percentile(latency, 50):.0f} ms, p95 {np.percentile(latency, 95):.0f} ms; "
            f"the first chunk was {offset:.2f} s into the file; "
            f"screenshot {tmp_path / 'live_page.png'}"
        )


def test_file_mode_in_chromium(live_server, browser, astronaut: np.ndarray, tmp_path: Path) -> None:
    import av
    from PIL import Image

    server_url, _ = live_server
    photo, recording = tmp_path / "astronaut.png", tmp_path / "speech.wav"
    Image.fromarray(astronaut).save(photo)
    speech = resample(speak("Good morning to you.", "en-us").audio, RATE).samples
    with wave.open(str(recording), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(speech, -1, 1) * 32767).astype("<i2").tobytes())
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        page.goto(server_url)
        page.set_input_files("#filePhoto", str(photo))
        page.set_input_files("#fileAudio", str(recording))
        page.click("#render")
        # The video element gets the result and Chromium can play it.
        page.wait_for_function("document.querySelector('#result').readyState >= 2", timeout=180_000)
        page.eval_on_selector("#result", "v => { v.muted = true; return v.play(); }")
        page.wait_for_function("document.querySelector('#result').currentTime > 0.2")
        shown = page.eval_on_selector(
            "#result", "v => ({w: v.videoWidth, h: v.videoHeight, seconds: v.duration})"
        )
        progress = page.evaluate("gioconda.jobProgress")
        state = page.text_content("#jobState")
        page.screenshot(path=str(tmp_path / "file_mode.png"), full_page=True)
        with page.expect_download() as download:
            page.click("#download")
        saved = tmp_path / "downloaded.mp4"
        download.value.save_as(saved)
    finally:
        page.close()
    # The progress bar moved from the start to the end, never back.
    assert progress == sorted(progress) and progress[0] < 1.0 and progress[-1] == 1.0, progress
    assert state is not None and state.startswith("done")
    assert shown["w"] == shown["h"] == 256
    assert abs(shown["seconds"] - len(speech) / RATE) < 0.3, shown
    with av.open(str(saved)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert container.streams.audio  # the recording is in it
    assert abs(len(frames) / 25 - len(speech) / RATE) < 0.3 and frames[0].shape == (256, 256, 3)


def test_verify_form_in_chromium(live_server, browser, mona_lisa, tmp_path: Path, capsys) -> None:
    """The page's "Check a video" form: a marked and an unmarked upload, each answered."""
    from gioconda.eval.provenance_attacks import encode
    from gioconda.provenance import Payload, Watermarker

    server_url, _ = live_server
    still = cv2.resize(mona_lisa[:1354, :1354], (256, 256), interpolation=cv2.INTER_AREA)
    encode([Watermarker(256, 256, Payload(1, 0xC0FFE))(still)] * 20, tmp_path / "marked.mp4")
    encode([still] * 20, tmp_path / "plain.mp4")
    shown = {}
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(server_url)
        for name in ("marked", "plain"):
            page.evaluate("window.gioconda.verify = null")
            page.set_input_files("#verifyVideo", str(tmp_path / f"{name}.mp4"))
            page.click("#verify")
            page.wait_for_function("window.gioconda.verify", timeout=60_000)
            shown[name] = page.inner_text("#verifyResult")
            page.screenshot(path=str(tmp_path / f"verify_{name}.png"))
    finally:
        page.close()
    assert shown["marked"].startswith("marked.mp4")
    assert "watermark: FOUND" in shown["marked"] and "render id c0ffe" in shown["marked"]
    assert "watermark: not found" in shown["plain"] and "render id" not in shown["plain"]
    with capsys.disabled():
        print(f"\nverify form screenshots: {tmp_path}/verify_*.png")
