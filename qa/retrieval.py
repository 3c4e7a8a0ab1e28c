"""retrieve(question, ...): dense (Chroma) + BM25 fused by reciprocal rank fusion, news dates, diversity.

A search runs the dense and keyword retrievers (plus both again inside the time window the question names, if
any), fuses their ranks, adds a newest-first list when the question asks for the latest, drops near-copies and
later duplicates of an article (MMR), and merges neighbouring chunks of one article into one passage.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from qa.filters import DATED, Filters, chroma_where, matches
from qa.store import Store
from qa.text import MONTH_RE, MONTHS, index_tokens
from qa.types import Passage

if TYPE_CHECKING:
    from qa.config import Settings
    from qa.keyword import KeywordIndex

MONTH_YEAR = re.compile(rf"\b{MONTH_RE}\s*,?\s+((?:19|20)\d\d)\b", re.IGNORECASE)
IN_MONTH = re.compile(rf"\b(?:in|during|early|late|mid|since|this|last)[\s-]+{MONTH_RE}\b(?!\s*\d)", re.IGNORECASE)
IN_YEAR = re.compile(r"\b(?:in|during|of|throughout)\s+((?:19|20)\d\d)\b", re.IGNORECASE)
RECENT = re.compile(r"\b(latest|newest|most recent(?:ly)?|recent(?:ly)?|current(?:ly)?|now|so far|upcoming|"
                    r"new(?:ly)? (?:appointed|announced)|just)\b", re.IGNORECASE)
RELATIVE = [  # pattern -> (days back to the window's start, days back to its end), relative to as_of
    (re.compile(r"\b(today|tonight|this morning)\b", re.IGNORECASE), (0, 0)),
    (re.compile(r"\byesterday\b", re.IGNORECASE), (1, 1)),
    (re.compile(r"\b(this|the past) week\b|\bthis weekend\b", re.IGNORECASE), (6, 0)),
    (re.compile(r"\b(last|previous) week\b", re.IGNORECASE), (13, 0)),
    (re.compile(r"\b(past|last) (few|couple of) days\b|\bthese days\b", re.IGNORECASE), (6, 0)),
    (re.compile(r"\b(past|last) (two|2|few) weeks\b", re.IGNORECASE), (20, 0)),
]


@dataclass
class TimeIntent:
    """What the question says about time: a window of days (inclusive) and/or a wish for the newest."""

    since: date | None = None
    until: date | None = None
    recent: bool = False
    phrase: str = ""

    @property
    def bound(self) -> bool:
        return self.since is not None or self.recent


def _month_window(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return start, nxt - timedelta(days=1)


def time_intent(question: str, today: date) -> TimeIntent:
    """Resolve "this week", "last month", "in March 2022", "the latest", ... against `today` (the as-of date)."""
    q = question
    for pattern, (back, fwd) in RELATIVE:
        if m := pattern.search(q):
            return TimeIntent(today - timedelta(days=back), today - timedelta(days=fwd), True, m.group(0))
    if m := re.search(r"\b(this|the past) month\b", q, re.IGNORECASE):
        return TimeIntent(today.replace(day=1) if m.group(1) == "this" else today - timedelta(days=30), today,
                          True, m.group(0))
    if m := re.search(r"\b(last|previous) month\b", q, re.IGNORECASE):
        first = today.replace(day=1)
        return TimeIntent(_month_window((first - timedelta(days=1)).year, (first - timedelta(days=1)).month)[0],
                          today, True, m.group(0))
    if m := re.search(r"\bthis year\b", q, re.IGNORECASE):
        return TimeIntent(date(today.year, 1, 1), today, True, m.group(0))
    if m := re.search(r"\blast year\b", q, re.IGNORECASE):
        return TimeIntent(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), False, m.group(0))
    recent = bool(RECENT.search(q))
    if m := MONTH_YEAR.search(q):
        since, until = _month_window(int(m.group(2)), MONTHS[m.group(1).lower().rstrip(".")])
        return TimeIntent(since, until, recent, m.group(0))
    if m := IN_MONTH.search(q):
        month = MONTHS[m.group(1).lower().rstrip(".")]
        year = today.year if month <= today.month else today.year - 1
        since, until = _month_window(year, month)
        return TimeIntent(since, until, recent, m.group(0))
    if m := IN_YEAR.search(q):
        year = int(m.group(1))
        return TimeIntent(date(year, 1, 1), date(year, 12, 31), recent, m.group(0))
    return TimeIntent(recent=recent, phrase=m.group(0) if (m := RECENT.search(q)) else "")


@dataclass
class Candidate:
    chunk_id: str
    text: str
    meta: dict[str, Any]
    score: float = 0.0
    ranks: dict[str, int] = field(default_factory=dict)


def rrf(rankings: dict[str, list[str]], weights: dict[str, float], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion: score(d) = sum over lists of weight / (k + rank of d), ranks from 1."""
    scores: dict[str, float] = {}
    for name, ids in rankings.items():
        w = weights.get(name, 1.0)
        for rank, doc in enumerate(ids, start=1):
            scores[doc] = scores.get(doc, 0.0) + w / (k + rank)
    return scores


