"""open_store(settings, embeddings): Chroma (on disk, or a Chroma server) holding chunks and article records."""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from langchain_core.embeddings import Embeddings

from qa.config import Settings
from qa.errors import QAError
from qa.terminal import clean
from qa.types import Article, Chunk

T = TypeVar("T")
ARTICLE_FIELDS = ("title", "source", "date", "url", "author", "path", "content_hash")
# HNSW search breadth. Chroma's default (100) let the same query return different neighbours from one process to
# the next on the State Department index (a chunk at rank 11 present in some runs, missing in others), which made
# answers and `qa eval` runs differ; at 400 repeated runs agree (bench/README.md).
EF_SEARCH = 400


def date_ts(date: str) -> int:
    """Seconds since the epoch (UTC) of an ISO date, or -1 when unknown: Chroma filters compare numbers."""
    if not date:
        return -1
    try:
        d = datetime.fromisoformat(date)
    except ValueError:
        return -1
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return int(d.timestamp())


def chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    return {"article_id": article.id, "index": chunk.index, "start": chunk.start, "end": chunk.end,
            "title": article.title, "source": article.source, "date": article.date, "date_ts": date_ts(article.date),
            "url": article.url, "content_hash": article.content_hash}


def embedding_text(title: str, chunk: Chunk) -> str:
    """What is embedded for a chunk: its article's title, then its text, so a chunk knows what it is about."""
    return f"{title}\n{chunk.text}"


def _reading(method: Callable[..., T]) -> Callable[..., T]:
    """A read of the index that fails because its disk is full (Chroma must write its log to read) is said to be
    that, with what to do; not "damaged, rebuild it", which would delete a healthy index."""
    @functools.wraps(method)
    def read(self: Store, *args: Any, **kwargs: Any) -> T:
        try:
            return method(self, *args, **kwargs)
        except QAError:
            raise
        except Exception as e:
            if not self.settings.chroma_url and resource_fault(e, self.settings.home) == "full":
                raise QAError(f"The disk holding {self.settings.home} is full, so the index cannot be read now; it "
                              "is not damaged", "free some space (or move QA_HOME to another disk) and run the "
                              "command again") from None
            raise

    return read


