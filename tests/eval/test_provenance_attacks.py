"""The provenance evaluation's attacks do what their names say (sizes, lengths, pixels)."""

from __future__ import annotations

import numpy as np

from gioconda.eval.provenance_attacks import ATTACKS, decode, encode


def test_every_attack_makes_a_playable_video_of_the_promised_shape(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8).repeat(4, 0).repeat(4, 1)
    frames = [np.roll(base, i, axis=1) for i in range(100)]  # 4 s at 25 fps, 256x256
    expected = {
        "resize to 1/2 area": ((182, 182), 100),
        "rotate 2 + brighter + 1/2 area + 500 kb/s": ((182, 182), 100),
        "resize to 1/4 area": ((128, 128), 100),
        "crop 10% each side": ((204, 204), 100),
        "2x speed-up": ((256, 256), 50),
        "3 s excerpt": ((256, 256), 75),
        "crop + 1/4 area + 300 kb/s": ((102, 102), 100),
        "2x + crop + 300 kb/s": ((204, 204), 50),
    }
    for attack in ATTACKS:
        out = tmp_path / "out.mp4"
        changed = attack.change(frames, str(tmp_path / "scratch.mp4"))
        encode(changed, out, bit_rate=attack.bit_rate)
        decoded = decode(out)
        size, count = expected.get(attack.name, ((256, 256), None))
        assert decoded[0].shape[:2] == size, attack.name
        if count is not None:
            assert len(decoded) == count, attack.name
        if attack.name.startswith("mirrored"):
            assert np.abs(decoded[0].astype(int) - frames[0][:, ::-1]).mean() < 12, attack.name
        if attack.name.startswith(("brighter", "darker")):
            assert abs(float(decoded[0].mean()) - float(base.mean())) > 5, attack.name
