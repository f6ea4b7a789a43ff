"""The lip-sync evaluation's table, JSON report and contact sheet."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from gioconda.errors import GiocondaError
from gioconda.eval.lipsync import (
    _HEADER_H,
    _NAME_W,
    _TILE,
    ContactSheet,
    LipSyncReport,
    MethodScores,
)
from gioconda.eval.lipsync_metrics import (
    CLOSED_GAP_FLOOR,
    CLOSED_LIP_GAP,
    CLOSED_MOUTH_CLOSE,
    LIP_GAP_HYSTERESIS,
    MAX_LAG_S,
    MIN_CLOSURE_S,
    MIN_OPEN_VOWEL_S,
    OPENED_LIP_GAP,
    REFERENCE_APERTURE,
    REFERENCE_HYSTERESIS,
    REFERENCE_SMOOTHING_S,
)
from gioconda.eval.speech_sets import OTHER_LANGUAGES, Utterance

TABLE_COLUMNS: tuple[str, ...] = (
    "speech", "method", "utts", "viseme acc (speech)", "closure recall (precision)",
    "open/closed (gaps)", "A/V offset ms (within 1 frame)", "chatter /s (reference)",
)  # fmt: skip


NA = "n/a"


def _cells(row: MethodScores) -> list[str]:
    if row.utterances == 0:
        return [row.group, row.method, "0", *([NA] * (len(TABLE_COLUMNS) - 3))]

    def num(value: float | None, fmt: str) -> str:
        return NA if value is None else format(value, fmt)

    accuracy = NA
    if row.viseme_accuracy is not None:
        accuracy = f"{row.viseme_accuracy:.2f} ({num(row.speech_viseme_accuracy, '.2f')})"
    recall = NA
    if row.closure_recall is not None:
        recall = f"{row.closure_recall:.2f} of {row.closures} ({num(row.closure_precision, '.2f')})"
    aperture = NA
    if row.aperture_ratio is not None:
        aperture = f"{row.aperture_ratio:.1f} ({row.open_gap:.3f}/{row.closed_gap:.3f})"
    offset = NA
    if row.offset_ms is not None:
        offset = f"{row.offset_ms:+.0f} ({row.within_frame:.0%})"
    chatter = f"{row.chatter_per_s:.1f} ({row.reference_chatter_per_s:.1f})"
    return [row.group, row.method, str(row.utterances), accuracy, recall, aperture, offset, chatter]


def format_table(report: LipSyncReport) -> str:
    """The report as one Markdown table with a few lines of context under it."""
    lines = [
        "| " + " | ".join(TABLE_COLUMNS) + " |",
        "|" + "|".join("---" for _ in TABLE_COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in report.rows]
    options = report.options
    synthesized = [u for u in report.utterances if u.recording is None]
    n_en = sum(u.language == "en" for u in synthesized)
    n_recorded = len(report.utterances) - len(synthesized)
    recorded_groups: dict[str, list[Utterance]] = {}
    for utterance in report.utterances:
        if utterance.recording is not None:
            recorded_groups.setdefault(utterance.group, []).append(utterance)
    faces = [r.face_found for r in report.rows if r.face_found is not None]
    speeds: dict[str, float] = {}
    for row in report.rows:
        if row.estimate_rtf is not None and row.method not in ("loudness", "tts"):
            speeds.setdefault(row.method, row.estimate_rtf)
    lines += [
        "",
        f"{len(synthesized)} held-out utterances ({n_en} English, "
        f"{len(synthesized) - n_en} in {OTHER_LANGUAGES}), seed {options.seed}, "
        f"{options.size} px at {options.fps:g} fps, speech: {', '.join(options.speech_sources)}"
        + (
            f"; {n_recorded} recordings with phone labels (hand-made or forced-aligned, as each "
            f"folder's source says) from {', '.join(options.real_speech)}: "
            + ", ".join(
                f"{group} {len(group_utterances)} ({group_utterances[0].language})"
                for group, group_utterances in recorded_groups.items()
            )
            + " (tts row: the labels)"
            if n_recorded
            else ""
        ),
        f"network weights: {report.network}",
        f"pocketsphinx and combined: English only (n/a elsewhere); closure: MouthClose >= "
        f"{CLOSED_MOUTH_CLOSE:g} and lip gap < {CLOSED_LIP_GAP:g} mouth widths at the middle "
        f"of each /p b m/ >= {MIN_CLOSURE_S * 1000:.0f} ms",
        "seconds per second of audio to find phones: "
        + ", ".join(f"{name} {rtf:.3f}" for name, rtf in speeds.items())
        + " (combined: word decoding and alignment, on top of the network)",
        f"MediaPipe found the face in {min(faces, default=0.0):.1%} of frames (worst row); "
        f"wall time {report.wall_s:.0f} s",
    ]
    return "\n".join(lines)


def report_json(report: LipSyncReport) -> dict[str, object]:
    """The report as plain data: settings, rows, per-clip scores, utterances."""

    def clean(value: object) -> object:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, np.ndarray):
            return [clean(float(v)) for v in value]
        return value

    def plain(obj: object) -> dict[str, object]:
        return {k: clean(v) for k, v in obj.__dict__.items()}

    options = report.options
    return {
        "options": {
            **plain(options),
            "speech_sources": list(options.speech_sources),
            "methods": list(options.methods),
        },
        "network": report.network,
        "wall_s": round(report.wall_s, 1),
        "thresholds": {
            "min_closure_s": MIN_CLOSURE_S,
            "closed_mouth_close": CLOSED_MOUTH_CLOSE,
            "closed_lip_gap": CLOSED_LIP_GAP,
            "min_open_vowel_s": MIN_OPEN_VOWEL_S,
            "closed_gap_floor": CLOSED_GAP_FLOOR,
            "opened_lip_gap": OPENED_LIP_GAP,
            "reference_aperture": REFERENCE_APERTURE,
            "reference_smoothing_s": REFERENCE_SMOOTHING_S,
            "max_lag_s": MAX_LAG_S,
            "lip_gap_hysteresis": LIP_GAP_HYSTERESIS,
            "reference_hysteresis": REFERENCE_HYSTERESIS,
        },
        "rows": [plain(row) for row in report.rows],
        "clips": [plain(clip) for clip in report.clips],
        "utterances": [plain(u) for u in report.utterances],
    }


def prepare_out_dir(out_dir: str | os.PathLike[str]) -> Path:
    """Create ``out_dir`` if needed and check that it can be written, before a long run."""
    path = Path(out_dir)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".gioconda-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise GiocondaError(f"cannot write to {path}: {error.strerror or error}") from None
    return path


def write_report(report: LipSyncReport, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``lipsync.md``, ``lipsync.json`` and (when there are frames) ``lipsync_contact.png``.

    Returns the paths written.
    """
    folder = prepare_out_dir(out_dir)
    written = [folder / "lipsync.md", folder / "lipsync.json"]
    written[0].write_text("# Lip sync\n\n" + format_table(report) + "\n", encoding="utf-8")
    written[1].write_text(json.dumps(report_json(report), indent=1, ensure_ascii=False) + "\n",
                          encoding="utf-8")  # fmt: skip
    if report.sheet is not None and report.sheet.frames:
        from PIL import Image

        path = folder / "lipsync_contact.png"
        Image.fromarray(contact_sheet_image(report.sheet)).save(path)
        written.append(path)
    return written


