"""Controls and keyframes: values checked at the boundary, and the motion follows them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gioconda.errors import GiocondaError
from gioconda.motion.blendshapes import BS
from gioconda.motion.controls import (
    EMOTIONS,
    Keyframe,
    MotionControls,
    control_track,
    gaze_value,
    read_keyframes,
)
from gioconda.motion.generate import generate_motion
from gioconda.speech.audio import AudioFeatures
from gioconda.speech.visemes import PhoneSegment
from gioconda.timeline import frame_count, frame_times

FPS = 25.0


def talking(duration_s: float, seed: int = 0) -> AudioFeatures:
    """Phrases of speech with syllable-rate loudness and pitch, and pauses between them."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(duration_s * 100)) / 100
    speech = np.zeros(len(t), bool)
    start = 0.3
    while start < duration_s:
        length = rng.uniform(1.5, 4.0)
        speech |= (t >= start) & (t < start + length)
        start += length + rng.uniform(0.3, 1.0)
    syllables = 0.5 + 0.5 * np.cos(2 * np.pi * 4.0 * t + rng.uniform(0, 6))
    level = np.where(speech, 0.3 + 0.6 * syllables, 0.0).astype(np.float32)
    pitch = np.where(speech, 110 + 30 * syllables, 0.0).astype(np.float32)
    return AudioFeatures((-70 + 50 * level).astype(np.float32), speech, speech.copy(), pitch, level)


def motion(duration_s: float = 4.0, **controls):
    feats = talking(duration_s)
    return generate_motion(
        feats, None, frame_count(duration_s, FPS), FPS, MotionControls(**controls)
    )


def test_gaze_command_holds_the_direction():
    gaze = motion(gaze=(-20.0, 5.0)).gaze_deg
    # Held with only a little natural wander left (15% of a few degrees).
    assert np.abs(gaze[:, 0] + 20).max() < 2.5
    assert np.abs(gaze[:, 1] - 5).max() < 2.0
    # The eye-look shapes follow the eyes in the head: looking to the image's left is the
    # subject's right, so the left eye looks in.
    m = motion(gaze=(-20.0, 0.0), motion_intensity=0.0)
    assert m.blendshapes[:, BS["EyeLookInLeft"]].min() > 0.5
    assert m.blendshapes[:, BS["EyeLookOutLeft"]].max() == 0.0


def test_keyframe_look_left_at_one_second():
    m = motion(keyframes=(Keyframe(1.0, "gaze", [-20, 0]),))
    t = frame_times(len(m), FPS)
    before, after = m.gaze_deg[t < 1.0], m.gaze_deg[t >= 1.5]
    natural = motion().gaze_deg[t < 1.0]
    np.testing.assert_array_equal(before, natural)  # the camera (natural gaze) until 1 s
    assert np.all(after[:, 0] < -17.0)
    # Eased, not a jump: it takes several frames to get there.
    crossing = m.gaze_deg[(t >= 1.0) & (t < 1.5), 0]
    assert np.all(np.diff(crossing) <= 0.5) and (crossing > -17).sum() >= 4


def test_keyframes_smile_then_back_to_neutral():
    keys = (Keyframe(1.0, "emotion", "happy"), Keyframe(3.0, "emotion", "neutral"))
    m = motion(5.0, keyframes=keys)
    t = frame_times(len(m), FPS)
    smile = m.blendshapes[:, BS["MouthSmileLeft"]]
    cheek = m.blendshapes[:, BS["CheekSquintLeft"]]
    assert smile[t < 1.0].max() == 0.0
    assert smile[(t > 1.5) & (t < 3.0)].min() > 0.5
    assert cheek[(t > 1.5) & (t < 3.0)].min() > 0.3  # the smile involves the eyes
    assert smile[t > 3.5].max() == 0.0


