"""Choose the viseme network's closure threshold on the validation splits.

    python training/calibrate_closures.py --data training/data-espeak training/data-kokoro

The Viterbi path keeps a segment only if it pays for two switches, so a short /p b m/ whose
posterior is spread over neighbouring visemes (as on voices unlike the training ones) is lost;
:meth:`gioconda.visemenet.VisemePosteriors.to_phones` therefore also marks a closure wherever
the smoothed PP posterior reaches a threshold. This prints closure recall, precision and F1 on
each folder's validation split for a range of thresholds (each folder weighs the same, as in
training), so the shipped value is chosen on held-out synthetic speech, never on the real
recordings in ../shared/data.
"""

from __future__ import annotations

import argparse
import glob
import itertools
from pathlib import Path

import numpy as np

from gioconda.speech.audio import normalize_features
from gioconda.speech.visemenet import VisemeNet, VisemePosteriors, load_weights
from gioconda.speech.visemes import VISEMES

PP = VISEMES.index("PP")
MIN_CLOSURE_HOPS = 4  # true closures of at least 40 ms are scored, as in eval lipsync


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(mask.astype(np.int8), prepend=0, append=0)
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def score(path: np.ndarray, labels: np.ndarray) -> tuple[int, int, int, int]:
    """(true closures found, true closures, predicted closures that are true, predicted)."""
    truth = [r for r in runs(labels == PP) if r[1] - r[0] >= MIN_CLOSURE_HOPS]
    found = sum(path[(a + b) // 2] == PP for a, b in truth)
    predicted = runs(path == PP)
    near = np.convolve((labels == PP).astype(float), np.ones(5), "same") > 0  # within 20 ms
    right = sum(near[a:b].any() for a, b in predicted)
    return found, len(truth), right, len(predicted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", required=True)
    parser.add_argument("--thresholds", default="0,0.15,0.2,0.25,0.3,0.35,0.4,0.5")
    args = parser.parse_args()
    net = VisemeNet(load_weights())
    thresholds = [float(t) for t in args.thresholds.split(",")]
    for folder in args.data:
        posteriors, labels = [], []
        for path in sorted(glob.glob(str(Path(folder) / "valid-*.npz"))):
            with np.load(path, allow_pickle=True) as shard:
                f, y, offsets = shard["features"], shard["labels"], shard["offsets"]
            for a, b in itertools.pairwise(offsets):
                feats = normalize_features(f[a:b].astype(np.float32))
                posteriors.append(VisemePosteriors(net.forward(feats)))
                labels.append(y[a:b].astype(np.int64))
        for threshold in thresholds:
            totals = np.zeros(4)
            for post, y in zip(posteriors, labels, strict=True):
                path = post.viseme_path(closure_threshold=threshold)
                totals += score(path, y)
            recall, precision = totals[0] / totals[1], totals[2] / max(totals[3], 1)
            f1 = 2 * recall * precision / max(recall + precision, 1e-9)
            print(f"{folder} threshold {threshold:.2f}: closure recall {recall:.3f} "
                  f"precision {precision:.3f} F1 {f1:.3f} ({int(totals[1])} closures)")  # fmt: skip


if __name__ == "__main__":
    main()
