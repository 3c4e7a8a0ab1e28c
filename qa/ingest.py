"""ingest(paths, store): load articles, chunk, embed only what changed, write, optionally prune."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from qa.chunking import CHARS_PER_TOKEN, _split_long, chunk_article
from qa.config import Settings
from qa.embedding import token_counter
from qa.errors import QAError
from qa.loading import NO_SUCH_ROOT, Problem, load_articles
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
    not_read: int = 0  # files in the folders that are not articles (.pdf, .json, ...)
    pruned: int = 0
    repaired: int = 0
    duplicates: int = 0
    flagged: list[tuple[str, str]] = field(default_factory=list)  # (path or id, one-line summary of its flags)
    chunks: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)  # files skipped (the exit status says so)
    warnings: list[Problem] = field(default_factory=list)  # articles ingested without a field

    def summary(self) -> str:
        flagged = "".join(f"flagged {where}: {what}\n" for where, what in self.flagged)  # one line per article
        return flagged + (f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {self.skipped} skipped"
                + (f", {self.not_read} not read (not articles)" if self.not_read else "")
                + (f", {len(self.warnings)} warnings" if self.warnings else "")
                + (f", {self.pruned} pruned" if self.pruned else "")
                + (f", {self.repaired} half-written by an interrupted ingest cleaned up" if self.repaired else "")
                + (f", {self.duplicates} near-duplicates of other articles" if self.duplicates else "")
                + (f", {len(self.flagged)} flagged" if self.flagged else "")
                + f"; {self.chunks} chunks embedded in {self.seconds:.1f} s")


def _capped_title(article: Article) -> str:
    """The title cut to TITLE_TOKENS word-pieces at a word (or, without spaces, a character): linear in the
    title, so a 6,000-word title costs what a short one does."""
    count = token_counter()
    title = article.title[: TITLE_TOKENS * CHARS_PER_TOKEN]
    if not title or count([title])[0] <= TITLE_TOKENS:
        return title
    pieces = _split_long(title, 0, len(title), TITLE_TOKENS, count)
    return title[: pieces[0][1]] if pieces else ""


def demo_allowed(settings: Settings) -> bool:
    """The bundled demo article may be added to an empty index only when it is a new one on this disk: never
    into a Chroma server (other people's index), never where anything was ever ingested (the lock file stays)."""
    return not settings.chroma_url and not (settings.home / "ingest.lock").exists()


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _readable_dir(path: Path) -> bool:
    try:
        if path.is_dir():
            next(os.scandir(path), None)
            return True
        return path.is_file() and os.access(path, os.R_OK)
    except OSError:
        return False


def ingest(paths: Iterable[Path], store: Store, settings: Settings, prune: bool = False,
           on_problem: Callable[[Problem], None] = lambda _p: None,
           on_progress: Callable[[int, int, int], None] = lambda _done, _total, _chunks: None,
           follow_symlinks: bool = False) -> IngestReport:
    """Bring the store in line with the articles under `paths`; an unchanged article is not re-embedded.

    `on_problem` gets each skipped file and each warning (Problem.skipped False: ingested without a field);
    `on_progress(articles done, articles to embed, chunks embedded)` is called at least every few dozen chunks.
    With `prune`, articles whose files are gone are removed, but only under the given folders, and never under
    one that is missing, unreadable or now empty (an unmounted drive): that is a problem, nothing is removed."""
    paths = list(paths)
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
    seen_paths: set[str] = set()
    unreadable: list[str] = []  # folders that could not be listed: nothing under them is pruned
    for item in load_articles(paths, follow_symlinks=follow_symlinks):
        if isinstance(item, Problem) and item.unread:  # files of a kind qa does not read: exit status as skipped
            report.not_read += item.unread
            report.problems.append(item)
            on_problem(item)
            continue
        if isinstance(item, Problem):
            if prune and item.reason == NO_SUCH_ROOT and any(item.path == str(p) for p in paths):
                continue  # said once, with what --prune did about it, below
            if item.skipped:
                report.skipped += 1
                report.problems.append(item)
                if "cannot read this folder" in item.reason:
                    unreadable.append(os.path.abspath(item.path))
                seen_paths.add(os.path.abspath(item.path))  # a file that is there but bad is not pruned
            else:
                report.warnings.append(item)
            on_problem(item)
            continue
        seen_paths.add(item.path)
        old = known.get(item.id)
        if (old and old[1] and os.path.abspath(old[1]) != item.path and os.path.lexists(old[1])
                and old[0] != item.content_hash):
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
    embedded = 0
    on_progress(0, total, 0)

    # Chunking (pure Python) and Chroma writes run beside the embedding (torch works outside the GIL): the next
    # articles are split while a batch is embedded, and a batch is written while the next one is embedded.
    chunker = ThreadPoolExecutor(1, thread_name_prefix="qa-chunk")
    writer = ThreadPoolExecutor(1, thread_name_prefix="qa-write")
    writing: list[Future[None]] = []

    def flush() -> None:
        nonlocal pending, pending_chunks, done
        nonlocal embedded
        texts = [embedding_text(title, c) for _a, chunks, title in pending for c in chunks]
        vectors: list[list[float]] = []
        # a progress report every ~2 embedding batches (< 1 s); an embedding server gets QA_EMBED_CONCURRENCY at once
        step = max(1, settings.embed_batch_size) * max(2, settings.embed_concurrency)
        for i in range(0, len(texts), step):
            vectors.extend(store.embeddings.embed_documents(texts[i:i + step]))  # type: ignore[union-attr]
            embedded += len(texts[i:i + step])
            on_progress(done, total, embedded)
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
        on_progress(done, total, embedded)
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
        report.pruned = _prune(paths, known, seen_paths, unreadable, store, report, on_problem)
    from qa.duplicates import group_duplicates
    from qa.flags import record_flags, summary
    from qa.keyword import KeywordIndex

    report.flagged = [(path or aid, summary(flags)) for aid, path, flags in record_flags(store)]
    report.duplicates = group_duplicates(store)
    KeywordIndex(settings.bm25_dir).sync(store)  # BM25 follows Chroma: only changed articles are re-read
    marker.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - t0
    return report


def _prune(paths: list[Path], known: dict[str, tuple[str, str]], seen: set[str], unreadable: list[str],
           store: Store, report: IngestReport, on_problem: Callable[[Problem], None]) -> int:
    """Remove articles whose files are gone, under the given folders only; a folder that is missing, cannot be
    read or holds no article files at all while the index has articles from it is not pruned (one problem)."""
    roots: list[str] = []
    for root in paths:
        absolute = os.path.abspath(root)
        from_here = [p for _h, p in known.values() if p and _under(os.path.abspath(p), [absolute])]
        reason = ""
        if not os.path.lexists(root):
            reason = f"{NO_SUCH_ROOT} (an unmounted drive?)"
        elif not _readable_dir(root):
            reason = "it cannot be read"
        elif from_here and not any(_under(p, [absolute]) for p in seen):
            reason = "no article files were found there (an unmounted drive?)"
        if reason and (from_here or not os.path.lexists(root)):
            problem = Problem(str(root), f"{reason}; not pruning under it: the {len(from_here)} articles from "
                              "there were kept")
            report.skipped += 1
            report.problems.append(problem)
            on_problem(problem)
        elif not reason:
            roots.append(absolute)
    pruned = 0
    for article_id, (_hash, path) in known.items():
        if not path:
            continue
        absolute = os.path.abspath(path)
        if absolute in seen or not _under(absolute, roots) or _under(absolute, unreadable):
            continue
        try:
            os.lstat(path)
            continue  # still there (a file that is now skipped keeps its old article)
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError:
            continue  # cannot tell: keep it
        store.delete_article(article_id)
        pruned += 1
    return pruned


def remove(article_ids: list[str], store: Store, settings: Settings) -> tuple[list[Article], list[str]]:
    """Delete articles (chunks, record, BM25 rows) as crash-safely as an ingest: the same marker makes the next
    ingest repair a removal cut short. Returns the removed articles and the ids that were not in the index."""
    import json

    from qa.duplicates import group_duplicates
    from qa.keyword import KeywordIndex

    marker = settings.home / "ingest.incomplete"
    cut_short: set[str] = set()  # ids a removal that was killed part-way was removing: the repair finishes them
    if marker.exists():
        try:
            cut_short = set(json.loads(marker.read_text() or "{}").get("removing", []))
        except (ValueError, AttributeError, OSError):
            pass
        store.repair()
    removed: list[Article] = []
    unknown: list[str] = []
    ids = list(dict.fromkeys(article_ids))
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"removing": ids}))
    for article_id in ids:
        article = store.get_article(article_id)
        if article is None:
            if article_id in cut_short:
                removed.append(Article(id=article_id, title="(its removal was interrupted; finished now)", text=""))
            else:
                unknown.append(article_id)
            continue
        store.delete_article(article_id)
        removed.append(article)
    if removed:
        group_duplicates(store)
        KeywordIndex(settings.bm25_dir).sync(store)
    marker.unlink(missing_ok=True)
    return removed, unknown