def _words(text: str) -> frozenset[str]:
    return frozenset(index_tokens([text])[0])


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def undated_after_matches(chosen: list[Candidate], bar: float) -> list[Candidate]:
    """Undated candidates moved after the last dated one scoring at least `bar`; nothing else changes order."""
    def dated(c: Candidate) -> bool:
        return matches(DATED, c.meta)

    last = max((i for i, c in enumerate(chosen) if dated(c) and c.score >= bar), default=-1)
    head = chosen[:last + 1]
    return [c for c in head if dated(c)] + [c for c in head if not dated(c)] + chosen[last + 1:]


def mmr(ranked: list[Candidate], k: int, lam: float = 0.7, near_copy: float = 0.8) -> list[Candidate]:
    """Maximal marginal relevance over word sets: relevance minus similarity to what is already chosen; a
    candidate at least `near_copy` similar to a chosen one is never shown."""
    if not ranked:
        return []
    top = ranked[0].score or 1.0
    words: dict[str, frozenset[str]] = {}

    def words_of(c: Candidate) -> frozenset[str]:
        if c.chunk_id not in words:
            words[c.chunk_id] = _words(c.text)
        return words[c.chunk_id]

    chosen: list[Candidate] = []
    pool = sorted(ranked, key=lambda c: -c.score)
    while pool and len(chosen) < k:
        best, best_value = None, float("-inf")
        for c in pool:
            if lam * c.score / top <= best_value:
                break  # the pool is sorted by score: no later candidate can do better (word sets made lazily)
            sim = max((jaccard(words_of(c), words_of(s)) for s in chosen), default=0.0)
            if sim >= near_copy:
                continue
            value = lam * c.score / top - (1 - lam) * sim
            if value > best_value:
                best, best_value = c, value
        if best is None:
            break
        chosen.append(best)
        pool.remove(best)
    return chosen


OVERFETCH = 200  # nearest chunks fetched unfiltered before filtering in Python (~12 ms at 100k chunks)
MATCHING = 0.6  # a chunk scoring at least this share of the best fused score "matches" the question


