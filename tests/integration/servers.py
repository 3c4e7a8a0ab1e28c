"""Start and stop real local servers for integration tests: `chroma run` and llama-cpp-python's OpenAI server."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float,
               headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError(f"no answer from {url} after {timeout_s:.0f} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def _serving(cmd: list[str], log: Path, ready_url: str, timeout_s: float,
             headers: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_http(ready_url, proc, log, timeout_s, headers)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """`chroma run --path PATH --host 127.0.0.1 --port <free>`; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(BIN / "chroma"), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    with _serving(cmd, path.parent / f"chroma-{port}.log", f"{url}/api/v2/heartbeat", 60):
        yield url


@contextlib.contextmanager
def llama_openai_server(model: Path, log_dir: Path, api_key: str, alias: str) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on the bundled GGUF; yields its base URL (…/v1)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
           "--host", "127.0.0.1", "--port", str(port), "--n_threads", "2", "--n_ctx", "4096",
           "--api_key", api_key]
    with _serving(cmd, log_dir / f"llama-server-{port}.log", f"{base}/models", 180,
                  {"Authorization": f"Bearer {api_key}"}):
        yield base


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """Accepts TCP connections and never answers: a server that times out. Yields http://127.0.0.1:PORT."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(sock.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for c in held:
            c.close()
        sock.close()


@contextlib.contextmanager
def minilm_embedding_server(log_dir: Path, api_key: str = "", threads: int = 2) -> Iterator[str]:
    """tests/integration/embed_server.py (the bundled MiniLM over OpenAI's and Ollama's embedding APIs); yields
    http://127.0.0.1:PORT (OpenAI clients add /v1)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, str(Path(__file__).with_name("embed_server.py")), "--port", str(port),
           "--threads", str(threads), "--api-key", api_key]
    with _serving(cmd, log_dir / f"embed-server-{port}.log", f"{url}/health", 120):
        yield url


@contextlib.contextmanager
def llama_embedding_server(model: Path, log_dir: Path, alias: str) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server with `--embedding true` (/v1/embeddings); yields …/v1."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", alias,
           "--host", "127.0.0.1", "--port", str(port), "--n_threads", "2", "--n_ctx", "2048", "--embedding", "true"]
    with _serving(cmd, log_dir / f"llama-embed-{port}.log", f"{base}/models", 180):
        yield base
