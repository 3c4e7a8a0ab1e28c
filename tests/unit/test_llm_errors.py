"""LLM-server failures reach the user as one QAError naming what to check (stub HTTP servers, no models)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

import pytest

from qa.config import Settings
from qa.errors import QAError
from qa.llms import make_llm
from tests.conftest import json_server


@contextmanager
def answering(status: int, body: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server calls it by this name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with json_server(Handler) as url:
        yield url


def llm_at(backend: str, url: str):  # type: ignore[no-untyped-def]
    if backend == "openai":
        return make_llm(Settings(llm="openai", openai_base_url=url + "/v1", openai_model="m",
                                 openai_api_key_env="QA_TEST_NO_SUCH_KEY"))
    return make_llm(Settings(llm="ollama", ollama_base_url=url, ollama_model="qwen-test"))


@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_a_rejected_key_says_so(backend: str) -> None:
    with answering(401, b'{"error": {"message": "Invalid API key"}}') as url, pytest.raises(QAError) as e:
        list(llm_at(backend, url).stream("hi"))
    assert "rejected the API key (HTTP 401)" in e.value.message and url in e.value.message
    if backend == "openai":
        assert "$QA_TEST_NO_SUCH_KEY" in e.value.hint


@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_an_unknown_model_names_the_model_setting(backend: str) -> None:
    with answering(404, b'{"error": "model not found"}') as url, pytest.raises(QAError) as e:
        llm_at(backend, url).invoke("hi")
    assert "HTTP 404" in e.value.message
    assert ("QA_OPENAI_MODEL" if backend == "openai" else "QA_OLLAMA_MODEL") in e.value.hint


def test_openai_backend_needs_a_url_and_a_model() -> None:
    with pytest.raises(QAError) as e:
        make_llm(Settings(llm="openai"))
    assert "QA_OPENAI_BASE_URL" in e.value.hint
