"""Gioconda: one portrait photo and one voice recording (or a text) in, a talking video out.

What a user composes, importable from here::

    from gioconda import (
        AnimateOptions, load_portrait, motion_for_speech, render_video, speech_from_text,
    )

    portrait = load_portrait("photo.jpg")
    speech = speech_from_text("Hello there", AnimateOptions())
    motion = motion_for_speech(speech, fps=25, controls=AnimateOptions().motion)
    render_video(portrait, motion, speech.audio, "hello.mp4")

or in one call, ``animate("photo.jpg", "talk.mp4", audio_path="speech.wav")``. Each name is
loaded when first used, so ``import gioconda`` stays light (the command line starts fast).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Each public name and the module that defines it.
_EXPORTS = {
    "GiocondaError": "gioconda.errors",
    "AnimateOptions": "gioconda.pipeline",
    "AnimateResult": "gioconda.pipeline",
    "ReenactOptions": "gioconda.pipeline",
    "Speech": "gioconda.pipeline",
    "animate": "gioconda.pipeline",
    "animate_motion": "gioconda.pipeline",
    "load_portrait": "gioconda.pipeline",
    "motion_for_speech": "gioconda.pipeline",
    "reenact": "gioconda.pipeline",
    "render_frames": "gioconda.pipeline",
    "render_video": "gioconda.pipeline",
    "speech_from_audio": "gioconda.pipeline",
    "speech_from_text": "gioconda.pipeline",
    "Portrait": "gioconda.face.portrait",
    "Motion": "gioconda.motion.frames",
    "MotionFrame": "gioconda.motion.frames",
    "MotionControls": "gioconda.motion.controls",
    "Keyframe": "gioconda.motion.controls",
    "generate_motion": "gioconda.motion.generate",
    "Renderer": "gioconda.render.renderer",
    "read_motion": "gioconda.output.motion_files",
    "write_motion": "gioconda.output.motion_files",
}

__all__ = [
    "AnimateOptions",
    "AnimateResult",
    "GiocondaError",
    "Keyframe",
    "Motion",
    "MotionControls",
    "MotionFrame",
    "Portrait",
    "ReenactOptions",
    "Renderer",
    "Speech",
    "animate",
    "animate_motion",
    "generate_motion",
    "load_portrait",
    "motion_for_speech",
    "read_motion",
    "reenact",
    "render_frames",
    "render_video",
    "speech_from_audio",
    "speech_from_text",
    "write_motion",
]

if TYPE_CHECKING:
    from gioconda.errors import GiocondaError
    from gioconda.face.portrait import Portrait
    from gioconda.motion.controls import Keyframe, MotionControls
    from gioconda.motion.frames import Motion, MotionFrame
    from gioconda.motion.generate import generate_motion
    from gioconda.output.motion_files import read_motion, write_motion
    from gioconda.pipeline import (
        AnimateOptions,
        AnimateResult,
        ReenactOptions,
        Speech,
        animate,
        animate_motion,
        load_portrait,
        motion_for_speech,
        reenact,
        render_frames,
        render_video,
        speech_from_audio,
        speech_from_text,
    )
    from gioconda.render.renderer import Renderer


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gioconda' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
