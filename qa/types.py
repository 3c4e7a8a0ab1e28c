"""The data that moves through the pipeline: Article, Chunk, Passage, Citation, Answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from qa.errors import QAError

# A question longer than this is refused before any work: with three passages and the answer it must fit the
# generator's 4,096-token context (2,000 characters are ~500 word-pieces), and no news question needs more.
MAX_QUESTION_CHARS = 2_000


def question_problem(question: str) -> str:
    """Why this question cannot be asked ('' when it can)."""
    n = len(question.strip())
    if not n:
        return "the question is empty"
    if n > MAX_QUESTION_CHARS:
        return f"the question is {n:,} characters long; at most {MAX_QUESTION_CHARS:,} are accepted"
    return ""


def check_question(question: str) -> None:
    """QAError for a question that cannot be asked (empty, or too long for the generator's context)."""
    if problem := question_problem(question):
        raise QAError(problem, "ask it in fewer words" if question.strip() else "type a question")


@dataclass
class Article:
    """One news article as loaded from a file; `text` is what offsets point into."""

    id: str
    title: str
    text: str
    source: str = ""
    date: str = ""  # ISO 8601 date or datetime as published, "" when unknown
    url: str = ""
    author: str = ""
    path: str = ""
    content_hash: str = ""


@dataclass
class Chunk:
    """A sentence-aligned piece of an article: `article.text[start:end] == text`."""

    id: str
    article_id: str
    index: int
    start: int
    end: int
    text: str


@dataclass
class Passage:
    """A retrieved chunk as shown to the generator, numbered from 1."""

    n: int
    article_id: str
    chunk_id: str
    score: float
    text: str
    start: int = 0
    end: int = 0
    title: str = ""
    source: str = ""
    date: str = ""
    url: str = ""
    # Spans of the article that imitate the assistant (qa.flags.Flag, offsets into the article): never evidence.
    flags: list[Any] = field(default_factory=list)


@dataclass
class Citation:
    """A passage cited by the answer, with the exact supporting words: `article.text[start:end] == quote`."""

    n: int
    article_id: str
    title: str
    source: str
    date: str
    url: str
    quote: str
    start: int
    end: int
    verified: bool = False
    support: float = 0.0
    # Why the cited article holds text that imitates the assistant (qa.flags), [] for most articles. The quote
    # itself is never flagged text: flagged text supports nothing.
    flags: list[str] = field(default_factory=list)


ACTIONS = ("kept", "recited", "removed", "marked")


@dataclass
class Check:
    """What verification did with one sentence of the draft, and the rule that decided it (`qa ask --why`)."""

    sentence: str  # the draft sentence, without its markers
    cited: list[int]  # the passages the draft cited for it
    action: str  # "kept" | "recited" (kept, citing another passage) | "removed" | "marked" ([unsupported])
    rule: str  # the deciding rule's name (qa.citations.RULES)
    detail: str = ""  # what the rule found, in words


@dataclass
class Answer:
    """What `qa ask --json` prints; keys are a contract that scripts and evaluation depend on."""

    question: str
    standalone_question: str
    answer: str
    short_answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    draft: str = ""  # what the generator wrote, before verification: the trail of what was checked and removed
    # Shown sources that disagree: [{"about": what, "claims": [{"text": quote, "citation": n}, ...]}]
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    # The fate of every draft sentence: [{"sentence", "cited", "action", "rule", "detail"}]
    checks: list[Check] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passages"] = [
            {key: p[key] for key in ("n", "article_id", "chunk_id", "score", "text")} for p in d["passages"]
        ]
        return d


@dataclass
class Event:
    """What `Assistant.stream` yields, and what the chat shows: the passages found, each generated token, each
    checked or withdrawn sentence, and the final answer; the chat adds "standalone" (a follow-up rewritten)."""

    kind: str  # "standalone" | "passages" | "token" | "sentence" | "withdrawn" | "answer"
    passages: list[Passage] | None = None
    # a token; for "sentence" a checked sentence with its markers; for "withdrawn" the sentence; for "standalone"
    # the question as rewritten ("" when it could not be)
    token: str = ""
    answer: Answer | None = None
    notes: list[str] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)  # "sentence": its checked citations
    reason: str = ""  # "withdrawn": why; "standalone": what the rewrite could not resolve
    question: str = ""  # "standalone": the question as asked
    rewrite_s: float = 0.0  # "standalone": seconds the rewrite took
