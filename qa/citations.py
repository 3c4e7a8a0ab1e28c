"""Parse [n] markers, map them to the passages shown, and quote the exact supporting words of the article."""

from __future__ import annotations

import re

from qa.chunking import sentence_spans
from qa.llms import content_words
from qa.prompts import REFUSAL
from qa.types import Citation, Passage

MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
SHORT = re.compile(r"^\s*\**short answer\**\s*:\**\s*(.*)$", re.I | re.M)
REFUSAL_HINTS = ("cannot answer", "can't answer", "unable to answer", "do not answer the question",
                 "does not answer the question", "do not contain", "does not contain", "not provided in the sources",
                 "no information", "not mentioned in the sources", "do not mention", "does not mention",
                 "do not provide", "does not provide", "not specified in the sources")


def is_refusal(text: str) -> bool:
    low = " ".join(text.lower().split())
    return not low or REFUSAL.lower().rstrip(".") in low or any(h in low for h in REFUSAL_HINTS[:3]) or (
        len(low) < 160 and any(h in low for h in REFUSAL_HINTS))


def split_short_answer(text: str) -> tuple[str, str]:
    """Separate the model's "Short answer:" line from the answer body."""
    m = SHORT.search(text)
    if not m:
        return text.strip(), ""
    short = MARKER.sub("", m.group(1)).strip().strip("*").strip()
    return (text[: m.start()] + text[m.end():]).strip(), short


def answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """(sentence without markers, cited numbers) for each sentence of an answer.

    Models put markers after a sentence ("... Iran [3].", "... Iran. [3]") or, less often, before it
    ("[3] Iraq depends ..."); an answer that opens with a marker is read in the second style."""
    text = text.strip()
    leading = MARKER.match(text) is not None
    out: list[tuple[str, list[int]]] = []
    carry: list[int] = []
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        head = re.match(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+", sentence)
        head_nums = _numbers(head.group()) if head else []
        body = sentence[head.end():] if head else sentence
        nums = _numbers(body)
        clean = " ".join(MARKER.sub("", body).split())
        if head_nums and not leading and out:
            out[-1][1].extend(head_nums)  # "... Iran. [3] Next sentence": the marker closes the previous one
        elif head_nums:
            nums = head_nums + nums
        if clean:
            out.append((clean, carry + nums))
            carry = []
        else:
            carry.extend(nums)
    if carry and out:
        out[-1][1].extend(carry)
    return out


def _numbers(text: str) -> list[int]:
    return [int(x) for m in MARKER.finditer(text) for x in re.split(r"\s*[,;]\s*", m.group(1))]


def best_quote(claim: str, passage: Passage) -> tuple[str, int, int, float]:
    """The passage sentence sharing most content words with the claim: (quote, start, end, overlap share)."""
    words = content_words(claim)
    best = ("", passage.start, passage.start, -1.0)
    for s, e in sentence_spans(passage.text):
        sent = passage.text[s:e]
        share = len(words & content_words(sent)) / max(1, len(words))
        if share > best[3]:
            best = (sent, passage.start + s, passage.start + e, share)
    return best


def cite(answer: str, passages: list[Passage]) -> tuple[str, list[Citation]]:
    """Drop markers that point at no passage shown; one citation per (passage, sentence) pair."""
    shown = {p.n: p for p in passages}
    cleaned: list[str] = []
    citations: list[Citation] = []
    for sentence, nums in answer_sentences(answer):
        valid = [n for n in dict.fromkeys(nums) if n in shown]
        cleaned.append(sentence + "".join(f" [{n}]" for n in valid))
        for n in valid:
            p = shown[n]
            quote, start, end, share = best_quote(sentence, p)
            citations.append(Citation(n=n, article_id=p.article_id, title=p.title, source=p.source, date=p.date,
                                      url=p.url, quote=quote, start=start, end=end, verified=False,
                                      support=round(max(share, 0.0), 3)))
    return " ".join(cleaned), citations
