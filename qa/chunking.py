"""Article -> sentence-aligned chunks that fit what the embedding model reads, with character offsets."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from qa.types import Article, Chunk

TokenCounter = Callable[[list[str]], list[int]]
PARAGRAPH = re.compile(r"[^\n]+")
# A place where a sentence could end inside a line; lines without one are a single sentence (pysbd is slow).
BOUNDARY = re.compile(r"[.!?…][\"'”’)\]]*\s+[\"“(]?[A-Z0-9]")
# An unambiguous end: a word of 4+ letters (not an abbreviation like "Sept.") or a number of 2+ digits, then .!?
# (and closing quotes), then a capital. Cutting there first leaves pysbd only the ambiguous pieces ("U.S. Embassy",
# "Mr. Price"), which keeps chunking fast: pysbd costs ~0.35 ms per call.
SAFE_END = re.compile(
    r"(?<![A-Za-z0-9])(?!(?:Sept|Corp|Prof|Blvd|Capt|Supt|Dept|Assn|Univ|Govt|Gens|Ests)\b)(?:[A-Za-z][a-z]{3,}|\d{2,})"
    r"[.!?][\"'”’)\]]*(?=\s+[\"“(]?[A-Z])"
)


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def _sentences(text: str) -> list[str]:
    """pysbd's sentences of `text`. Its `segment()` then locates each sentence again with a regex built from the
    sentence (one compile per sentence: a third of its time); the offsets are found below with str.find."""
    return list(_segmenter().processor(text).process())


PYSBD_CHARS = 3_000  # pysbd's time grows faster than the text: it never sees more than this at once


def _windows(part: str) -> list[str]:
    """`part` cut at possible sentence ends into pieces of at most PYSBD_CHARS (a piece without one may be
    longer: it is a single sentence, split later by tokens), so sentence splitting stays linear in the text."""
    if len(part) <= PYSBD_CHARS:
        return [part]
    out, start, last_cut = [], 0, 0
    for m in BOUNDARY.finditer(part):
        cut = m.end() - 1  # before the capital that opens the next sentence
        if cut - start > PYSBD_CHARS and last_cut > start:
            out.append(part[start:last_cut])
            start = last_cut
        last_cut = cut
    if len(part) - start > PYSBD_CHARS and last_cut > start:
        out.append(part[start:last_cut])
        start = last_cut
    out.append(part[start:])
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; lines are never merged, so headings and datelines stay apart."""
    spans: list[tuple[int, int]] = []
    for para in PARAGRAPH.finditer(text):
        ptext = para.group()
        if not ptext.strip():
            continue
        pieces = []
        last = 0
        for m in [*SAFE_END.finditer(ptext), None]:
            part = ptext[last:m.end()] if m else ptext[last:]
            last = m.end() if m else last
            if not part.strip():
                continue
            for window in _windows(part):
                pieces.extend(_sentences(window) if BOUNDARY.search(window.strip()) else [window])
        cursor = 0
        for piece in pieces:
            s = piece.strip()
            if not s:
                continue
            i = ptext.find(s, cursor)
            if i < 0:  # pysbd altered the text; fall back to the rest of the paragraph
                rest = ptext[cursor:].strip()
                if rest:
                    j = ptext.find(rest, cursor)
                    spans.append((para.start() + j, para.start() + j + len(rest)))
                break
            spans.append((para.start() + i, para.start() + i + len(s)))
            cursor = i + len(s)
    return spans


