"""run_chat(backend, read_line, console): the terminal chat session. Knows nothing of LangChain: the answer pipeline
comes in as callbacks (`ChatBackend`), so a test can drive the session with lambdas.

The pipeline of a question (rewrite, retrieval, generation, checking) runs in a worker thread; the main thread only
shows its events and waits for Ctrl-C, which asks the generator to stop (`ChatBackend.cancel`) and gives the
prompt back at once. Follow-up rewriting is in qa/followup.py, rendering in qa/render.py.
"""

from __future__ import annotations

import json
import os
import queue
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.text import Text

from qa.errors import QAError
from qa.followup import (
    REWRITE_TURNS,
    Turn,
    answer_for_history,
    clean_rewrite,
    needs_rewrite,
    resolve_travel,
    rewrite_again_prompt,
    rewrite_prompt,
    split_paste,
    unresolved,
)
from qa.render import (
    excerpt,
    line,
    markdown,
    meta,
    render_answer,
    render_checks,
    render_citations,
    render_found,
    render_sources,
    unique_citations,
)
from qa.streaming import draft_body
from qa.terminal import clean, dumps, one_line
from qa.types import Answer, Article, Check, Citation, Event, Passage, check_question

STOP_WAIT_S = 0.8  # after Ctrl-C, wait this long for the generator to stop before giving the prompt back
REFRESH_PER_SECOND = 4  # the live line (spinner and draft) is redrawn at most this often


@dataclass
class ChatBackend:
    """What the chat needs from the answer pipeline, as plain callables.

    `stream(question, k, filters, standalone)` yields events with `.kind` "passages" | "token" | "sentence" |
    "withdrawn" | "answer" (and `.passages`, `.token`, `.citations`, `.reason`, `.answer`), like
    `qa.chain.Assistant.stream`; `filters` is a dict with any of source/since/until/as_of. `complete(prompt)` is a
    short generator call used to rewrite follow-ups. `cancel()` asks a running generation to stop; `uncancel()`
    clears that before the next question.
    """

    stream: Callable[[str, int, dict[str, str], str | None], Iterator[Event]]
    complete: Callable[[str], str] = lambda _prompt: ""
    article: Callable[[str], Article | None] = lambda _id: None
    k: int = 4
    max_k: int = 20  # passages that fit in the generator's context (qa.config.max_passages)
    ready: Callable[[], bool] = lambda: True
    wait_ready: Callable[[], None] = lambda: None  # blocks until loaded; raises QAError if loading failed
    loading_status: Callable[[], str] = lambda: ""
    on_interrupt: Callable[[], None] = lambda: None  # an answer was stopped with Ctrl-C
    remember: Callable[[str], None] = lambda _text: None  # put a rewritten question into the line history
    cancel: Callable[[], None] = lambda: None
    uncancel: Callable[[], None] = lambda: None
    # /watch: save (question, filters, k, its answer, name) as a watched question; returns the name it got
    watch: Callable[[str, dict[str, str], int, Answer, str], str] | None = None


# --- the worker -------------------------------------------------------------------------------------------------

