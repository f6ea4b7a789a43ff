"""MediaPipe's native code logs to the process's stderr: keep it quiet unless asked
(``GIOCONDA_NATIVE_LOGS=1``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def python_only_stderr() -> Iterator[None]:
    """For a whole command: native code's stderr (fd 2) goes to /dev/null, while Python's
    ``sys.stderr`` (progress bars, error messages) writes to the real stderr.

    MediaPipe's threads log asynchronously, after the calls that
    :func:`native_stderr_silenced` wraps have returned, so only a command-wide redirect
    catches every line. Set GIOCONDA_NATIVE_LOGS=1 to see them.
    """
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced, e.g. under capture
        yield
        return
    if os.environ.get("GIOCONDA_NATIVE_LOGS") == "1":
        yield
        return
    original = sys.stderr
    original.flush()
    sys.stderr = open(os.dup(_NATIVE_STDERR), "w", buffering=1, encoding=original.encoding)
    try:
        with native_stderr_silenced():
            yield
    finally:
        sys.stderr.close()
        sys.stderr = original


#: The file descriptor native libraries write their logs to.
_NATIVE_STDERR = 2


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Send what native code writes to stderr (MediaPipe's glog and TFLite chatter) to
    /dev/null while the models run; Python's own errors are raised, not printed, meanwhile.

    Set GIOCONDA_NATIVE_LOGS=1 to see them.
    """
    if os.environ.get("GIOCONDA_NATIVE_LOGS") == "1":
        yield
        return
    sys.stderr.flush()
    saved = os.dup(_NATIVE_STDERR)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), _NATIVE_STDERR)
        yield
    finally:
        os.dup2(saved, _NATIVE_STDERR)
        os.close(saved)
