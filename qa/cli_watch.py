"""`qa watch ...`: saved questions re-asked when new articles arrive (a thin layer over qa/watch.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from qa.terminal import clean, dumps, one_line

if TYPE_CHECKING:
    from rich.console import Console

    from qa.config import Settings

watch_app = typer.Typer(add_completion=False, invoke_without_command=True,
                        help="Saved questions: `qa watch add \"QUESTION\"`, then after an ingest `qa watch` re-asks "
                             "those the new articles can change and shows what changed.")


def _settings(ctx: typer.Context) -> Settings:
    obj: Settings = ctx.find_root().obj
    return obj


def _line(value: object) -> str:
    """Text from articles or the user as one safe line of rich markup (the terminal boundary)."""
    from rich.markup import escape

    return escape(one_line(str(value)))


def _text(value: object) -> str:
    from rich.markup import escape

    return escape(clean(str(value)))


def _out() -> Console:
    from qa.terminal import console

    return console()


def _when(entry: dict[str, Any]) -> str:
    return _line(str(entry.get("date", ""))[:16].replace("T", " "))


def _filters_text(filters: dict[str, str]) -> str:
    names = {"as_of": "as of"}
    return " ".join(f"{names.get(k, k)}={v}" for k, v in filters.items())


@watch_app.callback()
def watch_cmd(
    ctx: typer.Context,
    name: Annotated[list[str] | None, typer.Option("--name", help="Check only this saved question (repeatable).")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Re-ask the saved questions that new or changed articles can affect; the others are not re-generated."""
    if ctx.invoked_subcommand is not None:
        return
    from qa.watch import check

    s = _settings(ctx)
    con = _out()
    report = check(s, name or None, on_question=None if as_json else lambda row: print_row(row, con))
    if as_json:
        typer.echo(dumps(report))
    else:
        print_summary(report, con)


def run_after_ingest(s: Settings, as_json: bool = False) -> None:
    """`qa ingest --watch`: the check, after the ingest."""
    from qa.watch import check, load

    if not load(s):
        from qa.cli_common import err_console

        err_console().print("no saved questions to re-ask (save one with `qa watch add \"QUESTION\"`)")
        return
    con = _out()
    report = check(s, on_question=None if as_json else lambda row: print_row(row, con))
    if as_json:
        typer.echo(dumps(report))
    else:
        print_summary(report, con)


def print_row(row: dict[str, Any], con: Console) -> None:
    """One saved question's result: unchanged (not re-asked) or the old and new answers side by side with what
    changed and the new sources, dated."""
    from rich.table import Table

    status = row["status"]
    colour = {"changed": "yellow", "first": "cyan", "same": "green", "unchanged": "green"}.get(status, "")
    label = {"unchanged": "unchanged", "same": "re-asked, same answer", "changed": "new answer",
             "first": "first answer"}[status]
    filters = f" [dim]({_line(_filters_text(row['filters']))})[/]" if row.get("filters") else ""
    con.print(f"\n[bold]{_line(row['name'])}[/] [{colour}]{label}[/] — {_line(row['question'])}{filters}")
    entry = row.get("answer") or {}
    if status == "unchanged":
        why = "the index is the same" if not any(row.get("index_changes", {}).values()) and row.get("index_changes") \
            else "no new or changed article among the passages it finds, and the same passages as its last answer"
        con.print(f"  [dim]not re-asked: {why} (answer of {_when(entry)})[/]")
        if entry:
            con.print(f"  {_text(entry.get('answer', ''))}")
        return
    for reason in row.get("reasons", [])[:4]:
        con.print(f"  [dim]why re-asked: {_line(reason)}[/]")
    if len(row.get("reasons", [])) > 4:
        con.print(f"  [dim]… and {len(row['reasons']) - 4} more reasons[/]")
    if status == "first":
        con.print(f"  {_text(entry.get('answer', ''))}")
        _sources(con, entry.get("citations", []))
        return
    before = row.get("before") or {}
    heads = (f"before ({_when(before)}, {before.get('articles', 0)} articles)",
             f"now ({_when(entry)}, {entry.get('articles', 0)} articles)")
    if con.is_terminal:  # side by side; piped, one line each (a table would be cut to 80 columns)
        table = Table(show_lines=False, expand=True)
        for head in heads:
            table.add_column(head, ratio=1)
        table.add_row(_text(before.get("answer", "")), _text(entry.get("answer", "")))
        con.print(table)
    else:
        for head, e in zip(heads, (before, entry)):
            con.print(f"  {head}: {_text(e.get('answer', ''))}", soft_wrap=True)
    diff = row.get("diff") or {}
    for s in diff.get("sentences_added", []):
        con.print(f"  [green]+[/] {_line(s)}")
    for s in diff.get("sentences_removed", []):
        con.print(f"  [red]-[/] {_line(s)}")
    for m in diff.get("numbers_moved", []):
        what = f" ({_line(m['counts'])})" if m.get("counts") else ""
        con.print(f"  number moved: {_line(m['before'])} → {_line(m['now'])}{what}")
    if diff.get("numbers_added"):
        con.print(f"  new numbers: {_line(', '.join(diff['numbers_added']))}")
    if diff.get("numbers_removed"):
        con.print(f"  numbers no longer given: {_line(', '.join(diff['numbers_removed']))}")
    new_sources = diff.get("new_sources", [])
    if new_sources:
        con.print("  newly cited:")
        _sources(con, new_sources, mark_new=True)


