"""`qa eval QUESTIONS` and `qa eval compare RUN_A RUN_B`: a thin layer over qa.evaluation (lazy imports)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from qa.errors import QAError
from qa.terminal import clean, dumps, one_line, redact

if TYPE_CHECKING:
    from qa.config import Settings


# Generators that answer several requests at once (a server); "fake" is the test stand-in for one.
PARALLEL_BACKENDS = ("openai", "ollama", "fake")


class EvalGroup(TyperGroup):
    """`qa eval QUESTIONS ...` runs `qa eval run QUESTIONS ...`; `qa eval compare A B` stays a subcommand."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(cls=EvalGroup, add_completion=False,
                       help="Evaluate on a question set: `qa eval QUESTIONS [OPTIONS]`, or compare two runs: "
                            "`qa eval compare RUN_A RUN_B`.")


def _err(message: str) -> None:
    from qa.terminal import console

    console(stderr=True).print(message)


def _line(value: object) -> str:
    """Text from a question set or a file name as one safe line of rich markup (the terminal boundary)."""
    from rich.markup import escape

    return escape(one_line(str(value)))


def _list(kind: str, items: list[str], limit: int | None = 10) -> None:
    for item in items[:limit]:
        _err(f"[yellow]{kind}[/] {_line(item)}")
    if limit is not None and len(items) > limit:
        _err(f"[yellow]{kind}[/] … and {len(items) - limit} more")


