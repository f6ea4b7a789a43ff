"""What a batch has finished, so that a rerun does only what is left.

Each finished video is recorded in ``gioconda-batch.jsonl`` in the output folder under its
output name, with the *key* of its job: a SHA-256 over the bytes of the job's photo and
recording and every setting that changes the video (text, voice, controls and keyframes,
seed, size, fps, ... and Gioconda's version). A row is skipped on a rerun only when the
manifest has its output with the same key and the file is there with the recorded size: a
changed photo, a new seed or a different voice makes it again; so does a deleted or
truncated video.

The manifest is a journal in JSON Lines: a first line naming the format, then one line per
finished video, appended (and flushed to disk) as each one is moved into place; a later line
for the same output wins. So recording a video costs one short write however long the
batch, and an interrupted batch (Ctrl-C, a crash, a lost node) keeps every line written
before it stopped; a line cut short by a hard kill is ignored (that video is made again).
An object store cannot append: there the whole manifest is uploaded again each time.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from gioconda.batch.jobs import Job
from gioconda.batch.store import OutputStore
from gioconda.errors import GiocondaError

MANIFEST_NAME = "gioconda-batch.jsonl"
MANIFEST_FORMAT = "gioconda-batch-manifest"
MANIFEST_VERSION = 1


def gioconda_version() -> str:
    try:
        return version("gioconda")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


class FileDigests:
    """SHA-256 of input files, each file read once however many rows use it."""

    def __init__(self) -> None:
        self._digests: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        digest = self._digests.get(path)
        if digest is None:
            hasher = hashlib.sha256()
            try:
                with open(path, "rb") as file:
                    for block in iter(lambda: file.read(1 << 20), b""):
                        hasher.update(block)
            except OSError as error:
                raise GiocondaError(f"cannot read {path}: {error.strerror}") from None
            digest = self._digests[path] = hasher.hexdigest()
        return digest


def job_key(job: Job, digests: FileDigests) -> str:
    """The content key of a job: same key, same video."""
    settings: dict[str, Any] = {
        "photo": digests(job.photo),
        "audio": digests(job.audio) if job.audio is not None else None,
        "text": job.text,
        "options": asdict(job.options),
        "gioconda": gioconda_version(),
    }
    if job.text is None:
        settings["options"].pop("voice")  # the voice speaks text only
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def portrait_key(job: Job, digests: FileDigests) -> str:
    """Which analysed portrait a job needs: the same photo, face and working size."""
    size = None if job.options.full_frame else job.options.size
    return f"{digests(job.photo)}:{job.options.face}:{size}"


@dataclass
class Manifest:
    """Finished outputs by name: each one's job key, size in bytes, frames and row."""

    entries: dict[str, dict[str, object]] = field(default_factory=dict)

    @classmethod
    def load(cls, store: OutputStore) -> Manifest:
        text = store.read_text(MANIFEST_NAME)
        if text is None:
            return cls()
        lines = text.splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except json.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("format") != MANIFEST_FORMAT:
            raise GiocondaError(
                f"{store.describe(MANIFEST_NAME)} is not a Gioconda batch manifest; "
                "move it away to start afresh"
            )
        entries: dict[str, dict[str, object]] = {}
        for line in lines[1:]:
            try:
                entry = json.loads(line)
                entries[entry.pop("output")] = entry
            except (json.JSONDecodeError, KeyError, AttributeError, TypeError):
                continue  # cut short by a hard kill: its video is made again
        return cls(entries)

    def is_done(self, output: str, key: str, store: OutputStore) -> bool:
        """Whether ``output`` was made from this very key and is still there, whole."""
        entry = self.entries.get(output)
        if entry is None or entry.get("key") != key:
            return False
        return store.size(output) == entry.get("bytes")

    def record(
        self, store: OutputStore, output: str, key: str, size: int, frames: int, row: int
    ) -> None:
        """Record a video moved into place, in memory and in the store's manifest."""
        entry = {"key": key, "bytes": size, "frames": frames, "row": row}
        self.entries[output] = entry
        line = json.dumps({"output": output, **entry}, separators=(",", ":"))
        if store.is_local:
            path = store.root / MANIFEST_NAME
            with open(path, "a+b") as file:
                end = file.seek(0, os.SEEK_END)
                if end == 0:
                    file.write(self._header().encode() + b"\n")
                else:
                    file.seek(end - 1)
                    if file.read(1) != b"\n":  # a line cut short: end it, so it stays alone
                        file.write(b"\n")
                file.write(line.encode() + b"\n")
                file.flush()
                os.fsync(file.fileno())
        else:
            store.write_text(MANIFEST_NAME, self.text())

    def _header(self) -> str:
        return json.dumps({"format": MANIFEST_FORMAT, "version": MANIFEST_VERSION})

    def text(self) -> str:
        """The whole manifest, one line per output."""
        lines = [self._header()]
        for output, entry in sorted(self.entries.items()):
            lines.append(json.dumps({"output": output, **entry}, separators=(",", ":")))
        return "\n".join(lines) + "\n"
