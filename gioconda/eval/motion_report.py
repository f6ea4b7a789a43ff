"""The motion evaluation's report: its rows, the table and the files it writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from gioconda.errors import GiocondaError

FPS = 25.0


@dataclass(frozen=True)
class Row:
    """One line of the table: section, metric, measured value, what to compare it with."""

    section: str
    metric: str
    value: str
    reference: str = ""


@dataclass
class MotionReport:
    rows: list[Row] = field(default_factory=list)
    contact_sheet: np.ndarray | None = None
    clip_s: float = 0.0

    def add(self, section: str, metric: str, value: str, reference: str = "") -> None:
        self.rows.append(Row(section, metric, value, reference))


def _fmt(x: float, digits: int = 2) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.{digits}f}"


def format_table(report: MotionReport) -> str:
    """The report as one Markdown table."""
    lines = [
        f"Motion on {report.clip_s / 60:.1f} min of eSpeak NG speech; controls re-detected by "
        "MediaPipe on rendered frames.",
        "",
        "| section | metric | value | compare with |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r.section} | {r.metric} | {r.value} | {r.reference} |" for r in report.rows]
    return "\n".join(lines)


def write_report(report: MotionReport, out_dir: str | Path) -> list[Path]:
    """Write motion_eval.md and motion_controls.png into ``out_dir``; returns their paths."""
    from gioconda.output.files import check_writable

    out = Path(out_dir)
    if not out.is_dir():
        raise GiocondaError(f"output folder does not exist: {out}")
    table = out / "motion_eval.md"
    check_writable(table)
    table.write_text(format_table(report) + "\n", encoding="utf-8")
    paths = [table]
    if report.contact_sheet is not None:
        sheet = out / "motion_controls.png"
        check_writable(sheet)
        cv2.imwrite(str(sheet), cv2.cvtColor(report.contact_sheet, cv2.COLOR_RGB2BGR))
        paths.append(sheet)
    return paths
