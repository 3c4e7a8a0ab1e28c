"""`qa ingest` killed with SIGKILL part-way, run twice at once, and asked during an ingest: nothing lost, nothing
duplicated, no orphans in Chroma or in the BM25 index."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa.chunking import chunk_article
from qa.config import Settings
from qa.embedding import token_counter
from qa.loading import Problem, load_articles
from qa.store import Store, open_store
from tests.conftest import ROOT, SEED, STATE_DEPT, need_state_dept

pytestmark = pytest.mark.integration


def synthetic(d: Path, n: int) -> Path:
    d.mkdir()
    for i in range(n):
        body = "\n\n".join(f"Report {i} says the harbor talks in city {i % 37} went on for day {j}. Officials met "
                           f"delegates from region {j} about wheat lot {i * 31 + j}." for j in range(30))
        (d / f"a{i:04d}.md").write_text(f"---\nid: art-{i:04d}\ntitle: Report {i}\nsource: Wire\n---\n{body}\n")
    return d


def start_ingest(home: Path, *paths: Path, embeddings: str = "fake") -> subprocess.Popen[str]:
    env = {**os.environ, "QA_HOME": str(home), "QA_EMBEDDINGS": embeddings, "QA_LLM": "fake"}
    return subprocess.Popen([sys.executable, "-m", "qa", "ingest", *map(str, paths)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stored_rows(home: Path) -> int:
    """Rows Chroma has committed (chunks + article records), read from its SQLite file without opening Chroma."""
    db = home / "chroma" / "chroma.sqlite3"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return int(con.execute("SELECT count(*) FROM embeddings").fetchone()[0])
    except sqlite3.Error:
        return 0


def kill_part_way(proc: subprocess.Popen[str], home: Path, rows: int) -> None:
    """SIGKILL once Chroma holds `rows` rows; fails if the ingest ended first (then nothing was interrupted)."""
    deadline = time.monotonic() + 900
    while stored_rows(home) < rows:
        assert proc.poll() is None, "ingest ended before it could be interrupted"
        assert time.monotonic() < deadline, "ingest made no progress"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def assert_part_way(store: Store, total: int) -> None:
    """The kill left the store part-written: some chunks, not every article recorded. Ingest writes a batch's
    chunks before its article records, so the kill may fall between them (chunks, no records yet)."""
    assert store.count_chunks() > 0 and store.count_articles() < total, (store.count_chunks(),
                                                                         store.count_articles())


def expected_chunks(*paths: Path) -> dict[str, list[str]]:
    """article id -> chunk ids, as a clean ingest makes them."""
    s = Settings()
    out = {}
    for a in load_articles(list(paths)):
        if not isinstance(a, Problem):
            out[a.id] = [c.id for c in chunk_article(a, token_counter(), s.chunk_tokens, s.chunk_overlap_sentences)]
    return out


def assert_exactly(home: Path, expected: dict[str, list[str]]) -> tuple[int, int]:
    """Every article once with its own chunks; no chunk or BM25 entry without an article. (articles, chunks)"""
    s = Settings(home=home)
    store = open_store(s)
    rows = store.list_articles()
    assert sorted(r["id"] for r in rows) == sorted(expected)  # each article exactly once
    assert {r["id"]: r["chunks"] for r in rows} == {a: len(c) for a, c in expected.items()}
    chunk_ids = sorted(store.chunk_texts())
    want = sorted(c for cs in expected.values() for c in cs)
    assert chunk_ids == want  # same as a clean ingest; no orphans, no duplicates
    if (s.bm25_dir / "current").exists():  # the keyword index beside Chroma (qa/keyword.py)
        from qa.keyword import KeywordIndex

        kw = KeywordIndex(s.bm25_dir)
        assert sorted(kw.chunk_ids) == want, "BM25 index has orphans or misses chunks"
        assert set(kw.article_of) == set(expected)
    return len(rows), len(chunk_ids)


def test_sigkill_part_way_then_rerun_equals_a_clean_ingest_and_lock_recovers(tmp_path: Path) -> None:
    corpus = synthetic(tmp_path / "news", 150)
    home = tmp_path / "home"
    first = start_ingest(home, corpus)
    while not (home / "ingest.pid").exists():
        assert first.poll() is None, first.stderr.read()  # type: ignore[union-attr]
        time.sleep(0.1)
    second = start_ingest(home, SEED)  # two at once: the second says so and changes nothing
    _out, err = second.communicate(timeout=300)
    assert second.returncode == 1 and f"Another `qa ingest` (pid {first.pid}) is running" in err, err
    kill_part_way(first, home, rows=200)
    store = open_store(Settings(home=home))
    assert_part_way(store, 150)
    print(f"after SIGKILL: {store.count_articles()} articles, {store.count_chunks()} chunks")
    rerun = start_ingest(home, corpus)  # the killed process's lock is free at once
    _out, err = rerun.communicate(timeout=900)
    assert rerun.returncode == 0, err
    assert "interrupted ingest cleaned up" in err or "added" in err
    print("after re-run:", assert_exactly(home, expected_chunks(corpus)))


def test_ask_during_an_ingest_answers_from_a_consistent_state(tmp_path: Path) -> None:
    home = tmp_path / "home"
    seeded = start_ingest(home, SEED)
    assert seeded.wait(timeout=300) == 0
    # Large enough that questions fit inside it (150 articles took ~8 s on a quiet machine: too short).
    ingesting = start_ingest(home, synthetic(tmp_path / "news", 1200))
    env = {**os.environ, "QA_HOME": str(home), "QA_EMBEDDINGS": "fake", "QA_LLM": "fake"}
    text = (SEED / "france24-blinken-iraq-militias.txt").read_text().strip()
    during = 0  # questions that started and finished while the ingest was running (up to 3 are asked)
    try:
        while stored_rows(home) < 30:  # the big ingest is writing
            assert ingesting.poll() is None
            time.sleep(0.1)
        while during < 3 and ingesting.poll() is None:
            r = subprocess.run([sys.executable, "-m", "qa", "ask", "What did Blinken ask Sudani?", "--json"],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
            assert r.returncode == 0, r.stderr
            answer = json.loads(r.stdout)
            assert answer["citations"] and not answer["refused"]
            for c in answer["citations"]:
                assert c["article_id"] == "france24-blinken-iraq-militias" and text[c["start"]:c["end"]] == c["quote"]
            ids = [p["chunk_id"] for p in answer["passages"]]
            assert len(ids) == len(set(ids))
            during += ingesting.poll() is None
        assert during >= 1, "no question ran while the ingest was writing; nothing was concurrent"
    finally:
        ingesting.wait(timeout=900)
    assert ingesting.returncode == 0


def test_sigkill_with_the_real_model_on_state_department_releases(tmp_path: Path) -> None:
    need_state_dept()
    files = sorted(STATE_DEPT.glob("*.md"))[:120]
    home = tmp_path / "home"
    proc = start_ingest(home, *files, embeddings="minilm")
    kill_part_way(proc, home, rows=300)
    store = open_store(Settings(home=home))
    assert_part_way(store, len(files))
    print(f"after SIGKILL: {store.count_articles()} articles, {store.count_chunks()} chunks")
    rerun = start_ingest(home, *files, embeddings="minilm")
    _out, err = rerun.communicate(timeout=1800)
    assert rerun.returncode == 0, err
    print("after re-run:", assert_exactly(home, expected_chunks(*files)))
