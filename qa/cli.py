"""The `qa` command line: a thin Typer layer over the library. Heavy imports happen inside the commands."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from qa.errors import QAError
from qa.types import check_question

if TYPE_CHECKING:
    from rich.console import Console

    from qa.config import Settings
    from qa.ingest import IngestReport
    from qa.loading import Problem
    from qa.types import Answer

app = typer.Typer(help="Ask questions about a folder of news articles; every answer cites its sources.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False, add_completion=False)


def settings(ctx: typer.Context) -> Settings:
    obj: Settings = ctx.find_root().obj
    return obj


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


@app.callback()
def main_options(
    ctx: typer.Context,
    home: Annotated[Optional[Path], typer.Option(help="Data directory (env QA_HOME).")] = None,
    chroma_url: Annotated[Optional[str], typer.Option(help="Chroma server URL (env QA_CHROMA_URL).")] = None,
    llm: Annotated[Optional[str], typer.Option(help="Generator: llamacpp, openai, ollama, fake (env QA_LLM).")] = None,
) -> None:
    from qa.config import Settings

    overrides: dict[str, Any] = {k: v for k, v in
                                 {"home": home, "chroma_url": chroma_url, "llm": llm}.items() if v is not None}
    ctx.obj = Settings(**overrides)


@app.command()
def setup(ctx: typer.Context) -> None:
    """Assemble the bundled generator model into the cache (checksum verified); fast when already done."""
    from qa.embedding import minilm_path
    from qa.llms import ensure_gguf

    s = settings(ctx)
    con = err_console()
    con.print(f"embedding model: {minilm_path()}")
    if s.llm == "llamacpp":
        con.print(f"generator model: {ensure_gguf(s, lambda m: con.print(m))}")


PROGRESS_S = 5.0  # without a terminal, a progress line this often


def _eta(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class _PipedProgress:
    """Progress for a log file or a pipe: one line every PROGRESS_S seconds (articles, chunks, chunks/s, ETA)."""

    def __init__(self, con: Console) -> None:
        import time

        self.con, self.clock = con, time.monotonic
        self.t0 = self.last = self.clock()

    def __call__(self, done: int, total: int, chunks: int) -> None:
        now = self.clock()
        if now - self.last < PROGRESS_S or total == 0:
            return
        self.last = now
        elapsed = now - self.t0
        left = f"about {_eta(elapsed / done * (total - done))} left" if done else "time left not known yet"
        self.con.print(f"ingest: {done:,}/{total:,} articles, {chunks:,} chunks embedded, "
                       f"{chunks / max(elapsed, 1e-9):.0f} chunks/s, {left}", highlight=False, soft_wrap=True)


def _ingest(s: Settings, paths: list[Path], prune: bool = False, rebuild: bool = False,
            follow_symlinks: bool = False) -> IngestReport:
    import contextlib
    import time

    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from qa.embedding import make_embeddings
    from qa.ingest import ingest
    from qa.locking import ingest_lock
    from qa.store import open_store, writing

    con = err_console()
    with writing(s), ingest_lock(s):
        if rebuild:
            from qa.store import wipe_store

            wipe_store(s)
            con.print(f"removed the index under {escape(str(s.home))}; rebuilding it", highlight=False)
        store = open_store(s, make_embeddings(s))
        live = con.is_terminal
        progress = Progress(TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(), TextColumn("articles"),
                            TextColumn("{task.fields[chunks]:,} chunks, {task.fields[rate]:.0f}/s"),
                            TimeRemainingColumn(), console=con, transient=True, disable=not live)
        piped = _PipedProgress(con)
        t0 = time.monotonic()
        with progress if live else contextlib.nullcontext():
            task = progress.add_task("ingest", total=None, chunks=0, rate=0.0)

            def on_progress(done: int, total: int, chunks: int) -> None:
                rate = chunks / max(time.monotonic() - t0, 1e-9)
                progress.update(task, completed=done, total=total, chunks=chunks, rate=rate)
                if not live:
                    piped(done, total, chunks)

            def on_problem(p: Problem) -> None:
                label = "[yellow]skipped[/]" if p.skipped else "[yellow]warning[/]"
                (progress.console if live else con).print(f"{label} {escape(str(p))}", soft_wrap=True,
                                                          highlight=False)

            report = ingest(paths, store, s, prune=prune, on_problem=on_problem, on_progress=on_progress,
                            follow_symlinks=follow_symlinks)
    con.print(report.summary(), highlight=False)
    return report


@app.command("ingest")
def ingest_cmd(
    ctx: typer.Context,
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Files or folders (default: the bundled corpus/).")] = None,
    prune: Annotated[bool, typer.Option(help="Remove articles whose files are gone (only under PATHS; never "
                                        "under a folder that is missing or unreadable).")] = False,
    rebuild: Annotated[bool, typer.Option(help="Delete the index and build it again from PATHS (which must be "
                                          "given).")] = False,
    follow_symlinks: Annotated[bool, typer.Option(help="Also read files and folders that links lead to outside "
                                                  "PATHS.")] = False,
) -> None:
    """Index articles (.md, .txt, .html) so they can be asked about; unchanged articles are skipped."""
    s = settings(ctx)
    if rebuild and not paths:
        raise QAError("--rebuild deletes the index and builds it again only from the folders you name; none was "
                      "given, so nothing was deleted", "run `qa ingest --rebuild PATH...` with every folder of your "
                      "articles")
    if rebuild:
        _check_rebuild_sources(paths or [], follow_symlinks)
    if _ingest(s, paths or [s.corpus], prune=prune, rebuild=rebuild, follow_symlinks=follow_symlinks).problems:
        raise typer.Exit(3)  # the rest was ingested; scripts can tell "some files skipped" from failure (1)


def _check_rebuild_sources(paths: list[Path], follow_symlinks: bool) -> None:
    """--rebuild deletes the index first: refuse when a folder named is missing or unreadable (a typo, an
    unmounted drive) or none holds an article file, so a rebuild never replaces an index with an empty one."""
    from qa.ingest import _readable_dir
    from qa.loading import find_files, shown_path
    from qa.terminal import one_line

    for p in paths:
        if not _readable_dir(p):
            raise QAError(f"--rebuild: {one_line(shown_path(p))} is missing or cannot be read; nothing was deleted",
                          "check the path (is the drive mounted?) and run the command again")
    if not any(isinstance(f, Path) for f in find_files(paths, follow_symlinks)):
        raise QAError("--rebuild: no article files (.md, .txt, .html) under the folders given; nothing was deleted",
                      "name the folders that hold your articles")


@app.command("rm")
def rm(ctx: typer.Context,
       article_ids: Annotated[list[str], typer.Argument(help="Ids of the articles to remove (see `qa sources`).")]
       ) -> None:
    """Remove articles from the index (their chunks, keyword rows and record); their files are not touched."""
    from rich.markup import escape

    from qa.embedding import make_embeddings
    from qa.ingest import remove
    from qa.locking import ingest_lock
    from qa.store import open_store, writing
    from qa.terminal import one_line

    s = settings(ctx)
    con = err_console()
    with writing(s), ingest_lock(s):
        removed, unknown = remove(article_ids, open_store(s, make_embeddings(s)), s)
    for a in removed:
        again = (f" (its file {a.path} is still there: ingesting that folder adds it again)"
                 if a.path and os.path.lexists(a.path) else "")
        con.print(escape(one_line(f"removed {a.id}: {a.title}{again}")), highlight=False, soft_wrap=True)
    for article_id in unknown:
        con.print(escape(one_line(f"not removed {article_id}: no such article in the index (see `qa sources`)")),
                  highlight=False, soft_wrap=True)
    if unknown:
        raise typer.Exit(3 if removed else 1)


def _assistant(s: Settings):  # type: ignore[no-untyped-def]
    from qa.chain import make_assistant
    from qa.ingest import demo_allowed
    from qa.store import open_store

    if open_store(s).count_articles() == 0:
        where = s.chroma_url or str(s.home)
        if not demo_allowed(s):  # a Chroma server, or an index that held articles: never fill it with the demo
            raise QAError(f"The index at {where} is empty", "add your articles with `qa ingest PATH...`")
        err_console().print(f"The index is empty; ingesting the demo article from {s.corpus} first.")
        _ingest(s, [s.corpus])
    return make_assistant(s)


def print_answer(answer: Answer, con: Console | None = None) -> None:
    """An answer for people: the text, then each citation with title, outlet, date, URL and quoted words."""
    from rich.console import Console
    from rich.markup import escape

    con = con or Console(highlight=False)
    con.print(escape(answer.answer))
    if answer.refused:
        con.print(f"\n[dim]Searched for: {escape(answer.standalone_question)}[/]")
        con.print("[dim]Closest passages found (none supports an answer):[/]" if answer.passages
                  else "[dim]No passages matched.[/]")
        for p in answer.passages[:3]:
            first = " ".join(p.text.split()[:30])
            con.print(f"  [dim]\\[{p.n}] {escape(p.title)} — {escape(p.source)} {p.date[:10]}\n"
                      f"      “{escape(first)}…”[/]")
    for c in answer.citations:
        meta = " · ".join(x for x in (c.source, c.date[:10], c.url) if x)
        mark = "✓" if c.verified else "?"
        con.print(f"\n[bold]\\[{c.n}][/] {escape(c.title)}\n    {escape(meta)}\n    {mark} “{escape(c.quote)}”")


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question.")],
    k: Annotated[Optional[int], typer.Option("-k", help="Passages shown to the generator.")] = None,
    source: Annotated[str, typer.Option(help="Only articles from this outlet.")] = "",
    since: Annotated[str, typer.Option(help="Only articles dated on or after YYYY-MM-DD.")] = "",
    until: Annotated[str, typer.Option(help="Only articles dated on or before YYYY-MM-DD.")] = "",
    as_of: Annotated[str, typer.Option(help="Ask as on YYYY-MM-DD: later articles are never used, and \"this "
                                       "week\" or \"the latest\" are read from that day.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
) -> None:
    """Answer a question from the indexed articles, citing the passages that support it."""
    from datetime import date

    from qa.retrieval import Filters

    if not question.strip():
        raise typer.BadParameter("the question is empty")
    check_question(question)
    s = settings(ctx)
    for name, value in (("--since", since), ("--until", until), ("--as-of", as_of)):
        if value:
            try:
                date.fromisoformat(value[:10])
            except ValueError:
                raise QAError(f"{name} {value!r} is not a date", "write it as YYYY-MM-DD, e.g. 2022-08-03") from None
    answer = _assistant(s).ask(question, k=k, filters=Filters(source=source, since=since, until=until, as_of=as_of))
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print_answer(answer)


from qa.cli_chat import chat  # noqa: E402 - `qa chat` (light import; models load inside the command)

app.command("chat")(chat)


@app.command()
def sources(ctx: typer.Context,
            as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the indexed articles: id, title, outlet, date and number of chunks."""
    from qa.store import open_store

    rows = open_store(settings(ctx)).list_articles()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "title", "source", "date", "chunks")
    for r in rows:
        table.add_row(r["id"], r["title"][:70], r["source"], r["date"][:10], str(r["chunks"]))
    Console().print(table)
    err_console().print(f"{len(rows)} articles")


