"""Article -> sentence-aligned chunks that fit what the embedding model reads, with character offsets."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
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
    r"(?<![A-Za-z])(?!(?:Sept|Corp|Prof|Blvd|Capt|Supt|Dept|Assn|Univ|Govt|Gens|Ests)\b)(?:[A-Za-z][a-z]{3,}|\d{2,})"
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
            pieces.extend(_sentences(part) if BOUNDARY.search(part.strip()) else [part])
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


def _split_long(text: str, start: int, end: int, budget: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Cut an over-long sentence at word boundaries into pieces of at most `budget` tokens."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    pieces: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        lo, hi = i + 1, len(words)
        while lo < hi:  # largest j with tokens(words[i:j]) <= budget
            mid = (lo + hi + 1) // 2
            if count([text[words[i][0]:words[mid - 1][1]]])[0] <= budget:
                lo = mid
            else:
                hi = mid - 1
        pieces.append((words[i][0], words[lo - 1][1]))
        i = lo
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
    for (s, e), n in zip(spans, counts):
        if n <= max_tokens:
            units.append((s, e, n))
        else:
            pieces = _split_long(text, s, e, max_tokens, count)
            units.extend((ps, pe, n) for (ps, pe), n in zip(pieces, count([text[a:b] for a, b in pieces])))
    groups: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i, (_, _, n) in enumerate(units):
        if current and used + n > max_tokens:
            groups.append(current)
            keep: list[int] = []  # the last few short units, contiguous (a chunk spans from its first to last)
            for j in reversed(current[-overlap_sentences:] if overlap_sentences else []):
                if units[j][2] > max_tokens // 4 or sum(units[k][2] for k in keep) + units[j][2] + n > max_tokens:
                    break
                keep.insert(0, j)
            current, used = keep, sum(units[j][2] for j in keep)
        current.append(i)
        used += n
    groups.append(current)
    chunks = []
    for idx, group in enumerate(groups):
        start, end = units[group[0]][0], units[group[-1]][1]
        chunks.append(Chunk(id=f"{article.id}::{idx}", article_id=article.id, index=idx, start=start, end=end,
                            text=text[start:end]))
    return chunks


def iter_chunks(articles: list[Article], count: TokenCounter, max_tokens: int, overlap: int) -> Iterator[Chunk]:
    for article in articles:
        yield from chunk_article(article, count, max_tokens, overlap)
