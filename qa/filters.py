"""One filter spec for retrieval, and the three evaluators derived from it.

`Filters` (an outlet, a date range, an as-of day) becomes a spec: a small tree of conditions on chunk metadata,
`Cond(field, op, value)` joined by `All(...)` / `AnyOf(...)`. Each operator is named once in `OPS` with its
Chroma operator, its Python test and its numpy test (as haystack's `utils/filters.py` does), so the Chroma `where`
(`chroma_where`), the Python predicate (`matches`) and the BM25 index's mask (`mask`) cannot drift apart.

What the filters mean, on a chunk's `date_ts` (seconds since the epoch, UTC; `UNDATED` when its article has no
date): `since`/`until` admit dated chunks from the start of `since` to the end of `until` (undated never);
`as_of` admits chunks dated up to the end of that day and undated ones; `source` is an exact match; `exclude`
leaves out the chunks of the given article ids.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Union

from qa.store import date_ts

if TYPE_CHECKING:
    import numpy as np

DAY = 86400
UNDATED = -1  # date_ts of a chunk whose article has no (readable) date: what qa.store.date_ts gives
DEFAULTS: dict[str, Any] = {"date_ts": UNDATED, "source": "", "article_id": ""}  # a field missing from metadata


@dataclass(frozen=True)
class Cond:
    field: str
    op: str  # a key of OPS
    value: Any


@dataclass(frozen=True)
class All:
    parts: tuple[Spec, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Spec, ...]


Spec = Union[Cond, All, AnyOf]  # noqa: UP007 - a runtime alias: `|` on the forward-declared classes is fine too


def _isin(values: np.ndarray, wanted: Any) -> np.ndarray:
    import numpy as np

    return np.isin(values, np.asarray(list(wanted), dtype=values.dtype))


@dataclass(frozen=True)
class Op:
    chroma: str
    python: Callable[[Any, Any], bool]
    numpy: Callable[[Any, Any], Any]  # (column array, value) -> bool array


OPS: dict[str, Op] = {
    "==": Op("$eq", operator.eq, operator.eq),
    "!=": Op("$ne", operator.ne, operator.ne),
    ">=": Op("$gte", operator.ge, operator.ge),
    "<": Op("$lt", operator.lt, operator.lt),
    "not in": Op("$nin", lambda a, b: a not in b, lambda a, b: ~_isin(a, b)),
}
DATED = Cond("date_ts", "!=", UNDATED)


@dataclass
class Filters:
    """Restrict retrieval to an outlet and/or a date range (ISO dates, inclusive), as known on `as_of`.

    `as_of` (YYYY-MM-DD): articles dated after that day are never returned (undated ones stay eligible), and
    relative time in the question ("this week", "the latest") is read from that day instead of today."""

    source: str = ""
    since: str = ""
    until: str = ""
    as_of: str = ""

    def spec(self, exclude: frozenset[str] = frozenset()) -> All:
        """These filters (and the article ids in `exclude` left out) as one spec."""
        parts: list[Spec] = []
        if self.source:
            parts.append(Cond("source", "==", self.source))
        if self.since:
            parts.append(Cond("date_ts", ">=", date_ts(self.since[:10])))
        if self.until:
            parts.append(Cond("date_ts", "<", date_ts(self.until[:10]) + DAY))
        if self.since or self.until:
            parts.append(DATED)
        if self.as_of:
            parts.append(AnyOf((Cond("date_ts", "<", self.as_of_ts()), Cond("date_ts", "==", UNDATED))))
        if exclude:
            parts.append(Cond("article_id", "not in", tuple(sorted(exclude))))
        return All(tuple(parts))

    def where(self, exclude: frozenset[str] = frozenset()) -> dict[str, Any] | None:
        """The Chroma `where` of `spec()` (None: no filter)."""
        return chroma_where(self.spec(exclude))

    def admits(self, meta: Mapping[str, Any], exclude: frozenset[str] = frozenset()) -> bool:
        """`spec()` on one chunk's metadata."""
        return matches(self.spec(exclude), meta)

    def as_of_ts(self) -> int:
        """First second after the as-of day (UTC): articles stamped before it are eligible."""
        return date_ts(self.as_of[:10]) + DAY

    def today(self) -> date:
        return date.fromisoformat(self.as_of[:10]) if self.as_of else datetime.now(UTC).date()


# The three evaluators ---------------------------------------------------------------------------------------------
def chroma_where(spec: Spec) -> dict[str, Any] | None:
    """The spec as a Chroma `where` (None when it admits everything)."""
    if isinstance(spec, Cond):
        value = list(spec.value) if spec.op == "not in" else spec.value
        return {spec.field: {OPS[spec.op].chroma: value}}
    parts = [w for p in spec.parts if (w := chroma_where(p)) is not None]
    if not parts:
        return None
    if len(parts) == 1:  # Chroma wants two or more clauses under $and / $or
        return parts[0]
    return {"$and" if isinstance(spec, All) else "$or": parts}


def matches(spec: Spec, meta: Mapping[str, Any]) -> bool:
    """Does one chunk's metadata pass the spec?"""
    if isinstance(spec, Cond):
        value = meta.get(spec.field, DEFAULTS.get(spec.field))
        if spec.field == "date_ts":
            value = int(value)
        return OPS[spec.op].python(value, spec.value)
    if isinstance(spec, All):
        return all(matches(p, meta) for p in spec.parts)
    return any(matches(p, meta) for p in spec.parts)


@dataclass(frozen=True)
class Coded:
    """A text column stored as integer codes (fast comparisons over 100k chunks): `names` maps text -> code."""

    names: Mapping[str, int]
    codes: np.ndarray

    def encode(self, value: Any) -> Any:
        return tuple(self.names.get(v, -1) for v in value) if isinstance(value, tuple) else self.names.get(value, -1)


def mask(spec: Spec, columns: Mapping[str, np.ndarray | Coded], n: int) -> np.ndarray | None:
    """The spec over `n` docs whose metadata is held column by column (bool per doc; None: every doc passes)."""
    import numpy as np

    if isinstance(spec, Cond):
        column = columns[spec.field]
        if isinstance(column, Coded):
            return np.asarray(OPS[spec.op].numpy(column.codes, column.encode(spec.value)), dtype=bool)
        return np.asarray(OPS[spec.op].numpy(column, spec.value), dtype=bool)
    if not spec.parts:
        return None
    parts = [mask(p, columns, n) for p in spec.parts]
    join = np.logical_and if isinstance(spec, All) else np.logical_or
    out = np.ones(n, dtype=bool) if isinstance(spec, All) else np.zeros(n, dtype=bool)
    for m in parts:
        out = join(out, np.ones(n, dtype=bool) if m is None else m)
    return out
