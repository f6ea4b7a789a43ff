"""A client that reads slowly, over a real socket: its old frames are dropped, not queued, and
a client beside it that keeps up is unaffected."""

from __future__ import annotations

import json
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from websockets.sync.client import ClientConnection, connect

from gioconda.live.worker import SEND_CREDITS
from gioconda.serve.app import ACK

FRAMES_UNREAD = 75  # 3 s at 25 fps


@contextmanager
def open_session(url: str) -> Iterator[ClientConnection]:
    """A live session that acks each frame it reads, as the page acks each frame it draws;
    closed on leaving the block."""
    # The client library reads ahead into a queue of its own: keep that small, and send no
    # pings (their answers would wait behind the frames the slow client leaves unread).
    with connect(
        url.replace("http://", "ws://") + "/api/live",
        max_size=None,
        max_queue=2,
        ping_interval=None,
    ) as ws:
        ws.send(json.dumps({"type": "start", "sample_rate": 16000, "acks": True}))
        assert json.loads(ws.recv(timeout=60))["type"] == "ready"
        yield ws


def stats_of(ws: ClientConnection) -> tuple[dict, list[int]]:
    """Ask for the session's stats; returns them and the indices of the frames before them."""
    ws.send('{"type": "stats"}')
    indices = []
    while True:
        message = ws.recv(timeout=30)
        if isinstance(message, bytes):
            if message[0] == 1:
                indices.append(struct.unpack_from("<I", message, 1)[0])
                ws.send(ACK)
            continue
        reply = json.loads(message)
        if reply["type"] == "stats":
            return reply, indices


def test_a_slow_client_gets_new_frames_not_a_queue(live_server) -> None:
    url, app = live_server
    with open_session(url) as slow, open_session(url) as normal:
        # Each session in a worker process of its own.
        assert app.state.workers.counts()["busy"] == 2
        normal_frames: list[int] = []
        stop = threading.Event()

        def keep_up() -> None:
            while not stop.is_set():
                message = normal.recv(timeout=30)
                if isinstance(message, bytes) and message[0] == 1:
                    normal_frames.append(struct.unpack_from("<I", message, 1)[0])
                    normal.send(ACK)

        reader = threading.Thread(target=keep_up, daemon=True)
        reader.start()
        # The slow client reads nothing while the one beside it gets FRAMES_UNREAD frames (a
        # busy machine takes longer; what is checked does not depend on its speed).
        end = time.monotonic() + 60
        while len(normal_frames) < FRAMES_UNREAD and time.monotonic() < end:
            time.sleep(0.05)
        stop.set()
        reader.join(30)
        slow_stats, waiting = stats_of(slow)
        # The frames that had piled up for it are a few, not all that were due ...
        assert len(waiting) <= SEND_CREDITS, (waiting, slow_stats)
        # ... its session stopped drawing what it could not take ...
        assert slow_stats["frames_skipped_consumer"] >= FRAMES_UNREAD / 4, slow_stats
        # ... and once it reads again, it gets the newest frames, not old ones.
        due_index = slow_stats["frames"]  # frames made so far
        fresh = next(
            struct.unpack_from("<I", m, 1)[0]
            for m in iter(lambda: slow.recv(timeout=30), None)
            if isinstance(m, bytes) and m[0] == 1
        )
        assert fresh >= due_index - 3, (fresh, due_index)
        normal_stats, _ = stats_of(normal)
    # The client beside it was unaffected: it took what its session drew, and its session
    # seldom had to hold a frame back for it (a reader thread on a busy machine lags at times).
    assert len(normal_frames) >= FRAMES_UNREAD
    assert normal_stats["frames_skipped_consumer"] <= 0.25 * normal_stats["frames"], normal_stats
    print(
        f"\nslow client: {len(waiting)} frames were waiting after {FRAMES_UNREAD} unread, "
        f"{slow_stats['frames_skipped_consumer']} skipped; the client beside it got "
        f"{len(normal_frames)} frames, {normal_stats['frames_skipped_consumer']} skipped"
    )
