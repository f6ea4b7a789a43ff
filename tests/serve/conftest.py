"""A real server (uvicorn on a free port) shared by the tests that need a real network."""

from __future__ import annotations

import socket
import threading
import time

import pytest


@pytest.fixture(scope="session")
def live_server():
    """``(url, app)`` of a server with two live sessions at 256 pixels, both workers warm."""
    import uvicorn

    from gioconda.serve.app import ServeConfig, create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # 256 pixels: what is checked does not depend on the size, and a busy machine keeps up.
    app = create_app(ServeConfig(size=256, max_sessions=2, warm_workers=2))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(300):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(10)
    assert not app.state.work.exists()
