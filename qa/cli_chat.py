"""`qa chat`: wires the chat loop (qa/chat.py) to the assistant, loaded in a background thread so the prompt
appears at once; prompt_toolkit line editing and history in a terminal, one question per line otherwise."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qa.errors import QAError

if TYPE_CHECKING:
    from qa.config import Settings


class Loader:
    """Builds the assistant in a thread while the user types the first question: opens the index (ingesting the
    bundled corpus when it is empty) with the embedding model, loads the generator, and warms both."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.assistant: Any = None
        self.error: BaseException | None = None
        self.status = "loading the models…"
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="qa-chat-loader", daemon=True)

    def start(self) -> Loader:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            s = self.settings
            self.status = "opening the index…"
            from qa.chain import make_assistant

            assistant = make_assistant(s)  # the BM25 index and duplicate map are read on first search, below
            store = assistant.retriever.store
            from qa.ingest import demo_allowed

            if store.count_articles() == 0 and demo_allowed(s):  # never into a server or a used index
                from qa.ingest import ingest
                from qa.locking import ingest_lock
                from qa.store import writing

                self.status = f"the index is empty: ingesting the demo article from {s.corpus}…"
                with writing(s), ingest_lock(s, wait_s=600):
                    ingest([s.corpus], store, s)
            self.status = "loading the generator…"
            # The local model loads lazily; load it now, not on question 1. Not while a question is shown:
            # llama-cpp-python points the process's stdout at /dev/null while it loads (verbose=False), which
            # swallowed "Found 3 passages …" when the first question was searched during the load.
            if hasattr(assistant.llm, "_load"):
                assistant.llm._load()
            self.status = "warming up…"
            assistant.retrieve("warm up", k=1)
            self.assistant = assistant
        except BaseException as e:  # noqa: BLE001 - reported to the user when they ask
            self.error = e
        finally:
            self.done.set()

    def ready(self) -> bool:
        return self.done.is_set()

    def wait(self) -> Any:
        self.done.wait()
        if self.error is not None:
            if isinstance(self.error, QAError) or os.environ.get("QA_DEBUG"):
                raise self.error
            raise QAError(f"Could not load the assistant: {type(self.error).__name__}: {self.error}",
                          "QA_DEBUG=1 shows the traceback") from None
        return self.assistant


def _filters(values: dict[str, str]) -> Any:
    """The chat's filter dict -> retrieval Filters."""
    import dataclasses

    from qa.retrieval import Filters

    names = {f.name for f in dataclasses.fields(Filters)}
    return Filters(**{k: v for k, v in values.items() if k in names})


def make_backend(settings: Settings, loader: Loader, k: int | None) -> Any:
    from qa.chat import ChatBackend

    def stream(question: str, k: int, filters: dict[str, str], standalone: str | None) -> Iterator[Any]:
        return loader.wait().stream(question, k, _filters(filters), standalone=standalone)  # type: ignore[no-any-return]

    def complete(prompt: str) -> str:
        from langchain_core.messages import HumanMessage

        llm = loader.wait().llm
        try:
            reply = llm.invoke([HumanMessage(prompt)], max_tokens=64)
        except TypeError:  # a backend that does not take max_tokens per call
            reply = llm.invoke([HumanMessage(prompt)])
        return str(reply.content)

    def article(article_id: str) -> Any:
        return loader.wait().retriever.store.get_article(article_id)

    def on_interrupt() -> None:
        pass  # llama.cpp's state stays consistent when a decode is aborted: the prompt cache is kept

    def watch(question: str, filters: dict[str, str], k: int, answer: Any, name: str) -> str:
        from qa.watch import add, add_answered

        saved = add(settings, question, name, filters, k)
        add_answered(settings, saved, answer, loader.wait().retriever.store)
        return str(saved["name"])

    from qa.config import max_passages
    from qa.llms import clear_cancel, request_cancel

    return ChatBackend(stream=stream, complete=complete, article=article, k=k or settings.k,
                       max_k=max_passages(settings), ready=loader.ready,
                       wait_ready=loader.wait, loading_status=lambda: loader.status, on_interrupt=on_interrupt,
                       cancel=request_cancel, uncancel=clear_cancel, watch=watch)


