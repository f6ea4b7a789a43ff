"""End to end: speech with known phone timings in, a rendered MP4 out, checked by MediaPipe."""

from dataclasses import replace

import av
import cv2
import numpy as np
import pytest

from gioconda.eval.measure import FaceMeasurer
from gioconda.motion.controls import MotionControls
from gioconda.pipeline import (
    AnimateOptions,
    Speech,
    motion_for_speech,
    render_video,
    speech_from_text,
)
from gioconda.speech.audio import Audio
from gioconda.speech.visemes import PhoneSegment
from gioconda.timeline import time_to_frame

pytestmark = pytest.mark.slow

# Bilabials between open vowels, in words: every /p b m/ must shut the rendered lips.
SENTENCE = "Papa bought a big map. Bob made my mom a palm lamp. Pam, apart from Barbara, paid."


def _decode(path):
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return frames


@pytest.fixture(scope="module", params=["en-us", "jm_kumo"])
def rendered(request, mona_portrait, tmp_path_factory):
    # eSpeak NG (timings exact to the sample) and Kokoro (a natural voice, timed by its own
    # predicted durations): either way, a miss is the renderer's or the motion's.
    options = AnimateOptions(label=False, voice=request.param)
    spoken = speech_from_text(SENTENCE, options)
    # Half a second of silence first, to see the face at rest.
    lead = 0.5
    pad = np.zeros(int(lead * spoken.audio.sample_rate), np.float32)
    phones = (
        PhoneSegment(0.0, lead, "_", "sil"),
        *tuple(replace(p, start_s=p.start_s + lead, end_s=p.end_s + lead) for p in spoken.phones),
    )
    audio = Audio(np.concatenate([pad, spoken.audio.samples]), spoken.audio.sample_rate)
    speech = Speech(audio, phones, spoken.source)
    motion = motion_for_speech(speech, options.fps, MotionControls(seed=3))
    out = tmp_path_factory.mktemp("clip") / "clip.mp4"
    render_video(mona_portrait, motion, speech.audio, out, label=False)
    frames = _decode(out)
    with FaceMeasurer(video=True) as measurer:
        gaps = np.array([measurer.measure(f).lip_gap for f in frames])
    return speech, motion, frames, gaps


def test_lips_close_on_bilabials(rendered):
    speech, motion, _frames, gaps = rendered
    bilabials = [p for p in speech.phones if p.viseme == "PP" and p.end_s - p.start_s >= 0.04]
    assert len(bilabials) >= 12
    closed = 0
    for phone in bilabials:
        middle = int(time_to_frame((phone.start_s + phone.end_s) / 2, motion.fps))
        if gaps[middle] < 0.04:
            closed += 1
    # MediaPipe's own jitter aside, every closure must read as shut.
    assert closed / len(bilabials) >= 0.9, (closed, len(bilabials))


def test_lips_open_on_open_vowels(rendered):
    speech, motion, _frames, gaps = rendered
    vowels = [p for p in speech.phones if p.viseme == "aa" and p.end_s - p.start_s >= 0.07]
    assert len(vowels) >= 6
    opened = 0
    for phone in vowels:
        first = int(time_to_frame(phone.start_s, motion.fps))
        last = int(time_to_frame(phone.end_s, motion.fps))
        if np.nanmax(gaps[first : last + 1]) > 0.08:
            opened += 1
    assert opened / len(vowels) >= 0.9, (opened, len(vowels))
    # And the mouth is not simply open all the time.
    assert np.nanmedian(gaps) < 0.12


def test_first_frames_of_silence_are_the_photo(rendered, mona_portrait):
    speech, motion, frames, _gaps = rendered
    first_phone = next(p for p in speech.phones if p.viseme != "sil")
    # The mouth may start moving ~100 ms ahead of the first sound.
    silent_frames = int(time_to_frame(first_phone.start_s - 0.15, motion.fps))
    assert silent_frames >= 5
    for frame in frames[:silent_frames]:
        # After H.264 at CRF 20, the photo itself comes back at ~40 dB.
        assert cv2.PSNR(frame, mona_portrait.image) > 34


def test_video_length_matches_the_speech(rendered):
    speech, motion, frames, _gaps = rendered
    assert len(frames) == len(motion) == int(np.ceil(speech.audio.duration_s * 25 - 1e-9))


# ------------------------------------------------------------------ controls, seen on the frames


def _still_frame(renderer, **controls) -> np.ndarray:
    """The last frame of a silent second under ``controls``, head still, no blink."""
    from gioconda.motion.generate import generate_motion
    from gioconda.speech.audio import AudioFeatures

    hops = 100
    silence = AudioFeatures(
        np.full(hops, -100.0, np.float32), np.zeros(hops, bool), np.zeros(hops, bool),
        np.zeros(hops, np.float32), np.zeros(hops, np.float32),
    )  # fmt: skip
    controls = MotionControls(motion_intensity=0.0, blink_rate=0.0, **controls)
    motion = generate_motion(silence, [], 25, 25.0, controls)
    return renderer.render(motion.frame(24))


@pytest.fixture(scope="module")
def control_frames(mona_portrait):
    from gioconda.render.renderer import Renderer

    renderer = Renderer(mona_portrait)
    settings = {
        "rest": {},
        "left": dict(gaze=(-20.0, 0.0)),
        "right": dict(gaze=(20.0, 0.0)),
        "closer": dict(head_distance=1.2),
        "happy": dict(emotion="happy"),
    }
    frames = {name: _still_frame(renderer, **kw) for name, kw in settings.items()}
    with FaceMeasurer(video=False) as measurer:
        found = {name: measurer.measure(frame).landmarks for name, frame in frames.items()}
    return frames, found


