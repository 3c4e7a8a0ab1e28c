"""answer(question) -> Answer: retrieve -> numbered-passage prompt -> generate -> verify citations."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableLambda

from qa.answer_type import asks_yes_no, focus_of, focused_order, slot_sentences
from qa.citations import (
    Evidence,
    answer_problem,
    cosine,
    is_refusal,
    near_miss,
    split_short_answer,
    verify,
)
from qa.config import Settings
from qa.embedding import token_counter
from qa.llms import Cancelled, cancel_on_interrupt, cancel_requested, clear_cancel
from qa.prompts import REFUSAL, SHORT_ANSWER, SYSTEM, format_passage, neutral, user_message
from qa.retrieval import Filters, Retriever, time_intent
from qa.streaming import SentenceGate
from qa.terminal import one_line
from qa.text import FUTURE, MARKER, answer_sentences, content_words, phrase_in
from qa.types import Answer, Check, Citation, Event, Passage, check_question

ANNOUNCED_AHEAD = timedelta(days=14)
TITLE_TOKENS = 24  # a title in the prompt is cut to this: it is context, the passage is the evidence


def period_bounds(query: str, since: date | None) -> tuple[str, str]:
    """(not_before, period_start) for verification: a question about what happened in a period is not answered by
    articles from well before it (`period`), and an article of the two weeks before it only by what it announces
    ahead (a visit is announced a week or two ahead, hence ANNOUNCED_AHEAD: `announced_ahead`); a question about
    what will happen then ("will host ... in 2025") may be answered from anything earlier."""
    if since is None or FUTURE.search(query):
        return "", ""
    return (since - ANNOUNCED_AHEAD).isoformat(), since.isoformat()


def split_polarity(question: str, body: str) -> tuple[str, str]:
    """(body without its opening "Yes,"/"No,", "Yes"/"No"/"") for a yes/no question: the fact is what is checked."""
    from qa.answer_type import asks_yes_no

    m = re.match(r"^\W*(yes|no)\b[,.:;!]?\s*", body, re.IGNORECASE)
    if not m or not asks_yes_no(question) or not MARKER.sub("", body[m.end():]).strip():
        return body, ""
    rest = body[m.end():]
    return rest[:1].upper() + rest[1:], m.group(1).capitalize()


def with_polarity(question: str, polarity: str, answer: str, body: str, short: str) -> tuple[str, str]:
    """The checked answer with its "Yes,"/"No," put back when its first sentence survived the check, and the short
    answer as the span that fills the slot (qa.answer_type.span_of)."""
    from qa.answer_type import span_of

    first = answer_sentences(body)
    kept = answer_sentences(answer)
    if polarity and first and kept and first[0][0] == kept[0][0]:
        word, _, rest = answer.partition(" ")
        answer = f"{polarity}, {word.lower() if word.lower() in LOWER_FIRST else word} {rest}".rstrip()
        return answer, polarity
    return answer, span_of(question, short, MARKER.sub("", answer))


def refusal_reason(question: str, shown: str, draft: str = "") -> str:
    """Why an answer whose sentences were each supported is refused as a whole."""
    if draft and is_refusal(split_short_answer(draft)[0]):
        return "read as a whole, the draft says the sources do not answer this"
    rule, found = answer_problem(question, shown)
    if rule == "answer_type":
        return "it does not give what the question asks for (a number, a date or a name)"
    if rule:
        return f"it does not fill what the question asks for: {found}"
    return "the answer as a whole does not hold up against the sources"


LOWER_FIRST = {"the", "a", "an", "it", "he", "she", "they", "this", "there", "its", "his", "her"}
# An answer that opens with its own attribution or time ("According to the White House, ...", "On Monday, ...")
# takes the date after that clause, or not at all when it already says when.
ATTRIBUTION = re.compile(r"^(?:(?:according to|as|in a (?:statement|readout|press release)|speaking)\b[^,]{0,80}"
                         r"|yes|no),\s+", re.IGNORECASE)
SAYS_WHEN = re.compile(r"^\W*(?:on|in|at|since|by|last|this|earlier|yesterday|today|during|after|before)\b"
                       r"|^\W*(?:\d|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)",
                       re.IGNORECASE)


def dated(answer: str, iso_date: str) -> str:
    """A time-sensitive answer says the date of its evidence: "On 14 March 2022, ..." (from the cited article),
    after an opening attribution ("According to X, on 14 March 2022, ..."), never before a time of its own."""
    try:
        day = date.fromisoformat(iso_date[:10])
    except ValueError:
        return answer
    stamp = f"{day.day} {day:%B %Y}"
    if not answer or stamp in answer or answer.startswith("On "):
        return answer
    lead = ATTRIBUTION.match(answer)
    head, body = (answer[:lead.end()], answer[lead.end():]) if lead else ("", answer)
    if SAYS_WHEN.match(body):
        return answer
    first, _, rest = body.partition(" ")
    if first.lower() in LOWER_FIRST:
        first = first.lower()
    return f"{head}{'on' if head else 'On'} {stamp}, {first} {rest}".rstrip()


def wants_date(settings: Settings, query: str, filters: Filters | None, bound: bool) -> bool:
    """Whether the answer opens with its evidence's date: for a question bound to a time ("this week", "in
    March") or asking when; before issue 21 (answer_type_check off), for every question asked as of a day."""
    if not settings.answer_type_check:
        return bool((filters and filters.as_of) or bound)
    from qa.answer_type import focus_of

    return bound or focus_of(query).kind == "date"


