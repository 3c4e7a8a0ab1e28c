"""Answers and their sources for people: in a terminal (rich) and as Markdown (the chat's /save). The one renderer
of an answer: `qa ask`, `qa watch add --ask` and the chat all print through `render_answer`.

Everything that comes from an article, a file, the model or a server goes through `qa.terminal.clean`/`one_line`
here before it is printed. Answer text is printed unwrapped (the terminal wraps it, so a copied answer is one
line); source blocks are wrapped to the terminal's width with their continuation lines indented.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from rich.console import Console
from rich.text import Text

from qa.terminal import clean, one_line

if TYPE_CHECKING:
    from qa.types import Answer, Check, Citation, Passage

Sourced = TypeVar("Sourced", "Citation", "Passage")  # what is grouped by article: citations or passages


def meta(*parts: str) -> str:
    return " · ".join(one_line(p) for p in parts if p and one_line(p))


def _wrap(con: Console, first: str, text: str, indent: str) -> str:
    """`first` + `text`, wrapped to the terminal with `indent` on the continuation lines (unwrapped when the
    output is not a terminal: piped text is for other programs)."""
    if not con.is_terminal:
        return first + text
    width = max(30, con.width - 1)
    return textwrap.fill(first + text, width=width, subsequent_indent=indent, break_on_hyphens=False,
                         break_long_words=True)


def line(con: Console, text: str, style: str = "") -> None:
    con.print(Text(text, style=style), soft_wrap=True, highlight=False)


def by_article(items: Iterable[Sourced]) -> list[list[Sourced]]:
    """Citations or passages grouped by article, in the order their articles first appear."""
    groups: dict[str, list[Sourced]] = {}
    for x in items:
        groups.setdefault(x.article_id, []).append(x)
    return list(groups.values())


def numbers(group: Sequence[Citation | Passage]) -> str:
    return "[" + ",".join(str(n) for n in dict.fromkeys(x.n for x in group)) + "]"


def title_block(con: Console, group: Sequence[Citation | Passage], style: str = "", url: bool = False) -> None:
    """'[1,3] Title' (wrapped, indented under itself) and an indented 'outlet · date' line (and URL, `url`)."""
    first = group[0]
    head = numbers(group) + " "
    con.print(Text(_wrap(con, head, one_line(first.title or first.article_id), "    "), style=style or "bold"),
              soft_wrap=True)
    where = meta(first.source, first.date[:10], first.url if url else "")
    if where:
        line(con, "    " + where, "dim")


def render_found(con: Console, passages: list[Passage]) -> None:
    """'Found 3 passages in 1 article:' and each article once: its title line and its outlet/date line."""
    if not passages:
        con.print("[yellow]Found no passages[/] [dim](check /filter, or `qa sources` for what is indexed)[/]")
        return
    groups = by_article(passages)
    np_, na = len(passages), len(groups)
    con.print(f"[bold]Found {np_} passage{'s' * (np_ != 1)} in {na} article{'s' * (na != 1)}:[/]")
    for group in groups:
        title_block(con, group, style="")


def unique_citations(answer: Answer) -> list[Citation]:
    """Citations once each: several sentences citing the same words of the same source show one entry."""
    seen: set[tuple[int, str, int, int]] = set()
    out = []
    for c in answer.citations:
        key = (c.n, c.article_id, c.start, c.end)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def mark(verified: bool) -> str:
    return "✓" if verified else "?"


def render_citations(con: Console, citations: list[Citation], full: bool = False) -> None:
    """Each cited article once (title line; outlet, date and URL line; a ⚑ line when the article holds text that
    imitates the assistant), its quoted words under it; `full` adds the article id with the quote's character
    offsets (the chat's /sources, for `qa show ID --json`)."""
    for group in by_article(citations):
        title_block(con, group, url=True)
        first = group[0]
        if first.flags:  # qa/flags.py: the quote is never the flagged text, but the reader should know
            line(con, _wrap(con, "    ⚑ flagged article: ", one_line("; ".join(first.flags)), "      "), "yellow")
        for c in group:
            head = f"    [{c.n}] {mark(c.verified)} “"
            text = _wrap(con, head, one_line(c.quote) + "”", "        ")
            t = Text(text)
            t.stylize("cyan", 4, 4 + len(f"[{c.n}]"))
            t.stylize("green" if c.verified else "yellow", len(f"    [{c.n}] "), len(f"    [{c.n}] ") + 1)
            con.print(t, soft_wrap=True)
            if full:
                line(con, f"        id {one_line(c.article_id)}, characters {c.start}–{c.end}"
                          f"{'' if c.verified else ' (not verified)'}", "dim")


def answer_text(answer: Answer) -> str:
    return one_line(answer.answer)


CLOSEST_WORDS = 30  # a refusal shows the start of each closest passage, this many words


def render_answer(con: Console, answer: Answer, closest: bool = True) -> None:
    """The checked answer (one unwrapped line), then its sources. A refusal in yellow, then what was searched for
    and the closest passages (`closest`; the chat has listed them above already and says how to open one)."""
    if not answer.refused:
        line(con, answer_text(answer))
        render_sources_block(con, answer)
        return
    line(con, answer_text(answer), "yellow")
    if not closest:
        if answer.passages:
            con.print("[dim]The closest passages are listed above; /open N shows one in its article.[/]")
        return
    con.print()
    line(con, f"Searched for: {one_line(answer.standalone_question)}", "dim")
    if not answer.passages:
        line(con, "No passages matched.", "dim")
        return
    line(con, "Closest passages found (none supports an answer):", "dim")
    for group in by_article(answer.passages[:3]):
        title_block(con, group, style="dim")
        for p in group:
            words = p.text.split()
            start = " ".join(words[:CLOSEST_WORDS]) + ("…" if len(words) > CLOSEST_WORDS else "")
            line(con, _wrap(con, f"    [{p.n}] “", one_line(start) + "”", "        "), "dim")


def render_sources_block(con: Console, answer: Answer) -> None:
    cits = unique_citations(answer)
    if cits:
        con.print()
        render_citations(con, cits)


def render_sources(con: Console, answer: Answer) -> None:
    """/sources: every citation in full (title, outlet, date, URL, id, quote), then the other passages."""
    if not answer.citations:
        con.print("[dim]The last answer cites no sources.[/]")
    render_citations(con, unique_citations(answer), full=True)
    cited = {c.n for c in answer.citations}
    rest = [p for p in answer.passages if p.n not in cited]
    if rest:
        con.print("[dim]Also retrieved (not cited):[/]")
        for group in by_article(rest):
            title_block(con, group, style="dim")
    con.print("[dim]/open N shows source N in its article.[/]")


def excerpt(text: str, start: int, end: int, around: int = 500) -> tuple[str, str, str]:
    """(before, span, after): the span with up to `around` characters each side, cut at word boundaries."""
    a, b = max(0, start - around), min(len(text), end + around)
    before, after = text[a:start], text[end:b]
    if a > 0:
        before = "…" + before.split(" ", 1)[-1]
    if b < len(text):
        after = after.rsplit(" ", 1)[0] + "…"
    return clean(before), clean(text[start:end]), clean(after)


# --- Markdown (/save) ---------------------------------------------------------------------------------------

def _md(text: str) -> str:
    """One line of outside text, safe in Markdown prose (no HTML, no accidental emphasis or links)."""
    out = one_line(text)
    for ch in "\\`*_[]<>#|":
        out = out.replace(ch, "\\" + ch)
    return out


def markdown(turns: list[dict[str, Any]], header: str) -> str:
    """A conversation as Markdown: each question, the standalone question it was searched as, the answer, and
    each cited article once with its quotes."""
    out = [f"# {header}", ""]
    for t in turns:
        out += [f"## {_md(t.get('question', ''))}", ""]
        if t.get("standalone_question") and t["standalone_question"] != t.get("question"):
            out += [f"*Searched for: {_md(t['standalone_question'])}*", ""]
        out += [_md(t.get("answer", "")).replace("\\[", "[").replace("\\]", "]"), ""]
        cits: list[dict[str, Any]] = []
        seen = set()
        for c in t.get("citations", []):
            key = (c.get("n"), c.get("article_id"), c.get("start"), c.get("end"))
            if key not in seen:
                seen.add(key)
                cits.append(c)
        groups: dict[str, list[dict[str, Any]]] = {}
        for c in cits:
            groups.setdefault(str(c.get("article_id")), []).append(c)
        if groups:
            out += ["Sources:", ""]
        for group in groups.values():
            c0 = group[0]
            nums = ",".join(str(c.get("n")) for c in group)
            where = " · ".join(_md(x) for x in (c0.get("source", ""), str(c0.get("date", ""))[:10]) if x)
            url = one_line(str(c0.get("url", "")))
            title = _md(str(c0.get("title", "") or c0.get("article_id", "")))
            link = f"[{title}](<{url.replace('>', '%3E')}>)" if url.startswith(("http://", "https://")) else title
            out.append(f"- [{nums}] {link}" + (f" — {where}" if where else ""))
            for c in group:
                tick = "✓" if c.get("verified") else "? not verified"
                out.append(f"  > [{c.get('n')}] {tick} “{_md(str(c.get('quote', '')))}”")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


ACTION_MARKS = {"kept": "✓", "recited": "↻", "removed": "✗", "marked": "?"}


def render_checks(con: Console, checks: list[Check]) -> None:
    """What verification did with each draft sentence (`qa ask --why`, the chat's /why): the action, the rule
    that decided it, the sentence and what the rule found, one line each (all of it model or article text, so
    printed through `one_line` as plain text)."""
    if not checks:
        line(con, "No draft sentences were checked (the question was refused before generating).", "dim")
        return
    con.print(Text("Why: each draft sentence and the rule that decided it", style="bold"))
    for c in checks:
        cited = "".join(f"[{n}]" for n in c.cited) or "no citation"
        head = f"{ACTION_MARKS.get(c.action, '·')} {c.action:<8} {c.rule:<16} "
        line(con, _wrap(con, head, f"“{one_line(c.sentence)}” {cited}", " " * len(head)),
             "" if c.action in ("kept", "recited") else "dim")
        if c.detail:
            line(con, _wrap(con, " " * len(head) + "— ", one_line(c.detail), " " * (len(head) + 2)), "dim")
