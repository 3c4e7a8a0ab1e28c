"""Chroma server mode against a real `chroma run`: every command goes through the server, nothing is duplicated."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.config import Settings
from tests.conftest import SEED
from tests.integration.servers import chroma_server, free_port

pytestmark = pytest.mark.integration
SEED_ID = "france24-blinken-iraq-militias"
QUESTION = "What did Blinken ask Sudani?"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma-server") / "data") as url:
        yield url


def qa(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`qa ARGS` as a user runs it, with its own data directory (a separate machine, as far as qa knows)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    full.update(QA_HOME=str(home), QA_LLM="fake", **env)
    return subprocess.run([sys.executable, "-m", "qa", *args], check=False, capture_output=True, text=True, env=full,
                          timeout=900)


def server_chunk_ids(url: str, collection: str) -> list[str]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    port = int(url.rsplit(":", 1)[1])
    client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=ChromaSettings(anonymized_telemetry=False))
    return list(client.get_collection(collection).get(include=[])["ids"])


def test_every_command_uses_the_server_and_reingest_never_duplicates(server: str, tmp_path: Path) -> None:
    corpus = tmp_path / "articles"
    shutil.copytree(SEED, corpus)
    a, b = tmp_path / "machine-a", tmp_path / "machine-b"
    col = ["--chroma-url", server]

    first = qa(a, *col, "ingest", str(corpus), QA_COLLECTION="cli")
    assert first.returncode == 0, first.stderr
    assert "1 added" in first.stderr
    assert not (a / "chroma").exists(), "server mode must not build an on-disk Chroma store"
    ids = server_chunk_ids(server, "cli")
    assert ids and all(i.startswith(SEED_ID) for i in ids)

    rows = json.loads(qa(a, *col, "sources", "--json", QA_COLLECTION="cli").stdout)
    assert [r["id"] for r in rows] == [SEED_ID] and rows[0]["chunks"] == len(ids)

    # Another machine (its own QA_HOME, no local index) sees what machine A ingested, through QA_CHROMA_URL.
    asked = qa(b, "ask", QUESTION, "--json", QA_CHROMA_URL=server, QA_COLLECTION="cli")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert not answer["refused"] and answer["citations"][0]["article_id"] == SEED_ID
    shown = json.loads(qa(b, *col, "show", SEED_ID, "--json", QA_COLLECTION="cli").stdout)
    for c in answer["citations"]:
        assert shown["text"][c["start"]:c["end"]] == c["quote"]

    again = qa(b, *col, "ingest", str(corpus), QA_COLLECTION="cli")
    assert again.returncode == 0 and "0 added, 0 updated, 1 unchanged" in again.stderr
    assert sorted(server_chunk_ids(server, "cli")) == sorted(ids)

    # A changed article has its chunks replaced on the server, not added beside the old ones.
    article = next(corpus.iterdir())
    article.write_text(article.read_text() + "\n\nThe talks ended with a joint statement on grain exports.\n")
    changed = qa(a, *col, "ingest", str(corpus), QA_COLLECTION="cli")
    assert changed.returncode == 0 and "1 updated" in changed.stderr, changed.stderr
    now = server_chunk_ids(server, "cli")
    assert len(now) == len(set(now))
    rows = json.loads(qa(a, *col, "sources", "--json", QA_COLLECTION="cli").stdout)
    assert rows[0]["chunks"] == len(now)
    found = json.loads(qa(b, *col, "ask", "What did the talks end with?", "--json", QA_COLLECTION="cli").stdout)
    assert "grain" in found["answer"].lower(), found["answer"]


def test_ask_on_an_empty_server_never_ingests_the_demo_article(server: str, tmp_path: Path) -> None:
    out = qa(tmp_path / "home", "--chroma-url", server, "ask", QUESTION, "--json", QA_COLLECTION="fresh")
    assert out.returncode == 1, out.stderr  # a server is shared: another QA_HOME may be filling it right now
    assert "is empty" in out.stderr and "qa ingest PATH" in out.stderr and "Traceback" not in out.stderr
    listed = qa(tmp_path / "home", "--chroma-url", server, "sources", "--json", QA_COLLECTION="fresh")
    assert json.loads(listed.stdout) == []


def test_real_generator_answers_from_the_server(server: str, tmp_path: Path) -> None:
    from qa.chain import make_assistant
    from qa.embedding import make_embeddings
    from qa.ingest import ingest
    from qa.store import open_store

    s = Settings(home=tmp_path / "home", chroma_url=server, collection="real", llm="llamacpp", embeddings="minilm")
    report = ingest([SEED], open_store(s, make_embeddings(s)), s)
    assert report.added == 1 and not report.problems
    answer = make_assistant(s).ask(QUESTION)
    assert not answer.refused, answer.answer
    assert "militia" in answer.answer.lower()
    assert any(c.article_id == SEED_ID for c in answer.citations)


def test_a_server_that_is_not_running_gives_one_line_and_a_hint(tmp_path: Path) -> None:
    out = qa(tmp_path / "home", "--chroma-url", f"http://127.0.0.1:{free_port()}", "sources")
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines[0].startswith("error: Cannot open the index at http://127.0.0.1:")
    assert "chroma run" in lines[-1] and len(lines) == 2
