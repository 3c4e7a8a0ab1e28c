"""QA_LLM=openai against llama-cpp-python's own OpenAI-compatible server serving the bundled GGUF; and the
one-line errors a user gets when an LLM server is down, silent, or rejects the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.config import Settings
from tests.integration.servers import free_port, llama_openai_server, silent_server

pytestmark = pytest.mark.integration
SEED_ID = "france24-blinken-iraq-militias"
QUESTION = "What did Blinken ask Sudani?"
KEY = "test-key-7f3a"


@pytest.fixture(scope="module")
def openai_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from qa.llms import ensure_gguf

    model = ensure_gguf(Settings())
    with llama_openai_server(model, tmp_path_factory.mktemp("llama-server"), KEY, "qwen2.5-coder-1.5b") as url:
        yield url


def qa(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    full.update(QA_HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "qa", *args], check=False, capture_output=True, text=True, env=full,
                          timeout=1200)


def openai_env(url: str, key: str) -> dict[str, str]:
    return {"QA_LLM": "openai", "QA_OPENAI_BASE_URL": url, "QA_OPENAI_MODEL": "qwen2.5-coder-1.5b",
            "QA_OPENAI_API_KEY_ENV": "LLM_TEST_KEY", "LLM_TEST_KEY": key}


def one_line_error(out: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """The error line and the hint line, checking there is nothing else (no traceback)."""
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.strip().splitlines() if line.startswith(("error:", "hint:"))]
    assert len(lines) == 2, out.stderr
    return lines[0], lines[1]


def test_seed_question_through_the_openai_compatible_server(openai_url: str, tmp_path: Path) -> None:
    out = qa(tmp_path / "home", "ask", QUESTION, "--json", **openai_env(openai_url, KEY))
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert not answer["refused"], answer["answer"]
    assert "militia" in answer["answer"].lower()
    assert any(c["article_id"] == SEED_ID for c in answer["citations"])


def test_a_wrong_key_names_the_variable_to_check(openai_url: str, tmp_path: Path) -> None:
    error, hint = one_line_error(qa(tmp_path / "home", "ask", QUESTION, QA_EMBEDDINGS="fake",
                                    **openai_env(openai_url, "wrong-key")))
    assert "rejected the API key (HTTP 401)" in error and openai_url in error
    assert "$LLM_TEST_KEY" in hint


@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_connection_refused_is_one_line(backend: str, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = ({**openai_env(url + "/v1", KEY)} if backend == "openai"
           else {"QA_LLM": "ollama", "QA_OLLAMA_BASE_URL": url})
    error, hint = one_line_error(qa(tmp_path / "home", "ask", QUESTION, QA_EMBEDDINGS="fake", **env))
    assert f"Cannot connect to the {backend} server at {url}" in error and "refused" in error.lower()
    assert ("QA_OPENAI_BASE_URL" if backend == "openai" else "QA_OLLAMA_BASE_URL") in hint


@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_a_server_that_never_answers_times_out_in_one_line(backend: str, tmp_path: Path) -> None:
    with silent_server() as url:
        env = ({**openai_env(url + "/v1", KEY)} if backend == "openai"
               else {"QA_LLM": "ollama", "QA_OLLAMA_BASE_URL": url})
        error, hint = one_line_error(qa(tmp_path / "home", "ask", QUESTION, QA_EMBEDDINGS="fake",
                                        QA_LLM_TIMEOUT_S="2", **env))
    assert f"No answer from the {backend} server at {url}" in error and "within 2 s" in error
    assert "QA_LLM_TIMEOUT_S" in hint
