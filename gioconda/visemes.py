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


#: The visemes of vowels; the rest (except ``sil``) are consonants.
VOWEL_VISEMES: frozenset[str] = frozenset({"aa", "E", "ih", "oh", "ou"})

# CMU/ARPAbet as PocketSphinx's en-us model writes it, plus the TIMIT extensions (AX, DX,
# closures, ...) that hand-labelled corpora use.
_ARPABET: dict[str, str] = {
    "P": "PP", "B": "PP", "M": "PP", "EM": "PP",
    "F": "FF", "V": "FF",
    "TH": "TH", "DH": "TH",
    "T": "DD", "D": "DD", "DX": "DD",
    "K": "kk", "G": "kk", "NG": "kk", "ENG": "kk", "Q": "kk",
    # /h/ has no place of its own: the mouth is already in the next vowel's shape. A context-
    # free mapping cannot see that vowel, so HH takes kk, the relaxed half-open mouth that
    # Oculus also gives /h/; anticipating the vowel is co-articulation, done in motion.
    "HH": "kk", "HV": "kk",
    "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH",
    "S": "SS", "Z": "SS",
    "N": "nn", "L": "nn", "EN": "nn", "EL": "nn", "NX": "nn",
    "R": "RR", "ER": "RR", "AXR": "RR",
    "AA": "aa", "AE": "aa", "AH": "aa", "AX": "aa", "AY": "aa", "AW": "aa", "AX-H": "aa",
    "EH": "E", "EY": "E",
    "IH": "ih", "IY": "ih", "IX": "ih", "Y": "ih",
    "AO": "oh", "OW": "oh", "OY": "oh",
    "UW": "ou", "UH": "ou", "UX": "ou", "W": "ou",
    "SIL": "sil", "SP": "sil", "PAU": "sil", "H#": "sil", "EPI": "sil",
    # TIMIT closures: the silent hold before a stop's release has the stop's mouth.
    "PCL": "PP", "BCL": "PP", "TCL": "DD", "DCL": "DD", "KCL": "kk", "GCL": "kk",
}  # fmt: skip


def arpabet_to_viseme(phone: str) -> str:
    """The viseme of an ARPAbet phone (as PocketSphinx and CMUdict write them).

    Parameters
    ----------
    phone:
        ``"AA"`` ... ``"ZH"``, any case, with or without a CMUdict stress digit (``"AH0"``);
        ``"SIL"``, ``<s>``/``</s>`` and noise fillers such as ``"+NSN+"``, ``"+SPN+"``,
        ``"+BREATH+"``, ``"[NOISE]"`` are silence.

    Returns
    -------
    One of :data:`VISEMES`.

    Raises
    ------
    ValueError: the label is not an ARPAbet phone, silence or filler (a bug upstream).

    Examples
    --------
    >>> arpabet_to_viseme("M"), arpabet_to_viseme("uw1"), arpabet_to_viseme("+NSN+")
    ('PP', 'ou', 'sil')
    """
    label = phone.strip().upper()
    if label[:1] in "+<[" and label[-1:] in "+>]" and len(label) > 1:
        return "sil"  # fillers and sentence markers carry no articulation we can show
    if label not in _ARPABET:
        label = label.rstrip("012")
    try:
        return _ARPABET[label]
    except KeyError:
        raise ValueError(f"not an ARPAbet phone: {phone!r}") from None


