"""One ingest at a time per data directory: a lock file whose owner's death frees it (stale-lock recovery)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from qa.config import Settings
from qa.errors import QAError


@contextmanager
def ingest_lock(settings: Settings, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the ingest lock; an OS-level lock (flock) is released when its process dies, even by SIGKILL.

    The second `qa ingest` fails at once (naming the running one) rather than waiting: a person at a terminal
    learns why nothing happens, and a script can retry. A lock left by a killed process is free immediately.
    """
    from filelock import FileLock, Timeout

    settings.home.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.home / "ingest.lock"))
    owner = settings.home / "ingest.pid"  # who holds it, for the message; the flock alone decides
    try:
        lock.acquire(timeout=wait_s)
    except Timeout:
        try:
            pid = f" (pid {int(owner.read_text().split()[0])})"
        except (OSError, ValueError, IndexError):
            pid = ""
        raise QAError(f"Another `qa ingest`{pid} is running on {settings.home}",
                      "wait for it to finish and run this again (the lock frees itself if that process dies)"
                      ) from None
    try:
        owner.write_text(f"{os.getpid()}\n")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()
