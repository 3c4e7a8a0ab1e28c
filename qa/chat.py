"""run_chat(backend, read_line, console): the terminal chat loop. Knows nothing of LangChain: the answer pipeline
comes in as callbacks (`ChatBackend`), so a test can drive the loop with lambdas."""

from __future__ import annotations

import json
import re
import shlex
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.text import Text

from qa.errors import QAError
from qa.prompts import REWRITE
from qa.types import check_question

REWRITE_TURNS = 2  # earlier turns shown to the rewriter: enough for "he"/"that", and the prompt stays short

HELP = """\
Ask a question about the indexed articles; follow-ups ("What did he say about Syria?") are rewritten into a
standalone question, shown as "Searching for: …" (↑ recalls it so you can correct it).

  /sources              the last answer's sources in full (quotes, URLs, every passage retrieved)
  /open N               the article of source N, around the quoted words
  /clear                forget the conversation (the next question is not a follow-up)
  /k N                  passages shown to the generator (now {k})
  /filter source=OUTLET since=YYYY-MM-DD until=YYYY-MM-DD    restrict retrieval; /filter off removes all
  /asof YYYY-MM-DD      answer as of a date: nothing published after it is used; /asof off
  /help                 this text
  /quit                 leave (also Ctrl-D); Ctrl-C stops an answer and returns to the prompt"""


@dataclass
class ChatBackend:
    """What the chat needs from the answer pipeline, as plain callables.

    `stream(question, k, filters, standalone)` yields events with `.kind` "passages" | "token" | "answer" (and
    `.passages`, `.token`, `.answer`), like `qa.chain.Assistant.stream`; `filters` is a dict with any of
    source/since/until/as_of. `complete(prompt)` is a short generator call used to rewrite follow-ups.
    """

    stream: Callable[[str, int, dict[str, str], str | None], Iterator[Any]]
    complete: Callable[[str], str] = lambda _prompt: ""
    article: Callable[[str], Any] = lambda _id: None
    k: int = 4
    ready: Callable[[], bool] = lambda: True
    wait_ready: Callable[[], None] = lambda: None  # blocks until loaded; raises QAError if loading failed
    loading_status: Callable[[], str] = lambda: ""
    on_interrupt: Callable[[], None] = lambda: None  # an answer was stopped with Ctrl-C
    remember: Callable[[str], None] = lambda _text: None  # put a rewritten question into the line history


@dataclass
class Turn:
    question: str
    standalone: str
    answer: str


# --- follow-up rewriting ------------------------------------------------------------------------------------

# Words that point back into the conversation. "that" only counts at the end ("When was that?"): elsewhere it is
# mostly a conjunction. Definite descriptions ("the meeting") are not detected (documented in the README).
ANAPHORA = frozenset(["he", "him", "his", "she", "her", "hers", "they", "them", "their", "theirs", "it", "its", "this", "these", "those", "there"])
EXISTENTIAL = re.compile(r"\b(is|are|was|were|will|would|has|have|had|be) there\b")
OPENERS = ("and", "but", "also", "so", "or", "then", "what about", "how about", "what else", "who else",
           "anything else", "same")


def names_something(question: str) -> bool:
    """A capitalised word after the first one ("Sudani", "Syria", "U.S.") or a year."""
    return any((w[0].isupper() and w != "I") or re.fullmatch(r"\d{4}", w.strip("?.,!"))
               for w in question.split()[1:])


def needs_rewrite(question: str, turns: list[Turn]) -> bool:
    """Whether a question depends on the conversation: there is one, and the question opens with a connective
    ("And …"), points back (he/it/those/…/"…that?"), or is a short fragment naming nothing ("Why?")."""
    if not turns:
        return False
    text = " ".join(re.findall(r"[a-z0-9]+", question.lower()))
    if not text:
        return False
    words = text.split()
    if any(text == o or text.startswith(o + " ") for o in OPENERS):
        return True
    if ANAPHORA & set(EXISTENTIAL.sub(" ", text).split()):
        return True
    if words[-1] == "that":
        return True
    return len(words) <= 4 and not names_something(question)