# eSpeak NG mnemonics start with a base symbol (Kirshenbaum ASCII-IPA and eSpeak's own
# additions) that fixes the place of articulation; what follows modifies it (length ":",
# variants "#", "2", dental "[", retroflex ".", palatalized ";", syllabic "-", nasal "~",
# aspiration "h", a diphthong's second vowel, ...). Matching the longest known prefix thus
# covers every language's variants with one table of base symbols. Multi-letter keys are the
# affricates and sibilants whose first letter alone would mislead (ts, tS, s., ...).
_ESPEAK_PREFIX: dict[str, str] = {
    # post-alveolar, alveolo-palatal and retroflex sibilants (affricates and fricatives)
    "tS": "CH", "dZ": "CH", "ts.": "CH", "dz.": "CH", "ts;": "CH", "dz;": "CH", "t_s": "CH",
    "s.": "CH", "z.": "CH", "s;": "CH", "z;": "CH", "s\\": "CH", "z\\": "CH",
    "S": "CH", "Z": "CH",
    # alveolar sibilants and affricates
    "ts": "SS", "dz": "SS", "tz": "SS", "s": "SS", "z": "SS",
    # bilabials: stops, nasal, fricatives (B = beta, P = phi), and the affricate pf
    "p": "PP", "b": "PP", "m": "PP", "B": "PP", "P": "PP",
    # labiodentals (M: labiodental nasal, F: its variants)
    "f": "FF", "v": "FF", "F": "FF", "M": "FF",
    # dental fricatives
    "T": "TH", "D": "TH",
    # alveolar stops, taps and the lateral fricatives
    "t": "DD", "d": "DD", "K": "DD",
    # nasals and laterals at the alveolar ridge or palate
    "n": "nn", "l": "nn", "L": "nn",
    # velars, palatal stops, uvulars, pharyngeals, glottals: no lip or tongue-tip target
    "k": "kk", "g": "kk", "c": "kk", "J": "kk", "q": "kk", "Q": "kk",
    "x": "kk", "X": "kk", "C": "kk", "h": "kk", "H": "kk", "?": "kk", "N": "kk",
    # rhotics (r, uvular R and G, flaps *) and rhotic vowels (3: r-coloured ɜ in English,
    # ɐ from a vocalized r in German and Danish); English ER is RR too
    "r": "RR", "R": "RR", "G": "RR", "*": "RR", "3": "RR",
    # glides: j (and the palatalizing ";" link) is spread like i, w rounded like u
    "j": "ih", ";": "ih", "w": "ou",
    # open and central vowels (@ = schwa, as ARPAbet AH; 0 = the open back vowel of "hot",
    # ɑ in American and barely rounded ɒ in British English)
    "a": "aa", "A": "aa", "&": "aa", "V": "aa", "@": "aa", "0": "aa",
    "e": "E", "E": "E",
    "i": "ih", "I": "ih",
    "o": "oh", "O": "oh",
    "u": "ou", "U": "ou",
    # rounded front and central vowels: the lips round like u (y) or o (Y = ø, W = œ, 8 = ɵ)
    # whatever the tongue does. Polish, Romanian and Amharic use "y" for unrounded ɨ: a
    # mnemonic alone cannot tell, and the rounded reading is the common one.
    "y": "ou", "Y": "oh", "W": "oh", "8": "oh", "9": "oh",
}  # fmt: skip
_ESPEAK_STRESS = "'\",%=!"
_ESPEAK_PREFIX_LENGTHS = sorted({len(k) for k in _ESPEAK_PREFIX}, reverse=True)


def espeak_to_viseme(mnemonic: str, previous: str = "sil") -> str:
    """The viseme of an eSpeak NG phoneme mnemonic, in any of eSpeak's languages.

    Parameters
    ----------
    mnemonic:
        A phoneme name as eSpeak's phoneme events report it (``"p"``, ``"'A:"``, ``"tS"``,
        ``"a#"``, ``"r/"``, ``"_:"``, ...). Stress and length marks do not matter.
    previous:
        The viseme of the phone before. Returned for marks that only modify it (``">"``,
        ``":"``, tone numbers): eSpeak may report those as phonemes of their own, and the
        mouth just holds its shape.

    Returns
    -------
    One of :data:`VISEMES`; pauses (``"_"``, ``"_:"``, ``"_!"``, word ends ``"||"``) are ``"sil"``.

    Raises
    ------
    ValueError: the mnemonic is empty.

    Examples
    --------
    >>> [espeak_to_viseme(m) for m in ("m", "'a:", "tS", "y", "_")]
    ['PP', 'aa', 'CH', 'ou', 'sil']
    """
    if not mnemonic:
        raise ValueError("empty eSpeak phoneme mnemonic")
    if mnemonic[0] in "_|#":
        return "sil"  # pauses, word and clause ends, the click eSpeak uses for capitals
    core = mnemonic.lstrip(_ESPEAK_STRESS + ",")
    if core[:1] == "?" and len(core) > 1:
        core = core[1:]  # a glottal onset or Danish stød on a vowel: the vowel shapes the mouth
    if core[:1] == "3" and core[1:2].isdigit():
        return previous  # a tone number such as "35", not the vowel "3"
    for length in _ESPEAK_PREFIX_LENGTHS:
        viseme = _ESPEAK_PREFIX.get(core[:length])
        if viseme is not None:
            return viseme
    return previous
