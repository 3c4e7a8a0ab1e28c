"""Verified streaming: each sentence of the draft is checked as soon as it is complete, and only then shown.

`SentenceGate.feed(draft)` is called with the generator's text so far; it returns the sentences that became
complete since the last call, each either kept (with its checked citations) or withdrawn (with the reason). It runs
the verifier (`qa.citations.verify`) on the complete sentences so far: the verifier decides each sentence from the
ones before it only, so a sentence kept now is kept in the final answer too (the whole-answer rules, such as "a
how-many question needs a number", can still withdraw everything at the end; `qa.chain` says so then).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from qa.citations import (
    DAY_WORDS,
    INVENTED,
    MARKER,
    MONTH_WORDS,
    NUMBER,
    OFF_TOPIC,
    Evidence,
    _norm_number,
    answer_sentences,
    cosine,
    is_refusal,
    verify,
)
from qa.llms import content_words
from qa.types import Citation

SHORT_LINE = re.compile(r"\n\s*\**short answer", re.IGNORECASE)


def draft_body(text: str) -> tuple[str, bool]:
    """The answer part of a draft (without the "Short answer:" line or its beginning) and whether the body is
    finished (the "Short answer:" line has begun)."""
    m = SHORT_LINE.search(text)
    if m:
        return text[:m.start()].strip(), True
    last = text.rsplit("\n", 1)
    if len(last) == 2 and last[1].strip(" *") and "short answer:".startswith(last[1].strip(" *").lower()):
        return last[0].strip(), False
    return text.strip(), False


def _ends_cited_sentence(text: str) -> bool:
    """The text ends a sentence that carries its citation: "... Iran [3]." or "... Iran. [3]"."""
    t = text.rstrip()
    if re.search(r"\[\d+(?:\s*[,;]\s*\d+)*\]\s*[.!?]$", t):
        return True
    return bool(re.search(r"[.!?]\s*(?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+$", t))


@dataclass
class Shown:
    """One sentence decided while streaming: kept (its text with markers and its citations) or withdrawn."""

    kind: str  # "sentence" | "withdrawn"
    text: str
    citations: list[Citation] = field(default_factory=list)
    reason: str = ""


@dataclass
class SentenceGate:
    evidence: Evidence
    question: str  # the standalone question the answer is checked against
    unsupported: str = "remove"
    check: bool = True
    not_before: str = ""
    dated: Callable[[str, str], str] | None = None  # dated(sentence, iso_date): a time-bound question's first line
    kept: list[str] = field(default_factory=list)
    removed: int = 0
    decided: int = 0  # draft sentences decided so far
    refusing: bool = False  # the draft opens with a refusal: nothing is shown, the refusal comes at the end

    def complete(self, draft: str, done: bool) -> list[tuple[str, list[int]]]:
        """The draft's sentences that can no longer change."""
        body, finished = draft_body(draft)
        done = done or finished
        if not done:
            cut = max(draft.rfind(" "), draft.rfind("\n"))
            body, _ = draft_body(draft[:cut] if cut >= 0 else "")
        sents = answer_sentences(body)
        if done or not sents:
            return sents
        return sents if _ends_cited_sentence(body) else sents[:-1]

    def feed(self, draft: str, done: bool = False) -> list[Shown]:
        sents = self.complete(draft, done)
        if len(sents) <= self.decided or self.refusing:
            return []
        if self.decided == 0 and is_refusal(sents[0][0]):
            self.refusing = True
            return []
        self.decided = len(sents)
        prefix = " ".join(s + "".join(f" [{n}]" for n in nums) for s, nums in sents)
        checked = verify(prefix, self.evidence, self.unsupported, check=self.check, question=self.question,
                         not_before=self.not_before)
        out: list[Shown] = []
        kept = answer_sentences(checked.answer)
        cites = iter(checked.citations)
        for i, (sentence, nums) in enumerate(kept):
            mine = [next(cites) for _ in nums]
            if i < len(self.kept):
                continue
            text = sentence + "".join(f" [{n}]" for n in nums)
            if i == 0 and self.dated is not None and mine:
                text = self.dated(text, mine[0].date)
            self.kept.append(text)
            out.append(Shown("sentence", text, mine))
        for sentence in checked.removed[self.removed:]:
            nums = next((n for s, n in sents if s == sentence), [])
            out.append(Shown("withdrawn", sentence, reason=self.reason(sentence, nums)))
        self.removed = len(checked.removed)
        return out

    def reason(self, sentence: str, nums: list[int]) -> str:
        """Why the verifier withdrew a sentence, in the words of the rule that did (a thin mirror of `verify`'s
        order of checks; the verifier itself records only the sentence)."""
        ev = self.evidence
        vec = ev.embed([sentence])[0] if ev.embed else None
        qvec = ev.vector(self.question) if self.question else None
        if self.kept and not (content_words(sentence) & content_words(self.question)) and \
                (qvec is None or vec is None or cosine(qvec, vec) < OFF_TOPIC):
            return "off the question (filler)"
        if sentence.rstrip().endswith("?"):
            return "a question copied from a source, not a claim"
        if is_refusal(sentence):
            return "says what the sources do not say, and cites none"
        given = frozenset(_norm_number(n) for n in NUMBER.findall(self.question)) | frozenset(
            m.group().lower() for m in re.finditer(f"{MONTH_WORDS}|{DAY_WORDS}", self.question, re.IGNORECASE))
        shown = {p.n: p for p in ev.passages}
        supports = [(n, ev.support(sentence, shown[n], vec, given, self.question)) for n in nums if n in shown]
        if not supports:
            return "cites no source, and no source shown says it" if not nums else \
                f"cites [{', '.join(map(str, nums))}], which was not shown or is too old for the question"
        n, best = max(supports, key=lambda x: x[1].score)
        if best.verified:
            return "follows an answer that was withdrawn"
        if best.reason.startswith(INVENTED):
            return f"[{n}] does not contain the {best.reason.replace(' not in the passage', '')}"
        return f"[{n}] does not say this, nor does any other source shown"


def strip_markers(text: str) -> str:
    return MARKER.sub("", text).strip()
