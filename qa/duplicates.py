"""Near-duplicate articles (re-posted releases, syndicated copies): grouped at ingest by MinHash of word 5-grams.

Copies fold only when they say the same thing. Two near-copies that differ in what they claim — a number, a
name, a negation, a word swapped for its opposite, a changed word of a sentence, a sentence added or dropped (a
forged copy, a release re-issued with a revised total) — are *versions*: both stay searchable, and each lists the
other under `versions` with the sentences that differ. Short lines added or dropped (a byline, "Read more at ..."),
a changed byline or credit line, and differences of whitespace, case or punctuation do not make a version. Titles
claim things too: a title edited to say something else (most of its words kept) makes a version; a wholly new
headline over the same text does not (outlets re-headline wire copy).

Among copies that say the same thing, the earliest-dated is canonical (same day: the lowest id); the others get
`duplicate_of` in their article record and the canonical one lists them in `duplicates`, so `qa sources` can
show them and retrieval cites only the canonical.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from difflib import SequenceMatcher
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


def minhash_groups(signatures: dict[str, np.ndarray]) -> list[list[str]]:
    """Groups (of two or more) of articles whose estimated Jaccard of word 5-grams reaches THRESHOLD."""
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
    return [sorted(m) for m in groups.values() if len(m) >= 2]


# What a changed claim is made of. Tokens are words, sentence ends and line breaks (so an added line is seen as one).
TOKEN = re.compile(r"\w+|[.!?]|\n")
NEGATIONS = frozenset({"not", "no", "never", "nor", "without", "t", "none", "neither"})
BOUNDARY = frozenset({".", "!", "?", "\n"})
MAX_DIFFS = 5  # differing sentence pairs kept per pair of versions


def _one_edit(a: str, b: str) -> bool:
    from qa.text import one_edit

    return abs(len(a) - len(b)) <= 1 and one_edit(a, b)


# Short function words that flip a claim when swapped for their opposite ("before" / "after", "for" / "against");
# content words ("denied" / "confirmed", "most" / "least") differ anyway. Hand-written: no library lists these.
OPPOSITES = {frozenset(p) for p in (("before", "after"), ("for", "against"), ("over", "under"), ("above", "below"),
                                     ("up", "down"), ("in", "out"), ("on", "off"), ("more", "less"), ("more", "fewer"),
                                     ("most", "least"), ("many", "few"), ("all", "none"), ("with", "without"),
                                     ("to", "from"), ("into", "out"), ("yes", "no"), ("can", "cannot"))}


def changed_claim(removed: list[str], added: list[str]) -> bool:
    """changed_claim (a replaced/inserted run of words): it changes what is claimed — a number, a negation, a
    function word swapped for its opposite, or a meaningful word that is not a one-letter typo fix of a word on
    the other side."""
    from qa.text import STOP

    mine, theirs = [w for w in removed if w not in BOUNDARY], [w for w in added if w not in BOUNDARY]
    if "".join(mine) == "".join(theirs):
        return False  # "livestreamed" / "live-streamed": the same words, split differently
    for words, other in ((mine, theirs), (theirs, mine)):
        for w in words:
            if w in other:
                continue
            if any(c.isdigit() for c in w) or w in NEGATIONS:
                return True
            if any(frozenset((w, o)) in OPPOSITES for o in other):
                return True
            if len(w) >= 3 and w not in STOP and not any(_one_edit(w, o) for o in other):
                return True
    return False


def _slide_to_boundary(seq: list[str], lo: int, hi: int) -> tuple[int, int]:
    """An inserted run seq[lo:hi] of a diff can be shifted while the word leaving it equals the word entering it
    (a sentence added beside a similar one is found mid-sentence); shift it to start after a sentence boundary
    when such a shift exists, so it is read as the whole sentence it is."""
    def aligned(a: int, b: int) -> bool:
        return (a == 0 or seq[a - 1] in BOUNDARY) and (b == len(seq) or seq[b - 1] in BOUNDARY)

    if aligned(lo, hi):
        return lo, hi
    a, b = lo, hi
    while a > 0 and seq[a - 1] == seq[b - 1]:
        a, b = a - 1, b - 1
        if aligned(a, b):
            return a, b
    a, b = lo, hi
    while b < len(seq) and seq[a] == seq[b]:
        a, b = a + 1, b + 1
        if aligned(a, b):
            return a, b
    return lo, hi


BOILERPLATE_WORDS = 4  # an added or dropped line with more content words than this says something


def boilerplate(words: list[str], limit: int = BOILERPLATE_WORDS) -> bool:
    """boilerplate (a whole line or sentence one copy has and the other lacks): a byline, "Read more", a credit
    or a copyright line carries at most BOILERPLATE_WORDS content words and no negation; a sentence with more is a
    claim one copy makes and the other does not ("The delegation admitted it had enriched uranium")."""
    from qa.text import STOP

    content = [w for w in words if w not in BOUNDARY and (any(c.isdigit() for c in w) or
                                                         (len(w) >= 3 and w not in STOP))]
    return len(content) <= limit and not any(w in NEGATIONS for w in words)


# How a byline, a credit or a publishing note begins; such a line changed in a copy ("By John Smith, Reuters" /
# "By Jane Doe, AFP", "Updated 12 March" / "Updated 13 March") does not make it a version.
CREDIT = frozenset({"by", "reporting", "reported", "editing", "edited", "written", "writing", "additional", "photo",
                    "photos", "image", "images", "picture", "credit", "credits", "copyright", "source", "updated",
                    "update", "published", "posted", "first", "read", "follow", "share", "subscribe", "contact",
                    "email", "video", "graphic", "translated", "compiled"})


DATED = frozenset({"updated", "update", "published", "posted", "first"})  # their numbers are a date or a time


def _line(seq: list[str], lo: int, hi: int) -> tuple[int, int]:
    """The whole line or sentence of `seq` around the changed run seq[lo:hi]."""
    while lo > 0 and seq[lo - 1] not in BOUNDARY:
        lo -= 1
    while hi < len(seq) and seq[hi] not in BOUNDARY:
        hi += 1
    return lo, hi


def _credit_lines(wa: list[str], i1: int, i2: int, wb: list[str], j1: int, j2: int) -> bool:
    """The change lies inside one byline, credit or publishing-note line on each side (opening with the same
    CREDIT word, at most twice BOILERPLATE_WORDS content words, no negation, numbers only in a dated note)."""
    if any(w in BOUNDARY for w in wa[i1:i2] + wb[j1:j2]):
        return False
    la, ha = _line(wa, i1, i2)
    lb, hb = _line(wb, j1, j2)
    a, b = wa[la:ha], wb[lb:hb]
    numbers = any(c.isdigit() for w in wa[i1:i2] + wb[j1:j2] for c in w)
    return bool(a and b and a[0] == b[0] and a[0] in CREDIT and boilerplate(a, 2 * BOILERPLATE_WORDS)
                and boilerplate(b, 2 * BOILERPLATE_WORDS) and (not numbers or a[0] in DATED))


def _sentence_at(text: str, offset: int) -> str:
    from qa.text import sentence_spans

    for s, e in sentence_spans(text):
        if s <= offset < e:
            return " ".join(text[s:e].split())
    return ""


def claim_differences(a: str, b: str, limit: int = MAX_DIFFS) -> list[dict[str, str]]:
    """The sentences where `b` claims something else than `a`: [{"this": sentence of a, "other": sentence of b}].
    [] when the two say the same thing (whitespace, case, punctuation, whole added lines or sentences aside)."""
    ta = [(m.group().lower(), m.start()) for m in TOKEN.finditer(a)]
    tb = [(m.group().lower(), m.start()) for m in TOKEN.finditer(b)]
    wa, wb = [w for w, _ in ta], [w for w, _ in tb]
    out: list[dict[str, str]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, wa, wb, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        if tag in ("insert", "delete"):  # whole sentences or lines added or dropped
            seq, lo, hi = (wa, i1, i2) if tag == "delete" else (wb, j1, j2)
            lo, hi = _slide_to_boundary(seq, lo, hi)
            if tag == "delete":
                i1, i2 = lo, hi
            else:
                j1, j2 = lo, hi
            whole = (lo == 0 or seq[lo - 1] in BOUNDARY) and (hi == len(seq) or seq[hi - 1] in BOUNDARY)
            if whole and boilerplate(seq[lo:hi]):
                continue  # a byline, "Read more", a photo credit: not a claim
            if whole:
                tokens = ta if tag == "delete" else tb
                first = next((k for k in range(lo, hi) if seq[k] not in BOUNDARY), lo)
                text = _sentence_at(a if tag == "delete" else b, tokens[first][1])
                pair = {"this": text if tag == "delete" else "", "other": text if tag == "insert" else ""}
                if pair not in out:
                    out.append(pair)
                if len(out) >= limit:
                    break
                continue
        if not changed_claim(wa[i1:i2], wb[j1:j2]) or _credit_lines(wa, i1, i2, wb, j1, j2):
            continue
        pa = ta[min(i1, len(ta) - 1)][1] if ta else 0
        pb = tb[min(j1, len(tb) - 1)][1] if tb else 0
        pair = {"this": _sentence_at(a, pa), "other": _sentence_at(b, pb)}
        if pair["this"] != pair["other"] and pair not in out:
            out.append(pair)
        if len(out) >= limit:
            break
    return out


RETITLED = 0.5  # titles sharing less than this share of their words (in order) are a new headline, not an edit


SITE_SEPARATORS = (" - ", " | ", " – ", " — ", " · ", ": ", " :: ")


def title_differences(a: str, b: str) -> list[dict[str, str]]:
    """[{"this": title a, "other": title b}] when `b` is an edit of title `a` (at least RETITLED of their words in
    common, in order) that changes a claim by the rules for sentences; [] for the same title or a new headline."""
    wa, wb = re.findall(r"\w+", a.lower()), re.findall(r"\w+", b.lower())
    matcher = SequenceMatcher(None, wa, wb, autojunk=False)
    if wa == wb or not wa or not wb or matcher.ratio() < RETITLED:
        return []
    for short, long_ in ((a, b), (b, a)):  # a site name or section beside the same title ("... - France 24")
        short, long_ = " ".join(short.split()).lower(), " ".join(long_.split()).lower()
        if any(long_.startswith(short + sep) or long_.endswith(sep + short) for sep in SITE_SEPARATORS):
            return []
    ops = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if all(tag in ("insert", "delete") for tag, *_ in ops):  # words only added: a claim when they say something
        from qa.text import STOP

        extra = [w for tag, i1, i2, j1, j2 in ops for w in (wa[i1:i2] if tag == "delete" else wb[j1:j2])]
        if not any(c.isdigit() for w in extra for c in w) and not NEGATIONS & set(extra) and \
                len([w for w in extra if len(w) >= 3 and w not in STOP]) < 2:
            return []  # "Port" / "Port copy", "Updated: ..."
    if not claim_differences(" ".join(a.split()), " ".join(b.split())):
        return []
    return [{"this": " ".join(a.split()), "other": " ".join(b.split())}]


def group_versions(signatures: dict[str, np.ndarray], dates: dict[str, str],
                   texts: dict[str, str] | None = None,
                   titles: dict[str, str] | None = None) -> tuple[dict[str, str], dict[str, list[dict[str, Any]]]]:
    """(copy id -> canonical id, article id -> its versions [{"id", "differs"}]). Near-copies (MinHash) fold into
    one canonical only when their texts (and, given `titles`, their titles: `title_differences`) claim the same
    things; without `texts` every near-copy folds."""
    copies: dict[str, str] = {}
    versions: dict[str, list[dict[str, Any]]] = {}
    for members in minhash_groups(signatures):
        parent = {a: a for a in members}

        def find(a: str, parent: dict[str, str] = parent) -> str:
            while parent[a] != a:
                a = parent[a]
            return a

        diffs: dict[tuple[str, str], list[dict[str, str]]] = {}
        same: list[tuple[str, str]] = []
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                d = claim_differences(texts[a], texts[b]) if texts is not None else []
                if texts is not None and titles is not None:
                    d = title_differences(titles.get(a, ""), titles.get(b, "")) + d
                if d:
                    diffs[(a, b)] = d
                else:
                    same.append((a, b))
        differ = {frozenset(pair) for pair in diffs}
        for a, b in same:  # fold copies that say the same, but never into one group with a differing copy: a
            ra, rb = find(a), find(b)  # copy that merely lacks the changed sentence must not join the versions
            if ra == rb:
                continue
            left = [x for x in members if find(x) == ra]
            right = [x for x in members if find(x) == rb]
            if not any(frozenset((x, y)) in differ for x in left for y in right):
                parent[rb] = ra
        subgroups: dict[str, list[str]] = {}
        for a in members:
            subgroups.setdefault(find(a), []).append(a)
        canon = {}
        for subgroup in subgroups.values():
            c = min(subgroup, key=lambda a: (dates.get(a) or "9999", a))
            copies.update({a: c for a in subgroup if a != c})
            canon.update({a: c for a in subgroup})
        for (a, b), d in diffs.items():
            if a != canon[a] or b != canon[b]:
                continue  # versions are recorded between the canonical copies (the ones retrieval shows)
            versions.setdefault(a, []).append({"id": b, "differs": d})
            versions.setdefault(b, []).append({"id": a, "differs": [{"this": x["other"], "other": x["this"]}
                                                                    for x in d]})
    return copies, versions


def group(signatures: dict[str, np.ndarray], dates: dict[str, str],
          texts: dict[str, str] | None = None) -> dict[str, str]:
    """copy id -> canonical id, for every article that is a near-copy of an earlier (or same-day, lower id) one
    (and, given `texts`, says the same thing)."""
    return group_versions(signatures, dates, texts)[0]


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
    grouped = {a for members in minhash_groups(sigs) for a in members}
    texts: dict[str, str] = {}
    ids_needed = sorted(grouped)
    for b in range(0, len(ids_needed), 100):
        res = store.articles.get(ids=ids_needed[b:b + 100], include=["documents"])
        texts.update({i: d or "" for i, d in zip(res["ids"], res["documents"])})
    copies, versions = group_versions(sigs, {i: str(m.get("date", "")) for i, m in metas.items()}, texts,
                                      {i: str(m.get("title", "")) for i, m in metas.items()})
    listed: dict[str, list[str]] = {}
    for copy, canonical in copies.items():
        listed.setdefault(canonical, []).append(copy)
    ids, updates = [], []
    for i, m in metas.items():
        want = {"duplicate_of": copies.get(i, ""), "duplicates": ",".join(sorted(listed.get(i, []))),
                "versions": json.dumps(versions[i]) if i in versions else ""}
        if any(str(m.get(key, "")) != v for key, v in want.items()):
            ids.append(i)
            updates.append(want)
    if ids:
        store.articles.update(ids=ids, metadatas=updates)  # type: ignore[arg-type]
    return len(copies)


def versions_of(store: Store, article_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """article id -> its other versions [{"id", "differs": [{"this", "other"}]}], for the given articles."""
    ids = sorted(set(article_ids))
    if not ids:
        return {}
    got: Any = store.articles.get(ids=ids, include=["metadatas"])
    out = {}
    for i, m in zip(got["ids"], got["metadatas"] or []):
        try:
            v = json.loads(str((m or {}).get("versions") or "[]"))
        except ValueError:
            v = []
        if v:
            out[i] = v
    return out


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