def rewrite_prompt(question: str, turns: list[Turn]) -> str:
    """prompts.REWRITE with only the last REWRITE_TURNS turns (their standalone questions and short answers)."""
    lines = []
    for t in turns[-REWRITE_TURNS:]:
        lines.append(f"Question: {t.standalone}")
        if t.answer:
            lines.append(f"Answer: {t.answer}")
    return REWRITE.format(history="\n".join(lines), question=question)


def clean_rewrite(text: str, question: str) -> str | None:
    """The rewritten question from the model's reply, or None when the reply is not a usable question."""
    line = next((x.strip() for x in text.strip().splitlines() if x.strip()), "")
    line = re.sub(r"^(\**\s*(standalone|rewritten)?\s*question\s*:\**\s*)", "", line, flags=re.IGNORECASE).strip()
    line = line.strip("\"'“”*` ").strip()
    if not line or "cannot answer" in line.lower() or "provided sources" in line.lower():
        return None
    if len(line.split()) > max(40, 3 * len(question.split()) + 15):
        return None
    return line


def answer_for_history(answer: Any) -> str:
    """A previous answer as the rewriter sees it: the text without [n] markers, at most ~300 characters."""
    if getattr(answer, "refused", False):
        return ""
    text = re.sub(r"\s*\[\d+(?:\s*[,;]\s*\d+)*\]", "", str(getattr(answer, "answer", "")))
    return text if len(text) <= 300 else text[:300].rsplit(" ", 1)[0] + " …"


# --- rendering ----------------------------------------------------------------------------------------------

