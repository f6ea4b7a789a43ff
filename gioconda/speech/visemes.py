"""Visemes: the mouth shapes that phones map to, and the phone segments that carry them.

The set is the 15 visemes of the Oculus/Meta lip-sync convention, which many avatar tools
read: silence, closure /p b m/, labiodental /f v/, dental /th/, alveolar stops /t d/,
velars /k g/, post-alveolars /ch j sh zh/, sibilants /s z/, nasal-lateral /n l/, /r/,
and the vowel shapes open /a/, mid /e/, spread /i/, rounded-open /o/, rounded-close /u w/.
"""

from __future__ import annotations

import unicodedata
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


ESPEAK_STRESS_MARKS = "'\",%=!"


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
    core = mnemonic.lstrip(ESPEAK_STRESS_MARKS + ",")
    if core[:1] == "?" and len(core) > 1:
        core = core[1:]  # a glottal onset or Danish stød on a vowel: the vowel shapes the mouth
    if core[:1] == "3" and core[1:2].isdigit():
        return previous  # a tone number such as "35", not the vowel "3"
    for length in _ESPEAK_PREFIX_LENGTHS:
        viseme = _ESPEAK_PREFIX.get(core[:length])
        if viseme is not None:
            return viseme
    return previous


# IPA, in any language: as with eSpeak's mnemonics, a base letter fixes the place of
# articulation and marks modify it. Affricates and diphthongs, written as two letters (with or
# without a tie bar) or as one ligature, take the shape of their first part, except the
# sibilant affricates, where the fricative is what shows (as ARPAbet CH JH are CH).
_IPA_BASE: dict[str, str] = {
    # bilabials: stops, nasal, implosive, trill, fricatives
    "p": "PP", "b": "PP", "m": "PP", "ɓ": "PP", "ʙ": "PP", "ɸ": "PP", "β": "PP",
    # labiodentals (ɱ: the nasal of "comfort"), and ʋ, the approximant of Dutch w
    "f": "FF", "v": "FF", "ɱ": "FF", "ʋ": "FF",
    "θ": "TH", "ð": "TH",
    # alveolar and retroflex stops and taps (ɾ: the flap of American "water"), lateral fricatives
    "t": "DD", "d": "DD", "ʈ": "DD", "ɖ": "DD", "ɗ": "DD", "ɾ": "DD", "ɽ": "DD", "ɬ": "DD",
    "ɮ": "DD",
    # post-alveolar, alveolo-palatal and retroflex sibilants; their affricates as ligatures
    "ʃ": "CH", "ʒ": "CH", "ɕ": "CH", "ʑ": "CH", "ʂ": "CH", "ʐ": "CH",
    "ʧ": "CH", "ʤ": "CH", "ʨ": "CH", "ʥ": "CH", "ꭧ": "CH", "ꭦ": "CH",
    "s": "SS", "z": "SS", "ʦ": "SS", "ʣ": "SS",
    # alveolar, retroflex and palatal nasals and laterals (ɫ: dark l)
    "n": "nn", "ɳ": "nn", "ɲ": "nn", "l": "nn", "ɭ": "nn", "ʎ": "nn", "ʟ": "nn", "ɫ": "nn",
    "ɺ": "nn",
    # palatal, velar, uvular, pharyngeal and glottal consonants: no lip or tongue-tip target
    "k": "kk", "ɡ": "kk", "g": "kk", "c": "kk", "ɟ": "kk", "q": "kk", "ɢ": "kk", "ŋ": "kk",
    "ɴ": "kk", "x": "kk", "ɣ": "kk", "χ": "kk", "ç": "kk", "ʝ": "kk", "ħ": "kk", "ʕ": "kk",
    "h": "kk", "ɦ": "kk", "ʔ": "kk", "ɧ": "kk",
    # rhotics (uvular ʁ ʀ too) and r-coloured vowels; ɜ as eSpeak's "3", English "bird"
    "r": "RR", "ɹ": "RR", "ɻ": "RR", "ʀ": "RR", "ʁ": "RR", "ɚ": "RR", "ɝ": "RR", "ɜ": "RR",
    # glides: j spread like i; w, ɥ (French "huit") and ɰ (Japanese w) rounded like u
    "j": "ih", "w": "ou", "ʍ": "ou", "ɥ": "ou", "ɰ": "ou",
    # open and central vowels (ə, and ᵊ, the brief schwa of a syllabic consonant: ARPAbet AH)
    "a": "aa", "ɑ": "aa", "ɒ": "aa", "æ": "aa", "ɐ": "aa", "ʌ": "aa", "ə": "aa", "ᵊ": "aa",
    "e": "E", "ɛ": "E", "ɘ": "E", "ɤ": "E",
    "i": "ih", "ɪ": "ih", "ɨ": "ih", "ᵻ": "ih",
    "o": "oh", "ɔ": "oh", "ø": "oh", "œ": "oh", "ɵ": "oh", "ɞ": "oh", "ɶ": "oh",
    # close rounded vowels; ɯ (Japanese u) is compressed rather than rounded, but closer to u
    "u": "ou", "ʊ": "ou", "y": "ou", "ʏ": "ou", "ʉ": "ou", "ɯ": "ou",
}  # fmt: skip