def _find(text: str, sentence: str) -> tuple[int, int] | None:
    """(start, end) of `sentence` in `text`, whitespace written any way; None when it is not there."""
    words = sentence.split()
    if not words:
        return None
    m = re.search(r"\s+".join(re.escape(w) for w in words), text)
    return (m.start(), m.end()) if m else None


def _sentences(text: str) -> list[str]:
    from qa.text import sentence_spans

    return [" ".join(text[s:e].split()) for s, e in sentence_spans(text)]


# Words that open a new phrase: a short answer cut before one of them ends on a complete phrase.
PHRASE_OPENERS = frozenset({
    "about", "after", "against", "along", "amid", "among", "and", "as", "at", "because", "before", "but", "by",
    "despite", "during", "for", "from", "in", "including", "into", "near", "of", "on", "or", "over", "since", "so",
    "than", "that", "through", "to", "toward", "towards", "under", "until", "upon", "via", "when", "where", "which",
    "while", "who", "whom", "whose", "with", "within", "without",
})


def short_from(answer: str, limit: int = 12) -> str:
    """A fallback short answer: the first sentence without markers, whole when it has at most `limit` words, else
    cut before the last phrase opener (a preposition, conjunction or relative word, or after a comma) within
    `limit` words, never inside a name ("Minister of Foreign Affairs") nor mid-phrase; the whole sentence when
    there is no such place."""
    sentences = answer_sentences(answer)
    words = (sentences[0][0].rstrip(".") if sentences else "").split()
    if len(words) <= limit:
        return " ".join(words)
    cut = 0
    for i in range(2, limit + 1):
        word, before = words[i].lower().strip("\"'(“‘"), words[i - 1]
        inside_name = before[:1].isupper() and words[i + 1:i + 2] and words[i + 1][:1].isupper() \
            and word in ("of", "for", "and")
        ends_open = before.lower().strip(",;:") in PHRASE_OPENERS  # "... met in" is no phrase either
        if ((word in PHRASE_OPENERS and not inside_name) or before.endswith((",", ";", ":"))) and not ends_open:
            cut = i
    return " ".join(words[:cut]).rstrip(",;:") if cut else " ".join(words)


def _cut(text: str, tokens: int) -> str:
    count = token_counter()
    while text and count([text])[0] > tokens:
        text = text.rsplit(" ", 1)[0] if " " in text else ""
    return text


