"""Real components: MiniLM from its package, Chroma on disk, the bundled GGUF. Built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.config import Settings
from tests.conftest import SEED, STATE_DEPT, need_state_dept


def _ingested(home: Path, *folders: Path) -> Settings:
    from qa.embedding import make_embeddings
    from qa.ingest import ingest
    from qa.store import open_store

    s = Settings(home=home, llm="llamacpp", embeddings="minilm")
    report = ingest(list(folders), open_store(s, make_embeddings(s)), s)
    assert not report.problems, report.problems
    return s


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The bundled corpus ingested with the real embedding model into Chroma on disk."""
    return _ingested(tmp_path_factory.mktemp("seed-home"), SEED)


@pytest.fixture(scope="session")
def seed_assistant(seed_settings: Settings):  # type: ignore[no-untyped-def]
    from qa.chain import make_assistant

    return make_assistant(seed_settings)


@pytest.fixture(scope="session")
def statedept_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The 2,024 State Department releases plus the seed, ingested once (~4 min on 2 cores)."""
    need_state_dept()
    return _ingested(tmp_path_factory.mktemp("statedept-home"), SEED, STATE_DEPT)
