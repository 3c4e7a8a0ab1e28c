"""retrieve(question, ...): ranked passages from the store (dense search through langchain-chroma)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qa.store import Store, date_ts
from qa.types import Passage


@dataclass
class Filters:
    """Restrict retrieval to an outlet and/or a date range (ISO dates, inclusive)."""

    source: str = ""
    since: str = ""
    until: str = ""

    def where(self) -> dict[str, Any] | None:
        clauses: list[dict[str, Any]] = []
        if self.source:
            clauses.append({"source": self.source})
        if self.since:
            clauses.append({"date_ts": {"$gte": date_ts(self.since[:10])}})
        if self.until:
            clauses.append({"date_ts": {"$lt": date_ts(self.until[:10]) + 86400}})
            clauses.append({"date_ts": {"$gte": 0}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def describe(self) -> str:
        parts = [f"source={self.source}" if self.source else "", f"since={self.since}" if self.since else "",
                 f"until={self.until}" if self.until else ""]
        return " ".join(p for p in parts if p)


class Retriever:
    """Ranks chunks for a question."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def search(self, question: str, k: int, filters: Filters | None = None) -> list[Passage]:
        where = filters.where() if filters else None
        hits = self.store.vectors.similarity_search_with_relevance_scores(question, k=k, filter=where)
        passages = []
        for n, (doc, score) in enumerate(hits, start=1):
            m = doc.metadata
            passages.append(Passage(
                n=n, article_id=str(m["article_id"]), chunk_id=str(doc.id or f"{m['article_id']}::{m['index']}"),
                score=round(float(score), 4), text=doc.page_content, start=int(m["start"]), end=int(m["end"]),
                title=str(m.get("title", "")), source=str(m.get("source", "")), date=str(m.get("date", "")),
                url=str(m.get("url", "")),
            ))
        return passages
