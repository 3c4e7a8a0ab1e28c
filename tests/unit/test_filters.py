"""One conformance suite for the filter spec, run against each of its evaluators: the Chroma `where` (a real
in-memory Chroma collection), the Python predicate and the BM25 index's mask (haystack's
`testing/document_store.py` is the model). Articles and filters are generated (hypothesis), undated articles,
pre-1970 dates and every combination of source/since/until/as_of/excluded copies among them; each evaluator must
admit exactly what the filters mean, written out plainly in `meant` below."""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.config import FIRST_DAY, LAST_DAY
from qa.filters import Filters, matches
from qa.store import date_ts


@dataclass(frozen=True)
class Article:
    id: str
    source: str
    day: date | None  # None: undated
    time: str = ""  # "" or "THH:MM:SSZ"

    def meta(self) -> dict[str, Any]:
        stamp = f"{self.day.isoformat()}{self.time}" if self.day else ""
        return {"article_id": self.id, "source": self.source, "date": stamp, "date_ts": date_ts(stamp)}


def meant(a: Article, f: Filters, exclude: frozenset[str]) -> bool:
    """What the filters mean, on dates: days inclusive, undated articles only where no date range is asked for
    (an as-of day keeps them)."""
    if (f.source and a.source != f.source) or a.id in exclude:
        return False
    if a.day is None:
        return not (f.since or f.until)
    return not ((f.since and a.day < date.fromisoformat(f.since)) or (f.until and a.day > date.fromisoformat(f.until))
                or (f.as_of and a.day > date.fromisoformat(f.as_of)))


WEEK = date(2022, 3, 1)
days = st.one_of(
    st.integers(0, 9).map(lambda n: WEEK + timedelta(days=n)),  # a few days: filters and articles meet often
    st.sampled_from([date(1969, 12, 31), date(1970, 1, 1), date(1970, 1, 2)]),  # around the epoch (date_ts 0)
    st.dates(FIRST_DAY, LAST_DAY),
)
SOURCES = ["Wire", "Daily", "www.france24.com", ""]
articles = st.lists(
    st.builds(lambda source, day, t: (source, day, t), st.sampled_from(SOURCES), st.one_of(st.none(), days),
              st.sampled_from(["", "T00:00:00Z", "T23:59:59Z", "T12:30:00"])),
    min_size=1, max_size=12,
).map(lambda rows: [Article(f"a{i}", s, d, t if d and d >= date(1970, 1, 2) else "")
                    for i, (s, d, t) in enumerate(rows)])
text_day = st.one_of(st.just(""), days.map(date.isoformat))
filters = st.builds(Filters, source=st.sampled_from(["", *SOURCES[:3], "Nobody"]), since=text_day, until=text_day,
                    as_of=text_day)


class FilterConformance:
    """Every evaluator admits exactly the articles the filters mean. A subclass says how it evaluates a spec."""

    def admitted(self, arts: list[Article], f: Filters, exclude: frozenset[str]) -> set[str]:
        raise NotImplementedError

    def check(self, arts: list[Article], f: Filters, exclude: frozenset[str] = frozenset()) -> None:
        want = {a.id for a in arts if meant(a, f, exclude)}
        assert self.admitted(arts, f, exclude) == want, f"{f} exclude={sorted(exclude)}"

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.differing_executors])  # one suite, 3 evaluators
    @given(arts=articles, f=filters, data=st.data())
    def test_admits_what_the_filters_mean(self, arts: list[Article], f: Filters, data: st.DataObject) -> None:
        exclude = frozenset(data.draw(st.lists(st.sampled_from([a.id for a in arts]), max_size=3)))
        self.check(arts, f, exclude)

    def test_every_combination_of_filters_on_the_edges(self) -> None:
        """Each of source/since/until/as_of on or off, on the day of an article, a day before and after it."""
        day = WEEK + timedelta(days=3)
        arts = [Article("before", "Wire", day - timedelta(days=1)), Article("on", "Daily", day, "T23:59:59Z"),
                Article("after", "Wire", day + timedelta(days=1)), Article("undated", "Daily", None),
                Article("old", "Wire", date(1950, 6, 1))]
        for shift in (-1, 0, 1):
            edge = (day + timedelta(days=shift)).isoformat()
            for on in itertools.product((False, True), repeat=4):
                f = Filters(*(value if use else "" for use, value in zip(on, ("Wire", edge, edge, edge), strict=True)))
                self.check(arts, f)
                self.check(arts, f, frozenset({"on", "undated"}))

    def test_no_filters_admit_everything_and_the_as_of_day_itself_counts(self) -> None:
        arts = [Article("a", "Wire", WEEK, "T23:59:59Z"), Article("b", "", None)]
        assert self.admitted(arts, Filters(), frozenset()) == {"a", "b"}
        assert self.admitted(arts, Filters(as_of=WEEK.isoformat()), frozenset()) == {"a", "b"}
        assert self.admitted(arts, Filters(as_of=(WEEK - timedelta(days=1)).isoformat()), frozenset()) == {"b"}


class TestPythonPredicate(FilterConformance):
    def admitted(self, arts: list[Article], f: Filters, exclude: frozenset[str]) -> set[str]:
        spec = f.spec(exclude)
        return {a.id for a in arts if matches(spec, a.meta())}


class TestChromaWhere(FilterConformance):
    client: Any = None
    names = itertools.count()

    def admitted(self, arts: list[Article], f: Filters, exclude: frozenset[str]) -> set[str]:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        if TestChromaWhere.client is None:
            TestChromaWhere.client = chromadb.EphemeralClient(settings=ChromaSettings(anonymized_telemetry=False))
        name = f"conformance{next(self.names)}"
        col = self.client.create_collection(name, embedding_function=None)
        try:
            col.add(ids=[a.id for a in arts], embeddings=[[1.0, float(i)] for i in range(len(arts))],
                    metadatas=[a.meta() for a in arts])
            return set(col.get(where=f.where(exclude), include=[])["ids"])
        finally:
            self.client.delete_collection(name)


class TestKeywordMask(FilterConformance):
    home = Path(tempfile.mkdtemp(prefix="qa-filters-"))

    def admitted(self, arts: list[Article], f: Filters, exclude: frozenset[str]) -> set[str]:
        from qa.keyword import KeywordIndex

        kw = KeywordIndex(self.home / "none")
        kw._append({f"{a.id}::0": ("news text", a.meta()) for a in arts})
        m = kw.mask(f.spec(exclude))
        return {kw.article_of[i] for i in range(len(kw)) if m is None or m[i]}


def test_the_spec_names_each_date_bound_once() -> None:
    """since + until + as_of + source in one Chroma where: each condition once, undated handled explicitly."""
    where = Filters(source="Wire", since="2022-03-01", until="2022-03-31", as_of="2022-03-15").where()
    assert where is not None and len(where["$and"]) == 5
    assert Filters().where() is None and Filters().spec().parts == ()


@pytest.mark.parametrize("f", [Filters(as_of="2022-06-01"), Filters(source="Daily"), Filters(since="2022-06-01")])
def test_a_chunk_without_date_metadata_counts_as_undated(f: Filters) -> None:
    assert matches(f.spec(), {"article_id": "x", "source": "Daily"}) == (not f.since)
