"""Follow-up questions: whether one leans on the conversation, the prompt that rewrites it into a standalone
question, and the checks on the model's reply (a pointer such as "there" or "that deal" left unresolved is asked
about once more, naming the words to replace)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from qa.prompts import REWRITE, REWRITE_AGAIN
from qa.text import MARKER

REWRITE_TURNS = 2  # earlier turns shown to the rewriter: enough for "he"/"that", and the prompt stays short


@dataclass
class Turn:
    question: str
    standalone: str
    answer: str


# Words that point back into the conversation. "that" counts at the end ("When was that?") or before a noun
# ("that deal"); elsewhere it is mostly a conjunction. "then" anywhere ("What happened then?").
ANAPHORA = frozenset(["he", "him", "his", "she", "her", "hers", "they", "them", "their", "theirs", "it", "its",
                      "this", "these", "those", "there", "then"])
EXISTENTIAL = re.compile(r"\b(is|are|was|were|will|would|has|have|had|be) there\b")
DEMONSTRATIVE = re.compile(r"\b(?:that|this|these|those|the same)\s+(?!is\b|was\b|are\b|were\b|did\b|he\b|she\b|"
                           r"they\b|it\b|the\b|a\b|an\b)([a-z][a-z-]+)", re.IGNORECASE)
OPENERS = ("and", "but", "also", "so", "or", "then", "what about", "how about", "what else", "who else",
           "anything else", "same")


def _words(question: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", question.lower())


def names_something(question: str) -> bool:
    """A capitalised word after the first one ("Sudani", "Syria", "U.S.") or a year."""
    return any((w[0].isupper() and w != "I") or re.fullmatch(r"\d{4}", w.strip("?.,!"))
               for w in question.split()[1:])


def pointers(question: str) -> list[str]:
    """The words of a question that point back into the conversation: "he", "there", "then", "that deal"."""
    text = " ".join(_words(question))
    found = [w for w in EXISTENTIAL.sub(" ", text).split() if w in ANAPHORA]
    found += [m.group() for m in DEMONSTRATIVE.finditer(text) if m.group().split()[0] not in found]
    words = text.split()
    if words and words[-1] == "that":
        found.append("that")
    return list(dict.fromkeys(found))


def needs_rewrite(question: str, turns: list[Turn]) -> bool:
    """Whether a question depends on the conversation: there is one, and the question opens with a connective
    ("And …"), points back (he/it/there/then/that deal/"…that?"), or is a short fragment naming nothing."""
    if not turns:
        return False
    words = _words(question)
    if not words:
        return False
    text = " ".join(words)
    if any(text == o or text.startswith(o + " ") for o in OPENERS):
        return True
    if pointers(question):
        return True
    return len(words) <= 4 and not names_something(question)


def unresolved(question: str, standalone: str) -> list[str]:
    """Pointers of the question still in its rewrite ("Why did Blinken go there now?" still has "there")."""
    kept = " ".join(_words(standalone))
    left = []
    for p in pointers(question):
        if re.search(rf"\b{re.escape(p)}\b", EXISTENTIAL.sub(" ", kept)):
            left.append(p)
    return left


# "Why did he go there?": with a verb of travel, "there" is where someone travelled, which news states as "a visit
# to Iraq", "arrived in Baghdad". Found in the passages the last answer drew on, it is put in before the rewrite
# (the small generator otherwise takes the last place named, which may be one the question is not about).
TRAVEL = re.compile(r"\b(?:go|goes|went|gone|going|travel(?:l?ed|s)?|visit(?:ed|s)?|fly|flew|come|came|return(?:ed)?|"
                    r"head(?:ed)?)\b[^.?!]*\bthere\b", re.IGNORECASE)
VISITED = re.compile(r"\b(?:visit|trip|travel(?:l?ed)?|journey|went|arrived?|flew|came|landed)\s+(?:to|in|at)\s+"
                     r"((?:[A-Z][\w'’-]+)(?:\s+[A-Z][\w'’-]+){0,2})")


def travelled_to(texts: list[str]) -> str | None:
    """The place most often said to be visited in the texts ("visit to Iraq" -> "Iraq"), or None."""
    counts: dict[str, int] = {}
    for text in texts:
        for m in VISITED.finditer(text):
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else None


def resolve_travel(question: str, texts: list[str]) -> str:
    """The question with "there" after a verb of travel replaced by the place the texts say was visited."""
    if not TRAVEL.search(question):
        return question
    place = travelled_to(texts)
    if place is None:
        return question
    return re.sub(r"\b(?:to\s+)?there\b", f"to {place}", question, count=1)


def history(turns: list[Turn]) -> str:
    lines = []
    for t in turns[-REWRITE_TURNS:]:
        lines.append(f"Question: {t.standalone}")
        if t.answer:
            lines.append(f"Answer: {t.answer}")
    return "\n".join(lines)


def rewrite_prompt(question: str, turns: list[Turn]) -> str:
    """prompts.REWRITE with only the last REWRITE_TURNS turns (their standalone questions and short answers)."""
    return REWRITE.format(history=history(turns), question=question)


def rewrite_again_prompt(question: str, turns: list[Turn], words: list[str]) -> str:
    """A second try that names the words to replace, for a rewrite that left a pointer unresolved."""
    named = ", ".join(f"\"{w}\"" for w in words)
    return REWRITE_AGAIN.format(history=history(turns), question=question, words=named)


def clean_rewrite(text: str, question: str) -> str | None:
    """The rewritten question from the model's reply, or None when the reply is not a usable question."""
    line = next((x.strip() for x in text.strip().splitlines() if x.strip()), "")
    line = re.sub(r"^(\**\s*(standalone|rewritten|last)?\s*question\s*:\**\s*)", "", line, flags=re.IGNORECASE).strip()
    line = line.strip("\"'“”*` ").strip()
    if not line or "cannot answer" in line.lower() or "provided sources" in line.lower():
        return None
    if len(line.split()) > max(40, 3 * len(question.split()) + 15):
        return None
    return line


def answer_for_history(answer: Any) -> str:
    """A previous answer as the rewriter sees it: the text without [n] markers, at most ~300 characters."""
    if getattr(answer, "refused", False):
        return ""
    text = " ".join(MARKER.sub("", str(getattr(answer, "answer", ""))).split())
    return text if len(text) <= 300 else text[:300].rsplit(" ", 1)[0] + " …"


def split_paste(text: str) -> list[str]:
    """The non-empty lines of a pasted block, each one question."""
    return [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if line.strip()]
