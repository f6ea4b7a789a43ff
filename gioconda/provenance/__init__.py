"""Provenance: every video Gioconda makes says so, and anyone can check.

- :mod:`~gioconda.provenance.watermark`: the invisible mark in every frame, and its detector
- :mod:`~gioconda.provenance.content_credentials`: a signed C2PA manifest, when configured
- :mod:`~gioconda.provenance.verify`: both checks (and the metadata) for one file
"""

from gioconda.provenance.content_credentials import (
    Credentials,
    SigningCredentials,
    read_credentials,
    sign_if_configured,
    sign_video,
)
from gioconda.provenance.verify import Verification, describe, verify
from gioconda.provenance.watermark import Detection, Payload, Watermarker, detect_video

__all__ = [
    "Credentials",
    "Detection",
    "Payload",
    "SigningCredentials",
    "Verification",
    "Watermarker",
    "describe",
    "detect_video",
    "read_credentials",
    "sign_if_configured",
    "sign_video",
    "verify",
]