def contact_sheet_image(sheet: ContactSheet) -> np.ndarray:
    """A grid of mouths: a row per method, a column per chosen frame, labelled. RGB uint8."""
    import cv2

    methods = list(sheet.frames)
    columns = len(sheet.labels)
    image = np.full((_HEADER_H + _TILE * len(methods), _NAME_W + _TILE * columns, 3), 255, np.uint8)
    x0, y0, side = sheet.mouth_box
    font = cv2.FONT_HERSHEY_SIMPLEX
    for c, label in enumerate(sheet.labels):
        cv2.putText(image, label, (_NAME_W + c * _TILE + 6, 16), font, 0.42, (0, 0, 0), 1,
                    cv2.LINE_AA)  # fmt: skip
    for r, method in enumerate(methods):
        top = _HEADER_H + r * _TILE
        cv2.putText(image, method, (6, top + _TILE // 2 + 5), font, 0.5, (0, 0, 0), 1,
                    cv2.LINE_AA)  # fmt: skip
        for c, frame in enumerate(sheet.frames[method]):
            padded = np.pad(frame, ((side, side), (side, side), (0, 0)), mode="edge")
            crop = padded[y0 + side : y0 + 2 * side, x0 + side : x0 + 2 * side]
            tile = cv2.resize(crop, (_TILE, _TILE), interpolation=cv2.INTER_AREA)
            left = _NAME_W + c * _TILE
            image[top : top + _TILE, left : left + _TILE] = tile
    return image
