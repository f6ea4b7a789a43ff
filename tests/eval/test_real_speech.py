"""Real speech for ``gioconda eval lipsync --real-speech``: the label converters of
``training/fetch_real_speech.py`` and the folders of recordings that evaluate reads.

Nothing here downloads: the sources' formats are checked on small strings written here, the
folders are made of short synthetic recordings.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from gioconda.cli import main
from gioconda.errors import GiocondaError
from gioconda.eval.lipsync import LipSyncEvalOptions, evaluate_lipsync
from gioconda.eval.speech_sets import read_phone_labels, recorded_utterances
from gioconda.speech.visemes import arpabet_to_viseme, ipa_to_viseme
from training.fetch_real_speech import (
    IPA_TO_ARPABET,
    JAPANESE_TO_ARPABET,
    LABEL_READERS,
    LABEL_UNITS_PER_S,
    RUSSIAN_TO_ARPABET,
    SOURCES,
    TEXTGRID_READERS,
    LabelledRecording,
    checked_labels,
    festival_ru_labels,
    hts_current_phone,
    hts_labels,
    ipa_to_arpabet,
    japanese_to_arpabet,
    julius_labels,
    open_package,
    read_labels,
    textgrid_intervals,
    textgrid_ipa_labels,
    textgrid_labels,
)

# ------------------------------------------------------------------------------------------------
# Label converters
# ------------------------------------------------------------------------------------------------


def test_hts_context_gives_the_current_phone() -> None:
    assert hts_current_phone("x^x-sil+hh=iy@x_x/A:0_0_0/B:x-x-x@x-x&x-x") == "sil"
    assert hts_current_phone("x^sil-hh+iy=t@1_2/A:0_0_0/B:1-1-2@1-1&1-4#1-3") == "hh"
    assert hts_current_phone("hh^iy-t+er=n@1_4/A:1_1_2") == "t"
    with pytest.raises(GiocondaError, match="HTS"):
        hts_current_phone("hh iy t")
    labels = hts_labels(
        "0 1300000 x^x-sil+hh=iy@x_x/A:0\n"
        "1300000 2050000 x^sil-hh+iy=t@1_2/A:0\n"
        "2050000 2700000 sil^hh-iy+pau=er@2_1/A:0\n"
        "2700000 3000000 hh^iy-pau+x=x@x_x/A:0\n"
    )
    assert labels == [
        (0, 1300000, "h#"),
        (1300000, 2050000, "hh"),
        (2050000, 2700000, "iy"),
        (2700000, 3000000, "h#"),
    ]


@pytest.mark.parametrize(
    ("phones", "expected"),
    [
        (["a", "N", "m", "a"], ["aa", "m", "m", "aa"]),  # N before a bilabial is m
        (["a", "N", "b", "a"], ["aa", "m", "b", "aa"]),
        (["a", "N", "k", "a"], ["aa", "ng", "k", "aa"]),  # before a velar, ng
        (["a", "N", "t", "a"], ["aa", "n", "t", "aa"]),
        (["o", "N", "a"], ["ow", "n", "aa"]),
        (["sil", "o", "N", "sil"], ["h#", "ow", "n", "h#"]),
        (["a", "cl", "p", "a"], ["aa", "pcl", "p", "aa"]),  # cl is the next stop's closure
        (["a", "cl", "t", "a"], ["aa", "tcl", "t", "aa"]),
        (["a", "cl", "ch", "a"], ["aa", "tcl", "ch", "aa"]),
        (["a", "cl", "k", "a"], ["aa", "kcl", "k", "aa"]),
        (["a", "cl", "s", "a"], ["aa", "s", "s", "aa"]),  # a long fricative
        (["a", "cl", "pau"], ["aa", "q", "h#"]),  # a glottal stop before a pause
        (["d", "e", "s", "U"], ["d", "eh", "s", "uw"]),  # devoiced u keeps its mouth
        (["sh", "I", "t", "a"], ["sh", "iy", "t", "aa"]),
        (["ts", "u", "r", "u"], ["s", "uw", "dx", "uw"]),
        (["ky", "o", "f", "u"], ["k", "ow", "f", "uw"]),
    ],
)
def test_japanese_phones_map_by_mouth_shape(phones: list[str], expected: list[str]) -> None:
    assert japanese_to_arpabet(phones) == expected


def test_every_japanese_phone_has_a_viseme_and_unknown_ones_are_refused() -> None:
    for phone in JAPANESE_TO_ARPABET:
        for following in ("a", "p", "k", "s", "pau"):
            for name in japanese_to_arpabet([phone, following]):
                arpabet_to_viseme(name)  # raises on a name our labels cannot carry
    # the bilabial fricative is not a closure: the lips never shut on it
    assert arpabet_to_viseme(japanese_to_arpabet(["f"])[0]) != "PP"
    assert arpabet_to_viseme(japanese_to_arpabet(["a", "cl", "p"])[1]) == "PP"
    with pytest.raises(GiocondaError, match="unknown Japanese phone"):
        japanese_to_arpabet(["a", "xx"])
    assert julius_labels("0 3125000 sil\n3125000 3525000 N\n3525000 4325000 b\n") == [
        (0, 3125000, "h#"),
        (3125000, 3525000, "m"),
        (3525000, 4325000, "b"),
    ]


_SHORT_TEXTGRID = """File type = "ooTextFile"
Object class = "TextGrid"

