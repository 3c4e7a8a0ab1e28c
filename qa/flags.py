"""Text in an article that imitates the assistant (its prompt or its answers) is data, and is shown to be.

At ingest every article (title and text) goes through the rules below. Each rule is a small named function that
finds one class of imitation; a match flags the line it is on (the sentence, in a long paragraph). Flags are
stored on the article record with their reason; flagged text is never shown to the generator as evidence and
never verifies a claim, and every citation from a flagged article carries the reasons.

The prompt's own labels and phrases are read from `qa.prompts`, so a change to the templates is covered here.
Ordinary interviews and briefing transcripts ("Q:", "A:", "QUESTION:" then "MR PRICE:") are not flagged: only
the assistant's own answer labels, source headers, citation markers, role tags and instructions to a model are.

The rules read a normalised view of the text (`normalised`): NFKC, accents and invisible format characters
(zero-width spaces and joiners, soft hyphens, bidi controls) removed, look-alike letters of other scripts (Cyrillic
"а", Greek "Ο") mapped to the ASCII letter they imitate (Unicode's confusables table, from the
`confusable-homoglyphs` package), other line separators read as line breaks. Every flag is mapped back to the
offsets of the original text, so a stored span is always `text[start:end]` of the article as ingested.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from qa import prompts

if TYPE_CHECKING:
    from qa.store import Store

Hit = tuple[int, int, str]  # (start, end, reason) of a match in the text
LONG_LINE = 300  # a flagged line longer than this (a paragraph) is narrowed to the sentence


LINE_BREAKS = "\r\x0b\x0c\x85\u2028\u2029"  # read as "\n" by the rules (one character for one)


# Lower-case Greek and Cyrillic letters that read as Latin ones in running text but that Unicode's confusables
# table leaves out (it lists only near-identical glyphs): written here, the one hand-made part of the mapping.
LOOSE = {"ε": "e", "ϵ": "e", "є": "e", "χ": "x", "κ": "k", "ϰ": "k", "τ": "t", "ω": "w", "ς": "c", "η": "n",
         "μ": "u", "ї": "i", "ɛ": "e"}


@lru_cache(maxsize=1)
def _confusables() -> dict[str, str]:
    """Non-ASCII character -> the ASCII character it is confusable with (Unicode TR39 confusables data)."""
    from confusable_homoglyphs.confusables import confusables_data

    out = {}
    for ch, glyphs in confusables_data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        ascii_ = [g["c"] for g in glyphs if len(g["c"]) == 1 and g["c"].isascii() and g["c"].isprintable()]
        if not ascii_:
            continue
        target = ascii_[0]
        if target == "l" and "CAPITAL" in unicodedata.name(ch, ""):
            target = "I"  # TR39 maps a capital I look-alike to "l"; in a label it stands for "I"
        out[ch] = target
    out.update({k: v for k, v in LOOSE.items() if k not in out})
    return out


@lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    """What one non-ASCII character reads as: "" for a format or combining character, else its NFKC form without
    accents, with look-alike letters mapped to ASCII."""
    if ch in LINE_BREAKS:
        return "\n"
    if unicodedata.category(ch) in ("Cf", "Mn", "Me", "Cc"):
        return ""
    table = _confusables()
    out = []
    if ch in table:  # before NFKC, which may turn a look-alike into a letter the table lacks ("ϲ" into "ς")
        return table[ch]
    for c in unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", ch)):
        if unicodedata.category(c) in ("Cf", "Mn", "Me"):
            continue
        out.append(c if c.isascii() else table.get(c, c))
    return "".join(out)


SEPARATORS = str.maketrans("_-", "  ")  # words joined by underscores or hyphens read as separate words
NON_ASCII = re.compile(r"[^\x00-\x7f\r\x0b\x0c]+|[\r\x0b\x0c]")


def normalised(text: str) -> tuple[str, list[int]]:
    """(view, where): the text as the rules read it, and for each character of the view the offset in `text` of
    the character it comes from (`where[len(view)] == len(text)`)."""
    if text.isascii() and not any(c in text for c in "\r\x0b\x0c"):
        return _unspaced(text.translate(SEPARATORS), list(range(len(text) + 1)))
    parts: list[str] = []
    where: list[int] = []
    last = 0
    for m in NON_ASCII.finditer(text):
        parts.append(text[last:m.start()])
        where.extend(range(last, m.start()))
        for i in range(m.start(), m.end()):
            folded = _fold(text[i])
            parts.append(folded)
            where.extend([i] * len(folded))
        last = m.end()
    parts.append(text[last:])
    where.extend(range(last, len(text) + 1))
    return _unspaced("".join(parts).translate(SEPARATORS), where)


SPACED = re.compile(r"(?<![A-Za-z0-9'’])(?:[A-Za-z0-9'’][ \t]){1,}[A-Za-z0-9'’](?![A-Za-z0-9'’])")


def _unspaced(view: str, where: list[int]) -> tuple[str, list[int]]:
    """Letters spaced out one by one ("M e s s a g e   f o r   A I") read as words. A run of three or more lone
    letters is such a word; a run of two ("I f") only beside one ("I f   y o u"), not in prose ("plan B a")."""
    runs = [(m.start(), m.end()) for m in SPACED.finditer(view)]
    if not runs:
        return view, where
    long_ = [r for r in runs if r[1] - r[0] >= 5]
    if not long_:
        return view, where
    drop: list[int] = []
    for s, e in runs:
        if e - s < 5 and not any(ls - 10 <= e and s <= le + 10 for ls, le in long_ if (ls, le) != (s, e)):
            continue
        drop.extend(range(s + 1, e, 2))
    if not drop:
        return view, where
    gone = set(drop)
    return ("".join(c for i, c in enumerate(view) if i not in gone),
            [w for i, w in enumerate(where) if i not in gone])


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


LEET = {"a": "a4@", "e": "e3", "i": "i1l!|", "l": "l1i|", "o": "o0", "s": "s5$", "t": "t7", "b": "b8", "g": "g9"}


def _word(word: str) -> str:
    """A label word as a pattern: its letters may be spaced out ("S h o r t") or written as digits ("Sh0rt")."""
    return r"[ \t]?".join(f"[{re.escape(LEET[c])}]" if c in LEET else re.escape(c) for c in word)


@lru_cache(maxsize=8)
def _label(words: frozenset[str]) -> re.Pattern[str]:
    """The labels, in any case and spacing ("SHORT  ANSWER :", "Short_answer:", "**Answer**:"), not glued to a
    preceding letter; where it stands is judged by `_where`."""
    alts = "|".join(sorted((r"[\s_\-]*".join(_word(w) for w in label.split()) for label in words),
                           key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z])(?:{alts})[*_]*[ \t]*:", re.IGNORECASE)


# What may stand between a line start (or a sentence end) and a label: markup, list markers, citation markers.
LEAD = re.compile(r"(?:\s|[>*_#•·▪‣◦~=|\-–—\"“”'‘’(\[{]|\[\d{1,3}\]|(?<![\w.])(?:\d{1,3}|[A-Za-z]|[ivxIVX]{2,4})[.):])+$")
SENTENCE_END = re.compile(r"[.!?…;:][\"”’')\]]*$")
SENTENCE_END_NO_COLON = re.compile(r"[.!?…;][\"”’')\]]*$")
# Words after which "answer:" is ordinary prose ("the short answer:", "his answer:", "an answer:").
DETERMINERS = frozenset(["a", "an", "the", "his", "her", "their", "its", "our", "my", "your", "whose", "this", "that", "these", "those", "one", "no", "any", "every", "each", "some", "another", "what", "which", "of", "in", "to", "for", "and", "or", "but", "as", "with", "without"])


def _where(text: str, start: int, colon: bool = True) -> str:
    """Where a label starting at `start` stands: "line" (at a line start or after a list marker or markup),
    "sentence" (after a sentence end on the same line), or the word before it (lower-cased)."""
    before = text[text.rfind("\n", 0, start) + 1:start]
    lead = LEAD.search(before)
    if lead:
        before = before[:lead.start()]
    if not before.strip():
        return "line"
    if (SENTENCE_END if colon else SENTENCE_END_NO_COLON).search(before):
        return "sentence"
    words = re.findall(r"[\w'’]+", before)
    return words[-1].lower() if words else "line"


def _possessive_or_determiner(word: str) -> bool:
    return word in DETERMINERS or word.endswith(("'s", "’s", "s'", "s’"))


def _labels_at(text: str, pattern: re.Pattern[str], mid_sentence: bool) -> Iterator[re.Match[str]]:
    """Matches of a label pattern at a line start, after a list marker or a sentence end; with `mid_sentence`
    also inside a sentence unless a determiner or possessive makes it prose ("the short answer:")."""
    for m in pattern.finditer(text):
        where = _where(text, m.start())
        if where in ("line", "sentence") or (mid_sentence and not _possessive_or_determiner(where)):
            yield m


def _snippet(matched: str) -> str:
    """The matched label as plain words for a reason (no brackets, quotes or control characters)."""
    return " ".join(re.sub(r"[^\w :|/-]", " ", matched).split())[:24]


def answer_label(text: str) -> Iterator[Hit]:
    """One of the assistant's answer labels ("Short answer:", "Answer:") at a line start, after a list marker or a
    sentence end, or inside a sentence unless it follows a determiner or a possessive ("the short answer:" and
    "the minister's answer:" are prose)."""
    for m in _labels_at(text, _label(template_labels()["answer"]), mid_sentence=True):
        yield m.start(), m.end(), f"imitates the answer format ({_snippet(m.group())})"


def question_answer_pair(text: str) -> Iterator[Hit]:
    """A "Question:" line followed within three lines by an answer label: the prompt's Q/A scaffolding. A
    briefing's "QUESTION:" followed by a speaker ("MR PRICE:") is an interview, not flagged."""
    answers = [m.start() for m in _labels_at(text, _label(template_labels()["answer"]), mid_sentence=True)]
    for m in _labels_at(text, _label(template_labels()["question"]), mid_sentence=False):
        after = text[m.end():]
        window = "\n".join(after.split("\n", 4)[:4])
        if any(0 <= a - m.end() <= len(window) for a in answers):
            yield m.start(), m.end(), "imitates the prompt's question/answer format"


