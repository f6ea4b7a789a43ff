"""Train the viseme network on the shards made by make_data.py; export NumPy weights.

    python training/train.py --data training/data --out gioconda/assets/visemenet.npz

CPU only (PyTorch CPU build, the `train` extra). Prints frame accuracy on the validation
split as it goes and keeps the best epoch.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import itertools

from model import VisemeNetTorch

from gioconda.speech.audio import normalize_features
from gioconda.speech.visemes import VISEMES

WINDOW = 400  # 4 s of 10 ms frames per training example


def load_recordings(folder: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Recordings with hand-made labels (``NAME.wav`` + ``NAME.lab``) as features and labels.

    Only watched during training (``--watch``): never trained on, never used to choose epochs.
    """
    from gioconda.eval.speech_sets import read_phone_labels, recorded_utterances
    from gioconda.speech.align import visemes_at
    from gioconda.speech.audio import load_audio, log_mel, resample
    from gioconda.timeline import ANALYSIS_SAMPLE_RATE, FEATURE_HOP_S

    feats, labels = [], []
    for utterance in recorded_utterances(folder):
        wav = Path(utterance.recording)
        audio = resample(load_audio(wav), ANALYSIS_SAMPLE_RATE)
        f = normalize_features(log_mel(audio))
        truth = read_phone_labels(wav.with_suffix(".lab"))
        feats.append(f.astype(np.float32))
        # As make_data labels its hops: the phone at the hop's centre, i * FEATURE_HOP_S.
        labels.append(visemes_at(truth, np.arange(len(f)) * FEATURE_HOP_S).astype(np.int64))
    return feats, labels