def approximate_tokens(texts: list[str]) -> list[int]:
    """Word-piece estimate without a tokenizer: ~1.3 pieces per word, punctuation counted."""
    return [len(re.findall(r"\w+|[^\w\s]", t)) * 13 // 10 + 1 for t in texts]


ATOM_CHARS = 24  # text without spaces (Chinese, Japanese, Thai, a URL) is cut into runs of at most this many
CHARS_PER_TOKEN = 12  # a chunk is also at most budget x this many characters: Thai without spaces reads as one
# unknown word-piece, so counting tokens alone would let a whole article through as a "1-token" chunk


def _split_long(text: str, start: int, end: int, budget: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Cut an over-long sentence into pieces of at most `budget` tokens, at spaces where there are any.

    Linear in the sentence's length: the sentence is cut into atoms (words; runs of up to ATOM_CHARS characters
    of text without spaces), every atom is counted once, pieces are packed from the counts, and each piece is
    counted once more as a whole (word-pieces of joined text without spaces may differ from the sum; a piece
    over the budget is then bisected within itself)."""
    atoms: list[tuple[int, int]] = []
    for m in re.finditer(r"\S+", text[start:end]):
        s, e = m.start() + start, m.end() + start
        atoms.extend((i, min(i + ATOM_CHARS, e)) for i in range(s, e, ATOM_CHARS))
    if not atoms:
        return []
    sizes = count([text[a:b] for a, b in atoms])
    max_chars = max(1, budget) * CHARS_PER_TOKEN

    def fits(i: int, j: int) -> bool:  # atoms[i:j] make a piece within the budget
        a, b = atoms[i][0], atoms[j - 1][1]
        return b - a <= max_chars and count([text[a:b]])[0] <= budget

    pieces: list[tuple[int, int]] = []
    i = 0
    while i < len(atoms):
        a, b = atoms[i]
        if sizes[i] > budget:  # one atom over the budget: halve it until it fits
            while b - a > 1 and count([text[a:b]])[0] > budget:
                b = a + (b - a) // 2
            atoms[i] = (b, atoms[i][1])
            sizes[i] = count([text[b:atoms[i][1]]])[0]
            pieces.append((a, b))
            continue
        j, used = i + 1, sizes[i]
        while j < len(atoms) and used + sizes[j] <= budget and atoms[j][1] - a <= max_chars:
            used += sizes[j]
            j += 1
        if j > i + 1 and not fits(i, j):
            lo, hi = i + 1, j - 1
            while lo < hi:  # largest j that fits
                mid = (lo + hi + 1) // 2
                if fits(i, mid):
                    lo = mid
                else:
                    hi = mid - 1
            j = lo
        pieces.append((a, atoms[j - 1][1]))
        i = j
    return pieces


def chunk_article(
    article: Article, count: TokenCounter, max_tokens: int = 200, overlap_sentences: int = 1
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `max_tokens`; neighbours share `overlap_sentences`."""
    text = article.text
    spans = sentence_spans(text)
    if not spans:
        return []
    counts = count([text[s:e] for s, e in spans])
    units: list[tuple[int, int, int]] = []
    max_chars = max_tokens * CHARS_PER_TOKEN
    for (s, e), n in zip(spans, counts):
        if n <= max_tokens and e - s <= max_chars:
            units.append((s, e, n))
        else:
            pieces = _split_long(text, s, e, max_tokens, count)
            units.extend((ps, pe, n) for (ps, pe), n in zip(pieces, count([text[a:b] for a, b in pieces])))
    groups: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i, (_, e, n) in enumerate(units):
        if current and (used + n > max_tokens or e - units[current[0]][0] > max_chars):
            groups.append(current)
            keep: list[int] = []  # the last few short units, contiguous (a chunk spans from its first to last)
            for j in reversed(current[-overlap_sentences:] if overlap_sentences else []):
                if (units[j][2] > max_tokens // 4 or sum(units[k][2] for k in keep) + units[j][2] + n > max_tokens
                        or e - units[j][0] > max_chars):
                    break
                keep.insert(0, j)
            current, used = keep, sum(units[j][2] for j in keep)
        current.append(i)
        used += n
    groups.append(current)
    groups = [g for group in groups for g in _fit(text, units, group, max_tokens, count)]
    chunks = []
    for idx, group in enumerate(groups):
        start, end = units[group[0]][0], units[group[-1]][1]
        chunks.append(Chunk(id=f"{article.id}::{idx}", article_id=article.id, index=idx, start=start, end=end,
                            text=text[start:end]))
    return chunks


def _fit(text: str, units: list[tuple[int, int, int]], group: list[int], budget: int,
         count: TokenCounter) -> list[list[int]]:
    """`group` as is when its whole span fits the budget (token counts of pieces do not always add up: text
    without spaces reads differently when joined), else halves of it that do."""
    if len(group) == 1 or count([text[units[group[0]][0]:units[group[-1]][1]]])[0] <= budget:
        return [group]
    mid = len(group) // 2
    return _fit(text, units, group[:mid], budget, count) + _fit(text, units, group[mid:], budget, count)