class Retriever:
    """Ranks chunks for a question: dense + BM25 (settings.retrieval = hybrid | dense | bm25)."""

    def __init__(self, store: Store, settings: Settings | None = None, keyword: KeywordIndex | None = None) -> None:
        self.store = store
        self.settings = settings or store.settings
        self.mode = self.settings.retrieval
        self._keyword = keyword
        self._checked = 0.0
        self._dups: dict[str, tuple[str, str]] | None = None
        self._texts: dict[str, str] = {}

    # Backends ---------------------------------------------------------------------------------------------
    def keyword(self) -> KeywordIndex:
        """The BM25 index, synced with the store on first use and again after `keyword_recheck_s`."""
        from qa.keyword import KeywordIndex

        if self._keyword is None:
            self._keyword = KeywordIndex(self.settings.bm25_dir)
        if time.monotonic() - self._checked > self.settings.keyword_recheck_s:
            if not self._keyword.is_current(self.store):
                self._keyword.sync(self.store)
                self._dups = None
            self._checked = time.monotonic()
        return self._keyword

    def duplicates(self) -> dict[str, tuple[str, str]]:
        from qa.duplicates import duplicate_map

        if self._dups is None:
            self._dups = duplicate_map(self.store)
        return self._dups

    def _query(self, vector: list[float], n: int, where: dict[str, Any] | None) -> list[Candidate]:
        hits = self.store.vectors.similarity_search_by_vector_with_relevance_scores(vector, k=n, filter=where)
        return [Candidate(str(doc.id), doc.page_content, dict(doc.metadata)) for doc, _s in hits]

    def _dense(self, vector: list[float], n: int, f: Filters, exclude: frozenset[str], complete: bool = True,
               near: list[Any] | None = None, kw: KeywordIndex | None = None,
               mask: Any = None) -> list[str] | list[Candidate]:
        """The `n` nearest chunks that pass the filters and are not excluded copies.

        Chroma's filtered search is slow on a large collection (measured at 100k chunks: 0.4-0.6 s with a date
        filter, ~5 ms without), so the nearest `OVERFETCH` chunks are fetched unfiltered and filtered here.
        Only when that leaves fewer than `n` does Chroma filter, and only if a `complete` list is needed (the
        time-window list is a bonus ranking: whatever of the window is among the nearest chunks is enough).
        With the BM25 index (`kw`, hybrid mode) the nearest chunks are fetched as ids only (~2 ms for 200 at 100k
        chunks, against ~12 ms with their texts and metadata) and filtered with its copy of the metadata (`mask`,
        the very filter BM25 applies): ids come back, their texts are fetched by the caller in one call.
        `near` is the unfiltered list of a previous call with the same vector (filled in here when empty)."""
        spec = f.spec(exclude)
        where = chroma_where(spec)
        if where is None:
            return self._query(vector, n, None)
        fetch = max(n, OVERFETCH)
        near = [] if near is None else near
        if kw is not None:
            if not near:
                near.extend(self.store.chunks.query(query_embeddings=vector, n_results=fetch, include=[])["ids"][0])
            hits: list[Any] = kw.admitted(near, mask)
        else:
            if not near:
                near.extend(self._query(vector, fetch, None))
            hits = [c for c in near if matches(spec, c.meta)]
        if len(hits) >= n or not complete or len(near) < fetch:  # fewer than asked for: that was every chunk
            return hits[:n]
        return self._query(vector, n, where)

    # Search -----------------------------------------------------------------------------------------------
    def search(self, question: str, k: int, filters: Filters | None = None) -> list[Passage]:
        """The `k` best chunks for the question as passages (neighbouring chunks merged), best first."""
        filters = filters or Filters()
        s = self.settings
        intent = time_intent(question, filters.today())
        exclude = self._excluded_copies(filters)
        n = max(s.candidates, k)
        lists: dict[str, list[str]] = {}
        pool: dict[str, Candidate] = {}
        window = self._window(intent, filters)
        kw = self.keyword() if self.mode in ("hybrid", "bm25") else None
        masks = {}
        if kw is not None:
            for name, f in (("", filters), ("_window", window)):
                if f is not None:
                    masks[name] = keyword_mask(kw, f, exclude)
        if self.mode in ("hybrid", "dense"):
            vector = self.store.embeddings.embed_query(question)  # type: ignore[union-attr]
            near: list[Any] = []  # the unfiltered nearest chunks, fetched once for both lists
            for name, f in (("", filters), ("_window", window)):
                if f is None:
                    continue
                hits = self._dense(vector, n, f, exclude, name == "", near, kw, masks.get(name))
                lists["dense" + name] = [c if isinstance(c, str) else c.chunk_id for c in hits]
                pool.update({c.chunk_id: c for c in hits if isinstance(c, Candidate) and c.chunk_id not in pool})
        if kw is not None:
            for name, f in (("", filters), ("_window", window)):
                if f is not None:
                    lists["bm25" + name] = [cid for cid, _s in kw.search(question, n, masks[name])]
        missing = [c for ids in lists.values() for c in ids if c not in pool]
        if missing:  # chunks known by id only (BM25, the filtered dense lists): their texts, in one call
            for cid, (text, meta) in self.store.chunk_texts(dict.fromkeys(missing)).items():
                pool[cid] = Candidate(cid, text, meta)
        weights = {"dense": s.dense_weight, "dense_window": s.dense_weight * s.window_weight, "bm25": s.bm25_weight,
                   "bm25_window": s.bm25_weight * s.window_weight}
        fused = rrf({name: [c for c in ids if c in pool] for name, ids in lists.items()}, weights, s.rrf_k)
        ranked = sorted(fused, key=lambda c: -fused[c])
        if intent.recent and ranked:  # among the matching chunks, the newest first (undated last)
            # "matching": close to the best fused score and found by both retrievers (in the whole collection or
            # in the recent window): a chunk only one retriever ranks, or only the window ranks, is not enough to
            # outrank the best match just for being newer
            best = fused[ranked[0]]
            found = {family: {c for n, ids in lists.items() if n.startswith(family) for c in ids}
                     for family in ("dense", "bm25")}
            both = found["dense"] & found["bm25"] if self.mode == "hybrid" else set(ranked)
            top = [c for c in ranked[:max(k, s.recency_pool)] if fused[c] >= MATCHING * best and c in both]
            newest = sorted(top, key=lambda c: -int(pool[c].meta.get("date_ts", -1)))
            fused.update({c: best * (1 + s.date_weight * (len(newest) - i) / 100) for i, c in enumerate(newest)})
            ranked = sorted(fused, key=lambda c: -fused[c])
        candidates = [pool[c] for c in ranked]
        for c in candidates:
            c.score = fused[c.chunk_id]
        chosen = mmr(candidates, k, s.mmr_lambda)
        if window is not None:  # time-bound: undated passages stay eligible, after the dated matches
            chosen = undated_after_matches(chosen, MATCHING * fused[ranked[0]] if ranked else 0.0)
        return self._passages(chosen)

    def _window(self, intent: TimeIntent, filters: Filters) -> Filters | None:
        """The filters narrowed to the question's time window, or to the last `recent_days` for "the latest"
        (None when the question names no time)."""
        if intent.recent and intent.since is None:
            today = filters.today()
            intent = TimeIntent(today - timedelta(days=self.settings.recent_days), today, True)
        if intent.since is None or intent.until is None:
            return None
        since = max(intent.since.isoformat(), filters.since[:10]) if filters.since else intent.since.isoformat()
        until = min(intent.until.isoformat(), filters.until[:10]) if filters.until else intent.until.isoformat()
        return Filters(source=filters.source, since=since, until=until, as_of=filters.as_of)

    def _excluded_copies(self, filters: Filters) -> frozenset[str]:
        """Later copies of an article are left out when their canonical copy is eligible (same source filter)."""
        return frozenset(c for c, (_canon, src) in self.duplicates().items()
                         if not filters.source or src == filters.source)

    def _article_text(self, article_id: str) -> str:
        if article_id not in self._texts:
            article = self.store.get_article(article_id)
            self._texts[article_id] = article.text if article else ""
        return self._texts[article_id]

    def _passages(self, chosen: list[Candidate]) -> list[Passage]:
        """Candidates -> passages; chunks of one article that touch or overlap become one passage (its text
        is article.text[start:end], so citation offsets stay exact)."""
        merged: list[tuple[Candidate, int, int, str, float, list[str]]] = []
        for c in chosen:
            m = c.meta
            start, end, aid = int(m["start"]), int(m["end"]), str(m["article_id"])
            for i, (first, s0, e0, text, score, ids) in enumerate(merged):
                if str(first.meta["article_id"]) != aid:
                    continue
                gap = self._article_text(aid)[min(e0, end):max(s0, start)] if start > e0 or s0 > end else ""
                if start <= e0 + 2 and s0 <= end + 2 or (gap and not gap.strip()):
                    ns, ne = min(s0, start), max(e0, end)
                    full = self._article_text(aid)
                    new_text = full[ns:ne] if full else (text if s0 <= start else c.text)
                    if full and (full[s0:e0] != text or full[start:end] != c.text):
                        continue  # the stored article changed under us; keep the chunks apart
                    merged[i] = (first, ns, ne, new_text, score, ids + [c.chunk_id])
                    break
            else:
                merged.append((c, start, end, c.text, c.score, [c.chunk_id]))
        passages = []
        for n, (c, start, end, text, score, ids) in enumerate(merged, start=1):
            m = c.meta
            chunk_id = ids[0] if len(ids) == 1 else "+".join(sorted(ids, key=lambda x: int(x.rsplit("::", 1)[-1])
                                                                   if x.rsplit("::", 1)[-1].isdigit() else 0))
            passages.append(Passage(
                n=n, article_id=str(m["article_id"]), chunk_id=chunk_id, score=round(float(score), 4), text=text,
                start=start, end=end, title=str(m.get("title", "")), source=str(m.get("source", "")),
                date=str(m.get("date", "")), url=str(m.get("url", "")),
            ))
        return passages


def keyword_mask(kw: KeywordIndex, f: Filters, exclude: frozenset[str] = frozenset()) -> Any:
    """The BM25 index's docs that `f` admits, `exclude`d articles left out (bool per doc, None for all)."""
    return kw.mask(f.spec(exclude))
