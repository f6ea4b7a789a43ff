"""Progress bars on stderr for the stages of long work (a :data:`gioconda.progress.Progress`)."""

from __future__ import annotations

import sys
from typing import Any


class ProgressBars:
    """tqdm bars on stderr, one per stage, shown only for work that takes over a second."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            unit = "frame" if stage == "render" else "step"
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