SOURCE_HEADER = re.compile(r"^[ \t>*\-•]*\[\d{1,3}\][ \t]+\S|\(more from the article in \[\d+\]\)", re.MULTILINE)


def source_header(text: str) -> Iterator[Hit]:
    """A line opening with "[n] ..." (the prompt's numbered source header) or a "Sources:" list label."""
    for m in SOURCE_HEADER.finditer(text):
        yield m.start(), m.end(), "imitates the prompt's numbered source list"
    for m in _labels_at(text, _label(template_labels()["other"]), mid_sentence=False):
        yield m.start(), m.end(), f"imitates the prompt's labels ({_snippet(m.group())})"


CITATION_MARKER = re.compile(r"\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]")


def citation_marker(text: str) -> Iterator[Hit]:
    """A sentence carrying "[1]"-style markers, the way the assistant cites its sources."""
    for m in CITATION_MARKER.finditer(text):
        yield m.start(), m.end(), "carries citation markers like the assistant's answers"


ROLES = frozenset({"system", "user", "assistant", "human", "ai", "bot", "chatbot", "model", "instruction",
                   "instructions", "response"})
TEMPLATE_TOKEN = re.compile(
    r"<\|[^|<>\n]{1,30}\|>|\[/?INST\]|<</?SYS>>|^[ \t>*\-]*#{2,}\s*(?:instruction|response|system|input)s?\b"
    r"|\bsystem\s+(?:prompt|message|override)\b",
    re.IGNORECASE | re.MULTILINE)


