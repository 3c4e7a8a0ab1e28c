"""Near-duplicate articles (re-posted releases, syndicated copies): grouped at ingest by MinHash of word 5-grams.

The earliest-dated copy of a group is canonical; the others get `duplicate_of` in their article record and the
canonical one lists them in `duplicates`, so `qa sources` can show them and retrieval cites only the canonical.
"""

from __future__ import annotations

import hashlib
import re
import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from qa.store import Store

SHINGLE = 5
PERMUTATIONS = 64
BANDS = 16  # 16 bands of 4 rows: pairs with Jaccard >= 0.8 collide with probability > 0.999
THRESHOLD = 0.8  # estimated Jaccard of word 5-grams above which two articles are copies
_PRIME = (1 << 61) - 1


def _params() -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    rng = np.random.default_rng(20240501)
    return (rng.integers(1, _PRIME, PERMUTATIONS, dtype=np.uint64),
            rng.integers(0, _PRIME, PERMUTATIONS, dtype=np.uint64))


def signature(text: str) -> np.ndarray:
    """MinHash signature (PERMUTATIONS values) of the article's lower-cased word 5-grams."""
    import numpy as np

    words = re.findall(r"\w+", text.lower())
    grams = {" ".join(words[i:i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))}
    hashes = np.asarray([struct.unpack("<Q", hashlib.blake2b(g.encode(), digest_size=8).digest())[0] >> 3
                         for g in grams], dtype=np.uint64)
    a, b = _params()
    # (a*x + b) mod p on 64-bit integers wraps, which is fine for hashing; only the minimum is kept
    return ((np.outer(hashes, a) + b) % np.uint64(_PRIME)).min(axis=0)


def group(signatures: dict[str, np.ndarray], dates: dict[str, str]) -> dict[str, str]:
    """copy id -> canonical id, for every article that is a near-copy of an earlier (or same-day, lower id) one."""
    import numpy as np

    rows = PERMUTATIONS // BANDS
    buckets: dict[tuple[int, bytes], list[str]] = {}
    for aid, sig in signatures.items():
        for band in range(BANDS):
            buckets.setdefault((band, sig[band * rows:(band + 1) * rows].tobytes()), []).append(aid)
    parent = {a: a for a in signatures}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for ids in buckets.values():
        for other in ids[1:]:
            first = ids[0]
            if find(first) != find(other) and float(np.mean(signatures[first] == signatures[other])) >= THRESHOLD:
                parent[find(other)] = find(first)
    groups: dict[str, list[str]] = {}
    for a in signatures:
        groups.setdefault(find(a), []).append(a)
    copies: dict[str, str] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        canonical = min(members, key=lambda a: (dates.get(a) or "9999", a))
        copies.update({a: canonical for a in members if a != canonical})
    return copies


def group_duplicates(store: Store) -> int:
    """Recompute the duplicate groups of the whole store and record them; returns the number of copies."""
    import numpy as np

    got: Any = store.articles.get(include=["metadatas"])
    metas = dict(zip(got["ids"], got["metadatas"] or []))
    sigs: dict[str, np.ndarray] = {}
    missing = [i for i, m in metas.items() if not m.get("minhash")]
    for b in range(0, len(missing), 100):
        res: Any = store.articles.get(ids=missing[b:b + 100], include=["documents"])
        for i, doc in zip(res["ids"], res["documents"]):
            sigs[i] = signature(doc or "")
        store.articles.update(ids=list(res["ids"]), metadatas=[{"minhash": sigs[i].tobytes().hex()} for i in res["ids"]])
    for i, m in metas.items():
        if i not in sigs:
            sigs[i] = np.frombuffer(bytes.fromhex(str(m["minhash"])), dtype=np.uint64)
    copies = group(sigs, {i: str(m.get("date", "")) for i, m in metas.items()})
    listed: dict[str, list[str]] = {}
    for copy, canonical in copies.items():
        listed.setdefault(canonical, []).append(copy)
    ids, updates = [], []
    for i, m in metas.items():
        want = {"duplicate_of": copies.get(i, ""), "duplicates": ",".join(sorted(listed.get(i, [])))}
        if any(str(m.get(key, "")) != v for key, v in want.items()):
            ids.append(i)
            updates.append(want)
    if ids:
        store.articles.update(ids=ids, metadatas=updates)  # type: ignore[arg-type]
    return len(copies)


def duplicate_map(store: Store) -> dict[str, tuple[str, str]]:
    """copy id -> (canonical id, canonical's source), from the article records."""
    got: Any = store.articles.get(where={"duplicate_of": {"$ne": ""}}, include=["metadatas"])  # type: ignore[dict-item]
    copies = {i: str(m.get("duplicate_of")) for i, m in zip(got["ids"], got["metadatas"] or [])
              if m.get("duplicate_of")}  # `$ne ""` also matches records that lack the key
    if not copies:
        return {}
    canon = store.articles.get(ids=sorted(set(copies.values())), include=["metadatas"])
    source = {i: str(m.get("source", "")) for i, m in zip(canon["ids"], canon["metadatas"] or [])}
    return {c: (k, source.get(k, "")) for c, k in copies.items() if k in source}