0
1.5
<exists>
2
"IntervalTier"
"words"
0
1.5
2
0
0.5
""
0.5
1.5
"bob"
"IntervalTier"
"phones"
0
1.5
4
0
0.5
""
0.5
0.8
"B"
0.8
1.2
"AA1"
1.2
1.5
"B"
"""

_LONG_TEXTGRID = """File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 1.5
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 1.5
        intervals: size = 2
        intervals [1]:
            xmin = 0
            xmax = 0.5
            text = ""
        intervals [2]:
            xmin = 0.5
            xmax = 1.5
            text = "bob"
    item [2]:
        class = "IntervalTier"
        name = "phones"
        xmin = 0
        xmax = 1.5
        intervals: size = 4
        intervals [1]:
            xmin = 0
            xmax = 0.5
            text = ""
        intervals [2]:
            xmin = 0.5
            xmax = 0.8
            text = "B"
        intervals [3]:
            xmin = 0.8
            xmax = 1.2
            text = "AA1"
        intervals [4]:
            xmin = 1.2
            xmax = 1.5
            text = "B"
"""


def test_textgrid_phones_tier_in_both_text_formats() -> None:
    short = textgrid_intervals(_SHORT_TEXTGRID, "phones")
    assert short == textgrid_intervals(_LONG_TEXTGRID, "phones")
    assert short == [(0.0, 0.5, ""), (0.5, 0.8, "B"), (0.8, 1.2, "AA1"), (1.2, 1.5, "B")]
    assert textgrid_intervals(_LONG_TEXTGRID, "words")[1] == (0.5, 1.5, "bob")
    assert textgrid_labels(_SHORT_TEXTGRID) == [
        (0, 5_000_000, "h#"),
        (5_000_000, 8_000_000, "b"),
        (8_000_000, 12_000_000, "aa"),
        (12_000_000, 15_000_000, "b"),
    ]
    with pytest.raises(GiocondaError, match="no interval tier"):
        textgrid_intervals(_SHORT_TEXTGRID, "syllables")
    with pytest.raises(GiocondaError, match="TextGrid"):
        textgrid_intervals("0 100 sil\n", "phones")


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("ð", "dh"), ("θ", "th"), ("ə", "ah"), ("ɔ", "ao"), ("ɪ", "ih"), ("ʌ", "ah"),
        ("ˈɑː", "aa"),  # stress and length do not change the mouth
        ("t͡ʃ", "ch"), ("tʃ", "ch"), ("d͡ʒ", "jh"), ("ʤ", "jh"), ("ts", "s"),  # affricates
        ("tʲ", "t"), ("kʰ", "k"), ("ã", "aa"), ("n̩", "n"),  # diacritics and modifier letters
        ("aj", "aa"), ("ɔɪ", "ao"),  # a diphthong starts in its first vowel's shape
        ("ɫ", "l"), ("ɚ", "er"), ("ɾ", "dx"), ("ʔ", "q"),
        ("y", "uw"), ("ø", "ow"), ("ʁ", "r"), ("ç", "hh"), ("ɲ", "n"),  # not English
        ("", "h#"), ("sil", "h#"), ("sp", "h#"),
    ],
)  # fmt: skip
def test_ipa_phones_map_by_mouth_shape(phone: str, expected: str) -> None:
    assert ipa_to_arpabet(phone) == expected


def test_ipa_table_agrees_with_the_ipa_visemes_but_for_the_bilabial_fricatives() -> None:
    # ipa_to_viseme is what the lip sync reads eSpeak's and Kokoro's IPA with; the labels
    # must give each letter the same mouth, except ɸ β, whose lips never shut (no closure).
    for letter, arpabet in IPA_TO_ARPABET.items():
        expected = "FF" if letter in "ɸβ" else ipa_to_viseme(letter)
        assert arpabet_to_viseme(arpabet) == expected, letter
    assert arpabet_to_viseme(ipa_to_arpabet("ɸ")) != "PP"
    with pytest.raises(GiocondaError, match="unknown IPA phone"):
        ipa_to_arpabet("ǀ")  # a click
    with pytest.raises(GiocondaError, match="only marks"):
        ipa_to_arpabet("ˈː")


def test_textgrid_tiers_are_read_by_name_in_arpabet_or_ipa() -> None:
    ipa_grid = _SHORT_TEXTGRID.replace('"phones"', '"phonemes"').replace('"AA1"', '"ˈɑː"')
    ipa_grid = ipa_grid.replace('"B"', '"b"')
    expected = [
        (0, 5_000_000, "h#"),
        (5_000_000, 8_000_000, "b"),
        (8_000_000, 12_000_000, "aa"),
        (12_000_000, 15_000_000, "b"),
    ]
    assert textgrid_ipa_labels(ipa_grid, "phonemes") == expected
    recording = LabelledRecording("x", "x.wav", "x.TextGrid", "textgrid-ipa", tier="phonemes")
    assert read_labels(ipa_grid, recording) == expected
    arpabet = LabelledRecording("x", "x.wav", "x.TextGrid", "textgrid")  # tier "phones"
    assert read_labels(_SHORT_TEXTGRID, arpabet) == expected
    with pytest.raises(GiocondaError, match="no interval tier 'phones'"):
        read_labels(ipa_grid, arpabet)


def test_festival_russian_labels_start_where_the_phone_before_ends() -> None:
    # the msu_ru voice's xwaves labels: a header, '#', then 'end colour phone'
    text = "signal ru_0001\nnfields 1\n#\n0.34200 125 pau\n0.39200 125 mm\n0.42200 125 ay\n"
    text += "0.47200 125 c\n0.50200 125 oo\n"
    assert festival_ru_labels(text) == [
        (0, 3_420_000, "h#"),
        (3_420_000, 3_920_000, "m"),  # a soft m shuts the lips as a hard one does
        (3_920_000, 4_220_000, "ix"),  # the reduced vowel after a soft consonant, not AY
        (4_220_000, 4_720_000, "s"),  # ц shows its sibilant release
        (4_720_000, 5_020_000, "ow"),
    ]
    with pytest.raises(GiocondaError, match="unknown Russian phone"):
        festival_ru_labels("#\n0.1 125 th\n")
    with pytest.raises(GiocondaError, match="no '#' line"):
        festival_ru_labels("0.1 125 a\n")


def test_every_russian_phone_has_its_mouth_shape() -> None:
    visemes = {phone: arpabet_to_viseme(name) for phone, name in RUSSIAN_TO_ARPABET.items()}
    # hard and soft consonants (the soft one doubled) share the lips and tongue tip
    for soft in ("pp", "bb", "mm", "ff", "vv", "tt", "dd", "kk", "gg", "ss", "zz", "nn", "ll",
                 "rr", "hh"):  # fmt: skip
        assert visemes[soft] == visemes[soft[0]], soft
    assert {p for p, v in visemes.items() if v == "PP"} == {"p", "pp", "b", "bb", "m", "mm"}
    assert visemes["oo"] == "oh" and visemes["u"] == "ou" and visemes["yy"] == "ih"
    assert visemes["pau"] == "sil"


def test_a_debian_packages_data_archive_is_read_without_dpkg(tmp_path) -> None:
    import io
    import tarfile

    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:xz") as archive:
        member = tarfile.TarInfo("./usr/share/x.lab")
        member.size = 5
        archive.addfile(member, io.BytesIO(b"hello"))

    def ar_member(name: str, body: bytes) -> bytes:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(body):<10}`\n".encode()
        return header + body + b"\n" * (len(body) % 2)

    deb = tmp_path / "x_1_all.deb"
    deb.write_bytes(
        b"!<arch>\n"
        + ar_member("debian-binary", b"2.0\n")
        + ar_member("control.tar.xz", b"odd")  # odd size: padded to an even length
        + ar_member("data.tar.xz", data.getvalue())
    )
    with open_package(deb) as archive:
        assert archive.extractfile("./usr/share/x.lab").read() == b"hello"  # type: ignore[union-attr]
    (tmp_path / "bad.deb").write_bytes(b"!<arch>\n" + ar_member("debian-binary", b"2.0\n"))
    with pytest.raises(GiocondaError, match=r"no data\.tar"):
        open_package(tmp_path / "bad.deb")


def test_labels_are_checked_against_the_audio() -> None:
    second = LABEL_UNITS_PER_S
    labels = [(0, second // 2, "h#"), (second // 2, second + second // 200, "aa")]
    # 5 ms past the end of a 1 s recording: cut at the end
    assert checked_labels(labels, 1.0, "x")[-1] == (second // 2, second, "aa")
    with pytest.raises(GiocondaError, match="after the audio"):
        checked_labels(labels, 0.9, "x")
    with pytest.raises(GiocondaError, match="overlap"):
        checked_labels([(0, 10, "aa"), (5, 20, "b")], 1.0, "x")
    with pytest.raises(GiocondaError, match="no viseme"):
        checked_labels([(0, 10, "xq")], 1.0, "x")


def test_sources_are_pinned_and_distinct() -> None:
    assert len({s.folder for s in SOURCES}) == len(SOURCES)
    for source in SOURCES:
        assert len(source.sha256) == 64 and int(source.sha256, 16) >= 0
        assert len(source.language) == 2 and source.language.islower()
        assert source.registry in ("pypi", "debian")
        pin = "=" if source.registry == "debian" else "=="  # apt's and pip's way to pin
        assert f"package: {source.package}{pin}{source.version} (" in source.source_text()
        for recording in source.recordings:
            # every member lies in the sdist's folder or under a .deb's ./usr, and its format
            # has a reader
            root = "./usr/" if source.registry == "debian" else source.package.replace("-", "_")
            assert recording.wav_member.startswith(root)
            assert recording.label_format in (*LABEL_READERS, *TEXTGRID_READERS)


# ------------------------------------------------------------------------------------------------
# Folders of recordings in the evaluation
# ------------------------------------------------------------------------------------------------


def write_recording(folder: Path, name: str, rate: int = 16000) -> None:
    """A 1.2 s vowel-like buzz around a 'b' closure, and its labels in our format."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(1.2 * rate)) / rate
    signal = 0.3 * np.sin(2 * np.pi * 140 * t) * np.sin(2 * np.pi * 2 * t) ** 2
    signal[(t < 0.2) | (t > 1.0) | ((t > 0.55) & (t < 0.65))] = 0.0
    with wave.open(str(folder / f"{name}.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((signal * 32767).astype("<i2").tobytes())
    (folder / f"{name}.lab").write_text(
        "0 2000000 h#\n2000000 5500000 aa\n5500000 6500000 b\n6500000 10000000 aa\n"
        "10000000 12000000 h#\n"
    )


def test_a_folder_of_folders_gives_a_group_per_folder_in_its_language(tmp_path) -> None:
    root = tmp_path / "voices"
    write_recording(root / "kyoko", "one", rate=48000)
    write_recording(root / "kyoko", "two")
    (root / "kyoko" / "LANGUAGE").write_text("ja\n")
    write_recording(root / "slt", "three")  # no LANGUAGE file: English
    (root / "empty").mkdir()
    (root / "notes.txt").write_text("not a recording")
    utterances = recorded_utterances(root)
    assert [(u.group, u.language, Path(u.recording).name) for u in utterances] == [
        ("recorded kyoko", "ja", "one.wav"),
        ("recorded kyoko", "ja", "two.wav"),
        ("recorded slt", "en", "three.wav"),
    ]
    assert len({u.key for u in utterances}) == 3
    # a folder of recordings itself is one group, named after it
    flat = recorded_utterances(root / "slt")
    assert [(u.group, u.language) for u in flat] == [("recorded slt", "en")]
    assert read_phone_labels(root / "slt" / "three.lab")[2].viseme == "PP"


def test_a_stops_release_and_an_affricates_closure_take_the_whole_phones_viseme(tmp_path) -> None:
    # The hand-labelled speaker's convention: "it is" as ih t hh ih z (the /t/'s aspiration
    # apart), "chill" as t sh ih l; "taped her" keeps the /p/'s release open and the /h/
    # after a pause its own viseme.
    phones = ["h#", "ih", "t", "hh", "ih", "z", "t", "sh", "ih", "l", "ey", "p", "hh", "er",
              "h#", "hh", "ih", "d", "zh"]  # fmt: skip
    lines = [f"{i * 500000} {(i + 1) * 500000} {phone}" for i, phone in enumerate(phones)]
    (tmp_path / "one.lab").write_text("\n".join(lines) + "\n")
    visemes = [p.viseme for p in read_phone_labels(tmp_path / "one.lab")]
    assert visemes == ["sil", "ih", "DD", "DD", "ih", "SS", "CH", "CH", "ih", "nn", "E", "PP",
                       "kk", "RR", "sil", "kk", "ih", "CH", "CH"]  # fmt: skip


def test_bad_folders_of_recordings_are_one_clear_error(tmp_path) -> None:
    with pytest.raises(GiocondaError, match="does not exist"):
        recorded_utterances(tmp_path / "missing")
    (tmp_path / "nothing" / "deeper").mkdir(parents=True)
    with pytest.raises(GiocondaError, match=r"NAME\.lab"):
        recorded_utterances(tmp_path / "nothing")
    write_recording(tmp_path / "bad" / "voice", "one")
    (tmp_path / "bad" / "voice" / "LANGUAGE").write_text("Japanese\n")
    with pytest.raises(GiocondaError, match="ISO 639-1"):
        recorded_utterances(tmp_path / "bad")
    write_recording(tmp_path / "malformed", "one")
    (tmp_path / "malformed" / "one.lab").write_text("0 100 h#\n100 50 aa\n")
    with pytest.raises(GiocondaError, match="overlap or run backwards"):
        recorded_utterances(tmp_path / "malformed")


def test_real_speech_given_twice_reads_both_and_refuses_a_name_twice(tmp_path, capsys) -> None:
    write_recording(tmp_path / "a" / "speech", "one")
    write_recording(tmp_path / "b" / "speech", "two")
    # the second folder is read too: its missing labels are reported before any work
    code = main(["eval", "lipsync", "--quick", "--real-speech", str(tmp_path / "a" / "speech"),
                 "--real-speech", str(tmp_path / "missing")])  # fmt: skip
    assert code == 2 and "missing does not exist" in capsys.readouterr().err
    # two folders of the same name would pool into one group of rows
    code = main(["eval", "lipsync", "--quick", "--real-speech", str(tmp_path / "a" / "speech"),
                 "--real-speech", str(tmp_path / "b" / "speech")])  # fmt: skip
    error = capsys.readouterr().err
    assert code == 2 and "'recorded speech'" in error and error.count("\n") == 1
    assert LipSyncEvalOptions(real_speech="x").real_speech == ("x",)


@pytest.mark.slow
def test_each_folder_is_its_own_rows_and_english_only_methods_skip_japanese(tmp_path) -> None:
    write_recording(tmp_path / "set" / "kyoko", "one")
    (tmp_path / "set" / "kyoko" / "LANGUAGE").write_text("ja\n")
    write_recording(tmp_path / "alone", "two")
    options = LipSyncEvalOptions(
        quick=True,
        speech_sources=("espeak",),
        methods=("pocketsphinx", "tts"),
        real_speech=(str(tmp_path / "set"), str(tmp_path / "alone")),
    )
    report = evaluate_lipsync(options)
    rows = {(r.group, r.method): r for r in report.rows}
    groups = list(dict.fromkeys(r.group for r in report.rows))
    assert groups[-2:] == ["recorded kyoko", "recorded alone"]
    assert rows[("recorded kyoko", "pocketsphinx")].utterances == 0  # n/a: Japanese
    assert rows[("recorded alone", "pocketsphinx")].utterances == 1
    for group in ("recorded kyoko", "recorded alone"):
        tts = rows[(group, "tts")]
        assert tts.utterances == 1 and tts.viseme_accuracy == 1.0
    from gioconda.eval.lipsync_report import format_table

    table = format_table(report)
    assert "recorded kyoko 1 (ja), recorded alone 1 (en)" in table
    assert "| recorded kyoko | pocketsphinx | 0 | n/a |" in table