# Two letters that make one sibilant affricate (any tie bar removed first).
_IPA_SIBILANT_AFFRICATES: dict[str, str] = {
    "tʃ": "CH", "dʒ": "CH", "tɕ": "CH", "dʑ": "CH", "ʈʂ": "CH", "ɖʐ": "CH",
    "ts": "SS", "dz": "SS",
}  # fmt: skip


# Marks that only modify a phone: stress, length, ties, linking, tone letters and arrows,
# superscripts (aspiration ʰ, palatalization ʲ, labialization ʷ, ...). Combining diacritics
# (nasal ̃, syllabic ̩, ...) are found by unicodedata.
_IPA_MARKS = frozenset("ˈˌːˑ‿͜͡˞ʰʲʷˠˤⁿˡᵝ˥˦˧˨˩↓↑↗↘→ꜛꜜ'")


# Pauses: punctuation, spaces, and eSpeak's or the IPA's pause and boundary marks.
_IPA_PAUSES = frozenset(' _|‖.,;:!?…—–-"“”«»()[]¡¿')


def ipa_to_viseme(phone: str, previous: str = "sil") -> str:
    """The viseme of a phone written in the IPA, in any language.

    Parameters
    ----------
    phone:
        One phone: ``"p"``, ``"ˈɑː"``, ``"t͡ʃ"``, ``"ʤ"``, ``"ã"``, ``"kʰ"``, ``"a͡ɪ"``, ... Stress,
        length, tone and other diacritics do not matter; a diphthong takes its first vowel's
        shape. Punctuation, spaces and pause marks (``","``, ``"|"``, ``"‖"``) are pauses.
    previous:
        The viseme of the phone before, returned for marks that only modify it (a lone
        ``"ː"``, a tone letter, a stress mark) and for symbols without a place (clicks).

    Returns
    -------
    One of :data:`VISEMES`.

    Raises
    ------
    ValueError: the phone is empty.

    Examples
    --------
    >>> [ipa_to_viseme(p) for p in ("m", "ˈɑː", "t͡ʃ", "ø", "ɾ", ",")]
    ['PP', 'aa', 'CH', 'oh', 'DD', 'sil']
    """
    if not phone:
        raise ValueError("empty IPA phone")
    if all(c in _IPA_PAUSES or c.isspace() for c in phone):
        return "sil"
    core = "".join(
        c for c in unicodedata.normalize("NFD", phone)
        if c not in _IPA_MARKS and not unicodedata.combining(c)
    )  # fmt: skip
    if not core:
        return previous
    affricate = _IPA_SIBILANT_AFFRICATES.get(core[:2])
    if affricate is not None:
        return affricate
    return _IPA_BASE.get(core[0], previous)