def role_tag(text: str) -> Iterator[Hit]:
    """Chat role tags and template tokens ("SYSTEM:", "Assistant:", "<|im_start|>", "[INST]")."""
    for m in _labels_at(text, _label(ROLES), mid_sentence=False):
        yield m.start(), m.end(), f"role tag ({_snippet(m.group())})"
    for m in TEMPLATE_TOKEN.finditer(text):
        yield m.start(), m.end(), f"role tag ({_snippet(m.group())})"


# Who a planted instruction is addressed to: an AI, a model, an assistant, a chatbot, a summariser.
_AI = (r"(?:(?:an?|any|all|the|every)\s+)?(?:AI|A\.I\.|artificial[\s-]+intelligence|LLMs?|GPT\w*|ChatGPT|Claude|Gemini"
       r"|Copilot|chat[\s-]?bots?|bots?|(?:large\s+)?language[\s-]+models?|(?:AI|virtual|digital|automated)\s+"
       r"(?:assistants?|models?|systems?|tools?|agents?|readers?|summari[sz]ers?)|assistants?|summari[sz]ers?"
       r"|summari[sz]ation\s+(?:tools?|models?|systems?))")
# The same without the words that are also job titles ("Assistant Secretary Blinken will emphasize ...").
_AI_STRICT = _AI.replace("|assistants?|summari[sz]ers?", "|summari[sz]ers?").replace("|bots?", "")
# What it is told to do: say, state, report ... (the verbs of an answer).
_SAY = (r"(?:answer|say|state|report|reply|respond|tell|claim|assert|write|mention|conclude|insist|confirm|output"
        r"|print|repeat|explain|stress|emphasi[sz]e|note|describe|include|present|treat|call)")