class Worker:
    """Runs one question's pipeline (a generator of events) in a thread; the main thread reads its events."""

    def __init__(self, events: Callable[[], Iterator[Event]]) -> None:
        self.queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._events = events
        self.thread = threading.Thread(target=self._run, name="qa-chat-answer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        _trace(f"worker {threading.get_ident()} starts")
        try:
            for ev in self._events():
                self.queue.put(("event", ev))
        except BaseException as e:  # noqa: BLE001 - handed to the main thread, which decides
            self.queue.put(("error", e))
        finally:
            _trace(f"worker {threading.get_ident()} ends")
            self.queue.put(("end", None))

    def events(self) -> Iterator[Event]:
        """The events as they come; an exception of the pipeline is raised here, in the main thread."""
        while True:
            try:
                kind, item = self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item

    def join(self, seconds: float) -> bool:
        """Wait up to `seconds` for the thread to end (Ctrl-C meanwhile is ignored); True when it ended."""
        deadline = time.monotonic() + seconds
        while self.thread.is_alive() and time.monotonic() < deadline:
            try:
                self.thread.join(0.05)
            except KeyboardInterrupt:
                continue
        return not self.thread.is_alive()


def _trace(message: str) -> None:
    if os.environ.get("QA_CHAT_TRACE"):
        print(f"{time.monotonic():.3f} {message}", file=sys.stderr, flush=True)


@contextmanager
def hold_typing(active: bool) -> Iterator[None]:
    """While an answer is shown, what the user types is neither echoed into it nor lost: the terminal's echo (and
    line buffering) is off, so the keys wait in the input queue and the next prompt reads them. Ctrl-C still
    interrupts. No-op without a terminal."""
    fd = -1
    saved = None
    if active:
        try:
            import termios

            fd = sys.stdin.fileno()
            if os.isatty(fd):
                saved = termios.tcgetattr(fd)
                quiet = list(saved)
                quiet[3] &= ~(termios.ECHO | termios.ICANON)
                termios.tcsetattr(fd, termios.TCSANOW, quiet)  # not TCSAFLUSH: that would drop typed keys
        except (ImportError, OSError, ValueError):
            saved = None
    try:
        yield
    finally:
        if saved is not None:
            import termios

            try:
                termios.tcsetattr(fd, termios.TCSANOW, saved)
            except (OSError, ValueError):
                pass


# --- commands ----------------------------------------------------------------------------------------------------

@dataclass
class Command:
    names: tuple[str, ...]
    usage: str
    help: str
    run: Callable[[Chat, list[str]], bool]


# --- the session --------------------------------------------------------------------------------------------------

@dataclass
class Chat:
    """One chat session: settings changed by commands, the conversation, the last answer."""

    backend: ChatBackend
    console: Console
    live: bool = False  # stream checked sentences and show a spinner (a terminal); False prints finished answers
    echo: bool = False  # print each question (piped input, so the output reads as a transcript)
    json_out: Callable[[str], None] | None = None  # --json: one Answer.to_dict() per question goes here
    debug: bool = False  # QA_DEBUG: let unexpected errors raise with their traceback
    confirm: Callable[[str], str] | None = None  # asks the user one short question (a multi-line paste)
    autosave: Path | None = None  # the conversation is written here after every answer (`qa chat --continue`)
    k: int = 4
    filters: dict[str, str] = field(default_factory=dict)
    turns: list[Turn] = field(default_factory=list)
    record: list[dict[str, Any]] = field(default_factory=list)  # every answer as `qa ask --json` has it
    last: Answer | None = None
    failures: int = 0
    fatal: bool = False
    pending: Worker | None = None  # a stopped answer still winding down
    started: str = field(default_factory=lambda: datetime.now().strftime("%Y-%m-%d %H:%M"))

    def toolbar(self) -> str:
        state = self.backend.loading_status() if not self.backend.ready() else ""
        return " · ".join(x for x in (state or "ready", f"k={self.k}", self.describe_filters() or "no filters",
                                      "/help") if x)

    def describe_filters(self) -> str:
        names = {"as_of": "as of"}
        return " ".join(f"{names.get(key, key)}={v}" for key, v in self.filters.items() if v)

    # Lines -------------------------------------------------------------------------------------------------
    def handle(self, text: str) -> bool:
        """Act on one input (a line, or a pasted block of lines); False when the session should end."""
        lines = split_paste(text)
        if not lines:
            return True
        if len(lines) > 1:
            return self.pasted(lines)
        if lines[0].startswith("/"):
            return self.command(lines[0])
        self.ask(lines[0])
        return not self.fatal

    def pasted(self, lines: list[str]) -> bool:
        """Several lines at once: asked once whether they are separate questions, one question, or a mistake."""
        choice = "s"
        if self.confirm is not None:
            try:
                choice = self.confirm(f"You pasted {len(lines)} lines. Ask them as [s]eparate questions (Enter), "
                                      "as [o]ne question, or [c]ancel? ").strip().lower()[:1] or "s"
            except (KeyboardInterrupt, EOFError):
                choice = "c"
        if choice == "c":
            self.console.print("[dim]Nothing asked.[/]")
            return True
        if choice == "o":
            self.ask(" ".join(lines))
            return not self.fatal
        for i, question in enumerate(lines, 1):
            if question.startswith("/"):
                if not self.command(question):
                    return False
                continue
            if self.live:
                self.console.print(f"[bold]({i}/{len(lines)})[/] {escape(one_line(question))}")
            self.ask(question)
            if self.fatal:
                return False
        return True

    def command(self, text: str) -> bool:
        try:
            words = shlex.split(text)
        except ValueError as e:
            return self.say_error(f"cannot read that command: {e}", "close the quotes")
        name, args = words[0].lower(), words[1:]
        for cmd in COMMANDS:
            if name in cmd.names:
                return cmd.run(self, args)
        return self.say_error(f"unknown command {name}", "type /help for the commands")

    def help(self, _args: list[str]) -> bool:
        self.console.print(Text(HELP_HEAD), soft_wrap=True)
        width = max(len(c.usage) for c in COMMANDS) + 2
        for c in COMMANDS:
            self.console.print(Text(f"  {c.usage.ljust(width)}{c.help.format(k=self.k)}"), soft_wrap=True)
        return True

    def clear(self, _args: list[str]) -> bool:
        self.turns.clear()
        self.console.print("[dim]Conversation forgotten; the next question starts fresh.[/]")
        return True

    def set_k(self, args: list[str]) -> bool:
        top = self.backend.max_k
        if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= top:
            return self.say_error(f"/k needs a number of passages from 1 to {top} (what fits in the generator's "
                                  "context)", "for example: /k 6")
        self.k = int(args[0])
        self.console.print(f"[dim]Showing the generator {self.k} passages per question.[/]")
        return True

    def set_filter(self, args: list[str]) -> bool:
        if args == ["off"]:
            self.filters.clear()
            self.console.print("[dim]Filters off: searching every article.[/]")
            return True
        new = dict(self.filters)
        for arg in args:
            key, sep, value = arg.partition("=")
            key = key.strip().lower().replace("-", "_")
            if not sep or key not in ("source", "since", "until", "as_of"):
                return self.say_error(f"cannot read filter {arg!r}",
                                      "use source=OUTLET since=YYYY-MM-DD until=YYYY-MM-DD, or /filter off")
            if key != "source" and value and value != "off":
                from qa.config import parse_day
                from qa.errors import QAError

                try:
                    parse_day(value, key.replace("_", "-"))  # the same days `qa ask` accepts, 1800-2199
                except QAError as e:
                    return self.say_error(e.message, e.hint or "write dates as YYYY-MM-DD, e.g. 2024-12-13")
            if value and value != "off":
                new[key] = value
            else:
                new.pop(key, None)
        self.filters = new
        self.console.print(f"[dim]Filters: {escape(self.describe_filters() or 'none')}[/]")
        return True

    def as_of(self, args: list[str]) -> bool:
        return self.set_filter(["as_of=" + a for a in args] if args != ["off"] else ["as_of="])

    def sources(self, _args: list[str]) -> bool:
        if self.last is None:
            return self.say_error("no answer yet", "ask a question first")
        render_sources(self.console, self.last)
        return True

    def why(self, _args: list[str]) -> bool:
        if self.last is None:
            return self.say_error("no answer yet", "ask a question first")
        render_checks(self.console, self.last.checks)
        return True

    def open(self, args: list[str]) -> bool:
        if self.last is None:
            return self.say_error("no answer yet", "ask a question first")
        if len(args) != 1 or not args[0].isdigit():
            return self.say_error("/open needs a source number", "for example: /open 1")
        n = int(args[0])
        spot = next((c for c in self.last.citations if c.n == n), None) or \
            next((p for p in self.last.passages if p.n == n), None)
        if spot is None:
            shown = sorted({p.n for p in self.last.passages})
            return self.say_error(f"no source {n} in the last answer",
                                  f"choose one of {', '.join(map(str, shown))}" if shown else "ask again")
        article = self.backend.article(spot.article_id)
        if article is None:
            return self.say_error(f"article {spot.article_id!r} is no longer in the index", "re-run `qa ingest`")
        before, span, after = excerpt(article.text, spot.start, spot.end)
        line(self.console, one_line(article.title), "bold")
        line(self.console, meta(article.source, article.date[:10], article.url), "dim")
        self.console.print()
        body = Text(before)
        body.append(span, style="bold yellow")
        body.append(after)
        self.console.print(body)
        self.console.print(f"[dim]The whole article: qa show {escape(one_line(article.id))}[/]")
        return True

    def save(self, args: list[str]) -> bool:
        """/save [FILE]: the conversation as Markdown, answers with their sources."""
        return self._write(args, ".md", lambda: markdown(self.record, f"qa chat, {self.started}"))

    def export(self, args: list[str]) -> bool:
        """/export [FILE]: the conversation as JSON (what `qa chat --load FILE` reads)."""
        return self._write(args, ".json", lambda: conversation_json(self.record, self.started))

    def _write(self, args: list[str], suffix: str, text: Callable[[], str]) -> bool:
        if len(args) > 1:
            return self.say_error("give one file name", f"for example: /save chat{suffix}")
        if not self.record:
            return self.say_error("nothing to save yet", "ask a question first")
        path = Path(args[0]).expanduser() if args else \
            Path(f"qa-chat-{self.started.replace(' ', '-').replace(':', '')}{suffix}")
        try:
            write_atomic(path, text())
        except OSError as e:
            return self.say_error(f"cannot write {path}: {e.strerror or e}", "choose another file or folder")
        n = len(self.record)
        self.console.print(f"[dim]Saved {n} answer{'s' * (n != 1)} to[/] {escape(str(path))}", soft_wrap=True)
        return True

    def watch(self, args: list[str]) -> bool:
        """/watch [NAME]: save the last question (as searched, with the filters and k) for `qa watch`."""
        if self.last is None:
            return self.say_error("no question yet", "ask one, then /watch saves it")
        if len(args) > 1 or self.backend.watch is None:
            return self.say_error("/watch takes at most one name" if self.backend.watch else
                                  "saving questions is not available here", "for example: /watch ukraine-aid")
        question = self.last.standalone_question or self.last.question
        try:
            name = self.backend.watch(question, dict(self.filters), self.k, self.last, args[0] if args else "")
        except QAError as e:
            return self.say_error(e.message, e.hint)
        self.console.print(f"[dim]Watching[/] {escape(one_line(question))} [dim]as[/] {escape(one_line(name))}[dim]: "
                           "`qa watch` re-asks it when new articles can change this answer.[/]", soft_wrap=True)
        return True

    def quit(self, _args: list[str]) -> bool:
        return False

    def say_error(self, message: str, hint: str = "") -> bool:
        self.console.print(f"[red]error:[/] {escape(clean(message))}" + (f" [dim]— {escape(hint)}[/]" if hint else ""),
                           soft_wrap=True)
        return True

    # The conversation ------------------------------------------------------------------------------------------
    def resume(self, saved: dict[str, Any]) -> None:
        """Take up a saved conversation: its turns feed follow-ups, its last answer /sources and /open."""
        self.record = list(saved.get("turns", []))
        self.started = str(saved.get("started") or self.started)
        for t in self.record:
            answer = answer_from_dict(t)
            self.turns.append(Turn(answer.question, answer.standalone_question or answer.question,
                                   answer_for_history(answer)))
            self.last = answer

    def remember_answer(self, answer: Answer) -> None:
        self.last = answer
        self.turns.append(Turn(answer.question, answer.standalone_question or answer.question,
                               answer_for_history(answer)))
        self.record.append(answer.to_dict())
        if self.autosave is not None and self.record:
            try:
                write_atomic(self.autosave, conversation_json(self.record, self.started))
            except OSError:
                pass  # `--continue` will not have this answer; the session itself goes on

    # Questions ---------------------------------------------------------------------------------------------
    def ask(self, question: str) -> None:
        """Rewrite a follow-up, show what was found, then each sentence once it is checked, then the sources;
        Ctrl-C stops the generator and returns to the prompt, keeping what was shown."""
        t0 = time.perf_counter()
        if self.echo:
            self.console.print(Text(f"» {one_line(question)}", style="bold"), soft_wrap=True)
        try:
            check_question(question)
        except QAError as e:
            self.failures += 1
            self.say_error(e.message, e.hint)
            return
        try:
            if self.pending is not None:
                self.wait_for_pending()
            if not self.backend.ready():
                if self.live:
                    with self.console.status(self.backend.loading_status() or "loading the models…") as status:
                        while not self.backend.ready():
                            status.update(self.backend.loading_status() or "loading the models…")
                            time.sleep(0.1)
                        self.backend.wait_ready()
                else:
                    self.backend.wait_ready()
        except QAError as e:
            self.fatal = True
            self.failures += 1
            self.say_error(e.message, e.hint)
            return
        except KeyboardInterrupt:
            self.console.print("[yellow]stopped[/] [dim]— nothing was asked; the models go on loading[/]")
            return
        self.backend.uncancel()
        worker = self.pending = Worker(lambda: self.pipeline(question))  # pending until it has ended
        shown: list[str] = []
        try:
            answer, marks = self.consume(worker, t0, shown)
            self.pending = None
        except KeyboardInterrupt:
            self.stop(worker, shown)
            return
        except QAError as e:
            self.failures += 1
            self.say_error(e.message, e.hint)
            return
        except Exception as e:
            if type(e).__name__ == "Cancelled":
                self.stop(worker, shown)
                return
            if self.debug:
                raise
            self.failures += 1
            self.say_error(f"{type(e).__name__}: {e}", "QA_DEBUG=1 shows the traceback")
            return
        if answer is None:
            self.failures += 1
            self.say_error("the pipeline ended without an answer", "QA_DEBUG=1 and try again")
            return
        answer.timings = {**answer.timings, "rewrite_s": round(marks.get("rewrite_s", 0.0), 3)}
        self.remember_answer(answer)
        if self.json_out is not None:
            self.json_out(dumps(answer.to_dict()))
            return
        if not self.live:
            render_answer(self.console, answer, closest=False)
            return
        self.finish_live(answer, shown)
        self.console.print(Text(" · ".join(f"{k} {v:.1f} s" for k, v in marks.items() if not k.endswith("_s")),
                                style="dim"), soft_wrap=True)

    def stop(self, worker: Worker, shown: list[str]) -> None:
        """Ctrl-C: the generator is asked to stop; the prompt comes back within STOP_WAIT_S."""
        self.pending = worker  # until it has ended, the next question waits for it
        self.backend.cancel()
        _trace(f"stop: cancel sent to {worker.thread.ident}")
        if worker.join(STOP_WAIT_S):
            _trace(f"stop: {worker.thread.ident} ended")  # else retrieval or a decode is still winding down
            self.pending = None  # the cancel stays requested until the next question starts its own worker
        self.backend.on_interrupt()
        kept = f"; the {len(shown)} checked sentence{'s' * (len(shown) != 1)} above stand" if shown else ""
        self.console.print(f"[yellow]stopped[/] [dim]— the answer was cut short{kept}; ask again or go on[/]",
                           soft_wrap=True)

    def wait_for_pending(self) -> None:
        worker, self.pending = self.pending, None
        if worker is None:
            return
        _trace(f"waiting for {worker.thread.ident}")
        if self.live:
            with self.console.status("[dim]finishing the stopped answer…[/]"):
                while not worker.join(0.2):
                    pass
        else:
            while not worker.join(0.2):
                pass

    def pipeline(self, question: str) -> Iterator[Event]:
        """In the worker thread: the follow-up rewrite, then the answer's events."""
        t = time.perf_counter()
        standalone, note = self.rewrite(question)
        if standalone is not None or note:
            yield Event("standalone", token=standalone or "", question=question, reason=note,
                        rewrite_s=time.perf_counter() - t)
        yield from self.backend.stream(question, self.k, dict(self.filters), standalone)

    def rewrite(self, question: str) -> tuple[str | None, str]:
        """The standalone question for a follow-up, or None to search the question as asked; and a note when the
        rewrite failed or left a pointer unresolved."""
        if not needs_rewrite(question, self.turns):
            return None, ""
        asked = question
        # "go there": the place that the sources of the last turns say was visited
        texts = [str(x.get(key, "")) for t in self.record[-REWRITE_TURNS:] for key, rows in
                 (("quote", t.get("citations", [])), ("text", t.get("passages", []))) for x in rows]
        question = resolve_travel(question, texts)
        standalone = clean_rewrite(self.backend.complete(rewrite_prompt(question, self.turns)), question)
        if standalone is None and question != asked:
            standalone = question
        left = unresolved(question, standalone) if standalone else []
        if left:
            again = clean_rewrite(self.backend.complete(rewrite_again_prompt(question, self.turns, left)), question)
            if again and len(unresolved(question, again)) < len(left):
                standalone, left = again, unresolved(question, again)
        if standalone is None or standalone == asked:
            return None, "could not rewrite it; name who or what you mean if the answer is off"
        if left:
            return standalone, f"could not tell what “{'”, “'.join(left)}” means here; name it if the answer is off"
        return standalone, ""

    def show_standalone(self, con: Console, ev: Event) -> None:
        if self.json_out is not None:
            return
        if ev.token:
            text = Text("Searching for: ", style="dim")
            text.append(one_line(ev.token), style="italic")
            self.backend.remember(one_line(ev.token))
        else:
            text = Text("Searching for: ", style="dim")
            text.append(one_line(ev.question))
        if ev.reason:
            text.append(f" ({ev.reason})", style="dim")
        con.print(text, soft_wrap=True)

    def consume(self, worker: Worker, t0: float, shown: list[str]) -> tuple[Answer | None, dict[str, float]]:
        """Show the passages at once, then (in a terminal) each checked sentence as it comes, with a one-line
        labelled draft beneath it; return the final answer and timings."""
        answer: Answer | None = None
        marks: dict[str, float] = {}
        quiet = self.json_out is not None
        if not self.live:
            for ev in worker.events():
                if ev.kind == "standalone":
                    marks["rewrite_s"] = ev.rewrite_s
                    self.show_standalone(self.console, ev)
                elif ev.kind == "passages" and not quiet:
                    render_found(self.console, ev.passages or [])
                    for note in ev.notes:
                        line(self.console, note, "dim")
                elif ev.kind == "answer":
                    answer = ev.answer
            return answer, marks

        draft = ""
        state = {"label": "searching…"}

        def view() -> Spinner:
            if not draft:
                return Spinner("dots", Text(state["label"], style="dim"))
            body, _ = draft_body(draft)
            label = Text("checking as it is written · draft, unchecked: ", style="dim", no_wrap=True,
                         overflow="ellipsis")
            width = max(10, self.console.width - len(label) - 5)
            tail = " ".join(body.split())[-width:]
            label.append(("…" if len(body) > width else "") + tail, style="dim italic")
            return Spinner("dots", label)

        with hold_typing(True), Live(view(), console=self.console, transient=True,
                                     refresh_per_second=REFRESH_PER_SECOND, redirect_stderr=False) as live:
            con = live.console
            for ev in worker.events():
                now = time.perf_counter() - t0
                if ev.kind == "standalone":
                    marks["rewrite_s"] = ev.rewrite_s
                    self.show_standalone(con, ev)
                elif ev.kind == "passages":
                    marks["sources"] = now
                    render_found(con, ev.passages or [])
                    for note in ev.notes:
                        line(con, note, "dim")
                    con.print()
                    state["label"] = "reading the passages…"
                elif ev.kind == "token" and ev.token:
                    marks.setdefault("first draft word", now)
                    draft += ev.token
                elif ev.kind == "sentence":
                    marks.setdefault("first checked sentence", now)
                    shown.append(ev.token)
                    text = Text(one_line(ev.token))
                    text.append(" ✓", style="green")
                    con.print(text, soft_wrap=True)
                elif ev.kind == "withdrawn":
                    text = Text("✗ withdrawn: ", style="yellow")
                    text.append(f"“{one_line(ev.token)}” — {one_line(ev.reason)}", style="dim")
                    con.print(text, soft_wrap=True)
                elif ev.kind == "answer":
                    marks["answer"] = now
                    answer = ev.answer
                live.update(view(), refresh=False)
        return answer, marks

    def finish_live(self, answer: Answer, shown: list[str]) -> None:
        """After the streamed sentences: the refusal, or the answer as checked whole when it reads otherwise than
        what was shown, then the sources."""
        from qa.text import answer_sentences

        con = self.console
        if answer.refused:
            render_answer(con, answer, closest=False)
            return
        final = [s for s, _ in answer_sentences(answer.answer)]
        streamed = [s for s, _ in answer_sentences(" ".join(shown))]
        if final[:len(streamed)] == streamed and " ".join(shown) in answer.answer:
            extra = one_line(answer.answer[answer.answer.index(" ".join(shown)) + len(" ".join(shown)):])
            if extra:  # what the whole-answer checks add, e.g. where the sources disagree
                line(con, extra)
        elif final != streamed:
            line(con, "Checked as a whole, the answer reads:", "dim")
            line(con, one_line(answer.answer))
        cits = unique_citations(answer)
        if cits:
            con.print()
            render_citations(con, cits)


HELP_HEAD = """\
Ask a question about the indexed articles. Each sentence of an answer is shown once it has been checked against \
the passage it cites (✓); a sentence that fails is withdrawn with the reason. Follow-ups ("What did he say about \
Syria?") are rewritten into a standalone question, shown as "Searching for: …" (↑ recalls it to correct it). A \
paste of several lines asks whether they are one question or several."""

COMMANDS = [
    Command(("/sources",), "/sources", "the last answer's sources in full (quotes, URLs, other passages)",
            Chat.sources),
    Command(("/why",), "/why", "what verification did with each sentence of the last draft, and which rule "
            "decided it", Chat.why),
    Command(("/open",), "/open N", "source N in its article, the quoted words highlighted", Chat.open),
    Command(("/save",), "/save [FILE]", "the conversation as Markdown, answers with their sources", Chat.save),
    Command(("/export",), "/export [FILE]", "the conversation as JSON (qa chat --load FILE resumes it)",
            Chat.export),
    Command(("/clear",), "/clear", "forget the conversation (the next question is not a follow-up)", Chat.clear),
    Command(("/k",), "/k N", "passages shown to the generator (now {k})", Chat.set_k),
    Command(("/filter",), "/filter KEY=VALUE…", "source=OUTLET since=YYYY-MM-DD until=YYYY-MM-DD; /filter off",
            Chat.set_filter),
    Command(("/asof",), "/asof YYYY-MM-DD", "answer as of a date: nothing published after it; /asof off",
            Chat.as_of),
    Command(("/watch",), "/watch [NAME]", "save the last question: `qa watch` re-asks it when new articles arrive",
            Chat.watch),
    Command(("/help", "/?"), "/help", "this text", Chat.help),
    Command(("/quit", "/exit", "/q"), "/quit", "leave (also Ctrl-D); Ctrl-C stops an answer", Chat.quit),
]


def conversation_json(record: list[dict[str, Any]], started: str) -> str:
    return json.dumps({"format": "qa-chat", "version": 1, "started": started, "turns": record},
                      ensure_ascii=False, indent=1) + "\n"


def load_conversation(path: Path) -> dict[str, Any]:
    """A conversation written by /export or kept for `--continue`; QAError naming the file when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise QAError(f"No saved conversation at {path}", "ask something in `qa chat` first, or give the file "
                      "that /export wrote") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise QAError(f"Cannot read the conversation {path}: {str(e).splitlines()[0][:160]}",
                      "give a file written by /export") from None
    if not isinstance(data, dict) or not isinstance(data.get("turns"), list) or \
            not all(isinstance(t, dict) and isinstance(t.get("question"), str) for t in data["turns"]):
        raise QAError(f"{path} is not a qa chat conversation", "give a file written by /export")
    return data


Row = TypeVar("Row", Citation, Passage)


def answer_from_dict(d: dict[str, Any]) -> Answer:
    """An Answer from its `to_dict()` form (a saved conversation), for /sources and /open after `--continue`."""

    def check(c: dict[str, Any]) -> Check:
        cited = c.get("cited")
        return Check(str(c.get("sentence", "")), [n for n in cited if isinstance(n, int)] if isinstance(cited, list)
                     else [], str(c.get("action", "")), str(c.get("rule", "")), str(c.get("detail", "")))

    def pick(cls: type[Row], row: dict[str, Any]) -> Row:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in row.items() if k in names})

    return Answer(question=str(d.get("question", "")), standalone_question=str(d.get("standalone_question", "")),
                  answer=str(d.get("answer", "")), short_answer=str(d.get("short_answer", "")),
                  refused=bool(d.get("refused", False)),
                  citations=[pick(Citation, c) for c in d.get("citations", []) if isinstance(c, dict)],
                  passages=[pick(Passage, p) for p in d.get("passages", []) if isinstance(p, dict)],
                  timings=dict(d.get("timings") or {}), draft=str(d.get("draft", "")),
                  checks=[check(c) for c in d.get("checks") or [] if isinstance(c, dict)]
                  if isinstance(d.get("checks"), list) else [])


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def run_chat(backend: ChatBackend, read_line: Callable[[Callable[[], str]], str], console: Console, *,
             live: bool = False, echo: bool = False, json_out: Callable[[str], None] | None = None,
             debug: bool = False, confirm: Callable[[str], str] | None = None, autosave: Path | None = None,
             resume: dict[str, Any] | None = None) -> int:
    """The loop: read a line (Ctrl-C clears it, Ctrl-D or EOF ends), act on it. Returns the exit code: 0, or 1
    when the models could not load or (without a terminal) any question failed."""
    chat = Chat(backend, console, live=live, echo=echo, json_out=json_out, debug=debug, k=backend.k,
                confirm=confirm, autosave=autosave)
    if resume:
        chat.resume(resume)
        n = len(chat.record)
        if n and json_out is None:
            last = one_line(chat.record[-1].get("question", ""))
            console.print(Text(f"Continuing the conversation of {chat.started} ({n} question{'s' * (n != 1)}; "
                               f"the last: “{last}”). /clear starts afresh.", style="dim"), soft_wrap=True)
    while True:
        try:
            text = read_line(chat.toolbar)
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        try:
            if not chat.handle(text):
                break
        except KeyboardInterrupt:  # between two steps: stop whatever still runs; the session goes on
            if chat.pending is not None:
                backend.cancel()
            console.print("[yellow]stopped[/]")
    if chat.pending is not None:
        backend.cancel()
        chat.pending.join(2.0)
    if chat.fatal or (not live and chat.failures):
        return 1
    return 0

