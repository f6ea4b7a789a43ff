"""Progress bars on stderr for the stages of long work (a :data:`gioconda.progress.Progress`)."""

from __future__ import annotations

import sys
from typing import Any


class ProgressBars:
    """tqdm bars on stderr, one per stage, shown only for work that takes over a second.

    When stderr is not a terminal (a log file, a CI job, a pipe), a bar's carriage returns
    would pile up as hundreds of partial lines: each stage gets whole lines instead, at every
    quarter of the way (``gioconda: render 50% (265/530)``), and a first line when the stage
    says it has started (reported at 0: ``gioconda: bench render alone ... 0% (0/3)``) so a
    log shows what a long step is doing before its first quarter.
    """

    #: Shares of a stage at which a log line is written when stderr is not a terminal.
    LOG_STEPS = (0.25, 0.5, 0.75, 1.0)

    def __init__(self, quiet: bool, terminal: bool | None = None) -> None:
        self.quiet = quiet
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.bars: dict[str, Any] = {}
        self.logged: dict[str, int] = {}  # stage -> LOG_STEPS already written

    def _log(self, stage: str, done: int, total: int) -> None:
        if done == 0 and stage not in self.logged:
            self.logged[stage] = 0
            print(f"gioconda: {stage} 0% (0/{total})", file=sys.stderr, flush=True)
            return
        written = self.logged.get(stage, 0)
        reached = sum(done >= step * total for step in self.LOG_STEPS)
        if reached > written:
            self.logged[stage] = reached
            share = 100 * done // max(total, 1)
            print(f"gioconda: {stage} {share}% ({done}/{total})", file=sys.stderr, flush=True)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if not self.terminal:
            self._log(stage, done, total)
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            unit = {"render": "frame", "track": "frame", "recognition": "s"}.get(stage, "step")
            bar = tqdm(
                total=total,
                desc=stage,
                unit=unit,
                delay=1.0,
                file=sys.stderr,
                leave=False,
                dynamic_ncols=True,
            )
            self.bars[stage] = bar
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