def test_commanded_gaze_moves_the_redetected_irises(control_frames):
    from gioconda.eval.motion_controls import iris_position

    _, found = control_frames
    rest, left, right = (iris_position(found[k])[0] for k in ("rest", "left", "right"))
    assert left < rest - 0.02 and right > rest + 0.02


def test_head_distance_grows_the_head_and_leaves_the_background(control_frames, mona_portrait):
    from gioconda.eval.motion_controls import far_background
    from gioconda.face.topology import inter_iris_distance

    frames, found = control_frames
    ratio = inter_iris_distance(found["closer"]) / inter_iris_distance(found["rest"])
    assert ratio == pytest.approx(1.2, abs=0.03)
    far = far_background(mona_portrait)
    assert far.mean() > 0.05
    change = np.abs(frames["closer"].astype(int) - mona_portrait.image.astype(int))[far]
    assert change.mean() < 0.5
    # The whole person comes closer, hair and shoulders too (nothing tears between the head
    # and what hangs beside it): the frame is the rest frame zoomed 1.2 about the chin
    # (OpenCV's affine warp), wherever the zoomed person mask is solid.
    import cv2

    from gioconda.render.rig import CHIN

    cx, cy = mona_portrait.landmarks[CHIN, :2]
    zoom = np.array([[1.2, 0, cx - 1.2 * cx], [0, 1.2, cy - 1.2 * cy]], np.float64)
    size = mona_portrait.size
    expected = cv2.warpAffine(frames["rest"], zoom, (size, size), flags=cv2.INTER_LINEAR)
    person = cv2.warpAffine(mona_portrait.person_mask, zoom, (size, size)) > 0.99
    assert person.mean() > 0.3
    difference = np.abs(frames["closer"].astype(int) - expected.astype(int))[person]
    assert difference.mean() < 3.0


def test_happy_raises_the_redetected_mouth_corners(control_frames):
    from gioconda.eval.motion_controls import expression_features

    _, found = control_frames
    lift = expression_features(found["happy"])[0] - expression_features(found["rest"])[0]
    assert lift > 0.02


# ------------------------------------------------------------------ motion out and back in


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_motion_file_round_trip_renders_the_same(tmp_path, mona_portrait, suffix):
    from gioconda.motion.frames import Motion
    from gioconda.motion.generate import generate_motion
    from gioconda.output.motion_files import read_motion, write_motion
    from gioconda.render.renderer import Renderer
    from gioconda.speech.audio import analyze_audio
    from gioconda.speech.espeak import synthesize

    spoken = synthesize("Look at me, my friend.")
    features = analyze_audio(spoken.audio)
    controls = MotionControls(seed=2, gaze=(12.0, -4.0), emotion="happy")
    motion = generate_motion(features, spoken.phones, 40, 25.0, controls)
    path = tmp_path / f"motion{suffix}"
    write_motion(motion, path)
    back = read_motion(path)
    if suffix == ".csv":  # Live Link Face columns carry no body sway or head distance
        motion = Motion(motion.fps, motion.blendshapes, motion.head_rotation_deg,
                        np.zeros_like(motion.head_translation), motion.head_scale,
                        motion.gaze_deg)  # fmt: skip
    renderer = Renderer(mona_portrait)
    for i in (10, 25, 39):
        a = renderer.render(motion.frame(i)).astype(int)
        b = renderer.render(back.frame(i)).astype(int)
        # Six decimals: a few grey levels on a few pixels where rounding tips a sample or one
        # of the renderer's thresholds (lids, lips painted out), the rest the same.
        diff = np.abs(a - b)
        assert (diff > 2).mean() < 1e-3 and diff.mean() < 0.05, (suffix, i)


def test_recording_decoded_again_after_recognition_is_the_same_soundtrack(tmp_path):
    """The recording at its own rate is let go while it is recognized and decoded again after:
    the soundtrack is the file's samples, to the bit (two channels at different levels, so
    the mix and its gain are in play); a file changed in the meantime is refused."""
    import wave

    from gioconda.errors import GiocondaError
    from gioconda.pipeline import AnimateOptions, speech_from_audio
    from gioconda.speech.audio import load_audio

    def write(path, seconds: float) -> None:
        rate = 44_100
        t = np.arange(int(seconds * rate)) / rate
        rng = np.random.default_rng(0)
        voice = 0.4 * np.sin(2 * np.pi * 160 * t) * (t % 0.5 < 0.3) + 0.01 * rng.standard_normal(
            len(t)
        )
        stereo = np.stack([voice, 0.3 * voice], axis=1)
        with wave.open(str(path), "wb") as out:
            out.setnchannels(2)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes((stereo * 32767).astype("<i2").tobytes())

    path = tmp_path / "voice.wav"
    write(path, 3.0)
    options = AnimateOptions(lipsync="network")
    speech = speech_from_audio(path, options)
    expected = load_audio(path, None, None)
    assert speech.audio.sample_rate == expected.sample_rate == 44_100
    assert speech.audio.samples.tobytes() == expected.samples.tobytes()
    assert speech.phones

    with pytest.raises(GiocondaError, match="changed"):
        speech_from_audio(path, options, ready=lambda: write(path, 2.0))
