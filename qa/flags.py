"""Text in an article that imitates the assistant (its prompt or its answers) is data, and is shown to be.

At ingest every article (title and text) goes through the rules below. Each rule is a small named function that
finds one class of imitation; a match flags the line it is on (the sentence, in a long paragraph). Flags are
stored on the article record with their reason; flagged text is never shown to the generator as evidence and
never verifies a claim, and every citation from a flagged article carries the reasons.

The prompt's own labels and phrases are read from `qa.prompts`, so a change to the templates is covered here.
Ordinary interviews and briefing transcripts ("Q:", "A:", "QUESTION:" then "MR PRICE:") are not flagged: only
the assistant's own answer labels, source headers, citation markers, role tags and instructions to a model are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from qa import prompts

if TYPE_CHECKING:
    from qa.store import Store

Hit = tuple[int, int, str]  # (start, end, reason) of a match in the text
LONG_LINE = 300  # a flagged line longer than this (a paragraph) is narrowed to the sentence


@dataclass(frozen=True)
class Flag:
    """A span of an article that imitates the assistant: `text[start:end]` (or `title[start:end]`)."""

    start: int
    end: int
    reason: str
    field: str = "text"  # "text" or "title"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Labels the prompt and the answers use ("Question:", "Short answer:", "Sources:" ...), read from the templates.
@lru_cache(maxsize=1)
def template_labels() -> dict[str, frozenset[str]]:
    """{"answer": labels that open the assistant's output, "question": labels that open a question, "other": the
    prompt's other labels}, lower-cased, from the prompt templates."""
    sample = prompts.user_message("Q?", [prompts.format_passage(1, "T", "S", "2024-01-01", "X")])
    texts = [prompts.SYSTEM, prompts.INSTRUCTIONS, prompts.SHORT_ANSWER, prompts.REWRITE, sample]
    found = set()
    for t in texts:
        found |= {m.group(1).lower() for m in re.finditer(r"(?:^|\n|\"|\{\w+\}\n?)([A-Z][a-z]+(?: [a-z]+)?):", t)}
    found |= {m.group(1).lower() for m in re.finditer(r"starts with \"([^\"]+):\"", prompts.INSTRUCTIONS)}
    answer = {x for x in found if "answer" in x or "standalone" in x}
    question = {x for x in found if "question" in x and x not in answer}
    return {"answer": frozenset(answer), "question": frozenset(question),
            "other": frozenset(found - answer - question)}


def _label(words: frozenset[str]) -> re.Pattern[str]:
    alts = "|".join(sorted((re.escape(w).replace(r"\ ", r"\s+") for w in words), key=len, reverse=True))
    # at a line start, after markup a page leaves behind (bullets, quotes, bold stars, citation markers)
    return re.compile(rf"^[ \t>*_#\-•\"“]*(?:\[\d+\]\s*)*\**(?:{alts})\**\s*:", re.IGNORECASE | re.MULTILINE)


def _snippet(matched: str) -> str:
    """The matched label as plain words for a reason (no brackets, quotes or control characters)."""
    return " ".join(re.sub(r"[^\w :|/-]", " ", matched).split())[:24]


def answer_label(text: str) -> Iterator[Hit]:
    """A line opening with one of the assistant's answer labels ("Short answer:", "Answer:") — any article."""
    for m in _label(template_labels()["answer"]).finditer(text):
        yield m.start(), m.end(), f"imitates the answer format ({_snippet(m.group())})"


def question_answer_pair(text: str) -> Iterator[Hit]:
    """A "Question:" line followed within three lines by an answer label: the prompt's Q/A scaffolding. A
    briefing's "QUESTION:" followed by a speaker ("MR PRICE:") is an interview, not flagged."""
    answers = [m.start() for m in _label(template_labels()["answer"]).finditer(text)]
    for m in _label(template_labels()["question"]).finditer(text):
        after = text[m.end():]
        window = "\n".join(after.split("\n", 4)[:4])
        if any(0 <= a - m.end() <= len(window) for a in answers):
            yield m.start(), m.end(), "imitates the prompt's question/answer format"


SOURCE_HEADER = re.compile(r"^[ \t>*\-•]*\[\d{1,3}\][ \t]+\S|\(more from the article in \[\d+\]\)", re.MULTILINE)


def source_header(text: str) -> Iterator[Hit]:
    """A line opening with "[n] ..." (the prompt's numbered source header) or a "Sources:" list label."""
    for m in SOURCE_HEADER.finditer(text):
        yield m.start(), m.end(), "imitates the prompt's numbered source list"
    for m in _label(template_labels()["other"]).finditer(text):
        yield m.start(), m.end(), f"imitates the prompt's labels ({_snippet(m.group())})"


CITATION_MARKER = re.compile(r"\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")


def citation_marker(text: str) -> Iterator[Hit]:
    """A sentence carrying "[1]"-style markers, the way the assistant cites its sources."""
    for m in CITATION_MARKER.finditer(text):
        yield m.start(), m.end(), "carries citation markers like the assistant's answers"


ROLE_TAG = re.compile(
    r"^[ \t>*\-•\"“]*\**(?:system|user|assistant|human|ai|bot|chatbot|model|instructions?|response)\**\s*:"
    r"|<\|[^|<>\n]{1,30}\|>|\[/?INST\]|<</?SYS>>|^#{2,}\s*(?:instruction|response|system|input)s?\b"
    r"|\bsystem\s+(?:prompt|message|override)\b",
    re.IGNORECASE | re.MULTILINE)


def role_tag(text: str) -> Iterator[Hit]:
    """Chat role tags and template tokens ("SYSTEM:", "Assistant:", "<|im_start|>", "[INST]")."""
    for m in ROLE_TAG.finditer(text):
        yield m.start(), m.end(), f"role tag ({_snippet(m.group())})"


INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?\b(?:previous|prior|above|earlier|preceding|all|"
    r"any|other|your|the)\b[^.\n]{0,25}?\b(?:instructions?|prompts?|rules|directions|guidelines|sources?)\b"
    r"|\byou\s+(?:must|should|shall|are to|have to|need to)\s+(?:now\s+|always\s+|only\s+)*"
    r"(?:answer|reply|respond|say|state|write|output|cite)\s+(?:with|only|exactly|that|every|any|all|to (?:any|every|all))\b"
    r"|\b(?:if|when(?:ever)?)\s+(?:you\s+are|you're|the\s+(?:assistant|model|ai)\s+is)\s+asked\b"
    r"|\bif\s+asked\b[^.\n]{0,80}?\b(?:answer|reply|respond|say)\s+(?:that|with|only)\b"
    r"|\b(?:new|updated|revised|real)\s+(?:instructions|system\s+prompt)\b"
    r"|\b(?:language\s+models?|chatbots?|AI\s+assistants?|LLMs?)\s+(?:must|should|reading|that\s+read)\b"
    r"|\b(?:answer|reply\s+to|respond\s+to)\s+(?:every|any|all)\s+(?:\w+\s+)?questions?\s+(?:with|by\s+saying)\b",
    re.IGNORECASE)


def instruction(text: str) -> Iterator[Hit]:
    """Instructions addressed to a model ("ignore previous instructions", "you must answer ...", "if asked ...")."""
    for m in INSTRUCTION.finditer(text):
        yield m.start(), m.end(), "instruction to the assistant"


@lru_cache(maxsize=1)
def _prompt_phrases() -> list[str]:
    """The prompt's own sentences (and the refusal phrase), lower-cased, as an article might copy them."""
    out = [prompts.REFUSAL]
    for t in (prompts.SYSTEM, prompts.INSTRUCTIONS):
        out += [s for s in re.split(r"(?<=[.:])\s+", t) if len(s.split()) >= 5]
    return [" ".join(re.findall(r"\w+", s.lower())) for s in out]


def prompt_phrase(text: str) -> Iterator[Hit]:
    """A sentence of the prompt or the refusal phrase copied into the article."""
    words = [(m.start(), m.end(), m.group().lower()) for m in re.finditer(r"\w+", text)]
    flat = " ".join(w for _s, _e, w in words)
    for phrase in _prompt_phrases():
        for m in re.finditer(re.escape(phrase), flat):
            first = flat[:m.start()].count(" ")
            last = first + phrase.count(" ")
            yield words[first][0], words[last][1], "copies the assistant's own prompt"


RULES: tuple[Callable[[str], Iterator[Hit]], ...] = (answer_label, question_answer_pair, source_header,
                                                      citation_marker, role_tag, instruction, prompt_phrase)


def _span(text: str, start: int, end: int) -> tuple[int, int]:
    """The line around a match, or its sentence when the line is a long paragraph."""
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    hi = len(text) if hi < 0 else hi
    if hi - lo > LONG_LINE:
        from qa.text import sentence_spans

        for s, e in sentence_spans(text[lo:hi]):
            if lo + s <= start < lo + e or (lo + s < end <= lo + e):
                a, b = lo + s, lo + e
                lo, hi = min(a, start), max(b, end)
                break
    while lo < hi and text[lo].isspace():
        lo += 1
    while hi > lo and text[hi - 1].isspace():
        hi -= 1
    return lo, hi


def find_flags(text: str, field: str = "text") -> list[Flag]:
    """Every span of `text` that imitates the assistant, merged, with the reasons that apply (sorted)."""
    spans: list[tuple[int, int, list[str]]] = []
    for rule in RULES:
        for s, e, reason in rule(text):
            lo, hi = _span(text, s, e)
            spans.append((lo, hi, [reason]))
    spans.sort()
    merged: list[tuple[int, int, list[str]]] = []
    for lo, hi, reasons in spans:
        if merged and lo <= merged[-1][1]:
            a, b, rs = merged[-1]
            merged[-1] = (a, max(b, hi), rs + [r for r in reasons if r not in rs])
        else:
            merged.append((lo, hi, list(reasons)))
    return [Flag(lo, hi, "; ".join(rs), field) for lo, hi, rs in merged if hi > lo]


def article_flags(title: str, text: str) -> list[Flag]:
    """Flags of an article: its title (one line) and its text."""
    return find_flags(" ".join(title.split()), "title") + find_flags(text)


def summary(flags: list[Flag]) -> str:
    """One line: how many spans, and the distinct reasons."""
    reasons = list(dict.fromkeys(r for f in flags for r in f.reason.split("; ")))
    where = " (in the title)" if any(f.field == "title" for f in flags) else ""
    return f"{len(flags)} span{'s' if len(flags) != 1 else ''} imitating the assistant{where}: {'; '.join(reasons)}"


def overlaps(flags: list[Flag], start: int, end: int) -> bool:
    """Some text flag covers part of text[start:end]."""
    return any(f.field == "text" and f.start < end and f.end > start for f in flags)


def loads(raw: Any) -> list[Flag]:
    """Flags from an article record's `flags` metadata (a JSON list); [] when absent or unreadable."""
    if not raw:
        return []
    try:
        return [Flag(int(d["start"]), int(d["end"]), str(d["reason"]), str(d.get("field", "text")))
                for d in json.loads(str(raw))]
    except (ValueError, KeyError, TypeError):
        return []


def dumps(flags: list[Flag]) -> str:
    return json.dumps([f.to_dict() for f in flags])


def record_flags(store: Store) -> list[tuple[str, str, list[Flag]]]:
    """Flag every article record that has not been checked yet (new or changed since: a write replaces the
    record's metadata); returns (article id, path, flags) for those that have flags."""
    got: Any = store.articles.get(include=["metadatas"])
    todo = [i for i, m in zip(got["ids"], got["metadatas"] or []) if "flags" not in (m or {})]
    out = []
    for b in range(0, len(todo), 100):
        res: Any = store.articles.get(ids=todo[b:b + 100], include=["documents", "metadatas"])
        ids, metas = [], []
        for i, doc, m in zip(res["ids"], res["documents"], res["metadatas"]):
            flags = article_flags(str((m or {}).get("title", "")), doc or "")
            ids.append(i)
            metas.append({"flags": dumps(flags)})
            if flags:
                out.append((i, str((m or {}).get("path", "")), flags))
        if ids:
            store.articles.update(ids=ids, metadatas=metas)  # type: ignore[arg-type]
    return out


def flags_of(store: Store, article_ids: list[str]) -> dict[str, list[Flag]]:
    """article id -> its stored flags, for the given articles (one read)."""
    ids = sorted(set(article_ids))
    if not ids:
        return {}
    got: Any = store.articles.get(ids=ids, include=["metadatas"])
    return {i: loads((m or {}).get("flags")) for i, m in zip(got["ids"], got["metadatas"] or [])}