def _meta(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


def render_found(con: Console, passages: list[Any]) -> None:
    """'Found 3 passages from 2 articles:' and one line per article with the passage numbers it gave."""
    if not passages:
        con.print("[yellow]Found no passages[/] [dim](check /filter, or `qa sources` for what is indexed)[/]")
        return
    articles: dict[str, list[Any]] = {}
    for p in passages:
        articles.setdefault(p.article_id, []).append(p)
    np, na = len(passages), len(articles)
    con.print(f"[bold]Found {np} passage{'s' * (np != 1)} from {na} article{'s' * (na != 1)}:[/]")
    for group in articles.values():
        p = group[0]
        nums = ",".join(str(x.n) for x in group)
        con.print(f"  [cyan]\\[{nums}][/] {escape(p.title or p.article_id)} [dim]— "
                  f"{escape(_meta(p.source, p.date[:10]))}[/]", overflow="ellipsis", no_wrap=True)


def unique_citations(answer: Any) -> list[Any]:
    """Citations once each: several sentences citing the same words of the same source show one entry."""
    seen: set[tuple[int, str, int, int]] = set()
    out = []
    for c in answer.citations:
        key = (c.n, c.article_id, c.start, c.end)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def render_answer(con: Console, answer: Any) -> None:
    """The checked answer, then each numbered source with its quoted words."""
    if answer.refused:
        con.print(f"[yellow]{escape(answer.answer)}[/]")
        if answer.passages:
            con.print("[dim]The closest passages are listed above; /open N shows one in its article.[/]")
        return
    con.print(escape(answer.answer))
    for c in unique_citations(answer):
        mark = "[green]✓[/]" if c.verified else "[yellow]? unverified[/]"
        con.print(f"  [cyan]\\[{c.n}][/] {escape(c.title)} [dim]— {escape(_meta(c.source, c.date[:10]))}[/]\n"
                  f"      {mark} “{escape(c.quote)}”")


def render_sources(con: Console, answer: Any) -> None:
    """/sources: every citation in full (title, outlet, date, URL, id, quote), then the other passages."""
    if not answer.citations:
        con.print("[dim]The last answer cites no sources.[/]")
    for c in unique_citations(answer):
        con.print(f"[bold cyan]\\[{c.n}][/] [bold]{escape(c.title)}[/]\n"
                  f"    {escape(_meta(c.source, c.date[:10], c.url))}\n"
                  f"    [dim]id {escape(c.article_id)}, characters {c.start}–{c.end}[/]\n"
                  f"    {'[green]✓ verified[/]' if c.verified else '[yellow]? not verified[/]'} "
                  f"“{escape(c.quote)}”")
    cited = {c.n for c in answer.citations}
    rest = [p for p in answer.passages if p.n not in cited]
    if rest:
        con.print("[dim]Also retrieved (not cited):[/]")
        for p in rest:
            con.print(f"  [dim]\\[{p.n}] {escape(p.title)} — {escape(_meta(p.source, p.date[:10]))} "
                      f"(score {p.score:.2f})[/]")
    con.print("[dim]/open N shows source N in its article.[/]")


def excerpt(text: str, start: int, end: int, around: int = 500) -> tuple[str, str, str]:
    """(before, span, after): the span with up to `around` characters each side, cut at word boundaries."""
    a, b = max(0, start - around), min(len(text), end + around)
    before, after = text[a:start], text[end:b]
    if a > 0:
        before = "…" + before.split(" ", 1)[-1]
    if b < len(text):
        after = after.rsplit(" ", 1)[0] + "…"
    return before, text[start:end], after


def visible_stream(text: str) -> str:
    """Streamed text as shown while generating: without the trailing "Short answer:" line (or its beginning)."""
    m = re.search(r"\n\s*\**short answer", text, re.IGNORECASE)
    if m:
        text = text[:m.start()]
    last = text.rsplit("\n", 1)
    if len(last) == 2 and "short answer:".startswith(last[1].strip(" *").lower()):
        text = last[0]
    return text.strip()


# --- the session --------------------------------------------------------------------------------------------

@dataclass
class Chat:
    """One chat session: settings changed by commands, the conversation, the last answer."""

    backend: ChatBackend
    console: Console
    live: bool = False  # stream tokens and show spinners (a terminal); False prints finished answers only
    echo: bool = False  # print each question (piped input, so the output reads as a transcript)
    json_out: Callable[[str], None] | None = None  # --json: one Answer.to_dict() per question goes here
    debug: bool = False  # QA_DEBUG: let unexpected errors raise with their traceback
    k: int = 4
    filters: dict[str, str] = field(default_factory=dict)
    turns: list[Turn] = field(default_factory=list)
    last: Any = None
    failures: int = 0
    fatal: bool = False

    def toolbar(self) -> str:
        state = self.backend.loading_status() if not self.backend.ready() else ""
        return " · ".join(x for x in (state or "ready", f"k={self.k}", self.describe_filters() or "no filters",
                                      "/help") if x)

    def describe_filters(self) -> str:
        names = {"as_of": "as of"}
        return " ".join(f"{names.get(key, key)}={v}" for key, v in self.filters.items() if v)

    # Lines -------------------------------------------------------------------------------------------------
    def handle(self, line: str) -> bool:
        """Act on one input line; False when the session should end."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            return self.command(line)
        self.ask(line)
        return not self.fatal

    def command(self, line: str) -> bool:
        try:
            words = shlex.split(line)
        except ValueError as e:
            return self.say_error(f"cannot read that command: {e}", "close the quotes")
        name, args = words[0].lower(), words[1:]
        if name in ("/quit", "/exit", "/q"):
            return False
        if name in ("/help", "/?"):
            self.console.print(escape(HELP.format(k=self.k)))
        elif name == "/clear":
            self.turns.clear()
            self.console.print("[dim]Conversation forgotten; the next question starts fresh.[/]")
        elif name == "/k":
            if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= 20:
                return self.say_error("/k needs a number of passages from 1 to 20", "for example: /k 6")
            self.k = int(args[0])
            self.console.print(f"[dim]Showing the generator {self.k} passages per question.[/]")
        elif name == "/filter":
            return self.set_filter(args)
        elif name == "/asof":
            return self.set_filter(["as_of=" + a for a in args] if args != ["off"] else ["as_of="])
        elif name == "/sources":
            if self.last is None:
                return self.say_error("no answer yet", "ask a question first")
            render_sources(self.console, self.last)
        elif name == "/open":
            return self.open(args)
        else:
            return self.say_error(f"unknown command {name}", "type /help for the commands")
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
                try:
                    date.fromisoformat(value)
                except ValueError:
                    return self.say_error(f"{value!r} is not a date", "write dates as YYYY-MM-DD, e.g. 2024-12-13")
            if value and value != "off":
                new[key] = value
            else:
                new.pop(key, None)
        if not args:
            self.console.print(f"[dim]Filters: {escape(self.describe_filters() or 'none')}[/]")
            return True
        self.filters = new
        self.console.print(f"[dim]Filters: {escape(self.describe_filters() or 'none')}[/]")
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
        self.console.print(f"[bold]{escape(article.title)}[/]\n[dim]{escape(_meta(article.source, article.date[:10], article.url))}[/]\n")
        body = Text(before)
        body.append(span, style="bold yellow")
        body.append(after)
        self.console.print(body)
        self.console.print(f"[dim]The whole article: qa show {escape(article.id)}[/]")
        return True

    def say_error(self, message: str, hint: str = "") -> bool:
        self.console.print(f"[red]error:[/] {escape(message)}" + (f" [dim]— {escape(hint)}[/]" if hint else ""),
                           soft_wrap=True)
        return True

    # Questions ---------------------------------------------------------------------------------------------
    def ask(self, question: str) -> None:
        """Rewrite a follow-up, show what was found, stream the answer, then the sources; Ctrl-C stops it."""
        t0 = time.perf_counter()
        if self.echo:
            self.console.print(f"[bold]» {escape(question)}[/]")
        try:
            if not self.backend.ready():
                if self.live:
                    with self.console.status(self.backend.loading_status() or "loading the models…"):
                        self.backend.wait_ready()
                else:
                    self.backend.wait_ready()
        except QAError as e:
            self.fatal = True
            self.failures += 1
            self.say_error(e.message, e.hint)
            return
        except KeyboardInterrupt:
            self.console.print("[dim]stopped[/]")
            return
        events: Any = None
        try:
            check_question(question)
            standalone, rewrite_s = self.rewrite(question)
            events = self.backend.stream(question, self.k, dict(self.filters), standalone)
            answer, marks = self.consume(events, t0)
        except KeyboardInterrupt:
            if events is not None and hasattr(events, "close"):
                events.close()
            self.backend.on_interrupt()
            self.console.print("\n[yellow]stopped[/] [dim]— the answer was cut short; ask again or go on[/]")
            return
        except QAError as e:
            self.failures += 1
            self.say_error(e.message, e.hint)
            return
        except Exception as e:
            if self.debug:
                raise
            self.failures += 1
            self.say_error(f"{type(e).__name__}: {e}", "QA_DEBUG=1 shows the traceback")
            return
        if answer is None:
            self.failures += 1
            self.say_error("the pipeline ended without an answer", "QA_DEBUG=1 and try again")
            return
        answer.timings = {**getattr(answer, "timings", {}), "rewrite_s": round(rewrite_s, 3)}
        self.last = answer
        self.turns.append(Turn(question, answer.standalone_question or question, answer_for_history(answer)))
        if self.json_out is not None:
            self.json_out(json.dumps(answer.to_dict(), ensure_ascii=False))
            return
        render_answer(self.console, answer)
        if self.live:
            self.console.print("[dim]" + " · ".join(f"{k} {v:.1f} s" for k, v in marks.items()) + "[/]")

    def rewrite(self, question: str) -> tuple[str | None, float]:
        """The standalone question for a follow-up (shown as "Searching for: …"), or None to use it as asked."""
        if not needs_rewrite(question, self.turns):
            return None, 0.0
        t = time.perf_counter()
        prompt = rewrite_prompt(question, self.turns)
        if self.live:
            with self.console.status("[dim]rewriting the follow-up…[/]"):
                reply = self.backend.complete(prompt)
        else:
            reply = self.backend.complete(prompt)
        standalone = clean_rewrite(reply, question)
        elapsed = time.perf_counter() - t
        if standalone is None or standalone == question:
            if self.json_out is None:
                self.console.print(f"[dim]Searching for:[/] {escape(question)} [dim](could not rewrite it; "
                                   "name who or what you mean if the answer is off)[/]")
            return None, elapsed
        if self.json_out is None:
            self.console.print(f"[dim]Searching for:[/] [italic]{escape(standalone)}[/]")
        self.backend.remember(standalone)
        return standalone, elapsed

    def consume(self, events: Iterator[Any], t0: float) -> tuple[Any, dict[str, float]]:
        """Show the passages at once, stream tokens (in a terminal), return the final answer and timings."""
        answer: Any = None
        marks: dict[str, float] = {}
        text = ""
        quiet = self.json_out is not None
        if not self.live:
            for ev in events:
                if ev.kind == "passages" and not quiet:
                    render_found(self.console, ev.passages or [])
                    for note in getattr(ev, "notes", None) or []:
                        self.console.print(f"[dim]{escape(note)}[/]")
                elif ev.kind == "answer":
                    answer = ev.answer
            return answer, marks

        def view() -> Any:
            if not text:
                return Spinner("dots", Text("reading the passages…", style="dim"))
            return Group(Text(visible_stream(text)), Spinner("dots", style="dim"))

        with Live(Spinner("dots", Text("searching…", style="dim")), console=self.console, transient=True,
                  refresh_per_second=8) as live, interrupt_flag() as stop:
            for ev in events:
                if stop.is_set():  # Ctrl-C while llama.cpp read the prompt (in C): stop at the next event
                    raise KeyboardInterrupt
                now = time.perf_counter() - t0
                if ev.kind == "passages":
                    marks["sources"] = now
                    live.console.print(Text())
                    render_found(live.console, ev.passages or [])
                    for note in getattr(ev, "notes", None) or []:
                        live.console.print(f"[dim]{escape(note)}[/]")
                    live.console.print(Text())
                    live.update(view())
                elif ev.kind == "token":
                    marks.setdefault("first words", now)
                    text += ev.token
                    live.update(view())
                elif ev.kind == "answer":
                    marks["answer"] = now
                    answer = ev.answer
            if stop.is_set():
                raise KeyboardInterrupt
        return answer, marks


@contextmanager
def interrupt_flag() -> Iterator[threading.Event]:
    """Ctrl-C sets a flag instead of raising wherever Python happens to be: a KeyboardInterrupt raised inside a
    finalizer of the model's objects is printed and dropped, and the answer would run on. Main thread only (where
    signal handlers can be set); elsewhere the flag is never set and Ctrl-C behaves as usual."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, lambda _sig, _frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def run_chat(backend: ChatBackend, read_line: Callable[[Callable[[], str]], str], console: Console, *,
             live: bool = False, echo: bool = False, json_out: Callable[[str], None] | None = None,
             debug: bool = False) -> int:
    """The loop: read a line (Ctrl-C clears it, Ctrl-D or EOF ends), act on it. Returns the exit code: 0, or 1
    when the models could not load or (without a terminal) any question failed."""
    chat = Chat(backend, console, live=live, echo=echo, json_out=json_out, debug=debug, k=backend.k)
    while True:
        try:
            line = read_line(chat.toolbar)
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        if not chat.handle(line):
            break
    if chat.fatal or (not live and chat.failures):
        return 1
    return 0