def _sources(con: Console, cited: list[dict[str, Any]], mark_new: bool = False) -> None:
    seen = set()
    for c in cited:
        if c["article_id"] in seen:
            continue
        seen.add(c["article_id"])
        meta = " · ".join(x for x in (c.get("source", ""), str(c.get("date", ""))[:10], c.get("url", "")) if x)
        new = " [cyan](new article)[/]" if mark_new and c.get("new_article") else ""
        con.print(f"    \\[{c.get('n', '')}] {_line(c.get('title', '') or c['article_id'])}{new}\n        {_line(meta)}")


def print_summary(report: dict[str, Any], con: Console) -> None:
    n = len(report["questions"])
    if not n:
        con.print("no saved questions (save one with `qa watch add \"QUESTION\"`)")
        return
    saved = report["not_asked"]
    con.print(f"\n{n} saved question{'s' * (n != 1)} on an index of {report['articles']:,} articles: "
              f"{report['asked']} re-asked, {saved} not re-asked ({saved} generation{'s' * (saved != 1)} saved); "
              f"{report['generator_calls']} generator call{'s' * (report['generator_calls'] != 1)}")


@watch_app.command("add")
def add_cmd(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question to keep asking.")],
    name: Annotated[str, typer.Option("--name", help="A short name for it (default: from its words).")] = "",
    k: Annotated[int | None, typer.Option("-k", help="Passages shown to the generator.")] = None,
    source: Annotated[str, typer.Option(help="Only articles from this outlet.")] = "",
    since: Annotated[str, typer.Option(help="Only articles dated on or after YYYY-MM-DD.")] = "",
    until: Annotated[str, typer.Option(help="Only articles dated on or before YYYY-MM-DD.")] = "",
    as_of: Annotated[str, typer.Option(help="Ask as on YYYY-MM-DD.")] = "",
    ask: Annotated[bool, typer.Option(help="Answer it now (the first answer later checks compare with).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the saved question as JSON.")] = False,
) -> None:
    """Save a question (with the filters `qa ask` takes) and answer it now; `qa watch` re-asks it when new
    articles can change its answer."""
    from qa.config import check_k, parse_day
    from qa.errors import QAError, UsageError
    from qa.watch import add, add_answered

    s = _settings(ctx)
    days = {n: parse_day(v, n) for n, v in (("--since", since), ("--until", until), ("--as-of", as_of)) if v}
    if "--since" in days and "--until" in days and days["--since"] > days["--until"]:
        raise UsageError(f"--since {since} is after --until {until}: no article can match", "swap the two days")
    if k is not None:
        check_k(s, k)
    saved = add(s, question, name, {"source": source, "since": since, "until": until, "as_of": as_of}, k)
    if ask:
        from qa.chain import make_assistant
        from qa.watch import _filters

        assistant = make_assistant(s)
        if assistant.retriever.store.count_articles() == 0:
            raise QAError(f"Saved as {saved['name']!r}, but the index is empty, so it was not answered",
                          "add articles with `qa ingest PATH...`; `qa watch` answers it then")
        answer = assistant.ask(saved["question"], k=k, filters=_filters(saved))
        saved["history"] = [add_answered(s, saved, answer, assistant.retriever.store)]
    if as_json:
        typer.echo(dumps(saved))
        return
    con = _out()
    con.print(f"saved as [bold]{_line(saved['name'])}[/]: {_line(saved['question'])}")
    if ask:
        from qa.render import render_answer

        render_answer(con, answer)
        con.print("\n[dim]`qa watch` re-asks it after an ingest when new articles can change this answer.[/]")