class Store:
    """Chunks with vectors (langchain-chroma) and one record per article (its full text, metadata and hash)."""

    def __init__(self, settings: Settings, embeddings: Embeddings | None) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        self.settings = settings
        self.embeddings = embeddings
        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        try:
            if settings.chroma_url:
                from urllib.parse import urlparse

                url = urlparse(settings.chroma_url)
                self.client = chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000,
                                                  ssl=url.scheme == "https", settings=chroma_settings)
                self.client.heartbeat()
            else:
                ingested_before = (settings.home / "ingest.lock").exists()
                if embeddings is None and not settings.chroma_dir.exists() and ingested_before:
                    # something was ingested here before: a reader must not quietly start over with an empty index
                    raise QAError(f"The index at {settings.chroma_dir} is missing (was it deleted?)",
                                  "run `qa ingest --rebuild PATH...` to build it again from your articles")
                settings.chroma_dir.mkdir(parents=True, exist_ok=True)
                self.client = chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
            self.vectors = Chroma(client=self.client, collection_name=settings.collection,
                                  embedding_function=embeddings,
                                  collection_metadata={"hnsw:space": "cosine", "hnsw:search_ef": EF_SEARCH})
            self.chunks = self.vectors._collection
            hnsw = (getattr(self.chunks, "configuration_json", None) or {}).get("hnsw") or {}
            if hnsw.get("ef_search", EF_SEARCH) < EF_SEARCH:  # an index made before: search it as broadly
                self.chunks.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
            self.articles = self.client.get_or_create_collection(settings.collection + "_articles",
                                                                 embedding_function=None)
        except QAError:
            raise
        except Exception as e:  # noqa: BLE001 - chromadb raises many types; all mean the store is unusable
            where = settings.chroma_url or str(settings.chroma_dir)
            if not settings.chroma_url and (fault := resource_fault(e, settings.home)):
                raise fault_error(settings, fault) from None
            hint = ("check that `chroma run` is serving there (QA_CHROMA_URL)" if settings.chroma_url
                    else "run `qa ingest --rebuild` to recreate the index from your articles")
            raise QAError(f"Cannot open the index at {where}: {str(e).splitlines()[0][:200]}", hint) from None

    # Articles -----------------------------------------------------------------------------------------------
    @_reading
    def article_hashes(self) -> dict[str, tuple[str, str]]:
        """id -> (content hash, path) of every article in the store."""
        got = self.articles.get(include=["metadatas"])
        return {i: (str(m.get("content_hash", "")), str(m.get("path", ""))) for i, m in
                zip(got["ids"], got["metadatas"] or [])}

    @_reading
    def list_articles(self) -> list[dict[str, Any]]:
        got = self.articles.get(include=["metadatas"])
        from qa.flags import loads

        rows = [{"id": i, **{k: m.get(k, "") for k in ("title", "source", "date", "url", "duplicate_of")},
                 "chunks": int(str(m.get("n_chunks") or 0)), "flags": [f.to_dict() for f in loads(m.get("flags"))],
                 "versions": json.loads(str(m.get("versions") or "[]"))}
                for i, m in zip(got["ids"], got["metadatas"] or [])]
        return sorted(rows, key=lambda r: (r["date"], r["id"]))

    @_reading
    def get_article(self, article_id: str) -> Article | None:
        got = self.articles.get(ids=[article_id], include=["metadatas", "documents"])
        if not got["ids"]:
            return None
        m = (got["metadatas"] or [{}])[0]
        return Article(id=article_id, text=(got["documents"] or [""])[0],
                       **{k: str(m.get(k, "")) for k in ARTICLE_FIELDS})

    @_reading
    def count_articles(self) -> int:
        return int(self.articles.count())

    @_reading
    def count_chunks(self) -> int:
        return int(self.chunks.count())

    # Writes -------------------------------------------------------------------------------------------------
    def write_article(self, article: Article, chunks: list[Chunk], vectors: list[list[float]]) -> None:
        self.write_articles([(article, chunks, vectors)])

    def write_articles(self, batch: list[tuple[Article, list[Chunk], list[list[float]]]]) -> None:
        """Replace the articles' chunks, then record the articles: a crash in between leaves records that are
        missing or stale, so the next ingest (Store.repair) redoes those articles; deterministic chunk ids never
        duplicate. One delete and one upsert per collection for the whole batch: Chroma spends ~20 ms on every
        write call, more than embedding a chunk takes."""
        if not batch:
            return
        where: Any = {"article_id": {"$in": [a.id for a, _c, _v in batch]}}
        self.chunks.delete(where=where)
        rows = [(c, v, a) for a, chunks, vectors in batch for c, v in zip(chunks, vectors)]
        step = max(1, self._max_batch())
        for i in range(0, len(rows), step):
            part = rows[i:i + step]
            vectors: Any = [v for _c, v, _a in part]
            self.chunks.upsert(ids=[c.id for c, _v, _a in part], embeddings=vectors,
                               documents=[c.text for c, _v, _a in part],
                               metadatas=[chunk_metadata(a, c) for c, _v, a in part])
        metas: Any = []
        for article, chunks, _v in batch:
            meta = {k: v for k, v in asdict(article).items() if k in ARTICLE_FIELDS}
            meta.update(n_chunks=len(chunks), date_ts=date_ts(article.date))
            # Chroma merges an upsert's metadata into the record's: what was derived from the old text (its flags,
            # its MinHash) is removed (None), so the ingest recomputes it for the new text.
            meta.update(flags=None, minhash=None)
            metas.append(meta)
        self.articles.upsert(ids=[a.id for a, _c, _v in batch], documents=[a.text for a, _c, _v in batch],
                             metadatas=metas, embeddings=cast(Any, [[1.0]] * len(batch)))

    def _max_batch(self) -> int:
        try:
            return int(self.client.get_max_batch_size())
        except Exception:  # noqa: BLE001 - older servers do not say; Chroma's on-disk limit is 5461
            return 5000

    def repair(self) -> int:
        """After an interrupted write: drop chunks without an article record and articles whose record does not
        match their chunks, so the next ingest adds them again from their files. Returns how many articles."""
        from collections import Counter

        got = self.chunks.get(include=["metadatas"])
        metas = got["metadatas"] or []
        counts = Counter(str(m.get("article_id", "")) for m in metas)
        hashes = {(str(m.get("article_id", "")), str(m["content_hash"])) for m in metas if m.get("content_hash")}
        records = self.articles.get(include=["metadatas"])
        n_chunks = {i: int(str(m.get("n_chunks", -1)))
                    for i, m in zip(records["ids"], records["metadatas"] or [])}
        record_hash = {i: str(m.get("content_hash", "")) for i, m in zip(records["ids"], records["metadatas"] or [])}
        bad = {a for a in counts if a not in n_chunks} | {a for a, n in n_chunks.items() if counts.get(a, 0) != n}
        bad |= {a for a, h in hashes if a in record_hash and record_hash[a] != h}  # chunks of another text
        for article_id in sorted(bad):
            self.delete_article(article_id)
        return len(bad)

    def delete_article(self, article_id: str) -> None:
        self.articles.delete(ids=[article_id])
        self.chunks.delete(where={"article_id": article_id})

    @_reading
    def chunk_texts(self, ids: Iterable[str] | None = None) -> dict[str, tuple[str, dict[str, Any]]]:
        """chunk id -> (text, metadata), for all chunks or the given ids."""
        got = self.chunks.get(ids=list(ids) if ids is not None else None, include=["documents", "metadatas"])
        return {i: (d, dict(m)) for i, d, m in zip(got["ids"], got["documents"] or [], got["metadatas"] or [])}

    def fingerprint(self) -> str:
        """Identifies the indexed corpus: article ids and content hashes."""
        import hashlib

        items = sorted(self.article_hashes().items())
        return hashlib.sha256(json.dumps([(i, h) for i, (h, _) in items]).encode()).hexdigest()[:16]


