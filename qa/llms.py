"""make_llm(settings): the bundled GGUF via llama.cpp, an OpenAI-compatible server, Ollama, or a fake."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, SecretStr

from qa.config import GGUF_NAME, GGUF_PARTS, GGUF_SHA256, GGUF_SIZE, Settings
from qa.errors import QAError
from qa.prompts import REFUSAL
from qa.text import content_words

LLM_NAMES = ("llamacpp", "openai", "ollama", "fake")

# --- cancellation ---------------------------------------------------------------------------------------------
# One generation runs at a time in a process (the chat, `qa ask`, `qa eval`), so one flag says "stop it". It is
# checked between tokens by every backend and, for the local model, inside llama.cpp itself (ggml's abort
# callback, between the operations of a decode), so a stop lands within milliseconds even while the prompt is
# being read, and the token loop ends by returning: nothing downstream (LangChain's stream) is left to drain.
# A plain flag, not a threading.Event: Event.set() takes a lock, and a Ctrl-C handled while the main thread held
# that same lock (inside Event.wait, between two fake tokens) blocked `qa ask` for good. Setting a bool takes none.
_CANCEL = False


class Cancelled(Exception):
    """Generation was stopped on request (Ctrl-C); what was produced before the stop is kept by the caller."""


def request_cancel() -> None:
    """Stop the running generation (safe from a signal handler or another thread)."""
    global _CANCEL
    _CANCEL = True


def clear_cancel() -> None:
    """Allow the next generation to run (call before starting one)."""
    global _CANCEL
    _CANCEL = False


def cancel_requested() -> bool:
    return _CANCEL


def wait_unless_cancelled(seconds: float) -> None:
    """Sleep up to `seconds`, ending within ~10 ms of a cancel request (no lock: see `_CANCEL`)."""
    end = time.monotonic() + seconds
    while not _CANCEL and (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.01))


@contextmanager
def cancel_on_interrupt() -> Iterator[None]:
    """Within: Ctrl-C requests a cancel instead of raising KeyboardInterrupt wherever Python happens to be (inside
    torch, Chroma or a generator's finalizer, which prints "Exception ignored in ..."). Main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda _sig, _frame: request_cancel())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _part_files() -> list[Path]:
    pattern, count = GGUF_PARTS
    files = []
    for i in range(1, count + 1):
        spec = importlib.util.find_spec(pattern.format(i))
        if spec is None or not spec.submodule_search_locations:
            raise QAError(f"Model package {pattern.format(i).replace('_', '-')} is not installed",
                          "run ./setup.sh (it installs the packages that carry the model weights)")
        pkg = Path(next(iter(spec.submodule_search_locations)))
        found = sorted((pkg / "data").glob("part*.bin"))
        if not found:
            raise QAError(f"No weights in {pkg}", "reinstall it: ./setup.sh")
        files.extend(found)
    return files


def ensure_gguf(settings: Settings, report: Callable[[str], None] = lambda _m: None) -> Path:
    """The generator GGUF: `settings.model_path`, else assembled once from the part packages, sha256 checked."""
    if settings.model_path is not None:
        if not settings.model_path.is_file():
            raise QAError(f"Model file {settings.model_path} does not exist", "fix QA_MODEL_PATH or unset it")
        return settings.model_path
    target = settings.cache / GGUF_NAME
    stamp = target.with_suffix(".sha256")
    if target.is_file() and target.stat().st_size == GGUF_SIZE and stamp.is_file() \
            and stamp.read_text().strip() == f"{GGUF_SHA256} {target.stat().st_mtime_ns}":
        return target
    parts = _part_files()
    report(f"assembling {GGUF_NAME} from {len(parts)} packages into {settings.cache}")
    settings.cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != GGUF_SHA256:
            raise QAError(f"Assembled model has sha256 {digest.hexdigest()[:12]}…, expected {GGUF_SHA256[:12]}…",
                          "reinstall the model packages: ./setup.sh")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    stamp.write_text(f"{GGUF_SHA256} {target.stat().st_mtime_ns}")
    report(f"verified sha256 {GGUF_SHA256[:12]}…")
    return target


def _to_dicts(messages: list[BaseMessage]) -> list[dict[str, str]]:
    roles = {"human": "user", "ai": "assistant", "system": "system"}
    return [{"role": roles.get(m.type, "user"), "content": str(m.content)} for m in messages]


_LOAD_LOCK = threading.Lock()
_GENERATING = threading.Lock()


class LlamaCppChat(BaseChatModel):
    """A chat model over llama-cpp-python; the model loads once, and the prompt prefix is reused between calls."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    model_path: str
    n_ctx: int = 4096
    n_threads: int = 2
    max_tokens: int = 200
    temperature: float = 0.0
    client: Any = None

    def _load(self) -> Any:
        with _LOAD_LOCK:  # two threads asking for the model at once (the chat loads it in a thread) load it once
            if self.client is None:
                from llama_cpp import Llama

                try:
                    client = Llama(model_path=self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads,
                                   n_threads_batch=self.n_threads, verbose=False, seed=0)
                except (ValueError, OSError, RuntimeError) as e:
                    raise QAError(f"Cannot load the model {self.model_path}: {str(e).splitlines()[0][:200]}",
                                  "run `qa setup` to assemble the bundled model again, or check QA_MODEL_PATH") \
                        from None
                self.client = client
        return self.client

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def _params(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {"temperature": self.temperature, "max_tokens": kwargs.get("max_tokens", self.max_tokens),
                "stop": stop or None, "top_k": 1 if self.temperature == 0 else 40, "seed": 0,
                "repeat_penalty": 1.1}

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, run_manager, **kwargs))
        if cancel_requested():
            raise Cancelled()
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        """Tokens as llama.cpp samples them; a cancel request ends the loop (the generator is closed, not drained)
        and aborts a decode under way (llama_decode returns 2 -> RuntimeError, taken as the stop it is)."""
        client = self._load()
        with _GENERATING:  # one decode at a time on the one context, whatever the callers' threads do
            yield from self._stream_locked(client, messages, stop, run_manager, **kwargs)

    def _stream_locked(self, client: Any, messages: list[BaseMessage], stop: list[str] | None,
                       run_manager: CallbackManagerForLLMRun | None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        if cancel_requested():
            yield ChatGenerationChunk(message=AIMessageChunk(content=""))
            return
        _abort_on_cancel(client, True)
        stream = client.create_chat_completion(messages=_to_dicts(messages), stream=True,
                                               **self._params(stop, kwargs))
        try:
            yield ChatGenerationChunk(message=AIMessageChunk(content=""))  # LangChain refuses a stream with none
            for part in stream:
                _abort_on_cancel(client, False)  # the prompt is read: from here the token loop checks
                if cancel_requested():
                    break
                token = part["choices"][0]["delta"].get("content") or ""
                if token:
                    if run_manager:
                        run_manager.on_llm_new_token(token)
                    yield ChatGenerationChunk(message=AIMessageChunk(content=token))
                    if cancel_requested():
                        break
        except RuntimeError:
            if not cancel_requested():
                raise
            # llama.cpp drops the whole sequence from its cache when a decode is aborted, while the client still
            # counts the prompt as cached: forget it, or the next answer would be generated from an empty cache.
            client.reset()
        finally:
            stream.close()
            _abort_on_cancel(client, False)


_ABORT: Any = None  # the ctypes callback (kept alive here) and the NULL one that removes it
_NO_ABORT: Any = None


def _abort_on_cancel(client: Any, on: bool = True) -> None:
    """While `on`, llama.cpp checks the cancel flag between the operations of a decode: reading a 600-token prompt
    is one C call of seconds. Only while the prompt is read: each check takes the GIL, which is cheap against a
    512-token batch but not against every node of every one-token decode (tokens are checked in Python anyway)."""
    global _ABORT, _NO_ABORT
    try:
        import llama_cpp

        if _ABORT is None:
            _ABORT = llama_cpp.ggml_abort_callback(lambda _data: _CANCEL)
            _NO_ABORT = llama_cpp.ggml_abort_callback(0)
        llama_cpp.llama_set_abort_callback(client._ctx.ctx, _ABORT if on else _NO_ABORT, None)
    except (AttributeError, ImportError, TypeError):  # another llama-cpp-python: Ctrl-C waits for the next token
        pass


class FakeChat(BaseChatModel):
    """Deterministic stand-in for tests (QA_LLM=fake). Replies queued with `enqueue` come first, one per call, in
    order (as simonw/llm's MockModel); with none queued it answers extractively: the source sentence sharing most
    words with the question, cited, or the refusal when no sentence shares two content words. `history` holds the
    messages of every call, so a test can check the prompt that was sent."""

    queue: list[str] = Field(default_factory=list)
    history: list[list[BaseMessage]] = Field(default_factory=list)

    def enqueue(self, *replies: str) -> FakeChat:
        """Reply with these texts to the next calls, one each."""
        self.queue.extend(replies)
        return self

    def _reply(self, messages: list[BaseMessage]) -> str:
        self.history.append(list(messages))
        return self.queue.pop(0) if self.queue else self._answer(str(messages[-1].content))

    @property
    def _llm_type(self) -> str:
        return "fake"

    def _answer(self, prompt: str) -> str:
        m = re.search(r"\nQuestion: (.*?)\n", prompt)
        question = content_words(m.group(1) if m else prompt)
        best: tuple[int, int, str] = (0, 0, "")
        for block in re.finditer(r"^\[(\d+)\] [^\n]*\n(.*?)(?=\n\n\[\d+\] |\n\nQuestion: )", prompt, re.DOTALL | re.MULTILINE):
            for sentence in re.split(r"(?<=[.!?])\s+", block.group(2)):
                overlap = len(question & content_words(sentence))
                if overlap > best[0]:
                    best = (overlap, int(block.group(1)), sentence.strip())
        if best[0] < 2:
            return REFUSAL
        short = " ".join(best[2].split()[:8])
        return f"{best[2].rstrip('.')} [{best[1]}].\nShort answer: {short}"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = self._reply(messages)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _load(self) -> None:
        """Nothing to load; QA_FAKE_LOAD_S makes it take that long (to test a chat that is still loading)."""
        time.sleep(float(os.environ.get("QA_FAKE_LOAD_S", "0") or 0))

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        # QA_FAKE_TOKEN_S: seconds per token, so tests can stop a generation that is under way.
        delay = float(os.environ.get("QA_FAKE_TOKEN_S", "0") or 0)
        yield ChatGenerationChunk(message=AIMessageChunk(content=""))
        for token in re.findall(r"\S+\s*", self._reply(messages)):
            if delay:
                wait_unless_cancelled(delay)
            if cancel_requested():
                return
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))


def _reason(e: BaseException) -> str:
    """The innermost cause's first line, e.g. "[Errno 111] Connection refused"."""
    while e.__cause__ is not None or e.__context__ is not None:
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:160]


def server_error(e: BaseException, backend: str, url: str, settings: Settings) -> QAError | None:
    """A one-line QAError naming what to check for a failed LLM-server request, or None if `e` is not one."""
    import httpx

    where = f"the {backend} server at {url}"
    Where = where[0].upper() + where[1:]  # noqa: N806,RUF100
    url_var = "QA_OPENAI_BASE_URL" if backend == "openai" else "QA_OLLAMA_BASE_URL"
    model_var = "QA_OPENAI_MODEL" if backend == "openai" else "QA_OLLAMA_MODEL"
    key_hint = (f"check the API key in ${settings.openai_api_key_env} (QA_OPENAI_API_KEY_ENV names the variable)"
                if backend == "openai" else "check the credentials your Ollama proxy expects")
    timeout = QAError(f"No answer from {where} within {settings.llm_timeout_s:g} s",
                      "check that the server is up and not overloaded, or raise QA_LLM_TIMEOUT_S")
    refused = QAError(f"Cannot connect to {where}: {_reason(e)}",
                      f"start the server or fix {url_var}")
    status: int | None = None
    detail = ""
    if backend == "openai":
        import openai

        if isinstance(e, openai.APITimeoutError):
            return timeout
        if isinstance(e, openai.APIConnectionError):
            return refused
        if isinstance(e, openai.APIStatusError):
            status, detail = e.status_code, e.message
    else:
        import ollama

        if isinstance(e, ollama.ResponseError):
            status, detail = e.status_code, e.error
    if isinstance(e, httpx.TimeoutException):
        return timeout
    if isinstance(e, (httpx.ConnectError, ConnectionError)):
        return refused
    if isinstance(e, httpx.HTTPStatusError):
        status, detail = e.response.status_code, e.response.text
    if status is None:
        return None
    detail = (str(detail).strip().splitlines() or [""])[0][:160]
    if status in (401, 403):
        return QAError(f"{Where} rejected the API key (HTTP {status}): {detail}", key_hint)
    if status == 404:
        hint = (f"check {model_var} ({settings.ollama_model!r}: `ollama pull` it) and {url_var}"
                if backend == "ollama" else f"check {model_var} and {url_var} (it usually ends in /v1)")
        return QAError(f"{Where} does not know the model or path (HTTP 404): {detail}", hint)
    return QAError(f"{Where} answered HTTP {status}: {detail}", f"check the server's log; {url_var}, {model_var}")


class ServerChat(BaseChatModel):
    """A chat model on an LLM server (OpenAI-compatible or Ollama) whose failures become one-line QAErrors."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    inner: BaseChatModel
    backend: str
    url: str
    settings: Settings

    @property
    def _llm_type(self) -> str:
        return self.backend

    def _fail(self, e: Exception) -> Exception:
        err = server_error(e, self.backend, self.url, self.settings)
        return e if err is None else err

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        try:
            return self.inner._generate(messages, stop=stop, **kwargs)
        except QAError:
            raise
        except Exception as e:  # mapped to a QAError when it is a server failure
            raise self._fail(e) from e

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        try:
            for chunk in self.inner._stream(messages, stop=stop, **kwargs):
                if cancel_requested():
                    return  # the inner stream is closed when this generator is: the request ends
                if run_manager and chunk.text:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
        except QAError:
            raise
        except Exception as e:  # mapped to a QAError when it is a server failure
            raise self._fail(e) from e


def make_llm(settings: Settings) -> BaseChatModel:
    """The generator named by `settings.llm` (QA_LLM)."""
    match settings.llm:
        case "llamacpp":
            return LlamaCppChat(model_path=str(ensure_gguf(settings)), n_ctx=settings.n_ctx,
                                n_threads=settings.n_threads, max_tokens=settings.max_tokens,
                                temperature=settings.temperature)
        case "fake":
            return FakeChat()
        case "openai":
            from langchain_openai import ChatOpenAI

            if not settings.openai_base_url or not settings.openai_model:
                raise QAError("QA_LLM=openai needs a server and a model",
                              "set QA_OPENAI_BASE_URL (e.g. http://127.0.0.1:8000/v1) and QA_OPENAI_MODEL")
            key = os.environ.get(settings.openai_api_key_env, "") or "not-needed"
            # No retries: a timeout then means QA_LLM_TIMEOUT_S, and a refused connection fails at once.
            # `max_tokens` goes in the body as is: ChatOpenAI renames it to max_completion_tokens, which
            # llama-cpp-python's server ignores (it would then generate until the context is full).
            chat: BaseChatModel = ChatOpenAI(base_url=settings.openai_base_url, model=settings.openai_model,
                                             api_key=SecretStr(key), temperature=settings.temperature,
                                             extra_body={"max_tokens": settings.max_tokens},
                                             timeout=settings.llm_timeout_s, max_retries=0)
            return ServerChat(inner=chat, backend="openai", url=settings.openai_base_url, settings=settings)
        case "ollama":
            from langchain_ollama import ChatOllama

            chat = ChatOllama(base_url=settings.ollama_base_url, model=settings.ollama_model,
                              temperature=settings.temperature, num_predict=settings.max_tokens,
                              client_kwargs={"timeout": settings.llm_timeout_s})
            return ServerChat(inner=chat, backend="ollama", url=settings.ollama_base_url, settings=settings)
        case other:
            raise QAError(f"Unknown LLM backend {other!r}", f"set QA_LLM to one of {', '.join(LLM_NAMES)}")
