"""What the `qa` command modules share (`qa.cli`, `qa.cli_eval`): the stderr console and an ingest that
shows its progress. Both import this module; neither imports the other's private helpers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from qa.terminal import clean

if TYPE_CHECKING:
    from rich.console import Console

    from qa.config import Settings
    from qa.ingest import IngestReport
    from qa.loading import Problem


def err_console() -> Console:
    from qa.terminal import console

    return console(stderr=True)


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


def ingest_with_progress(s: Settings, paths: list[Path], prune: bool = False, rebuild: bool = False,
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
                label = "" if p.unread else "[yellow]skipped[/] " if p.skipped else "[yellow]warning[/] "
                (progress.console if live else con).print(f"{label}{escape(str(p))}", soft_wrap=True,
                                                          highlight=False)

            report = ingest(paths, store, s, prune=prune, on_problem=on_problem, on_progress=on_progress,
                            follow_symlinks=follow_symlinks)
    con.print(report.summary(), highlight=False)
    return report


def _safe(value: object) -> str:
    """Text from outside qa (articles, file names, servers) as rich markup: no escape sequence or control
    character (newline and tab kept) and no markup of its own. The one way such text reaches the terminal here."""
    from rich.markup import escape

    return escape(clean(str(value)))