# A sentence holding a span of the asked kind next to the question's words is kept before one that only shares the
# words (on a 0-1 relatedness scale): the count, name or date the question asks for is what must reach the model.
SLOT_BONUS = 0.2


def focus(question: str, passage: Passage, evidence: Evidence, qvec: list[float] | None, budget: int,
          slot_first: bool = True) -> str:
    """The passage's sentences most related to the question, most related first, within `budget` word-pieces.
    Small models copy the first sentence they see; putting the most relevant one there is what makes the 1.5B
    model answer "what did he want to stop regarding Syria" with the arms-transfer sentence, not the lead. With
    `slot_first` (QA_SHOWN_POOL > 0), a sentence with a span of the asked kind next to the question's words comes
    first (SLOT_BONUS)."""
    spans = evidence.spans[passage.n]
    if not spans:
        return ""
    vecs = evidence.vectors.get(passage.n, [])
    words = content_words(question)
    sents = [passage.text[s:e] for s, e in spans]
    slot = focus_of(question) if slot_first else None
    scores = [0.5 * len(words & content_words(t)) / max(1, len(words)) + 0.5 * (cosine(qvec, vecs[i]) if qvec and
              i < len(vecs) else 0.0) + (SLOT_BONUS if slot and slot_sentences(question, t, slot) else 0.0)
              for i, t in enumerate(sents)]
    sizes = token_counter()(sents)
    keep: set[int] = set()
    used = 0
    for i in sorted(range(len(sents)), key=lambda i: -scores[i]):
        if used + sizes[i] <= budget or not keep:
            keep.add(i)
            used += sizes[i]
    ordered = sorted(keep, key=lambda i: -scores[i])
    return " ".join(sents[i] if sizes[i] <= budget else _cut(sents[i], budget) for i in ordered)


