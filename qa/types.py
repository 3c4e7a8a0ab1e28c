"""The data that moves through the pipeline: Article, Chunk, Passage, Citation, Answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passages"] = [
            {key: p[key] for key in ("n", "article_id", "chunk_id", "score", "text")} for p in d["passages"]
        ]
        return d
