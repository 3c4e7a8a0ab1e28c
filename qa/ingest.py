"""ingest(paths, store): load articles, chunk, embed only what changed, write, optionally prune."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from qa.chunking import chunk_article
from qa.config import Settings
from qa.embedding import token_counter
from qa.errors import QAError
from qa.loading import Problem, load_articles
from qa.store import Store, embedding_text
from qa.types import Article, Chunk

FLUSH_CHUNKS = 256  # chunks embedded and written together (one Chroma write per batch)
TITLE_TOKENS = 40  # the title prefix of an embedded chunk is cut to this; chunk + title stays under 256


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    pruned: int = 0
    repaired: int = 0
    duplicates: int = 0
    flagged: list[tuple[str, str]] = field(default_factory=list)  # (path or id, one-line summary of its flags)
    chunks: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        flagged = "".join(f"flagged {where}: {what}\n" for where, what in self.flagged)  # one line per article
        return flagged + (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {self.skipped} skipped"
                + (f", {self.pruned} pruned" if self.pruned else "")
                + (f", {self.repaired} half-written by an interrupted ingest cleaned up" if self.repaired else "")
                + (f", {self.duplicates} near-duplicates of other articles" if self.duplicates else "")
                + (f", {len(self.flagged)} flagged" if self.flagged else "")
                + f"; {self.chunks} chunks embedded in {self.seconds:.1f} s")


def _capped_title(article: Article) -> str:
    count = token_counter()
    title = article.title
    while title and count([title])[0] > TITLE_TOKENS:
        title = title.rsplit(" ", 1)[0] if " " in title else title[: len(title) // 2]
    return title


def ingest(paths: Iterable[Path], store: Store, settings: Settings, prune: bool = False,
           on_problem: Callable[[Problem], None] = lambda _p: None,
           on_progress: Callable[[int, int], None] = lambda _done, _total: None) -> IngestReport:
    """Bring the store in line with the articles under `paths`; an unchanged article is not re-embedded."""
    if store.embeddings is None:
        raise QAError("ingest needs an embedding model", "this is a bug: open the store with embeddings")
    t0 = time.perf_counter()
    report = IngestReport()
    marker = settings.home / "ingest.incomplete"  # exists while an ingest runs; still there = it was interrupted
    if marker.exists():
        report.repaired = store.repair()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    known = store.article_hashes()
    articles: list[Article] = []
    for item in load_articles(paths):
        if isinstance(item, Problem):
            report.skipped += 1
            report.problems.append(item)
            on_problem(item)
            continue
        old = known.get(item.id)
        if old and old[1] != item.path and old[1] and Path(old[1]).exists() and old[0] != item.content_hash:
            problem = Problem(item.path, f"article id {item.id!r} is already indexed from {old[1]}; give one of "
                              "them another `id:` in its front matter")
            report.skipped += 1
            report.problems.append(problem)
            on_problem(problem)
            continue
        if old and old[0] == item.content_hash:
            report.unchanged += 1
            continue
        articles.append(item)
    count = token_counter()
    budget = settings.chunk_tokens
    total = len(articles)
    pending: list[tuple[Article, list[Chunk], str]] = []
    pending_chunks = 0
    done = 0
    on_progress(0, total)

    # Chunking (pure Python) and Chroma writes run beside the embedding (torch works outside the GIL): the next
    # articles are split while a batch is embedded, and a batch is written while the next one is embedded.
    chunker = ThreadPoolExecutor(1, thread_name_prefix="qa-chunk")
    writer = ThreadPoolExecutor(1, thread_name_prefix="qa-write")
    writing: list[Future[None]] = []

    def flush() -> None:
        nonlocal pending, pending_chunks, done
        texts = [embedding_text(title, c) for _a, chunks, title in pending for c in chunks]
        vectors = store.embeddings.embed_documents(texts) if texts else []  # type: ignore[union-attr]
        i, batch = 0, []
        for article, chunks, _title in pending:
            batch.append((article, chunks, vectors[i:i + len(chunks)]))
            i += len(chunks)
        while writing:
            writing.pop().result()  # the previous batch is stored (or its error raised here) before the next
        writing.append(writer.submit(store.write_articles, batch))
        for article, chunks, _title in pending:
            if article.id in known:
                report.updated += 1
            else:
                report.added += 1
            report.chunks += len(chunks)
        done += len(pending)
        on_progress(done, total)
        pending, pending_chunks = [], 0

    def split(article: Article) -> tuple[Article, list[Chunk], str]:
        return article, chunk_article(article, count, budget, settings.chunk_overlap_sentences), \
            _capped_title(article)

    try:
        for article, chunks, title in chunker.map(split, articles):
            pending.append((article, chunks, title))
            pending_chunks += len(chunks)
            if pending_chunks >= FLUSH_CHUNKS:
                flush()
        flush()
        while writing:
            writing.pop().result()
    finally:
        chunker.shutdown(cancel_futures=True)
        writer.shutdown(wait=True)  # a batch being written finishes; nothing new starts
    if prune:
        for article_id, (_hash, path) in known.items():
            if path and not Path(path).exists():
                store.delete_article(article_id)
                report.pruned += 1
    from qa.duplicates import group_duplicates
    from qa.flags import record_flags, summary
    from qa.keyword import KeywordIndex

    report.flagged = [(path or aid, summary(flags)) for aid, path, flags in record_flags(store)]
    report.duplicates = group_duplicates(store)
    KeywordIndex(settings.bm25_dir).sync(store)  # BM25 follows Chroma: only changed articles are re-read
    marker.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - t0
    return report