def test_emotion_is_held_with_micro_variation_and_scales_with_strength():
    full = motion(8.0, emotion="sad").blendshapes[:, BS["BrowInnerUp"]]
    half = motion(8.0, emotion="sad", emotion_strength=0.5).blendshapes[:, BS["BrowInnerUp"]]
    frown = motion(8.0, emotion="sad").blendshapes[:, BS["MouthFrownLeft"]]
    assert frown.min() > 0.3
    assert 0.005 < frown.std() < 0.15  # alive, not frozen, yet held
    assert half.mean() < 0.7 * full.mean()


def test_bilabials_close_the_lips_whatever_the_emotion():
    seq = [PhoneSegment(0.0, 0.3, "sil", "sil"), PhoneSegment(0.3, 0.5, "aa", "aa"),
           PhoneSegment(0.5, 0.62, "m", "PP"), PhoneSegment(0.62, 0.9, "aa", "aa"),
           PhoneSegment(0.9, 1.5, "sil", "sil")]  # fmt: skip
    feats = talking(1.5)
    for emotion in EMOTIONS:
        m = generate_motion(feats, seq, frame_count(1.5, FPS), FPS, MotionControls(emotion=emotion))
        middle = round(0.56 * FPS)
        assert m.blendshapes[middle, BS["MouthClose"]] == 1.0, emotion
        assert m.blendshapes[middle, BS["JawOpen"]] <= 0.02, emotion
        for side in ("Left", "Right"):
            assert m.blendshapes[middle, BS[f"MouthUpperUp{side}"]] < 0.05, emotion


def test_still_head_and_no_blinks_when_asked():
    m = motion(10.0, motion_intensity=0.0, blink_rate=0.0)
    assert np.all(m.head_rotation_deg == 0.0) and np.all(m.head_translation == 0.0)
    assert m.blendshapes[:, BS["EyeBlinkLeft"]].max() == 0.0
    assert motion(10.0).blendshapes[:, BS["EyeBlinkLeft"]].max() == 1.0


def test_head_distance_is_the_head_scale():
    np.testing.assert_array_equal(motion(head_distance=1.2).head_scale, np.float32(1.2))
    m = motion(keyframes=(Keyframe(2.0, "head_distance", 0.8, transition_s=1.0),))
    t = frame_times(len(m), FPS)
    assert np.all(m.head_scale[t <= 2.0] == 1.0)
    assert np.all(np.diff(m.head_scale) <= 0) and m.head_scale[t >= 3.0].max() == np.float32(0.8)


def test_keyframe_changes_blink_rate_and_head_intensity():
    keys = (Keyframe(30.0, "blink_rate", 0.0), Keyframe(30.0, "motion_intensity", 0.0))
    m = motion(60.0, keyframes=keys)
    t = frame_times(len(m), FPS)
    assert m.blendshapes[t < 30, BS["EyeBlinkLeft"]].max() == 1.0
    assert m.blendshapes[t > 31, BS["EyeBlinkLeft"]].max() == 0.0
    assert np.abs(m.head_rotation_deg[t > 35]).max() < 0.05 * np.abs(m.head_rotation_deg).max()


