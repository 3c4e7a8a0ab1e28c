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

from qa.citations import Evidence, is_refusal, verify
from qa.text import BARE_MARKER, answer_sentences, markers
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


CITED_END = re.compile(BARE_MARKER.pattern + r"\s*[.!?]$")  # "... Iran [3]."
END_CITED = re.compile(r"[.!?]\s*(?:" + BARE_MARKER.pattern + r"\s*)+$")  # "... Iran. [3]"
ABBREVIATION = re.compile(r"(?:[A-Za-z]\.)+|[A-Z][a-z]{0,3}\.|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.")


def _ends_cited_sentence(text: str, cited: bool) -> bool:
    """The text ends a sentence that carries its citation: "... Iran [3].", "... Iran. [3]", or in the markers-first
    style ("[3] ... Iran.") a sentence that ends in a full stop that is not an abbreviation's ("U.S.", "Mr.")."""
    t = text.rstrip()
    if CITED_END.search(t) or END_CITED.search(t):
        return True
    last = t.split()[-1] if t.split() else ""
    return cited and t[-1:] in ".!?" and not ABBREVIATION.fullmatch(last)


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
    period_start: str = ""
    dated: Callable[[str, str], str] | None = None  # dated(sentence, iso_date): a time-bound question's first line
    kept: list[str] = field(default_factory=list)
    removed: int = 0
    decided: int = 0  # draft sentences decided so far
    refusing: bool = False  # the draft opens with a refusal: nothing is shown, the refusal comes at the end
    read: int = 0  # characters of the draft seen so far
    pending: bool = False  # a sentence end was seen that the splitter has not confirmed yet

    def __post_init__(self) -> None:
        # Each check re-reads the sentences so far: embed each sentence once (the final check reuses them too).
        embed = self.evidence.embed
        if embed is not None and not getattr(embed, "memo", None):
            memo: dict[str, list[float]] = {}

            def embed_once(texts: list[str]) -> list[list[float]]:
                new = [t for t in dict.fromkeys(texts) if t not in memo]
                if new:
                    memo.update(zip(new, embed(new)))
                return [memo[t] for t in texts]

            embed_once.memo = memo  # type: ignore[attr-defined]
            self.evidence.embed = embed_once

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
        return sents if _ends_cited_sentence(body, bool(sents[-1][1])) else sents[:-1]

    def feed(self, draft: str, done: bool = False) -> list[Shown]:
        fresh, self.read = draft[self.read:], len(draft)
        if not done and not self.pending and not re.search(r"[.!?\]\n]", fresh):
            return []  # no sentence can have ended: spare the sentence splitter (pysbd) on every token
        self.pending = not done and bool(re.search(r"[.!?\]\n]", fresh)) or (self.pending and not done)
        sents = self.complete(draft, done)
        if len(sents) > self.decided or done:
            self.pending = False
        if len(sents) <= self.decided or self.refusing:
            return []
        if self.decided == 0 and is_refusal(sents[0][0]):
            self.refusing = True
            return []
        self.decided = len(sents)
        prefix = " ".join(s + markers(nums) for s, nums in sents)
        checked = verify(prefix, self.evidence, self.unsupported, check=self.check, question=self.question,
                         not_before=self.not_before, period_start=self.period_start)
        out: list[Shown] = []
        kept = answer_sentences(checked.answer)
        cites = iter(checked.citations)
        for i, (sentence, nums) in enumerate(kept):
            mine = [next(cites) for _ in nums]
            if i < len(self.kept):
                continue
            text = sentence + markers(nums)
            if i == 0 and self.dated is not None and mine:
                text = self.dated(text, mine[0].date)
            self.kept.append(text)
            out.append(Shown("sentence", text, mine))
        gone = [c for c in checked.checks if c.action == "removed" and c.rule != "repeated"]
        for c in gone[self.removed:]:
            if re.match(r"\W*short answer\W*:", c.sentence, re.IGNORECASE):
                continue  # the model's "Short answer:" line run into the body: not a claim, nothing to withdraw
            out.append(Shown("withdrawn", c.sentence, reason=c.detail))  # the deciding rule's words
        self.removed = len(gone)
        return out