# Resource faults ----------------------------------------------------------------------------------------------
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
_FULL_TEXT = ("no space left", "disk is full", "database or disk is full", "sqlite_full", "quota exceeded",
              "file too large")
_READ_ONLY_TEXT = ("read-only file system", "readonly database", "permission denied", "sqlite_readonly")


LOW_SPACE = 256_000_000  # a Chroma error with less free space than this under QA_HOME is a full disk


def resource_fault(error: BaseException, home: Path | None = None) -> str:
    """"full" or "read-only" when `error` (or what caused it) is the disk refusing a write, else "". Chroma
    wraps OS errors in its own exceptions, so their messages are read too; its Rust core loses them ("Error in
    compaction: Failed to apply logs to the metadata segment" on a full disk), so with `home` a Chroma error is
    also a full disk when little space is left there, and read-only when the folder cannot be written."""
    seen: set[int] = set()
    e: BaseException | None = error
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno in _FULL:
            return "full"
        if isinstance(e, OSError) and e.errno in _READ_ONLY:
            return "read-only"
        text = str(e).lower()
        if any(t in text for t in _FULL_TEXT):
            return "full"
        if any(t in text for t in _READ_ONLY_TEXT):
            return "read-only"
        e = e.__cause__ or e.__context__
    if home is not None and type(error).__module__.split(".")[0] in ("chromadb", "sqlite3"):
        import shutil

        existing = next((p for p in (home, *home.parents) if p.exists()), None)
        try:
            if existing is not None and shutil.disk_usage(existing).free < LOW_SPACE:
                return "full"
        except OSError:
            pass
        if existing is not None and not os.access(existing, os.W_OK):
            return "read-only"
    return ""


def fault_error(settings: Settings, fault: str) -> QAError:
    """What a user reads when the disk refuses a write: what happened, that the index is intact, what to do."""
    where = settings.home
    if fault == "full":
        return QAError(f"The disk holding {where} is full: qa stopped before finishing; the index is intact "
                       "(what was stored is kept, an article cut short is redone next time)",
                       "free some space (or set QA_HOME to a folder on another disk) and run the same command "
                       "again: it continues where this one stopped")
    return QAError(f"Cannot write to {where} (read-only or not permitted): nothing was changed, the index is intact",
                   "make that folder writable, or set QA_HOME to a folder you can write to")


@contextmanager
def writing(settings: Settings) -> Iterator[None]:
    """The write boundary of ingest and rm: a full disk or an unwritable QA_HOME becomes one QAError that says
    the index is intact (it is: every write is redone or repaired by the next run), never a traceback and never
    advice to rebuild."""
    try:
        yield
    except QAError as e:
        if (fault := resource_fault(e)) and not settings.chroma_url:
            raise fault_error(settings, fault) from None
        raise
    except Exception as e:  # chromadb, sqlite, numpy and the OS all report a full disk their way
        if (fault := resource_fault(e, settings.home)) and not settings.chroma_url:
            raise fault_error(settings, fault) from None
        raise


def open_store(settings: Settings, embeddings: Embeddings | None = None) -> Store:
    return Store(settings, embeddings)


# What qa's on-disk index folders hold: Chroma's database and its segment folders (UUIDs); the BM25 index's
# version folders and the pointer to the current one. Anything else there is the user's, and is never deleted.
_CHROMA_FILES = re.compile(r"chroma\.sqlite3(?:-wal|-shm|-journal)?|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}"
                           r"-[0-9a-f]{12}")
_BM25_FILES = re.compile(r"current(?:\.tmp)?|v\d+.*|\..*")


def _foreign_entries(path: Path, ours: re.Pattern[str]) -> list[str]:
    """Names in `path` that qa does not write there ([] when the folder is missing or not a folder)."""
    try:
        names = sorted(os.listdir(path)) if path.is_dir() and not path.is_symlink() else []
    except OSError:
        return []
    return [clean(n) for n in names if not ours.fullmatch(n)]


def wipe_store(settings: Settings) -> None:
    """Delete the index (on disk: the whole Chroma directory; on a server: the two collections)."""
    import shutil

    if settings.chroma_url:
        store = Store(settings, None)
        for name in (settings.collection, settings.collection + "_articles"):
            with contextlib.suppress(Exception):  # a missing collection is what we want
                store.client.delete_collection(name)
        shutil.rmtree(settings.bm25_dir, ignore_errors=True)
        return
    for path, ours in ((settings.chroma_dir, _CHROMA_FILES), (settings.bm25_dir, _BM25_FILES)):
        foreign = _foreign_entries(path, ours)
        if foreign:  # QA_HOME pointed at a folder of the user's that happens to hold a `chroma` or `bm25` folder
            raise QAError(f"{path} holds files qa did not write ({', '.join(foreign[:3])}"
                          f"{', …' if len(foreign) > 3 else ''}); nothing was deleted",
                          "check QA_HOME / --home: --rebuild deletes only an index qa made")
    for path in (settings.chroma_dir, settings.bm25_dir):
        if path.is_symlink() or path.is_file():  # a damaged index can be a stray file where a folder belongs
            path.unlink()
        shutil.rmtree(path, ignore_errors=True)
