"""Visemes: the mouth shapes that phones map to, and the phone segments that carry them.

The set is the 15 visemes of the Oculus/Meta lip-sync convention, which many avatar tools
read: silence, closure /p b m/, labiodental /f v/, dental /th/, alveolar stops /t d/,
velars /k g/, post-alveolars /ch j sh zh/, sibilants /s z/, nasal-lateral /n l/, /r/,
and the vowel shapes open /a/, mid /e/, spread /i/, rounded-open /o/, rounded-close /u w/.
"""

from __future__ import annotations

from dataclasses import dataclass

VISEMES: tuple[str, ...] = (
    "sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou",
)  # fmt: skip
VISEME_INDEX: dict[str, int] = {v: i for i, v in enumerate(VISEMES)}


@dataclass(frozen=True)
class PhoneSegment:
    """One phone in time.

    Attributes
    ----------
    start_s, end_s:
        Where the phone starts and ends in the audio, in seconds.
    phone:
        The label the source gave it (ARPAbet from PocketSphinx, an eSpeak NG mnemonic, ...).
    viseme:
        Its mouth shape, one of :data:`VISEMES`.
    """

    start_s: float
    end_s: float
    phone: str
    viseme: str