@app.command()
def show(ctx: typer.Context, article_id: Annotated[str, typer.Argument(help="The article id.")],
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Print a stored article (offsets of citations point into its `text`)."""
    from qa.store import open_store

    article = open_store(settings(ctx)).get_article(article_id)
    if article is None:
        raise QAError(f"No article {article_id!r} in the index", "list the ids with `qa sources`")
    if as_json:
        keys = ("id", "title", "source", "date", "url", "author", "text")
        typer.echo(json.dumps({k: getattr(article, k) for k in keys}, ensure_ascii=False))
    else:
        typer.echo(f"{article.title}\n{article.source} · {article.date} · {article.url}\n\n{article.text}")


from qa.cli_eval import eval_app  # noqa: E402 - `qa eval QUESTIONS` and `qa eval compare A B`

app.add_typer(eval_app, name="eval")


def main() -> None:
    """Entry point: user mistakes print one line and a hint, never a traceback (QA_DEBUG=1 shows it)."""
    try:
        code = app(standalone_mode=False)  # returns the code of a `typer.Exit(code)` instead of exiting
        if isinstance(code, int) and code:
            sys.exit(code)
    except QAError as e:
        if os.environ.get("QA_DEBUG"):
            raise
        con = err_console()
        con.print(f"[red]error:[/] {e.message}", soft_wrap=True)
        if e.hint:
            con.print(f"[dim]hint:[/] {e.hint}", soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # click usage errors and the rest
        import click

        if isinstance(e, click.exceptions.Exit):
            sys.exit(e.exit_code)
        if isinstance(e, click.ClickException):
            e.show()
            sys.exit(e.exit_code)
        if isinstance(e, click.exceptions.Abort):
            sys.exit(130)
        if type(e).__module__.startswith("chromadb") and not os.environ.get("QA_DEBUG"):
            from rich.markup import escape

            con = err_console()  # e.g. "Error loading hnsw index": files under the index folder are damaged
            first = (str(e).splitlines() or [type(e).__name__])[0][:200]
            if m := re.search(r"dimension of (\d+), got (\d+)", first):  # not damaged: built with another model
                con.print(f"[red]error:[/] The index was built with another embedding model ({m.group(1)}-dimensional "
                          f"vectors; the configured one, QA_EMBEDDINGS, gives {m.group(2)})", soft_wrap=True)
            else:
                con.print(f"[red]error:[/] The index could not be read; it may be damaged: {escape(first)}",
                          soft_wrap=True)
            con.print("[dim]hint:[/] run `qa ingest --rebuild PATH...` to build it again from your articles")
            sys.exit(1)
        raise