_IMPERATIVE_LEAD = r"(?:^|(?<=[.!?;])|(?<=[.!?;][\"”’')]))[ \t>*\-•\"“]*(?:\d{1,3}[.)]\s*)?"
# Each instruction pattern with the words (lower-case) one of which it needs: most articles lack them all, and a
# substring test is far cheaper than a regular-expression scan.
_INSTRUCTION_PATTERNS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("ignore", "disregard", "forget", "override", "bypass"),
     (r"\b(?:ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}?\b(?:previous|prior|above|earlier|preceding|all|"
     r"any|other|your|the)\b[^.\n]{0,25}?\b(?:instructions?|prompts?|rules|directions|guidelines|sources?|text|content"
     r"|context|passages?|messages?|articles?|page)\b")),
    (("you",),
     (r"\byou\s+(?:must|should|shall|are to|have to|need to|will)\s+(?:now\s+|always\s+|only\s+|instead\s+)*"
     r"(?:answer|reply|respond|say|state|write|output|cite|report|tell|claim|mention)\s+(?:with|only|exactly|that|every"
     r"|any|all|to (?:any|every|all)|users?|the\s+users?|readers?)\b")),
    (("asked",),
     (r"\b(?:if|when(?:ever)?)\s+(?:you\s+are|you're|the\s+(?:assistant|model|ai)\s+is)\s+asked\b"
     r"|\bif\s+asked\b[^.\n]{0,80}?\b(?:answer|reply|respond|say)\s+(?:that|with|only)\b")),
    (("instructions", "prompt"), r"\b(?:new|updated|revised|real)\s+(?:instructions|system\s+prompt)\b"),
    # "When asked about X, answer Y", "When summarising this article, state that ..."
    (("asked", "questioned", "queried", "prompted", "summari", "paraphras", "answering", "responding"),
     r"\b(?:when(?:ever)?|if)\s+(?:being\s+|you\s+are\s+|you're\s+)?(?:asked|questioned|queried|prompted"
     r"|summari[sz]ing|paraphrasing|answering|responding)\b[^.\n]{0,120}?,\s*(?:please\s+|always\s+|just\s+"
     r"|simply\s+|only\s+)*(?:(?:answer|say|reply|respond|claim|insist)\b|" + _SAY + r"\s+(?:that|with|only|exactly"
     r"|:|\"|“))"),
    # "In your answer, state that ...", "In any summary, say ..."
    (("answer", "response", "repl", "summar", "output", "completion"),
     r"\bin\s+(?:your|any|the|every|each)\s+(?:answers?|responses?|replies|reply|summary|summaries|output|outputs"
     r"|completions?)\b[^.\n]{0,40}?[,:]\s*(?:please\s+|always\s+)*" + _SAY + r"\b"
     r"|\b(?:answer|reply\s+to|respond\s+to)\s+(?:every|any|all)\s+(?:\w+\s+)?questions?\s+(?:with|by\s+saying)\b"),
    # an imperative at a sentence start: "Please report that ...", "Always answer that ...", "State that ..."
    ((), _IMPERATIVE_LEAD + r"(?:please\s+|always\s+|just\s+|simply\s+|instead\s*,?\s+|now\s+)*" + _SAY +
     r"\s+(?:(?:to\s+)?(?:the\s+)?(?:users?|readers?|questioners?|anyone|everyone)\s+)?(?:only\s+)?"
     r"(?:that\b|with\s+(?:the\s+)?(?:words?|sentence|phrase|answer|statement)\b|exactly\b|only\b|:)"),
)
INSTRUCTIONS = tuple((words, re.compile(p, re.IGNORECASE | re.MULTILINE)) for words, p in _INSTRUCTION_PATTERNS)


