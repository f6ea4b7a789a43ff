"""What a batch has finished, so that a rerun does only what is left.

Each finished video is recorded in ``gioconda-batch.json`` in the output folder under its
output name, with the *key* of its job: a SHA-256 over the bytes of the job's photo and
recording and every setting that changes the video (text, voice, controls and keyframes,
seed, size, fps, ... and Gioconda's version). A row is skipped on a rerun only when the
manifest has its output with the same key and the file is there with the recorded size: a
changed photo, a new seed or a different voice makes it again; so does a deleted or
truncated video. The manifest is rewritten atomically after every finished video, so an
interrupted batch (Ctrl-C, a crash, a lost node) keeps everything recorded before it stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version

from gioconda.batch.jobs import Job
from gioconda.batch.store import OutputStore
from gioconda.errors import GiocondaError

MANIFEST_NAME = "gioconda-batch.json"
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
    settings = {
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
        try:
            document = json.loads(text)
            if document.get("format") != MANIFEST_FORMAT:
                raise ValueError("not a batch manifest")
            entries = dict(document["outputs"])
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise GiocondaError(
                f"{store.describe(MANIFEST_NAME)} is not a Gioconda batch manifest ({error}); "
                "move it away to start afresh"
            ) from None
        return cls(entries)

    def is_done(self, output: str, key: str, store: OutputStore) -> bool:
        """Whether ``output`` was made from this very key and is still there, whole."""
        entry = self.entries.get(output)
        if entry is None or entry.get("key") != key:
            return False
        return store.size(output) == entry.get("bytes")

    def record(self, output: str, key: str, size: int, frames: int, row: int) -> None:
        self.entries[output] = {"key": key, "bytes": size, "frames": frames, "row": row}

    def save(self, store: OutputStore) -> None:
        document = {
            "format": MANIFEST_FORMAT,
            "version": MANIFEST_VERSION,
            "outputs": dict(sorted(self.entries.items())),
        }
        store.write_text(MANIFEST_NAME, json.dumps(document, indent=1) + "\n")