def load_split(sources: list[str], split: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-utterance normalized features and labels of one split, from every data folder.

    A source is ``FOLDER`` or ``FOLDER:N``: its training utterances count N times (to weigh a
    small set, such as the slow neural voice's, against a large one).
    """
    feats, labels = [], []
    for source in sources:
        folder, _, repeat = source.partition(":")
        times = int(repeat or 1) if split == "train" else 1
        f, y = _load_folder(Path(folder), split)
        feats += f * times
        labels += y * times
    if not feats:
        raise SystemExit(f"no {split} shards in {sources}: run training/make_data.py first")
    return feats, labels


def _load_folder(data: Path, split: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    feats, labels = [], []
    for path in sorted(glob.glob(str(data / f"{split}-*.npz"))):
        with np.load(path, allow_pickle=True) as shard:
            f, y, offsets = shard["features"], shard["labels"], shard["offsets"]
        for a, b in itertools.pairwise(offsets):
            if b - a < 20:
                continue
            feats.append(normalize_features(f[a:b].astype(np.float32)))
            labels.append(y[a:b].astype(np.int64))
    return feats, labels


def batches(feats, labels, batch_size: int, rng: np.random.Generator):
    """Random 4 s windows, utterances concatenated so windows cross utterance boundaries."""
    stream_f = np.concatenate(feats)
    stream_y = np.concatenate(labels)
    n = len(stream_f) - WINDOW
    for _ in range(max(1, len(stream_f) // (WINDOW * batch_size))):
        starts = rng.integers(0, n, batch_size)
        idx = starts[:, None] + np.arange(WINDOW)[None, :]
        yield torch.from_numpy(stream_f[idx]), torch.from_numpy(stream_y[idx])


def warp_bands(x: torch.Tensor, amount: float, rng: np.random.Generator) -> torch.Tensor:
    """Stretch or squeeze each example's mel axis by a random factor within 1 +- ``amount``.

    A longer or shorter vocal tract scales every formant by about the same factor; on the
    mel axis that is close to a stretch. The five Kokoro voices and eSpeak's formant sets
    sample few vocal tracts; warping fills in the speakers between and beyond them.
    """
    bands = x.shape[2]
    factor = rng.uniform(1.0 - amount, 1.0 + amount, x.shape[0])
    position = np.clip(np.arange(bands)[None, :] / factor[:, None], 0, bands - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, bands - 1)
    frac = torch.from_numpy((position - low).astype(np.float32))[:, None, :]
    low_t = torch.from_numpy(low)[:, None, :].expand(-1, x.shape[1], -1)
    high_t = torch.from_numpy(high)[:, None, :].expand(-1, x.shape[1], -1)
    return torch.gather(x, 2, low_t) * (1 - frac) + torch.gather(x, 2, high_t) * frac


def mask_bands(x: torch.Tensor, masks: int, rng: np.random.Generator) -> torch.Tensor:
    """Blank up to ``masks`` random runs of 1-5 bands per example (SpecAugment's frequency
    masks): no single band, such as a synthesizer's telltale one, may decide a viseme."""
    x = x.clone()
    for b in range(x.shape[0]):
        for _ in range(int(rng.integers(0, masks + 1))):
            width = int(rng.integers(1, 6))
            start = int(rng.integers(0, x.shape[2] - width + 1))
            x[b, :, start : start + width] = 0.0
    return x


@torch.no_grad()
def accuracy(model, feats, labels) -> float:
    model.eval()
    right = total = 0
    for f, y in zip(feats, labels, strict=True):
        pred = model(torch.from_numpy(f)[None]).argmax(-1)[0].numpy()
        right += int((pred == y).sum())
        total += len(y)
    model.train()
    return right / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data",
        nargs="+",
        default=["training/data"],
        help="data folders (FOLDER or FOLDER:N to repeat its training utterances)",
    )
    parser.add_argument("--init", type=Path, help="start from these weights (fine-tuning)")
    parser.add_argument("--out", type=Path, default=Path("gioconda/assets/visemenet.npz"))
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--warp", type=float, default=0.0, help="mel-axis stretch, 1 +- this (0: none)"
    )
    parser.add_argument(
        "--band-masks", type=int, default=0, help="up to this many masked band runs per example"
    )
    parser.add_argument(
        "--watch",
        type=Path,
        help="recordings with hand-made labels (NAME.wav + NAME.lab) whose accuracy is printed "
        "every epoch, for information: never trained on, never used to pick the epoch",
    )
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train_f, train_y = load_split(args.data, "train")
    # Each data folder's validation split is scored on its own and the epoch is chosen by their
    # mean, so a small natural-voice set weighs as much as a large robotic one.
    valid_sets = {source: load_split([source.partition(":")[0]], "valid") for source in args.data}
    watch = load_recordings(args.watch) if args.watch else None
    counts = np.bincount(np.concatenate(train_y), minlength=len(VISEMES)).astype(np.float64)
    # Rare classes (the closures) count more, but not so much that silence is ignored.
    weights = (counts.sum() / np.maximum(counts, 1)) ** 0.5
    weights /= (weights * counts).sum() / counts.sum()
    print(
        f"train frames {int(counts.sum())}, valid utterances "
        + ", ".join(f"{name} {len(f)}" for name, (f, _) in valid_sets.items()),
        file=sys.stderr,
    )

    model = VisemeNetTorch()
    if args.init is not None:
        with np.load(args.init) as start:
            model.load_state_dict({k: torch.from_numpy(start[k]) for k in start.files})
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-2)
    steps_per_epoch = max(1, int(counts.sum()) // (WINDOW * args.batch))
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, args.lr, total_steps=args.epochs * steps_per_epoch, pct_start=0.1
    )
    loss_fn = torch.nn.CrossEntropyLoss(
        weight=torch.tensor(weights, dtype=torch.float32), label_smoothing=0.05
    )
    best, best_state, log = -1.0, None, []
    start = time.time()
    for epoch in range(args.epochs):
        total = 0.0
        for step, (x, y) in enumerate(batches(train_f, train_y, args.batch, rng)):
            if step >= steps_per_epoch:
                break
            # Random gain and spectral tilt on top of the data's own augmentation.
            x = x + torch.randn(x.shape[0], 1, x.shape[2]) * 0.3
            if args.warp > 0:
                x = warp_bands(x, args.warp, rng)
            if args.band_masks > 0:
                x = mask_bands(x, args.band_masks, rng)
            logits = model(x)
            loss = loss_fn(logits.reshape(-1, len(VISEMES)), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += loss.item()
        per_source = {name: accuracy(model, f, y) for name, (f, y) in valid_sets.items()}
        acc = float(np.mean(list(per_source.values())))
        entry = {"epoch": epoch, "loss": total / steps_per_epoch, "valid_accuracy": acc,
                 "valid_accuracy_by_data": per_source}  # fmt: skip
        if watch is not None:
            entry["watched_accuracy"] = accuracy(model, *watch)
        log.append(entry)
        print(f"epoch {epoch:2d} loss {total / steps_per_epoch:.3f} valid acc {acc:.3f} "
              + " ".join(f"{k}={v:.3f}" for k, v in per_source.items())
              + (f" watched {entry['watched_accuracy']:.3f}" if watch is not None else "")
              + f" ({time.time() - start:.0f} s)", file=sys.stderr)  # fmt: skip
        if acc > best:
            best = acc
            best_state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **best_state)
    (args.out.with_suffix(".json")).write_text(
        json.dumps(
            {
                "command": ["training/train.py", *sys.argv[1:]],
                "best_valid_accuracy": best,
                "epochs": log,
                "train_seconds": time.time() - start,
            },
            indent=1,
        )
    )
    print(f"best valid accuracy {best:.3f}; wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