class Assistant:
    """Answers questions from the store with verified citations; every backend comes in through a factory."""

    def __init__(self, settings: Settings, retriever: Retriever, llm: BaseChatModel,
                 embeddings: Embeddings | None = None) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.embeddings = embeddings if embeddings is not None else retriever.store.embeddings
        self.generate: Runnable[list[BaseMessage], str] = llm | StrOutputParser()

    def _embed(self, texts: list[str]) -> list[list[float]]:
        assert self.embeddings is not None
        return self.embeddings.embed_documents(texts)

    def evidence(self, passages: list[Passage]) -> Evidence:
        return Evidence(passages, self._embed if self.embeddings is not None else None, self.settings.verification)

    def messages(self, question: str, passages: list[Passage], evidence: Evidence | None = None) -> list[BaseMessage]:
        evidence = evidence or self.evidence(passages)
        qvec = evidence.vector(question)
        first: dict[str, int] = {}
        blocks = []
        guard = self.settings.check_sources
        for p in passages:
            title = "" if p.title and p.title[:60] in p.text else _cut(p.title, TITLE_TOKENS)  # said in the text
            text = focus(question, p, evidence, qvec, self.settings.passage_tokens, self.settings.shown_pool > 0)
            if guard:  # nothing of an article can open or close the prompt's structure; flagged text is left out
                title = "" if any(f.field == "title" for f in p.flags) else neutral(title)
                text = neutral(text) or "(this passage holds only text that imitates an assistant; left out)"
            blocks.append(format_passage(p.n, title, neutral(p.source) if guard else p.source, p.date, text,
                                         same_as=first.get(p.article_id, 0)))
            first.setdefault(p.article_id, p.n)
        yes_no = self.settings.answer_type_check and asks_yes_no(question)
        return [SystemMessage(SYSTEM), HumanMessage(user_message(question, blocks, yes_no=yes_no))]

    def annotate(self, passages: list[Passage]) -> None:
        """Each passage gets its article's flags (spans that imitate the assistant, found at ingest)."""
        from qa.flags import flags_of

        store = getattr(self.retriever, "store", None)
        if store is None or not passages:
            return
        flags = flags_of(store, [p.article_id for p in passages])
        for p in passages:
            p.flags = flags.get(p.article_id, [])

    def disagreements(self, answer: Answer, evidence: Evidence) -> None:
        """Other versions of a cited article, and shown passages that give another value for what a cited sentence
        says: each is cited beside the answer ("... says instead: “...” [n]") and listed in `answer.conflicts`."""
        from qa.conflicts import disagreement

        notes: list[str] = []
        seen: set[tuple[str, str]] = set()
        for c in list(answer.citations):
            for version, this, other in self._version_claims(c):
                if not other:  # the other version lacks the sentence altogether (a forged copy adds one)
                    if (c.article_id, version) in seen:
                        continue
                    seen.add((c.article_id, version))
                    where = self._where_article(version)
                    notes.append(f"Another version of this article ({where}) does not say “{this}”.")
                    answer.conflicts.append({"about": f"versions of “{one_line(c.title)}”", "claims": [
                        {"text": this, "citation": c.n}, {"text": "", "citation": None, "article_id": version}]})
                    continue
                if (c.article_id, version) in seen:  # one "says instead" per other version (title and text)
                    continue
                cite = self._cite_sentence(answer, version, other)
                if cite is None:
                    continue
                seen.add((c.article_id, version))
                notes.append(f"Another version of this article ({self._where(cite)}) says instead: “{other}” "
                             f"[{cite.n}]")
                answer.conflicts.append({"about": f"versions of “{one_line(c.title)}”", "claims": [
                    {"text": this, "citation": c.n}, {"text": other, "citation": cite.n}]})
        cited = {c.article_id for c in answer.citations}
        quotes = [(c, s) for c in answer.citations if c.verified for s in _sentences(c.quote)]
        for p in evidence.passages:
            if p.article_id in cited or any(p.article_id == a for a, _b in seen):
                continue
            # the article's whole text: the other side of a revised total is often a chunk away from the passage
            for sentence in self._article_sentences(p):
                hit = next(((c, q, about) for c, q in quotes if c.article_id != p.article_id
                            and (about := disagreement(q, sentence))), None)
                if hit is None:
                    continue
                c, q, about = hit
                cite = self._cite_sentence(answer, p.article_id, sentence)
                if cite is None:
                    continue
                seen.add((p.article_id, c.article_id))
                notes.append(f"The sources disagree ({one_line(about)}): {self._where(c)} says “{q}” [{c.n}]; "
                             f"{self._where(cite)} says “{sentence}” [{cite.n}].")
                answer.conflicts.append({"about": one_line(about), "claims": [
                    {"text": q, "citation": c.n}, {"text": sentence, "citation": cite.n}]})
                break
        if notes:
            answer.answer = " ".join([answer.answer, *notes])

    def _article_sentences(self, p: Passage) -> list[str]:
        """The sentences of a shown passage's article that are not flagged (the passage's own when it is not
        stored)."""
        from qa.flags import overlaps
        from qa.text import sentence_spans

        store = getattr(self.retriever, "store", None)
        article = store.get_article(p.article_id) if store is not None else None
        text, offset = (article.text, 0) if article is not None else (p.text, p.start)
        return [" ".join(text[a:b].split()) for a, b in sentence_spans(text)
                if not overlaps(p.flags, offset + a, offset + b)]

    def _where_article(self, article_id: str) -> str:
        store = getattr(self.retriever, "store", None)
        article = store.get_article(article_id) if store is not None else None
        if article is None:
            return one_line(article_id)
        return ", ".join(x for x in (one_line(article.source), article.date[:10]) if x) or one_line(article_id)

    @staticmethod
    def _where(c: Citation) -> str:
        return ", ".join(x for x in (one_line(c.source), c.date[:10]) if x) or "another source"

    def _version_claims(self, c: Citation) -> list[tuple[str, str, str]]:
        """(other version's id, the cited sentence, what the other version says instead) for the differing
        sentences of the cited article that the citation quotes."""
        from qa.duplicates import versions_of

        store = getattr(self.retriever, "store", None)
        if store is None:
            return []
        quote = " ".join(c.quote.split())
        out = []
        for v in versions_of(store, [c.article_id]).get(c.article_id, []):
            for d in v.get("differs", []):
                if d["this"] and (d["this"] in quote or (len(quote) > 40 and quote in d["this"])):
                    out.append((str(v["id"]), d["this"], d["other"]))
        return out

    def _cite_sentence(self, answer: Answer, article_id: str, sentence: str,
                       passage: Passage | None = None) -> Citation | None:
        """A citation quoting `sentence` of the article (a shown passage's number, or a new passage for it)."""
        store = getattr(self.retriever, "store", None)
        if passage is None:
            passage = next((p for p in answer.passages if p.article_id == article_id
                            and _find(p.text, sentence) is not None), None)
        if passage is not None:
            at = _find(passage.text, sentence)
            if at is None:
                return None
            quote, start, end = passage.text[at[0]:at[1]], passage.start + at[0], passage.start + at[1]
        else:
            from qa.flags import flags_of

            article = store.get_article(article_id) if store is not None else None
            at = _find(article.text, sentence) if article is not None else None
            if article is None or at is None:
                return None
            (start, end), quote = at, article.text[at[0]:at[1]]
            passage = Passage(n=max((p.n for p in answer.passages), default=0) + 1, article_id=article_id,
                              chunk_id=f"{article_id}::version", score=0.0, text=quote, start=start, end=end,
                              title=article.title, source=article.source, date=article.date, url=article.url,
                              flags=flags_of(store, [article_id]).get(article_id, []))  # type: ignore[arg-type]
            answer.passages.append(passage)
        from qa.flags import overlaps

        if overlaps(passage.flags, start, end):
            return None  # flagged text is not a side of a disagreement either
        cite = Citation(n=passage.n, article_id=article_id, title=passage.title, source=passage.source,
                        date=passage.date, url=passage.url, quote=quote, start=start, end=end, verified=True,
                        support=1.0, flags=list(dict.fromkeys(r for f in passage.flags for r in f.reason.split("; "))))
        answer.citations.append(cite)
        return cite

    def short_answer(self, question: str, answer: str) -> str:
        """The answer's key phrase (a second short generation); "" when the model's phrase is not in the answer."""
        message = HumanMessage(SHORT_ANSWER.format(question=question, answer=MARKER.sub("", answer)))
        text = self.generate.invoke([message], max_tokens=24)
        short = " ".join(MARKER.sub("", text).strip().splitlines()[0:1]).strip().strip("\"'*.").strip() \
            if text.strip() else ""
        short = re.sub(r"^(?:short answer|answer|key words)\s*:\s*", "", short, flags=re.IGNORECASE)
        if content_words(short) <= content_words(question):
            return ""  # "Sudani" for "What did Blinken ask Sudani?" repeats the question instead of answering it
        return short if len(short.split()) <= 12 and phrase_in(short, answer) else ""

    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        """The passages shown for the question: the best `shown_pool` as ranked, then `choose`."""
        k = k or self.settings.k
        return self.choose(question, self.retriever.search(question, max(k, self.settings.shown_pool), filters), k)

    def choose(self, question: str, ranked: list[Passage], k: int) -> list[Passage]:
        """The `k` passages to show from a ranking (issue 21): those holding a span of the asked kind in a sentence
        with the question's words first (qa.answer_type.focused_order; the ranking decides among equals), numbered
        1..k again. A same-topic neighbour ranked higher for its words gives way to the passage that can answer."""
        if self.settings.shown_pool:
            ranked = focused_order(question, ranked)
        return [p if p.n == n else replace(p, n=n) for n, p in enumerate(ranked[:k], start=1)]

    def stream(self, question: str, k: int | None = None, filters: Filters | None = None,
               standalone: str | None = None, live: bool = True) -> Iterator[Event]:
        """Passages first, then the draft's tokens as they are generated, each draft sentence as soon as it is
        complete and checked ("sentence", with its citations, or "withdrawn", with the reason), then the verified
        Answer. A cancel request (`qa.llms.request_cancel`, Ctrl-C) stops the generator itself and raises
        `Cancelled` here; the caller keeps the sentences it has shown. `live=False` skips the per-sentence checks
        (nobody watches: `ask`, evaluation); the final Answer is the same either way."""
        check_question(question)
        t0 = time.perf_counter()
        query = standalone or question
        passages = self.retrieve(query, k, filters)
        if cancel_requested():
            raise Cancelled()
        if self.settings.check_sources:
            self.annotate(passages)
        t1 = time.perf_counter()
        yield Event("passages", passages=passages)
        evidence = self.evidence(passages)
        text = ""
        first_token = first_sentence = None
        gate_min = self.settings.min_evidence if self.settings.verify else 0.0
        gate = self.sentence_gate(query, evidence, filters)
        shown: list[str] = []
        gated = bool(passages) and evidence.question_support(query) >= gate_min  # enough evidence to generate
        missed = self.near_miss(query, passages) if gated else ""
        if gated and not missed:
            for token in self.generate.stream(self.messages(query, passages, evidence)):
                if not token:
                    continue  # the backends' empty opening chunk: nothing generated yet
                if first_token is None:
                    first_token = time.perf_counter()
                text += token
                yield Event("token", token=token)
                for item in gate.feed(text) if live else ():
                    if item.kind == "sentence":
                        first_sentence = first_sentence or time.perf_counter()
                        shown.append(item.text)
                    yield Event(item.kind, token=item.text, citations=item.citations, reason=item.reason)
            if cancel_requested():
                raise Cancelled()
            for item in gate.feed(text, done=True) if live else ():
                if item.kind == "sentence":
                    first_sentence = first_sentence or time.perf_counter()
                    shown.append(item.text)
                yield Event(item.kind, token=item.text, citations=item.citations, reason=item.reason)
        t2 = time.perf_counter()
        answer = self.finish(question, query, text, passages, evidence, filters)
        if cancel_requested():  # the short-answer call was stopped
            raise Cancelled()
        t3 = time.perf_counter()
        if missed and not answer.checks:  # refused before generating: say which rule and why
            answer.checks = [Check("", [], "removed", "near_miss", missed)]
        if answer.refused and shown:
            yield Event("withdrawn", token=" ".join(shown), reason=refusal_reason(query, " ".join(shown), text))
        answer.timings = {"retrieve_s": round(t1 - t0, 3), "generate_s": round(t2 - t1, 3),
                          "first_token_s": round((first_token or t2) - t0, 3),
                          "verify_s": round(t3 - t2, 3), "total_s": round(t3 - t0, 3)}
        if live:  # when the first checked sentence could be shown (the whole answer, when none was)
            answer.timings["first_sentence_s"] = round((first_sentence or t3) - t0, 3)
        yield Event("answer", answer=answer)

    def near_miss(self, query: str, passages: list[Passage]) -> str:
        """The `near_miss` rule (issue 21): what it found when no shown passage holds a span of the asked kind in a
        sentence with the question's words ("" when one does, or when verification or the rule is off); the
        question is then refused without generating."""
        return near_miss(query, passages, self.settings) if self.settings.verify else ""

    def sentence_gate(self, query: str, evidence: Evidence, filters: Filters | None) -> SentenceGate:
        """The per-sentence checker for one answer, with the same settings `finish` applies to the whole."""
        filters = filters or Filters()
        window = time_intent(query, filters.today())
        not_before, period_start = period_bounds(query, window.since)
        return SentenceGate(evidence, query, self.settings.unsupported, check=self.settings.verify,
                            not_before=not_before, period_start=period_start,
                            dated=dated if wants_date(self.settings, query, filters, window.bound) else None)

    def finish(self, question: str, query: str, text: str, passages: list[Passage],
               evidence: Evidence | None = None, filters: Filters | None = None) -> Answer:
        """Model text -> Answer: every sentence checked against the passage it cites; nothing supported left
        means a refusal (which still lists the passages that were searched)."""
        body, short = split_short_answer(text)
        if REFUSAL in body and MARKER.search(body.replace(REFUSAL, "")):
            body = body.replace(REFUSAL, "").strip()  # an answer with citations, then the refusal out of habit
        if short and MARKER.search(body) and not MARKER.sub("", body).strip():
            body = f"{short} {' '.join(m.group().strip() for m in MARKER.finditer(body))}"  # "[1] [2]" + the answer
        refused = Answer(question=question, standalone_question=query, answer=REFUSAL, short_answer="",
                         refused=True, citations=[], passages=passages, draft=text)
        polarity = ""
        if self.settings.answer_type_check:  # "Yes, ..."/"No, ...": the fact is checked, the word put back after
            body, polarity = split_polarity(query, body)
        if not passages:
            return refused
        if is_refusal(body):  # every sentence of a draft that says the sources do not answer goes with it
            refused.checks = [Check(sentence, nums, "removed", "refusal_sentence", "the draft says the sources do "
                                    "not answer") for sentence, nums in answer_sentences(body)]
            return refused
        filters = filters or Filters()
        window = time_intent(query, filters.today())
        check = self.settings.verify
        not_before, period_start = period_bounds(query, window.since)
        checked = verify(body, evidence or self.evidence(passages), self.settings.unsupported, check=check,
                         question=query, not_before=not_before, period_start=period_start)
        refused.checks = checked.checks
        if not checked.citations:
            return refused
        rule, found = answer_problem(query, checked.answer, checked.citations, self.settings, passages) \
            if check else ("", "")
        if rule:  # supported, but not what was asked: no number for "how many", a description for "which show"
            refused.checks = [replace(c, action="removed", rule=rule, detail=found)
                              if c.action in ("kept", "recited", "marked") else c for c in checked.checks]
            return refused
        if short and not phrase_in(short, checked.answer + " " + " ".join(c.quote for c in checked.citations)):
            short = ""  # the short answer says something the verified answer no longer does
        short = short or self.short_answer(query, checked.answer)
        if self.settings.answer_type_check:
            checked.answer, short = with_polarity(query, polarity, checked.answer, body, short)
        if wants_date(self.settings, query, filters, window.bound):
            checked.answer = dated(checked.answer, checked.citations[0].date)
        result = Answer(question=question, standalone_question=query, answer=checked.answer,
                        short_answer=short or short_from(checked.answer), refused=False,
                        citations=checked.citations, passages=passages, draft=text, checks=checked.checks)
        if check and self.settings.check_sources:
            self.disagreements(result, evidence or self.evidence(passages))
        return result

    def ask(self, question: str, k: int | None = None, filters: Filters | None = None,
            standalone: str | None = None) -> Answer:
        """The verified answer. Ctrl-C (in the main thread) stops the generator itself, then raises
        KeyboardInterrupt here, so `qa ask` ends at once and no half-read stream is left for Python to close."""
        clear_cancel()
        try:
            with cancel_on_interrupt():
                for event in self.stream(question, k, filters, standalone, live=False):
                    if event.answer is not None:
                        return event.answer
        except Cancelled:
            raise KeyboardInterrupt from None
        finally:
            clear_cancel()
        raise AssertionError("stream ended without an answer")

    def as_runnable(self) -> Runnable[dict[str, Any], Answer]:
        """The chain as a LangChain runnable: {"question", "k"?, "filters"?} -> Answer."""
        return RunnableLambda(lambda x: self.ask(x["question"], x.get("k"), x.get("filters")))


def make_assistant(settings: Settings) -> Assistant:
    """The assistant with the backends the settings name (embeddings, store, generator)."""
    from qa.embedding import make_embeddings
    from qa.llms import make_llm
    from qa.store import open_store

    embeddings = make_embeddings(settings)
    store = open_store(settings, embeddings)
    return Assistant(settings, Retriever(store), make_llm(settings), embeddings)
