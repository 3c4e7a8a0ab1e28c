"""KeywordIndex: BM25 (bm25s + PyStemmer) over chunk titles and texts, persisted beside Chroma and kept in sync.

Chroma is the source of truth. The index records which articles (id -> content hash) and which Chroma collection
it covers; `sync(store)` compares that with the store and re-reads only the chunks of articles that changed, so a
crash between a Chroma write and a BM25 write, or an ingest on another machine into a Chroma server, is repaired
on the next sync. Each sync writes a new version directory and then switches the `current` pointer atomically.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.text import chunk_text
from qa.text import index_tokens as tokenize  # what BM25 reads and searches for

if TYPE_CHECKING:
    import numpy as np

    from qa.filters import Spec
    from qa.store import Store

POINTER = "current"


@dataclass
class SyncReport:
    added: int = 0
    removed: int = 0
    full: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.full)


class KeywordIndex:
    """BM25 over every chunk in the store; doc i of the bm25s matrix is `chunk_ids[i]`."""

    def __init__(self, directory: Path) -> None:
        import numpy as np

        self.dir = directory
        self.collection_id = ""
        self.articles: dict[str, str] = {}  # article id -> content hash this index covers
        self.chunk_ids: list[str] = []
        self.article_of: list[str] = []
        self.sources: list[str] = []
        self.date_ts = np.zeros(0, dtype=np.int64)
        self.vocab: dict[str, int] = {}
        self.tokens = np.zeros(0, dtype=np.int32)  # every doc's token ids, concatenated
        self.offsets = np.zeros(1, dtype=np.int64)
        self.bm25: Any = None
        self.version = ""
        self._positions: tuple[tuple[str, int], dict[str, int]] = (("", -1), {})
        self._load()

    # Persistence ----------------------------------------------------------------------------------------------
    def _load(self) -> None:
        import numpy as np

        pointer = self.dir / POINTER
        if not pointer.exists():
            return
        version = pointer.read_text().strip()
        vdir = self.dir / version
        try:
            manifest = json.loads((vdir / "manifest.json").read_text())
            tokens = np.load(vdir / "tokens.npy", mmap_mode="r")
            offsets = np.load(vdir / "offsets.npy")
            bm25 = self._load_bm25(vdir) if manifest["chunk_ids"] else None
        except (OSError, ValueError, KeyError):  # half-written or removed under us: start empty, sync rebuilds
            return
        self.version = version
        self.collection_id = manifest["collection_id"]
        self.articles = manifest["articles"]
        self.chunk_ids = manifest["chunk_ids"]
        self.article_of = manifest["article_of"]
        self.sources = manifest["sources"]
        self.date_ts = np.asarray(manifest["date_ts"], dtype=np.int64)
        self.vocab = {w: i for i, w in enumerate(manifest["vocab"])}
        self.tokens, self.offsets, self.bm25 = tokens, offsets, bm25

    @staticmethod
    def _load_bm25(vdir: Path) -> Any:
        import bm25s

        return bm25s.BM25.load(str(vdir / "bm25"), mmap=True, show_progress=False, verbosity=0)

    def _save(self) -> None:
        import numpy as np

        self.dir.mkdir(parents=True, exist_ok=True)
        version = f"v{time.time_ns()}"
        vdir = self.dir / version
        vdir.mkdir()
        vocab = [""] * len(self.vocab)
        for w, i in self.vocab.items():
            vocab[i] = w
        np.save(vdir / "tokens.npy", np.asarray(self.tokens, dtype=np.int32))
        np.save(vdir / "offsets.npy", np.asarray(self.offsets, dtype=np.int64))
        if self.bm25 is not None:
            self.bm25.save(str(vdir / "bm25"), show_progress=False)
        manifest = {"collection_id": self.collection_id, "articles": self.articles, "chunk_ids": self.chunk_ids,
                    "article_of": self.article_of, "sources": self.sources,
                    "date_ts": [int(x) for x in self.date_ts], "vocab": vocab}
        (vdir / "manifest.json").write_text(json.dumps(manifest))
        tmp = self.dir / (POINTER + ".tmp")
        tmp.write_text(version)
        os.replace(tmp, self.dir / POINTER)  # the switch is atomic: readers see the old or the new version
        old, self.version = self.version, version
        for child in self.dir.iterdir():
            if child.is_dir() and child.name != version and child.name.startswith("v"):
                shutil.rmtree(child, ignore_errors=True)
        del old

    # Sync with the store --------------------------------------------------------------------------------------
    def is_current(self, store: Store) -> bool:
        """Does this index cover exactly the store's articles (same hashes) and chunk count?"""
        known = {i: h for i, (h, _p) in store.article_hashes().items()}
        return (self.collection_id == str(store.chunks.id) and known == {i: h for i, h in self.articles.items()
                                                                       if i in known or h}
                and len(self.chunk_ids) == store.count_chunks())

    def sync(self, store: Store) -> SyncReport:
        """Bring the index in line with the store's chunks; re-tokenizes only articles whose hash changed."""
        from filelock import FileLock

        self.dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.dir / ".lock")):
            self._load()  # another process may have synced while we waited
            report = SyncReport()
            known = {i: h for i, (h, _p) in store.article_hashes().items()}
            if self.collection_id != str(store.chunks.id):
                return self._rebuild(store, known)
            changed = [i for i, h in known.items() if self.articles.get(i) != h]
            gone = [i for i, h in self.articles.items() if i not in known and h]  # "" = chunks without a record
            if changed or gone:
                report = self._replace(store, set(changed) | set(gone), changed, known)
            if len(self.chunk_ids) != store.count_chunks():  # chunks without a record (a crash mid-write)
                return self._rebuild(store, known)
            if report.changed:
                self._save()
            return report

    def _rebuild(self, store: Store, known: dict[str, str]) -> SyncReport:
        import numpy as np

        self.collection_id = str(store.chunks.id)
        self.articles, self.chunk_ids, self.article_of, self.sources = {}, [], [], []
        self.date_ts = np.zeros(0, dtype=np.int64)
        self.vocab, self.tokens, self.offsets = {}, np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64)
        got: dict[str, tuple[str, dict[str, Any]]] = {}
        page = 5000  # one get of every chunk fails past ~30k chunks: "too many SQL variables"
        for offset in range(0, store.count_chunks() + page, page):
            res: Any = store.chunks.get(include=["documents", "metadatas"], limit=page, offset=offset)
            if not res["ids"]:
                break
            got.update({i: (d, dict(m)) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"])})
        self._append(got)
        self.articles = {a: known.get(a, "") for a in set(self.article_of)} | {a: h for a, h in known.items()}
        self._index()
        self._save()
        return SyncReport(added=len(got), full=True)

    def _replace(self, store: Store, drop: set[str], changed: list[str], known: dict[str, str]) -> SyncReport:
        import numpy as np

        keep = [i for i, a in enumerate(self.article_of) if a not in drop]
        removed = len(self.chunk_ids) - len(keep)
        lengths = np.diff(self.offsets)
        if keep:
            idx = np.asarray(keep)
            pieces = [np.asarray(self.tokens[self.offsets[i]:self.offsets[i + 1]]) for i in keep]
            self.tokens = np.concatenate(pieces).astype(np.int32) if pieces else np.zeros(0, dtype=np.int32)
            self.offsets = np.concatenate([[0], np.cumsum(lengths[idx])]).astype(np.int64)
            self.date_ts = self.date_ts[idx]
        else:
            self.tokens, self.offsets = np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64)
            self.date_ts = np.zeros(0, dtype=np.int64)
        self.chunk_ids = [self.chunk_ids[i] for i in keep]
        self.article_of = [self.article_of[i] for i in keep]
        self.sources = [self.sources[i] for i in keep]
        for a in drop:
            self.articles.pop(a, None)
        got: dict[str, tuple[str, dict[str, Any]]] = {}
        for b in range(0, len(changed), 200):
            res: Any = store.chunks.get(where={"article_id": {"$in": changed[b:b + 200]}},  # type: ignore[dict-item]
                                        include=["documents", "metadatas"])
            got.update({i: (d, dict(m)) for i, d, m in zip(res["ids"], res["documents"], res["metadatas"])})
        self._append(got)
        for a in changed:
            self.articles[a] = known[a]
        self._index()
        return SyncReport(added=len(got), removed=removed)

    def _append(self, chunks: dict[str, tuple[str, dict[str, Any]]]) -> None:
        import numpy as np

        ids = sorted(chunks, key=lambda c: (str(chunks[c][1].get("article_id", "")),
                                            int(chunks[c][1].get("index", 0))))
        toks = tokenize([chunk_text(str(chunks[c][1].get("title", "")), chunks[c][0]) for c in ids])
        new_ids: list[int] = []
        lengths = []
        for words in toks:
            for w in words:
                new_ids.append(self.vocab.setdefault(w, len(self.vocab)))
            lengths.append(len(words))
        self.tokens = np.concatenate([np.asarray(self.tokens), np.asarray(new_ids, dtype=np.int32)])
        self.offsets = np.concatenate([self.offsets, self.offsets[-1] + np.cumsum(lengths, dtype=np.int64)])
        self.chunk_ids += ids
        self.article_of += [str(chunks[c][1].get("article_id", "")) for c in ids]
        self.sources += [str(chunks[c][1].get("source", "")) for c in ids]
        self.date_ts = np.concatenate([self.date_ts,
                                       np.asarray([int(chunks[c][1].get("date_ts", -1)) for c in ids],
                                                  dtype=np.int64)])

    def _index(self) -> None:
        """The BM25 (Lucene variant, as bm25s computes it) score matrix, built with numpy from the stored token
        ids: a few seconds at 100k chunks, where bm25s's own per-document Python loop takes minutes."""
        import bm25s
        import numpy as np

        n = len(self.chunk_ids)
        if not n:
            self.bm25 = None
            return
        bm25 = bm25s.BM25()  # method "lucene", k1 1.5, b 0.75
        vocab = dict(self.vocab)
        vocab.setdefault("", len(vocab))  # bm25s scores an empty document against this token
        size = len(vocab)
        lengths = np.diff(self.offsets)
        docs_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
        pairs, tf = np.unique(docs_of * size + np.asarray(self.tokens, dtype=np.int64), return_counts=True)
        docs, terms = pairs // size, pairs % size
        df = np.bincount(terms, minlength=size)
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        avg = max(float(lengths.mean()), 1e-9)
        score = idf[terms] * tf / (tf + bm25.k1 * (1 - bm25.b + bm25.b * lengths[docs] / avg))
        order = np.lexsort((docs, terms))
        bm25.scores = {"data": score[order].astype(np.float32), "indices": docs[order].astype(np.int32),
                       "indptr": np.concatenate([[0], np.cumsum(df)]).astype(np.int32), "num_docs": n}
        bm25.vocab_dict = vocab
        bm25.nonoccurrence_array = None  # only the BM25L/BM25+ variants have one
        self.bm25 = bm25

    # Search ---------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.chunk_ids)

    def admitted(self, chunk_ids: list[str], mask: np.ndarray | None) -> list[str]:
        """The given chunks (in order) that pass `mask`; chunks this index does not know are left out."""
        key = (self.version, len(self.chunk_ids))
        if self._positions[0] != key:
            self._positions = (key, {c: i for i, c in enumerate(self.chunk_ids)})
        pos = self._positions[1]
        return [c for c in chunk_ids if (i := pos.get(c)) is not None and (mask is None or mask[i])]

    def search(self, query: str, n: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top `n` (chunk id, BM25 score) with a positive score; `mask` (bool per doc) restricts the docs."""
        import numpy as np

        if self.bm25 is None or n <= 0:
            return []
        ids = [self.vocab[w] for w in tokenize([query])[0] if w in self.vocab]
        if not ids:
            return []
        scores = np.asarray(self.bm25.get_scores_from_ids(sorted(set(ids))), dtype=np.float32)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunk_ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def mask(self, spec: Spec) -> np.ndarray | None:
        """The docs `spec` admits (bool per doc; None: every doc), from this index's copy of their metadata."""
        from qa.filters import mask

        return mask(spec, self._columns(), len(self.chunk_ids))

    def _columns(self) -> dict[str, Any]:
        """The metadata the filters read, column by column (text as integer codes), made once per version."""
        import numpy as np

        from qa.filters import Coded

        key = (self.version, len(self.chunk_ids))
        if getattr(self, "_columns_for", None) != key:
            def coded(values: list[str]) -> Coded:
                names: dict[str, int] = {}
                return Coded(names, np.asarray([names.setdefault(v, len(names)) for v in values], dtype=np.int32))

            self._cols = {"date_ts": self.date_ts, "source": coded(self.sources), "article_id": coded(self.article_of)}
            self._columns_for = key
        return self._cols