@watch_app.command("list")
def list_cmd(ctx: typer.Context,
             as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The saved questions: number, name, filters, answers kept and the date of the last one."""
    from qa.watch import load

    questions = load(_settings(ctx))
    if as_json:
        typer.echo(dumps([{k: q.get(k) for k in ("name", "question", "filters", "k", "added")}
                          | {"answers": len(q["history"]),
                             "last_answer": q["history"][-1] if q["history"] else None} for q in questions]))
        return
    con = _out()
    if not questions:
        con.print("no saved questions (save one with `qa watch add \"QUESTION\"`)")
        return
    for i, q in enumerate(questions, 1):
        last = q["history"][-1] if q["history"] else None
        when = f"last answered {_when(last)}" if last else "not answered yet"
        filters = f" ({_filters_text(q['filters'])})" if q.get("filters") else ""
        con.print(f"{i:>3}  [bold]{_line(q['name'])}[/]  {_line(q['question'])}{_line(filters)}  "
                  f"[dim]{len(q['history'])} answer{'s' * (len(q['history']) != 1)}, {_line(when)}[/]")


@watch_app.command("rm")
def rm_cmd(ctx: typer.Context,
           name: Annotated[str, typer.Argument(help="The saved question's name (or number in `qa watch list`).")],
           as_json: Annotated[bool, typer.Option("--json", help="Print the removed question as JSON.")] = False
           ) -> None:
    """Forget a saved question and its answers."""
    from qa.watch import remove

    q = remove(_settings(ctx), name)
    if as_json:
        typer.echo(dumps(q))
    else:
        _out().print(f"removed {_line(q['name'])}: {_line(q['question'])} ({len(q['history'])} answers forgotten)")


@watch_app.command("log")
def log_cmd(ctx: typer.Context,
            name: Annotated[str, typer.Argument(help="The saved question's name (or number in `qa watch list`).")],
            as_json: Annotated[bool, typer.Option("--json", help="Print the timeline as JSON.")] = False) -> None:
    """How a saved question's answer moved over time: its key facts and their sources, per answer."""
    from qa.watch import find, load, timeline

    q = find(load(_settings(ctx)), name)
    rows = timeline(q)
    if as_json:
        typer.echo(dumps({"name": q["name"], "question": q["question"], "filters": q.get("filters", {}),
                          "timeline": rows}))
        return
    con = _out()
    con.print(f"[bold]{_line(q['name'])}[/] — {_line(q['question'])}")
    if not rows:
        con.print("[dim]not answered yet: run `qa watch`[/]")
    for r in rows:
        facts = "refused: the sources did not answer it" if r["refused"] else \
            "; ".join(x for x in (r["short_answer"], ", ".join(r["amounts"])) if x) or one_line(r["answer"])[:120]
        con.print(f"\n{_when(r)}  [dim]{r['articles']:,} articles[/]  {_line(facts)}")
        moved = (r.get("diff") or {}).get("numbers_moved", [])
        for m in moved:
            con.print(f"    number moved: {_line(m['before'])} → {_line(m['now'])}")
        for c in r["sources"]:
            meta = ", ".join(x for x in (str(c.get("date", ""))[:10], c.get("source", "")) if x)
            con.print(f"    \\[{c.get('n', '')}] {_line(c.get('title') or c['article_id'])} [dim]({_line(meta)})[/]")
