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


# Topics the statedept tests ask about by name: every release of these series is kept, so "the latest drawdown" and
# "this week" have all their neighbours (earlier drawdowns, other ISIS releases) to be told apart from.
SERIES = ("ukraine", "isis", "sustainability", "accountability-review-board")
EVERY = 5  # and every 5th other release: all 2,024 cost 15 min of MiniLM on a CPU without bfloat16 (AVX2 only)


def statedept_sample(to: Path) -> Path:
    """A copy of the releases the statedept tests need: every gold source of `eval/*.jsonl`, the series above, and
    every EVERY-th other release (615 of 2,024). Retrieval over it is measured against its own index
    (the eval's `--corpus` is this folder); full-corpus figures are bench/retrieval_quality.py's job."""
    import json
    import shutil

    from tests.conftest import ROOT

    gold = {s for f in (ROOT / "eval").glob("*.jsonl") for line in f.read_text().splitlines() if line.strip()
            for s in json.loads(line).get("sources", [])}
    to.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(sorted(STATE_DEPT.glob("*.md"))):
        if f"statedept-{f.stem}" in gold or any(t in f.stem for t in SERIES) or i % EVERY == 0:
            shutil.copy2(f, to / f.name)
    return to


@pytest.fixture(scope="session")
def statedept_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_state_dept()
    return statedept_sample(tmp_path_factory.mktemp("statedept") / "articles")


@pytest.fixture(scope="session")
def statedept_settings(tmp_path_factory: pytest.TempPathFactory, statedept_corpus: Path) -> Settings:
    """The statedept sample (`statedept_sample`) plus the seed, ingested once."""
    return _ingested(tmp_path_factory.mktemp("statedept-home"), SEED, statedept_corpus)
