"""answer(question) -> Answer: retrieve -> numbered-passage prompt -> generate -> cite (a LangChain runnable)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableLambda

from qa.citations import cite, is_refusal, split_short_answer
from qa.config import Settings
from qa.prompts import REFUSAL, SYSTEM, format_passage, user_message
from qa.retrieval import Filters, Retriever
from qa.types import Answer, Passage


@dataclass
class Event:
    """What `Assistant.stream` yields: the passages found, each generated token, and the final answer."""

    kind: str  # "passages" | "token" | "answer"
    passages: list[Passage] | None = None
    token: str = ""
    answer: Answer | None = None


def short_from(answer: str, limit: int = 12) -> str:
    """A fallback short answer: the first sentence, cut to `limit` words."""
    first = answer.split(". ")[0].rstrip(".")
    words = first.split()
    return " ".join(words[:limit])


class Assistant:
    """Answers questions from the store with cited passages; every backend comes in through a factory."""

    def __init__(self, settings: Settings, retriever: Retriever, llm: BaseChatModel) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.generate: Runnable[list[BaseMessage], str] = llm | StrOutputParser()

    def messages(self, question: str, passages: list[Passage]) -> list[BaseMessage]:
        blocks = [format_passage(p.n, p.title, p.source, p.date, p.text) for p in passages]
        return [SystemMessage(SYSTEM), HumanMessage(user_message(question, blocks))]

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        return self.retriever.search(question, k or self.settings.k, filters)

    def stream(self, question: str, k: int | None = None, filters: Filters | None = None,
               standalone: str | None = None) -> Iterator[Event]:
        """Passages first, then tokens as they are generated, then the cited Answer."""
        t0 = time.perf_counter()
        query = standalone or question
        passages = self.retrieve(query, k, filters)
        t1 = time.perf_counter()
        yield Event("passages", passages=passages)
        text = ""
        first_token = None
        if passages:
            for token in self.generate.stream(self.messages(query, passages)):
                if first_token is None:
                    first_token = time.perf_counter()
                text += token
                yield Event("token", token=token)
        t2 = time.perf_counter()
        answer = self.finish(question, query, text, passages)
        answer.timings = {"retrieve_s": round(t1 - t0, 3), "generate_s": round(t2 - t1, 3),
                          "first_token_s": round((first_token or t2) - t0, 3), "total_s": round(t2 - t0, 3)}
        yield Event("answer", answer=answer)

    def finish(self, question: str, query: str, text: str, passages: list[Passage]) -> Answer:
        """Model text -> Answer: parse the short answer, keep only markers that point at passages shown."""
        body, short = split_short_answer(text)
        if not passages or is_refusal(body):
            return Answer(question=question, standalone_question=query, answer=REFUSAL, short_answer="",
                          refused=True, citations=[], passages=passages)
        cleaned, citations = cite(body, passages)
        return Answer(question=question, standalone_question=query, answer=cleaned,
                      short_answer=short or short_from(cleaned), refused=False, citations=citations,
                      passages=passages)

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None,
            standalone: str | None = None) -> Answer:
        for event in self.stream(question, k, filters, standalone):
            if event.answer is not None:
                return event.answer
        raise AssertionError("stream ended without an answer")

    def as_runnable(self) -> Runnable[dict[str, Any], Answer]:
        """The chain as a LangChain runnable: {"question", "k"?, "filters"?} -> Answer."""
        return RunnableLambda(lambda x: self.ask(x["question"], x.get("k"), x.get("filters")))


def make_assistant(settings: Settings) -> Assistant:
    """The assistant with the backends the settings name (embeddings, store, generator)."""
    from qa.embedding import make_embeddings
    from qa.llms import make_llm
    from qa.store import open_store

    store = open_store(settings, make_embeddings(settings))
    return Assistant(settings, Retriever(store), make_llm(settings))
