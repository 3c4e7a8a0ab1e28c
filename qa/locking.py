"""One ingest at a time per data directory: a lock file whose owner's death frees it (stale-lock recovery)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from qa.config import Settings
from qa.errors import QAError


@contextmanager
def ingest_lock(settings: Settings, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the ingest lock; an OS-level lock (flock) is released when its process dies, even by SIGKILL."""
    from filelock import FileLock, Timeout

    settings.home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.home / "ingest.lock"))
    try:
        lock.acquire(timeout=wait_s)
    except Timeout:
        raise QAError(f"Another `qa ingest` is running on {settings.home}",
                      "wait for it to finish (the lock frees itself if that process dies)") from None
    try:
        yield
    finally:
        lock.release()