@eval_app.command("run")
def run_cmd(
    ctx: typer.Context,
    questions: Annotated[Path, typer.Argument(help="Question set: .jsonl (qa's or RAGAS-style rows), .csv with "
                                                   "`|`-separated lists, or SQuAD .json.")],
    out: Annotated[Path | None, typer.Option(
        help="Run folder (default eval/runs/TIMESTAMP-NAME). Re-run into the same folder to resume.")] = None,
    corpus: Annotated[list[Path] | None, typer.Option(help="Ingest this folder first (repeatable).")] = None,
    k: Annotated[int | None, typer.Option("-k", help="Passages shown to the generator (default QA_K).")] = None,
    retrieval_only: Annotated[bool, typer.Option(help="Score retrieval only; no generation.")] = False,
    split: Annotated[str | None, typer.Option(help="Only questions with this `split` (dev or heldout).")] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first malformed line instead of skipping it.")] = False,
    force: Annotated[bool, typer.Option(help="Write into an --out folder that holds other files (never over "
                                               "them).")] = False,
    use_as_of: Annotated[bool, typer.Option("--as-of/--no-as-of",
                                            help="Pass each question's `as_of` date to retrieval.")] = True,
    workers: Annotated[int, typer.Option(help="Questions sent at once to a generator server (QA_LLM=openai or "
                                              "ollama); the bundled model answers one at a time.")] = 1,
) -> None:
    """Run a question set through the assistant; write results.jsonl, summary.json, report.md, report.html."""
    from qa import evaluation as ev
    from qa.config import check_k

    s: Settings = ctx.find_root().obj
    if out is not None:
        ev.check_out(out, force)  # before any work: a folder of the user's is refused at once
    try:
        qset = ev.load_questions(questions, strict=strict)
    except ev.NoQuestions as e:  # every line rejected: say why for each before giving up
        _list("skipped", e.problems, limit=None)
        _list("warning", e.warnings, limit=None)
        raise
    _list("skipped", qset.problems, limit=None)  # every rejected line, with its reason
    _list("warning", qset.warnings, limit=None)
    chosen = [q for q in qset.questions if split is None or q.extra.get("split") == split]
    if not chosen:
        raise typer.BadParameter(f"no question has split {split!r}", param_hint="--split")
    if workers < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--workers")
    if workers > 1 and not retrieval_only and s.llm not in PARALLEL_BACKENDS:
        _err(f"note: --workers {workers} is for a generator server (QA_LLM=openai or ollama); the {s.llm} "
             "generator answers one question at a time")
        workers = 1
    k = s.k if k is None else k
    if k < 1:
        raise typer.BadParameter("must be at least 1", param_hint="-k")
    if not retrieval_only:  # retrieval alone shows the generator nothing: any depth is fine
        check_k(s, k)
    if corpus:
        from qa.cli_common import ingest_with_progress

        _note_shared_index(s, corpus)
        ingest_with_progress(s, corpus)
    assistant = _assistant(s, retrieval_only)
    store = assistant.retriever.store
    if store.count_articles() == 0:
        raise QAError(f"The index at {s.chroma_url or s.home} is empty",
                      "pass --corpus PATH, or run `qa ingest PATH` first")
    _list("warning", ev.unknown_sources(chosen, set(store.article_hashes())), limit=5)
    meta: dict[str, Any] = {
        "questions_file": questions.name, "questions_sha256": qset.sha256, "split": split, "k": k,
        "depth": max(10, k), "retrieval_only": retrieval_only, "as_of_used": use_as_of and ev.as_of_supported(),
        "corpus_fingerprint": store.fingerprint(), "models": ev.model_checksums(s, retrieval_only),
        "settings": ev.settings_snapshot(s), "provenance": ev.provenance()}
    out = out or Path("eval/runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{questions.stem}"
    ev.prepare_run(out, meta)
    _err(f"{len(chosen)} questions → {_line(out)}")
    t0 = time.perf_counter()
    summary = _run(ev, chosen, assistant, out, meta, workers)
    _print_summary(summary, out, time.perf_counter() - t0)


def _assistant(s: Settings, retrieval_only: bool):  # type: ignore[no-untyped-def]
    from qa.chain import make_assistant

    # Retrieval-only never generates: the fake generator stands in so no model is loaded or required.
    return make_assistant(s.model_copy(update={"llm": "fake"}) if retrieval_only else s)


def _note_shared_index(s: Any, corpus: list[Path]) -> None:
    """--corpus adds the eval corpus to the index at QA_HOME: say so, once, when that index already holds other
    articles (a user's own), so a question set's constructed or planted pages never join it unnoticed."""
    import os

    from qa.loading import inside
    from qa.store import open_store

    roots = [os.path.realpath(p) for p in corpus]
    others = [i for i, (_, path) in open_store(s).article_hashes().items()
              if not inside(os.path.realpath(path or "/"), roots)]
    if others:
        _err(f"note: adding {', '.join(one_line(str(p)) for p in corpus)} to the index at "
             f"{one_line(redact(s.chroma_url) or str(s.home))}, which holds {len(others)} other articles; "
             "set QA_HOME to another folder to keep the evaluation corpus apart")


def _run(ev: Any, questions: list[Any], assistant: Any, out: Path, meta: dict[str, Any],
         workers: int = 1) -> dict[str, Any]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from qa.terminal import console

    con = console(stderr=True)
    with Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("ETA"), TimeRemainingColumn(), console=con) as progress:
        task = progress.add_task("eval", total=len(questions))
        started: list[float] = []

        def update(done: int, total: int) -> None:
            if not started:
                started.extend((done, time.perf_counter()))
                if done:
                    progress.console.print(f"resuming: {done} of {total} already done in {_line(out)}")
                progress.reset(task, total=total, completed=done)  # ETA counts only this session's pace
            progress.update(task, completed=done, total=total)
            if not con.is_terminal and done > started[0] and (done % max(1, total // 20) == 0 or done == total):
                # no live bar in a log file: a line now and then, with the ETA
                pace = (time.perf_counter() - started[1]) / (done - started[0])
                con.print(f"evaluated {done}/{total}, ETA {pace * (total - done):.0f} s")

        summary: dict[str, Any] = ev.run_eval(questions, assistant, out, meta, on_progress=update, workers=workers)
    from qa.eval_report import write_reports

    write_reports(out, summary)
    return summary


def _print_summary(summary: dict[str, Any], out: Path, wall_s: float) -> None:
    def fmt(x: Any) -> str:
        return "—" if x is None else f"{x:.3f}" if isinstance(x, float) else str(x)

    keys = ("n", "answer_accuracy", "exact_match", "f1", "refusal_accuracy", "false_refusal_rate", "recall_at_1",
            "recall_at_5", "mrr", "shown_recall", "citation_precision", "citation_recall", "verified_rate", "latency_p50_s",
            "latency_p95_s")
    def ci(k: str) -> str:
        x = (summary.get("ci") or {}).get(k)
        return f" [{x[0]:.3f}, {x[1]:.3f}]" if isinstance(x, list) and len(x) == 2 and summary.get(k) is not None \
            else ""

    typer.echo("  ".join(f"{k}={fmt(summary.get(k))}{ci(k)}" for k in keys))
    typer.echo("[lo, hi]: 95% bootstrap interval over the questions")
    typer.echo("failure classes: " + ", ".join(f"{c} {n}" for c, n in summary["failure_classes"].items()))
    typer.echo(f"report: {one_line(str(out / 'report.html'))}  ({wall_s:.1f} s)")


@eval_app.command("compare")
def compare_cmd(
    run_a: Annotated[Path, typer.Argument(help="The baseline run folder.")],
    run_b: Annotated[Path, typer.Argument(help="The run to compare with it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write the two runs side by side to this HTML "
                                                             "file (one self-contained file).")] = None,
) -> None:
    """Metric deltas with 95% intervals and a paired test per metric, and the questions that changed.

    Example: qa eval compare runs/before runs/after --html side-by-side.html
    """
    from qa.evaluation import compare_runs, format_comparison

    c = compare_runs(run_a, run_b)
    if html is not None:
        from qa.eval_report import write_comparison

        if html.is_dir():
            raise typer.BadParameter(f"{one_line(str(html))} is a folder; give a file name", param_hint="--html")
        try:
            write_comparison(html, run_a, run_b, c)
        except OSError as e:
            raise QAError(f"Cannot write {html}: {e.strerror}", "pick another --html file") from None
    typer.echo(dumps(c, indent=2) + "\n" if as_json else clean(format_comparison(c)), nl=False)
    if html is not None:
        _err(f"side by side: {_line(html)}")


@eval_app.command("export")
def export_cmd(
    run: Annotated[Path, typer.Argument(help="A run folder written by `qa eval`.")],
    fmt: Annotated[str, typer.Option("--format", help="ragas (JSONL rows) or promptfoo (a config grading the "
                                                      "run's answers; YAML, or JSON when OUT ends in .json).")],
    out: Annotated[Path, typer.Option("--out", help="The file to write.")],
) -> None:
    """Write a run's questions, answers, contexts and golds for RAGAS or promptfoo."""
    from qa import evaluation as ev

    if fmt not in ("ragas", "promptfoo"):
        raise typer.BadParameter(f"{one_line(fmt)!r} is not a format; use ragas or promptfoo", param_hint="--format")
    if out.is_dir():
        raise typer.BadParameter(f"{one_line(str(out))} is a folder; give a file name", param_hint="--out")
    _summary, results = ev.load_run(run)
    rows = list(results.values())
    if fmt == "ragas":
        text = "".join(dumps(r) + "\n" for r in ev.to_ragas(rows))
    else:
        config = ev.to_promptfoo(rows, run.name)
        if out.suffix.lower() == ".json":
            text = dumps(config, indent=2) + "\n"
        else:
            import yaml

            text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=120)
    try:
        ev.write_text(out, text)
    except OSError as e:
        raise QAError(f"Cannot write {out}: {e.strerror}", "pick another --out file") from None
    _err(f"{len(rows)} questions → {_line(out)} ({fmt})")