def test_seeds_give_different_styles_and_the_same_seed_the_same_motion():
    a, b = motion(60.0, seed=3), motion(60.0, seed=3)
    for name in ("blendshapes", "head_rotation_deg", "head_translation", "head_scale", "gaze_deg"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    stds = np.array([motion(60.0, seed=s).head_rotation_deg.std(axis=0) for s in range(6)])
    # Some seeds sway more in yaw, some nod more: amplitudes spread by a visible factor.
    assert np.all(stds.max(axis=0) / stds.min(axis=0) > 1.3)


def test_control_track_eases_from_wherever_it_is():
    controls = MotionControls(
        keyframes=(Keyframe(1.0, "head_distance", 1.2, 1.0), Keyframe(1.5, "head_distance", 0.8))
    )
    t = np.linspace(0, 3, 301)
    track = control_track(controls, "head_distance", t)[:, 0]
    at = track[t.searchsorted(1.5)]
    assert 1.05 < at < 1.15  # half way up when the second keyframe takes over
    assert np.all(np.abs(np.diff(track)) < 0.02)  # no jump
    assert track[-1] == pytest.approx(0.8)


@pytest.mark.parametrize(
    "document, message",
    [
        ({"time": 1}, "expected a JSON list"),
        ([{"time": 1, "control": "smile", "value": 1}], "unknown control 'smile'"),
        ([{"time": 1, "control": "gaze", "value": [90, 0]}], "gaze yaw"),
        ([{"time": 1, "control": "gaze", "value": "left"}], "gaze must be"),
        ([{"time": 1, "control": "emotion", "value": "bored"}], "unknown emotion"),
        ([{"time": 1, "control": "head_distance", "value": 3}], "head_distance must be"),
        ([{"time": -1, "control": "blink_rate", "value": 3}], "0 or more"),
        (
            [
                {"time": 2, "control": "blink_rate", "value": 3},
                {"time": 1, "control": "blink_rate", "value": 5},
            ],
            "sorted by time",
        ),
        ([{"time": 1, "control": "blink_rate"}], "lacks value"),
        ([{"time": 1, "control": "blink_rate", "value": 3, "ease": 1}], "unknown field"),
        ([{"time": "1", "control": "blink_rate", "value": 3}], "time must be a number"),
    ],
)
def test_bad_keyframe_files_are_one_clear_error(tmp_path, document, message):
    path = tmp_path / "controls.json"
    path.write_text(json.dumps(document))
    with pytest.raises(GiocondaError, match=message):
        read_keyframes(path)


def test_keyframe_file_reads(tmp_path):
    path = tmp_path / "controls.json"
    path.write_text(json.dumps([
        {"time": 3, "control": "gaze", "value": [-20, 0]},
        {"time": 5, "control": "emotion", "value": "Happy", "transition": 1.0},
        {"time": 8, "control": "gaze", "value": "camera"},
    ]))  # fmt: skip
    keys = read_keyframes(path)
    assert keys[0].value == (-20.0, 0.0) and keys[1].value == "happy"
    assert keys[1].transition_s == 1.0 and keys[2].value is None


@pytest.mark.parametrize(
    "controls",
    [dict(gaze=(40.0, 0.0)), dict(head_distance=0.2), dict(emotion="bored"),
     dict(emotion_strength=1.5), dict(motion_intensity=-1.0), dict(blink_rate=np.nan)],
)  # fmt: skip
def test_bad_control_values_are_clear_errors(controls):
    with pytest.raises(GiocondaError):
        MotionControls(**controls)


def test_gaze_values():
    assert gaze_value("camera") is None and gaze_value(None) is None
    assert gaze_value("-20,5") == (-20.0, 5.0)
    with pytest.raises(GiocondaError):
        gaze_value("20")


def test_a_chosen_emotion_replaces_the_photos_expression_and_neutral_keeps_it():
    """Neutral keeps the photo's own face (nothing replaced); sad from 1 s replaces it, eased
    in with the emotion; back to neutral from 3 s gives it back."""
    keys = (Keyframe(1.0, "emotion", "sad"), Keyframe(3.0, "emotion", "neutral"))
    m = motion(5.0, keyframes=keys)
    t = frame_times(len(m), FPS)
    replaced = m.replaces_photo
    assert replaced is not None and replaced.shape == (len(m),)
    assert replaced[t < 1.0].max() == 0.0
    assert replaced[(t > 1.5) & (t < 3.0)].min() == pytest.approx(1.0)
    assert replaced[t > 3.5].max() == 0.0
    assert 0.0 < replaced[np.argmin(np.abs(t - 1.1))] < 1.0  # eased, not switched
    half = motion(2.0, emotion="angry", emotion_strength=0.5).replaces_photo
    assert half.max() == pytest.approx(0.5)
    assert m.frame(int(np.argmin(np.abs(t - 2.0)))).replaces_photo == pytest.approx(1.0)