ADDRESSED = re.compile(
    # addressed to a model: "Note to language models:", "Editor's note for AI assistants", "Dear chatbot,"
    r"\b(?:notes?|messages?|instructions?|reminders?|memo|notice|guidance|directives?|requests?|attention|warning"
    r"|editor'?s\s+note|P\.?S\.?)\s+(?:to|for)\s+" + _AI + r"\b"
    r"|\b(?:dear|hey|hello|hi)\s+" + _AI + r"\s*[,:!]"
    # a model named at a sentence start and told something: "Assistant, please report that ...", "AI models: say ..."
    + r"|" + _IMPERATIVE_LEAD + _AI + r"\s*[,:!]\s*(?:please\s+|you\s+|always\s+|never\s+|do\s+|don'?t\s+|when\s+|if\s+"
    r"|remember\b|ignore\b|" + _SAY + r"\b)"
    # a model as the subject of an instruction: "AI assistants summarising this article should state ..."
    r"|\b" + _AI_STRICT + r"\s+(?:[\w-]+\s+){0,4}?(?:must|should|shall|are\s+to|need\s+to|have\s+to|will)\s+"
    r"(?:always\s+|only\s+|now\s+|instead\s+|also\s+)*" + _SAY + r"\b"
    r"|\b" + _AI_STRICT + r"\s+(?:(?:that|who)\s+)?(?:reads?|reading|process(?:es|ing)?|summari[sz](?:es|ing|e)|crawl\w*|scrap\w*"
    r"|asked)\s+(?:this|these|the\s+(?:article|page|text|story|release|report))\b"
    r"|\b(?:if|when(?:ever)?)\s+" + _AI_STRICT + r"\s+(?:is\s+|are\s+)?(?:reads?|reading|asked|summari[sz]\w*|process\w*"
    r"|answer\w*|quer\w+|prompted)\b",
    re.IGNORECASE | re.MULTILINE)
# Where ADDRESSED may match (it is tried only around these words: most articles name no model).
AI_WORD = re.compile(r"\b(?:AI|A\.I|artificial|LLMs?|GPT\w*|ChatGPT|Claude|Gemini|Copilot|chat[\s-]?bots?|bots?"
                     r"|language|assistants?|summari[sz]\w*|models?)\b", re.IGNORECASE)


def instruction(text: str) -> Iterator[Hit]:
    """Instructions to a model: "ignore previous instructions", text addressed to an AI, a model, an assistant, a
    chatbot or a summariser ("Note to language models: ...", "Assistant, please report that ..."), and imperatives
    about what to answer, say, state or report ("When asked about X, answer Y", "Please state that ...")."""
    low = text.lower()
    for words, pattern in INSTRUCTIONS:
        if words and not any(w in low for w in words):
            continue
        for m in pattern.finditer(text):
            yield m.start(), m.end(), "instruction to the assistant"
    end = -1
    for hit in AI_WORD.finditer(text):
        if hit.start() < end:
            continue
        lo, end = max(0, hit.start() - 80), hit.end() + 240
        for m in ADDRESSED.finditer(text, lo, min(end, len(text))):
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
    lo = max(text.rfind(c, 0, start) for c in "\n" + LINE_BREAKS) + 1
    ends = [i for i in (text.find(c, end) for c in "\n" + LINE_BREAKS) if i >= 0]
    hi = min(ends) if ends else len(text)
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
    """Every span of `text` that imitates the assistant, merged, with the reasons that apply (sorted). The rules
    read `normalised(text)`; the spans are offsets into `text` itself."""
    spans: list[tuple[int, int, list[str]]] = []
    view, where = normalised(text)
    for rule in RULES:
        for s, e, reason in rule(view):
            lo, hi = _span(text, where[s], where[max(s, e - 1)] + 1)
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
