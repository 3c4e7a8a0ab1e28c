"""Shared fixtures: every test gets its own data directory; fakes come in through the real factories."""

from __future__ import annotations

import contextlib
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# Tests assert behaviour, never speed (speed lives in bench/): no per-example deadline, which a loaded CI machine
# or a cold import would otherwise turn into a flaky failure.
settings.register_profile("qa", deadline=None)
settings.load_profile("qa")

ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"
STATE_DEPT = SHARED_CORPUS / "state-dept-2021-2022" / "articles"
SEED = ROOT / "corpus"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def qa_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point QA_HOME at a fresh folder and clear other QA_* settings, so no test sees the user's index."""
    for key in list(os.environ):
        if key.startswith("QA_") and key not in ("QA_CACHE",):
            monkeypatch.delenv(key)
    home = tmp_path / "qa-home"
    monkeypatch.setenv("QA_HOME", str(home))
    return home


@pytest.fixture
def fake_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake embeddings and generator, selected through the same settings users use."""
    monkeypatch.setenv("QA_EMBEDDINGS", "fake")
    monkeypatch.setenv("QA_LLM", "fake")


def need_state_dept() -> None:
    """Skip (in a user's clone) or fail (in CI, QA_CI=1) when ../shared/corpus is absent."""
    if STATE_DEPT.is_dir():
        return
    if os.environ.get("CI_REQUIRE_SHARED"):
        pytest.fail(f"CI needs the State Department corpus at {STATE_DEPT}")
    pytest.skip(f"needs ../shared/corpus/state-dept-2021-2022 (not in a user's clone): {STATE_DEPT} is absent")


@contextlib.contextmanager
def json_server(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A stub HTTP server on a free local port, serving `handler` in a thread: yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