def start_line(s: Settings) -> str:
    """What the chat runs on, read without loading anything: the index (articles and chunks, from the keyword
    index's manifest) and the two models."""
    import json

    from qa.config import GGUF_NAME

    index = f"index {s.home}"
    if s.chroma_url:
        index = f"index on the Chroma server {s.chroma_url}"
    else:
        try:
            pointer = (s.bm25_dir / "current").read_text().strip()
            manifest = json.loads((s.bm25_dir / pointer / "manifest.json").read_text())
            na, nc = len(manifest["articles"]), len(manifest["chunk_ids"])
            index = f"{na:,} article{'s' * (na != 1)}, {nc:,} chunks in {s.home}"
        except (OSError, ValueError, KeyError, TypeError):
            if not s.chroma_dir.exists():
                index = f"an empty index in {s.home} (the bundled corpus is ingested first)"
    generator = {"llamacpp": (s.model_path.name if s.model_path else GGUF_NAME).removesuffix(".gguf"),
                 "openai": f"{s.openai_model} at {s.openai_base_url}",
                 "ollama": f"{s.ollama_model} at {s.ollama_base_url}"}.get(s.llm, s.llm)
    embeddings = {"minilm": "all-MiniLM-L6-v2"}.get(s.embeddings, s.embeddings)
    return f"{index} · generator {generator} · embeddings {embeddings}"


def chat(
    ctx: typer.Context,
    k: Annotated[int | None, typer.Option("-k", help="Passages shown to the generator (/k changes it).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print each answer as one JSON object (the `qa ask "
                                          "--json` keys), one per line.")] = False,
    resume_last: Annotated[bool, typer.Option("--continue", help="Take up the last conversation (kept in "
                                              "QA_HOME/chats/last.json).")] = False,
    load: Annotated[Path | None, typer.Option("--load", help="Take up a conversation saved with /export.",
                                              dir_okay=False)] = None,
) -> None:
    """Chat about the indexed articles: follow-ups, /commands, checked sentences as they come (lines when piped).

    Example: qa chat --continue
    """
    from rich.console import Console
    from rich.markup import escape

    from qa.chat import load_conversation, run_chat
    from qa.terminal import one_line

    s: Settings = ctx.find_root().obj
    autosave = s.home / "chats" / "last.json"
    resume = load_conversation(load) if load else load_conversation(autosave) if resume_last else None
    loader = Loader(s).start()
    backend = make_backend(s, loader, k)
    debug = bool(os.environ.get("QA_DEBUG"))
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if as_json:
        console = Console(stderr=True, highlight=False, emoji=False)  # no :emoji: codes from article text
        json_out: Callable[[str], None] | None = lambda line: print(line, flush=True)
    else:
        console = Console(highlight=False, emoji=False)
        json_out = None
    confirm = None
    if interactive:
        read_line, confirm = _prompt_reader(s, backend)
        console.print(f"[bold]qa chat[/] [dim]— {escape(one_line(start_line(s)))}. /help for commands, Ctrl-D to "
                      "leave.[/]", soft_wrap=True)
    else:
        read_line = _line_reader()
    code = run_chat(backend, read_line, console, live=interactive and not as_json, echo=not interactive and not
                    as_json, json_out=json_out, debug=debug, confirm=confirm, autosave=autosave, resume=resume)
    if interactive and loader.thread.is_alive():  # /quit while models load: don't wait for the imports
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    loader.done.wait()
    raise typer.Exit(code)


def _line_reader() -> Callable[[Callable[[], str]], str]:
    def read(_toolbar: Callable[[], str]) -> str:
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line

    return read


def _prompt_reader(settings: Settings, backend: Any) -> tuple[Callable[[Callable[[], str]], str],
                                                                 Callable[[str], str]]:
    """prompt_toolkit: line editing, history persisted in QA_HOME/chat_history, a status bar at the bottom; and a
    one-line question to the user (a multi-line paste)."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        history: Any = FileHistory(str(settings.home / "chat_history"))
    except OSError:
        history = InMemoryHistory()
    session: PromptSession[str] = PromptSession(history=history)
    backend.remember = history.append_string

    def read(toolbar: Callable[[], str]) -> str:
        # Redraw twice a second only while the models load, so the status bar can say when they are ready.
        return session.prompt("qa> ", bottom_toolbar=lambda: " " + toolbar(),
                              refresh_interval=0 if backend.ready() else 0.5)

    ask: PromptSession[str] = PromptSession()

    def confirm(message: str) -> str:
        return ask.prompt(message)

    return read, confirm
