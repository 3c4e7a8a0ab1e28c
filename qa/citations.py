"""Verification: parse [n] markers, decide every draft sentence by a table of named rules (`RULES`), re-cite or
drop, quote exact spans.

Each rule is one `Rule`: a name, what it checks, when it applies, its check, and the `Verification` settings it
reads. `verify` walks the table: first the sentence rules (is it a claim at all?), then, for each passage it could
cite, the claim rules (does this passage support it?), then the answer rules. Every draft sentence ends as one
`Check` (kept, recited, removed or marked) naming the rule that decided it; `qa ask --json` prints them as
`checks` and `qa ask --why` reads them out. The README's rule list is `rules_markdown()` (a test keeps them equal).
The verifier depends only on qa.text, qa.types, qa.config (its thresholds) and the refusal phrase.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from qa.answer_type import fills, focus_of, missing_names, slot_sentences
from qa.config import Verification
from qa.countries import missing_countries
from qa.prompts import REFUSAL, source_meta
from qa.text import (
    DAY_WORDS,
    FUTURE,
    MARKER,
    MONTH_WORDS,
    NUMBER,
    QUANTITY,
    STOP,
    WRITTEN_DAY,
    answer_sentences,
    claim_names,
    content_words,
    fold,
    markers,
    name_in,
    norm_number,
    one_edit,
    quantities,
    sentence_spans,
    stems,
    written_day,
)
from qa.types import Check, Citation, Passage

__all__ = ["MARKER", "MONTH_WORDS", "QUANTITY", "fold", "one_edit", "quantities"]  # kept importable from here

Embed = Callable[[list[str]], list[list[float]]]

# --- reading a draft: the "Short answer:" line, sentences and their markers, refusals ---------------------------
# The "Short answer:" line; models sometimes put the answer's markers in front of it ("[2] [3] Short answer: ...").
SHORT = re.compile(r"(?:^|(?<=[.!?\]])[ \t]+)((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*)\s*\**short answer\**\s*:\**\s*(.*)$",
                   re.IGNORECASE | re.MULTILINE)
REFUSAL_HINTS = ("cannot answer", "can't answer", "unable to answer", "do not answer the question",
                 "does not answer the question", "do not contain", "does not contain", "not provided in the sources",
                 "no information", "not mentioned in the sources", "do not mention", "does not mention",
                 "do not provide", "does not provide", "not specified in the sources", "do not say", "does not say",
                 "not disclosed")
# An answer that opens by saying the information was withheld is the honest "the sources don't say" (news often
# reports that an official "did not disclose" or "declined to comment"), whatever filler the model adds after it.
WITHHELD = re.compile(r"\b(?:did not|didn't|does not|do not|declined to|refused to|would not|wouldn't)\s+"
                      r"(?:disclose|say|specify|comment|reveal|elaborate)|\bnot (?:been )?(?:disclosed|specified|"
                      r"revealed|made public|known)\b", re.IGNORECASE)


def is_refusal(text: str) -> bool:
    """The model said the sources do not answer (in the agreed phrase or in its own words)."""
    low = " ".join(text.lower().split())
    if not low or REFUSAL.lower().rstrip(".") in low or any(h in low for h in REFUSAL_HINTS[:3]):
        return True
    sentences = answer_sentences(text)
    first = sentences[0][0] if sentences else low
    return (len(low) < 160 and any(h in low for h in REFUSAL_HINTS)) or WITHHELD.search(first) is not None


def split_short_answer(text: str) -> tuple[str, str]:
    """Separate the model's "Short answer:" line from the answer body."""
    m = SHORT.search(text)
    if not m:
        return text.strip(), ""
    short = MARKER.sub("", m.group(2)).strip().strip("*").strip()
    return (text[: m.start()] + m.group(1) + text[m.end():]).strip(), short


# --- names (the toolkit in qa/text.py: claim_names, name_in, phrase_in) ---------------------------------------
def writes_out(word: str, claim: str, known: Callable[[str], bool]) -> bool:
    """`word` opens a person's name written out in the claim ("Antony J. Blinken") whose surname is `known`."""
    for m in re.finditer(r"[^\W\d_][\w'’-]*\.?", claim):
        if fold(m.group().rstrip(".")) != word:
            continue
        rest = re.match(r"(?:\s+[A-Z]\.)*(?:\s+[A-Z][\w'’-]+\.?){1,2}", claim[m.end():])
        if rest and known(fold(re.sub(r"['’]s$", "", rest.group().split()[-1].rstrip(".")))):
            return True
    return False


# --- what a question asks for (the answer_type rule) ---------------------------------------------------------------
# A "how many" question answered with a sentence holding no number has not been answered, however well that
# sentence is supported.
NUMBER_WORDS = (r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|twenty|thirty|"
                r"forty|fifty|hundreds?|thousands?|millions?|billions?|trillions?|half|several|no)\b")
ANSWER_TYPES = (
    (re.compile(r"\bhow (?:many|much|long|far|old)\b|\bwhat (?:percentage|share|amount|number)\b", re.IGNORECASE),
     re.compile(NUMBER_WORDS + r"|\b(?:a|an) (?:day|week|month|year|decade|hour)s?\b", re.IGNORECASE)),
    (re.compile(r"\b(?:what|which) (?:date|day|year|month)\b|\bin what year\b", re.IGNORECASE),
     re.compile(rf"\d|{MONTH_WORDS}|{DAY_WORDS}", re.IGNORECASE)),
)
WHO = re.compile(r"^\W*(?:who|whom)\b", re.IGNORECASE)
ASKS_WHEN = re.compile(r"\bwhen\b|" + ANSWER_TYPES[1][0].pattern, re.IGNORECASE)
HOW_MANY = re.compile(r"\bhow many\s+((?:[\w'’-]+\s+){0,2}[\w'’-]+)", re.IGNORECASE)


def gives_answer_type(question: str, answer: str) -> bool:
    """The answer holds the kind of thing the question asks for (a number for "how many", a date for "what
    date", a name for "who"), beyond what the question itself already says; and a "how many X" answer that is a
    sentence counts X ("How many artillery rounds ...?" is not answered by a count of Javelins)."""
    rest = answer
    for n in NUMBER.findall(question):
        rest = re.sub(rf"(?<![\d.,]){re.escape(n)}(?![\d])", " ", rest)
    if not all(not asks.search(question) or gives.search(rest) for asks, gives in ANSWER_TYPES):
        return False
    if WHO.search(question):  # "Who ...?" is answered by naming someone the question does not already name
        q_low = fold(question)
        if not any(not name_in(n, q_low) and not re.fullmatch(f"{MONTH_WORDS}|{DAY_WORDS}", n)
                   for n in claim_names(rest)):
            return False
    counted = HOW_MANY.search(question)
    if counted and len(answer.split()) > 3:
        nouns = content_words(counted.group(1))
        return not nouns or bool(nouns & content_words(answer))
    return True


# --- dates --------------------------------------------------------------------------------------------------------
def without_publication_day(claim: str, published: str) -> str:
    """The claim without its mentions of `published` (ISO date), the day its passage was published, written out
    ("on April 27, 2022") or as the prompt's source header gives it ("2022-04-27")."""
    try:
        day = date.fromisoformat(published[:10])
    except ValueError:
        return claim

    def same(m: re.Match[str]) -> str:
        month, d, year = written_day(m)
        return "" if (month, d) == (day.month, day.day) and (year is None or year == day.year) else m.group()

    claim = re.sub(rf"(?<![\d-]){day.isoformat()}(?![\d-])", "", claim)
    return WRITTEN_DAY.sub(same, claim)


def question_framing(question: str) -> frozenset[str]:
    """The numbers and month or day names the question uses ("in July 2021"): its framing, which a passage need
    not repeat. Its other names are not exempt: "Who died in the Baku blast?" is not answered from another blast."""
    return frozenset(norm_number(n) for n in NUMBER.findall(question)) | frozenset(
        m.group().lower() for m in re.finditer(f"{MONTH_WORDS}|{DAY_WORDS}", question, re.IGNORECASE))


# --- polarity -------------------------------------------------------------------------------------------------------
NEGATION = re.compile(r"\b(?:not|no|never|nor|neither|cannot|none|nobody|nothing)\b|n['’]t\b|"
                      r"\b(?:refused|refuses|refusing|failed|fails|declined|declines) to\b", re.IGNORECASE)
# Negations that deny a whole clause ("No member approved", "nobody came"): what they negate is the clause's first
# words; the others ("did not approve", "refused to sign") negate the verb after them.
CLAUSE_NEGATION = re.compile(r"^(?:no|none|nobody|nothing|neither|nor)$", re.IGNORECASE)
# "not only", "no more than", "No. 2": words of negation that negate nothing.
NOT_NEGATING = re.compile(r"\bnot only\b|\bnot least\b|\bno (?:more|less|fewer|later|earlier) than\b|\bno\.\s*\d",
                          re.IGNORECASE)
# Pairs of words that say opposite things; each side's word forms (irregular ones written out), matched by stem.
_OPPOSITES = (("deny denied denies denial", "confirm confirmed confirms confirmation"),
              ("increase increased increases increasing", "decrease decreased decreases decreasing"),
              ("most", "least"), ("more", "less fewer"), ("highest", "lowest"), ("higher", "lower"),
              ("largest biggest", "smallest"),
              ("accept accepted accepts", "reject rejected rejects rejection"),
              ("approve approved approves approval", "reject rejected rejects rejection"),
              ("rise rose risen rising rises", "fall fell fallen falling falls"),
              ("win won wins winning", "lose lost loses losing"),
              ("allow allowed allows", "ban banned bans prohibit prohibited prohibits"),
              ("support supported supports", "oppose opposed opposes"),
              ("lift lifted lifts", "impose imposed imposes"),
              ("agree agreed agrees", "disagree disagreed disagrees"),
              ("include included includes", "exclude excluded excludes"),
              ("legal", "illegal"), ("success successful", "failure failed unsuccessful"),
              ("convict convicted", "acquit acquitted"), ("condemn condemned condemns", "praise praised praises"))


def _forms(words: str) -> frozenset[str]:
    return frozenset(stems(words.split()))


OPPOSITES = tuple((_forms(a), _forms(b), a.split()[0], b.split()[0]) for a, b in _OPPOSITES)


def negated(text: str) -> bool:
    """The text says something is not so ("did not", "never", "no longer", "isn't")."""
    return NEGATION.search(NOT_NEGATING.sub(" ", text)) is not None


def _stems_of(text: str) -> frozenset[str]:
    return frozenset(stems(re.findall(r"[a-z]+", fold(text))))


SCOPE_WORDS = 1  # a verb's negation is about the word it negates: the first content word after it ("did not disclose")
CLAUSE_WORDS = 3  # a clause's negation ("No U.S. forces with a combat role") is about its first content words


def negation_scope(text: str) -> frozenset[str]:
    """The stems of what the text's negations negate, within their clause: the first content word after a verb's
    negation ("did not, as expected, approve": a parenthesis after it is skipped), the first CLAUSE_WORDS after a
    clause's ("No member of the council approved")."""
    out: set[str] = set()
    plain = NOT_NEGATING.sub(" ", text)
    for m in NEGATION.finditer(plain):
        after = re.sub(r"^\s*,[^,]{0,60},", " ", plain[m.end():])  # "not, as expected, approve"
        clause = re.split(r"(?<!\b[A-Z])[.;:,!?](?:\s|$)", after, maxsplit=1)[0]  # "U.S." does not end it
        words = [w for w in re.findall(r"[a-z]+", fold(clause)) if w not in STOP and len(w) > 1]
        if CLAUSE_NEGATION.match(m.group()):
            out |= set(stems(words[:CLAUSE_WORDS]))
        else:  # the verb, past an adverb ("never formally approved")
            out |= set(stems([w for w in words if not (w.endswith("ly") and len(w) > 4)][:SCOPE_WORDS]))
    return frozenset(out)


def polarity_problem(claim: str, quote: str) -> str:
    """How the claim turns its quote around: a negation added or dropped, or a word swapped for its opposite
    ("" when it does neither). A negation the claim leaves out counts only when the claim says what it negates
    ("did not pledge" -> "pledged"), not when the claim is about another part of the quote."""
    if negated(claim) and not negated(quote):
        return "adds a negation the passage does not have"
    if negated(quote) and not negated(claim) and negation_scope(quote) & _stems_of(claim):
        return "leaves out the passage's negation"
    c, q = _stems_of(claim), _stems_of(quote)
    for a, b, word_a, word_b in OPPOSITES:
        for mine, theirs, said, meant in ((a, b, word_a, word_b), (b, a, word_b, word_a)):
            if c & mine and q & theirs and not q & mine and not c & theirs:
                return f"says {said!r} where the passage says {meant!r}"
    return ""


# --- the rules ----------------------------------------------------------------------------------------------------
def cosine(a: list[float], b: list[float]) -> float:
    num = sum(x * y for x, y in zip(a, b))
    den = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return num / den if den else 0.0


@dataclass
class Draft:
    """One draft sentence as the sentence rules see it."""

    sentence: str
    words: set[str]
    vec: list[float] | None
    said: list[set[str]]  # content words of the sentences before it
    kept_before: bool  # a sentence before it was kept
    question: str
    qwords: set[str]
    qvec: list[float] | None
    settings: Verification


@dataclass
class Claim:
    """One draft sentence against one passage, as the claim rules see it."""

    claim: str
    own: str  # the claim without the passage's publication day (unless the question asks when)
    passage: Passage
    visible: str  # what of the passage can be evidence: its title and unflagged text
    text_low: str  # ... folded
    given: frozenset[str]  # the question's framing
    question: str
    quote: str  # the passage sentence(s) that support the claim best
    period_start: str  # ISO day the period asked about starts ("this week", "in March"), "" when none
    score: float
    embed_sim: float
    lexical: float
    settings: Verification


def _repeated(d: Draft) -> str:
    share = d.settings.repeated
    return "repeats an earlier sentence" if any(len(d.words & w) >= share * max(1, len(d.words))
                                                for w in d.said) else ""


def _off_topic(d: Draft) -> str:
    if not (d.question and d.kept_before) or d.words & d.qwords:
        return ""
    if d.qvec is not None and d.vec is not None and cosine(d.qvec, d.vec) >= d.settings.off_topic:
        return ""
    return "off the question (filler): it shares no word with the question"


def _question_copied(d: Draft) -> str:
    return "a question copied from a source, not a claim" if d.sentence.rstrip().endswith("?") else ""


def _refusal_sentence(d: Draft) -> str:
    if not is_refusal(d.sentence):
        return ""
    return "says the sources do not answer, after sentences they do support" if d.kept_before else \
        "says the sources do not answer, and cites none"


def _numbers(c: Claim) -> str:
    have = quantities(c.visible, spelled=True)
    missing = [f"{n} {unit}".strip() for n, unit in sorted(quantities(c.own))
               if n not in c.given and (n, unit) not in have]
    return f"does not contain the numbers {', '.join(missing)}" if missing else ""


def _announced_ahead(c: Claim) -> str:
    """A passage published before the period asked about (within the two weeks `period` allows) supports only
    what it announces ahead ("will travel", "is scheduled"): what it reports as done was done before the period."""
    published = c.passage.date[:10]
    if not c.period_start or not published or published >= c.period_start or FUTURE.search(c.quote):
        return ""
    return f"was published {published}, before the period asked about, and reports this as already done"


def _dates(c: Claim) -> str:
    """A day the sentence gives with its year is a day the passage gives with that year: not the passage's month
    and day with the year taken from elsewhere (the question's "spring 2022" on a June 17, 2021 meeting)."""
    have: dict[tuple[int, int], set[int | None]] = {}
    for m in WRITTEN_DAY.finditer(c.visible):
        month, day, year = written_day(m)
        have.setdefault((month, day), set()).add(year)
    published = int(c.passage.date[:4]) if c.passage.date[:4].isdigit() else None
    wrong = []
    for m in WRITTEN_DAY.finditer(c.own):
        month, day, year = written_day(m)
        years = have.get((month, day))
        if year is None or years is None:  # no year claimed, or a day the passage does not give (`numbers`)
            continue
        if year in years or (None in years and (published is None or year in (published, published + 1))):
            continue
        wrong.append(m.group().strip())
    return f"gives {', '.join(wrong)}: the passage gives that day in another year" if wrong else ""


def _names(c: Claim) -> str:
    names = claim_names(c.own)
    missing = [n for n in names if n not in c.given and not name_in(n, c.text_low)]
    if missing:  # the first name of someone the question names by surname ("Antony J. Blinken")
        q_low, unsupported = fold(c.question), set(missing)
        missing = [n for n in missing
                   if not writes_out(n, c.own, lambda w: name_in(w, q_low) and w not in unsupported)]
    return f"does not contain the names {', '.join(missing)}" if missing else ""


def _weak_support(c: Claim) -> str:
    s = c.settings
    if c.score < s.min_support or (c.embed_sim < s.min_embed and c.lexical < s.min_lexical):
        return f"does not say this (weak support {c.score:.2f})"
    return ""


def _polarity(c: Claim) -> str:
    return polarity_problem(c.claim, c.quote)


FLAGGED_ONLY = "holds only text that imitates the assistant (flagged at ingest)"


def _flagged_only(c: Claim) -> str:
    return FLAGGED_ONLY if not c.quote else ""


def _answer_type(question: str, answer: str, _citations: list[Citation], _passages: list[Passage]) -> str:
    if gives_answer_type(question, MARKER.sub("", answer)):
        return ""
    return "does not give what the question asks for (a number, a date or a name)"


def _near_miss(question: str, passages: list[Passage]) -> str:
    focus = focus_of(question)
    if focus.kind in ("thing", "yesno") or any(slot_sentences(question, p.text, focus) for p in passages):
        return ""
    return "no passage shown holds what the question asks for next to the question's words"


def _answer_slot(question: str, answer: str, citations: list[Citation], _passages: list[Passage]) -> str:
    """The first sentence fills the asked slot from the quotes it cites (qa.answer_type.fills)."""
    sentences = answer_sentences(answer)
    cited = set(sentences[0][1]) if sentences else set()
    filled, why = fills(question, MARKER.sub("", answer), [c.quote for c in citations if c.n in cited])
    return "" if filled else why


def _cited_text(citations: list[Citation], passages: list[Passage]) -> str:
    """The titles and shown passages of the articles the answer cites: what `named_country` and `named_subject` read."""
    cited = {c.article_id for c in citations}
    return " ".join(f"{p.title} {p.text}" for p in passages if p.article_id in cited)


def _named_country(question: str, _answer: str, citations: list[Citation], passages: list[Passage]) -> str:
    """The countries the question names are mentioned by the articles the answer cites (their shown passages and
    titles); an answer from an article about another country answers another question (qa/countries.py)."""
    if not citations or not passages:
        return ""
    missing = missing_countries(question, _cited_text(citations, passages))
    return f"the articles it cites never mention {', '.join(missing)}: they are about another country" \
        if missing else ""


def _named_subject(question: str, _answer: str, citations: list[Citation], passages: list[Passage]) -> str:
    """The institutions, programmes and events the question names are mentioned by the articles the answer cites
    (their shown passages and titles): a same-topic article about another council or conference answers another
    question (qa.answer_type.missing_names)."""
    if not citations or not passages:
        return ""
    missing = missing_names(question, _cited_text(citations, passages))
    return f"the articles it cites never mention {', '.join(missing)}: they are about something else" \
        if missing else ""


@dataclass(frozen=True)
class Rule:
    """One verification rule: its name (what `checks` and `--why` call it), what it checks, when it applies, the
    class of sentences it is for, its check, and the `Verification` settings it reads."""

    name: str
    summary: str
    applies: str
    stage: str  # "sentence" (before any passage) | "claim" (against one passage) | "evidence" | "answer"
    check: Callable[..., str] | None = None  # "" lets the sentence through, else what the rule found
    settings: tuple[str, ...] = ()
    switch: str = ""  # a `Settings` flag that turns the rule off when false (QA_ANSWER_TYPE_CHECK)
    # the outcome when it acts: a removed sentence, a sentence kept but re-cited, a passage not used, an answer refused
    acts: str = "removes the sentence"


RULES: tuple[Rule, ...] = (
    Rule("repeated", "a sentence that repeats an earlier one is said once", "every sentence after the first",
         "sentence", _repeated, ("repeated",)),
    Rule("off_topic", "a sentence that shares no word with the question and is not close to it in meaning is "
         "filler", "sentences after the first kept one, when the question is known", "sentence", _off_topic,
         ("off_topic",)),
    Rule("question_copied", "a question (a reporter's, copied from a briefing) claims nothing",
         "sentences ending in a question mark", "sentence", _question_copied),
    Rule("refusal_sentence", "a sentence saying the sources do not answer cites nothing; a checked answer holds "
         "only cited claims (a draft that opens with one is a refusal as a whole)", "every sentence", "sentence",
         _refusal_sentence),
    Rule("shown_passage", "a marker pointing at no passage shown is dropped; the sentence is checked against the "
         "passages shown", "every [n] marker", "evidence", acts="drops the marker"),
    Rule("better_passage", "a sentence its cited passage supports only loosely is cited to the shown passage that "
         "says it (by `recite_margin` more, or with every content word of the sentence in its quote where the cited "
         "quote lacks some), so the quote is the passage's own words for the claim",
         "every supported sentence", "evidence", settings=("recite_margin",), acts="re-cites the sentence"),
    Rule("period", "a passage of an article published before the period the question asks about (two weeks of "
         "announcements allowed) is not evidence", "questions about a past period (\"in March 2022\", \"this week\")",
         "evidence", acts="drops the marker"),
    Rule("flagged_only", "text that imitates the assistant (flagged at ingest) is never evidence",
         "passages with flagged text", "claim", _flagged_only),
    Rule("announced_ahead", "a passage published in the two weeks before the period the question asks about "
         "supports only what it announces ahead (\"will\", \"scheduled\", \"next\"), not what it reports as done "
         "(that was done before the period: last month's sanctions are not this week's)",
         "questions about a past period (\"this week\", \"in March 2022\")", "claim", _announced_ahead),
    Rule("numbers", "every number of the sentence, with its magnitude, occurs in the passage or its title "
         "(\"10 member states\" is not \"10 million\"; spelled-out numbers count; the question's numbers and the "
         "day the article was published, unless the question asks when, need not)", "sentences with numbers",
         "claim", _numbers),
    Rule("dates", "a day the sentence gives with its year is a day the passage gives with that year (or without a "
         "year, in the year it was published or the next): a month and day from the passage with a year from "
         "elsewhere is not supported", "sentences with a written day and year", "claim", _dates),
    Rule("names", "every name of the sentence occurs in the passage or its title (aliases, demonyms, accents and "
         "one-letter transliterations allowed; a word capitalised only because it opens the sentence is not a "
         "name; the first names of a person the question names by surname need not)",
         "sentences with capitalised words", "claim", _names),
    Rule("weak_support", "the sentence's words or meaning must match one of the passage's sentences (word overlap "
         "and MiniLM similarity)", "every sentence", "claim", _weak_support,
         ("min_support", "min_embed", "min_lexical")),
    Rule("polarity", "a sentence that adds or drops a negation, or swaps a word for its opposite "
         "(confirmed/denied, increased/decreased, most/least, accepted/rejected), relative to its quote is not "
         "supported by it", "every sentence a passage otherwise supports", "claim", _polarity),
    Rule("invented_lead", "when the answer's first sentence is removed because its own number or name is in no "
         "passage shown, the sentences around it go too", "sentences after a removed invented first sentence",
         "answer"),
    Rule("answer_type", "the answer as a whole must give what was asked: a number for \"how many\", a date for "
         "\"what date\", a name the question does not hold for \"who\"", "the kept answer, for such questions",
         "answer", _answer_type, acts="refuses the answer"),
    Rule("near_miss", "when no passage shown holds a span of the asked kind (a name, a count, a date) in a sentence "
         "with the question's words and not bound to another predicate, the sources are about a neighbouring event "
         "and nothing is generated", "questions asking for a name, number, place or date, unless "
         "QA_ANSWER_TYPE_CHECK=false", "evidence", _near_miss, switch="answer_type_check",
         acts="refuses the question before generating"),
    Rule("answer_slot", "the answer's first sentence fills the slot the question asks for with a span of the asked "
         "kind (person, organisation, work, event, place, number with its unit, date, yes/no) from the quote it "
         "cites: not a description, not a span of another kind, not a count bound to another predicate (died for "
         "arrested), not the question restated", "the kept answer, unless QA_ANSWER_TYPE_CHECK=false", "answer",
         _answer_slot, switch="answer_type_check", acts="refuses the answer"),
    Rule("named_country", "the articles the answer cites mention every country the question names (a name, or a "
         "form of it: Honduran, Afghan): an answer from a same-topic article about another country answers "
         "another question", "questions naming a country other than the U.S.", "answer", _named_country,
         acts="refuses the answer"),
    Rule("named_subject", "the articles the answer cites mention every institution, programme or event the "
         "question names (the whole name, its initials, or at least half the words that say which one): an answer "
         "about another council or conference answers another question", "questions naming an institution, "
         "programme or event", "answer", _named_subject, acts="refuses the answer"),
)
RULE = {r.name: r for r in RULES}
SENTENCE_RULES = [r for r in RULES if r.stage == "sentence"]
CLAIM_RULES = [r for r in RULES if r.stage == "claim" and r.name != "flagged_only"]
INVENTED = ("numbers", "names")  # a claim's own facts the passage lacks


def switched_on(rule: Rule, settings: Any = None) -> bool:
    """The rule applies with these settings (no settings: every rule applies)."""
    return not rule.switch or settings is None or bool(getattr(settings, rule.switch))


def answer_problem(question: str, answer: str, citations: list[Citation] | None = None,
                   settings: Any = None, passages: list[Passage] | None = None) -> tuple[str, str]:
    """(rule, what it found) for a checked answer (with its [n] markers) that does not give what the question asks,
    by the answer-stage rules in table order; ("", "") when it does. `citations`: the answer's, whose quotes the
    filling span must come from; `settings`: whose switches turn rules off (None: all apply); `passages`: those
    shown (the articles the answer cites must mention the countries the question names)."""
    for rule in RULES:
        if rule.stage == "answer" and rule.check is not None and switched_on(rule, settings) and \
                (found := rule.check(question, answer, citations or [], passages or [])):
            return rule.name, found
    return "", ""


def near_miss(question: str, passages: list[Passage], settings: Any = None) -> str:
    """What the `near_miss` rule found for these passages ("" when some passage holds the asked slot)."""
    rule = RULE["near_miss"]
    return rule.check(question, passages) if rule.check and switched_on(rule, settings) else ""


def rules_markdown() -> str:
    """The rule list of README.md ("Citations you can trust"), generated from `RULES`."""
    out = []
    for r in RULES:
        knobs = f" Settings: {', '.join(f'`verification.{s}`' for s in r.settings)}." if r.settings else ""
        out.append(f"- `{r.name}` ({r.applies}): {r.summary}; it {r.acts}.{knobs}")
    return "\n".join(out)


def rule_actions(results: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """How often each rule decided a draft sentence (other than keeping it as cited), per split of the question
    set: {rule: {"dev": n, "heldout": n}} over evaluation result rows."""
    out: dict[str, dict[str, int]] = {}
    for row in results:
        split = str((row.get("extra") or {}).get("split") or "all")
        for c in (row.get("answer") or {}).get("checks") or []:
            if c.get("rule") not in ("supported", "unchecked"):
                counts = out.setdefault(str(c.get("rule")), {})
                counts[split] = counts.get(split, 0) + 1
    return dict(sorted(out.items()))


# --- evidence -----------------------------------------------------------------------------------------------------
def _overlaps_flag(passage: Passage, start: int, end: int) -> bool:
    """Some text flag of the passage's article (qa.flags.Flag, article offsets) covers part of text[start:end]."""
    s, e = passage.start + start, passage.start + end
    return any(f.field == "text" and f.start < e and f.end > s for f in passage.flags)


def unflagged(passage: Passage, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """unflagged_evidence (any passage): its sentences without those that overlap a span flagged at ingest
    (qa.flags) — text imitating the assistant is never evidence, so a claim it alone supports is not verified."""
    if not passage.flags:
        return spans
    return [(s, e) for s, e in spans if not _overlaps_flag(passage, s, e)]


@dataclass
class Support:
    """How well one passage supports one claim, the sentences that do, and the rule that failed (if one did)."""

    score: float
    verified: bool
    start: int  # offsets into the passage text
    end: int
    reason: str = ""  # what the failing rule found
    rule: str = ""  # the failing rule ("" when verified)


@dataclass
class Evidence:
    """The passages shown for a question, split into sentences with embeddings, for checking claims."""

    passages: list[Passage]
    embed: Embed | None = None
    settings: Verification = field(default_factory=Verification)
    spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    vectors: dict[int, list[list[float]]] = field(default_factory=dict)
    _memo: dict[str, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for p in self.passages:
            self.spans[p.n] = unflagged(p, sentence_spans(p.text) or [(0, len(p.text))])
        if self.embed is not None:
            order = [(p.n, s, e) for p in self.passages for s, e in self.spans[p.n]]
            by_n = {p.n: p for p in self.passages}
            vecs = self.embed([by_n[n].text[s:e] for n, s, e in order]) if order else []
            for (n, _s, _e), v in zip(order, vecs):
                self.vectors.setdefault(n, []).append(v)

    def vector(self, text: str) -> list[float] | None:
        """The embedding of one text (the question), computed once per answer."""
        if self.embed is None:
            return None
        if text not in self._memo:
            self._memo[text] = self.embed([text])[0]
        return self._memo[text]

    def visible(self, passage: Passage) -> str:
        """What of a passage can be evidence: its title unless flagged, and its sentences that are not flagged."""
        title = "" if any(f.field == "title" for f in passage.flags) else passage.title
        return " ".join([title, *(passage.text[s:e] for s, e in self.spans[passage.n])])

    def support(self, claim: str, passage: Passage, claim_vec: list[float] | None,
                given: frozenset[str] = frozenset(), question: str = "", period_start: str = "") -> Support:
        """The claim rules, in table order, on one passage: the first that finds a problem decides. The quote is
        the passage sentence the claim matches best (with a neighbour when that covers clearly more of it)."""
        spans = self.spans[passage.n]
        if not spans:
            return Support(score=0.0, verified=False, start=0, end=0, reason=FLAGGED_ONLY, rule="flagged_only")
        visible = self.visible(passage) if passage.flags else f"{passage.title} {passage.text}"
        words = content_words(claim)
        sent_words = [content_words(passage.text[s:e]) for s, e in spans]
        lex_sent = [len(words & w) / max(1, len(words)) for w in sent_words]
        lexical = len(words & set().union(*sent_words)) / max(1, len(words))
        sims = [cosine(claim_vec, v) for v in self.vectors.get(passage.n, [])] if claim_vec else []
        per_sentence = [0.5 * lx + 0.5 * (sims[i] if sims else lx) for i, lx in enumerate(lex_sent)]
        best = max(range(len(spans)), key=lambda i: per_sentence[i])
        # Extend the quote to a neighbouring sentence when that covers clearly more of the claim.
        lo = hi = best
        covered = sent_words[best] & words
        for j in (best - 1, best + 1):
            if 0 <= j < len(spans) and len((sent_words[j] | sent_words[best]) & words) - len(covered) >= \
                    self.settings.quote_extra_words and not (
                    passage.flags and _overlaps_flag(passage, spans[min(j, best)][0], spans[max(j, best)][1])):
                lo, hi = min(lo, j), max(hi, j)
                covered |= sent_words[j] & words
        embed_sim = max(sims) if sims else lexical
        score = round(0.5 * embed_sim + 0.5 * lexical, 3)
        # the article's date backs a claim's aside ("authorized on March 12"), not the answer to "when"
        # ... nor is the source header the prompt shows, which small models paste in ("(Reuters, 2022-04-27)")
        header = source_meta(passage.source, passage.date)
        own = claim if ASKS_WHEN.search(question) else \
            without_publication_day(claim.replace(header, " ") if header else claim, passage.date)
        ctx = Claim(claim=claim, own=own, passage=passage, visible=visible, text_low=fold(visible), given=given, question=question,
                    quote=passage.text[spans[lo][0]:spans[hi][1]], score=score, embed_sim=embed_sim,
                    lexical=lexical, settings=self.settings, period_start=period_start)
        for rule in CLAIM_RULES:
            if found := rule.check(ctx) if rule.check else "":
                return Support(score=score, verified=False, start=spans[lo][0], end=spans[hi][1], reason=found,
                               rule=rule.name)
        return Support(score=score, verified=True, start=spans[lo][0], end=spans[hi][1])

    def question_support(self, question: str) -> float:
        """How much of the question the best passage covers (words and meaning): the evidence gate's input."""
        qvec = self.vector(question)
        best = 0.0
        words = content_words(question)
        for p in self.passages:
            lexical = len(words & content_words(self.visible(p) if p.flags else f"{p.title} {p.text}")) / max(
                1, len(words))
            sim = max((cosine(qvec, v) for v in self.vectors.get(p.n, [])), default=0.0) if qvec else lexical
            best = max(best, 0.5 * lexical + 0.5 * sim)
        return best


@dataclass
class Checked:
    """The verified answer text and its citations, and what happened to every draft sentence (`checks`)."""

    answer: str
    citations: list[Citation]
    checks: list[Check] = field(default_factory=list)

    @property
    def removed(self) -> list[str]:
        """The sentences withdrawn (a repeated sentence is said once, not withdrawn)."""
        return [c.sentence for c in self.checks if c.action == "removed" and c.rule != "repeated"]

    @property
    def recited(self) -> list[str]:
        return [c.sentence for c in self.checks if c.action == "recited"]


def _says_all(words: frozenset[str] | set[str], p: Passage, s: Support) -> bool:
    """The quote a support chose holds every content word of the sentence (it says it, not only near it)."""
    return bool(words) and words <= content_words(p.text[s.start:s.end])


def _citation(p: Passage, s: Support) -> Citation:
    return Citation(n=p.n, article_id=p.article_id, title=p.title, source=p.source, date=p.date, url=p.url,
                    quote=p.text[s.start:s.end], start=p.start + s.start, end=p.start + s.end,
                    verified=s.verified, support=s.score,
                    flags=list(dict.fromkeys(r for f in p.flags for r in f.reason.split("; "))))


def _why_not(cited: list[int], shown: dict[int, Passage], old: set[int]) -> tuple[str, str]:
    """(rule, detail) for a sentence whose markers name no usable passage."""
    if not cited:
        return "shown_passage", "cites no source"
    if any(n in old for n in cited):
        return "period", f"cites {markers(cited).strip()}, published before the period the question asks about"
    return "shown_passage", f"cites {markers(cited).strip()}, which was not shown"


def without_headers(sentence: str, passages: Iterable[Passage]) -> str:
    """The sentence without the source headers of the prompt it copied ("... on Monday (Reuters, 2022-04-27)."): the
    citation under the answer gives the outlet and day; in the sentence they are the prompt's scaffolding."""
    out = sentence
    for header in {source_meta(p.source, p.date) for p in passages} - {""}:
        out = out.replace(header, "")
    if out == sentence:
        return sentence
    out = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", out)).strip()
    return out if re.search(r"\w", out) else sentence


def verify(answer: str, evidence: Evidence, unsupported: str = "remove", check: bool = True,
           question: str = "", not_before: str = "", period_start: str = "") -> Checked:
    """Decide every sentence of the draft by the rule table (`RULES`): the sentence rules first, then the claim
    rules against the passages it cites; re-cite it to another shown passage that supports it; remove (or mark)
    what nothing supports. Markers pointing at no passage shown are dropped. With `check=False` (the unverified
    baseline) every valid marker is kept as the model wrote it. `not_before` (ISO date: the start of the period the
    question asks about) rules out passages of articles published before it: a release of April cannot report
    what was announced in September. `period_start` (ISO date, the period's own start, after `not_before`): a
    passage published before it supports only what it announces ahead (the `announced_ahead` rule)."""
    old = {p.n for p in evidence.passages if check and not_before and p.date and p.date[:10] < not_before}
    shown = {p.n: p for p in evidence.passages if p.n not in old}
    sentences = answer_sentences(answer)
    claims = [s for s, _ in sentences]
    vecs = evidence.embed(claims) if evidence.embed and claims else [None] * len(claims)
    qwords = content_words(question)
    qvec = evidence.vector(question) if question else None
    given = question_framing(question)
    out_text: list[str] = []
    citations: list[Citation] = []
    checked = Checked(answer="", citations=citations)
    said: list[set[str]] = []
    lead_failed = False

    def decide(sentence: str, nums: list[int], action: str, rule: str, detail: str = "") -> None:
        checked.checks.append(Check(sentence=sentence, cited=list(dict.fromkeys(nums)), action=action, rule=rule,
                                    detail=detail))

    for (sentence, nums), vec in zip(sentences, vecs):
        draft = Draft(sentence=sentence, words=content_words(sentence), vec=vec, said=said,
                      kept_before=bool(out_text), question=question, qwords=qwords, qvec=qvec,
                      settings=evidence.settings)
        stop = next(((r.name, found) for r in SENTENCE_RULES
                     if (check or r.name == "repeated") and r.check and (found := r.check(draft))), None)
        if stop is None or stop[0] != "repeated":
            said.append(draft.words)
        if stop is not None and (check or stop[0] != "refusal_sentence"):
            decide(sentence, nums, "removed", *stop)
            continue
        if not check and is_refusal(sentence):  # the unverified baseline keeps the model's "the sources do not say ..."
            out_text.append(sentence)
            decide(sentence, nums, "kept", "unchecked", "QA_VERIFY=false")
            continue
        cited = [n for n in dict.fromkeys(nums) if n in shown]
        supports = {n: evidence.support(sentence, shown[n], vec, given, question, period_start) for n in cited}
        if not check:
            out_text.append(sentence + markers(cited))
            citations.extend(_citation(shown[n], replace(supports[n], verified=False)) for n in cited)
            decide(sentence, nums, "kept", "unchecked", "QA_VERIFY=false")
            continue
        good = [n for n in cited if supports[n].verified]
        others = {n: evidence.support(sentence, p, vec, given, question, period_start) for n, p in shown.items()
                  if n not in cited}
        # a shown passage that says it: in place of a failed citation, or (`better_passage`) of one only near it
        floor = max((supports[n].score for n in good), default=-1.0)
        margin = evidence.settings.recite_margin if good else 0.0
        # a quote holding every content word of the sentence says it; one that lacks some is only near it
        near = bool(good) and not any(_says_all(draft.words, shown[n], supports[n]) for n in good)
        ranked = sorted((s.score, n) for n, s in others.items() if s.verified and (
            s.score >= floor + margin or (near and s.score > floor and _says_all(draft.words, shown[n], s))))
        weak_cite: tuple[int, float] | None = None
        if ranked:
            if good:
                strongest = max(good, key=lambda n: supports[n].score)
                weak_cite = (strongest, supports[strongest].score)
            n = ranked[-1][1]
            supports[n] = others[n]
            good = [n]
        if not good:
            closest = max([*supports.items(), *others.items()], key=lambda x: x[1].score, default=None)
            mine = max(supports.items(), key=lambda x: x[1].score, default=None)
            if mine is not None:  # the rule that failed on its own citation, else on the closest passage
                rule, detail = mine[1].rule, f"[{mine[0]}] {mine[1].reason}"
                detail += "; no other source shown says it" if len(shown) > len(supports) else ""
            else:
                rule, detail = _why_not(list(dict.fromkeys(nums)), shown, old)
                if closest is not None:
                    rule, detail = closest[1].rule, f"{detail}; the closest, [{closest[0]}], {closest[1].reason}"
            if unsupported == "mark":
                out_text.append(sentence + " [unsupported]")
                decide(sentence, nums, "marked", rule, detail)
            else:
                decide(sentence, nums, "removed", rule, detail)
                if not out_text and question and closest is not None and closest[1].rule in INVENTED:
                    lead_failed = True  # the answer's own number or name is in no passage shown: it was invented
            continue
        if lead_failed:  # ... and what the model added around an invented answer answers nothing
            decide(sentence, nums, "removed", "invented_lead", "follows an answer whose own number or name is in "
                   "no source shown")
            continue
        out_text.append(without_headers(sentence, shown.values()) + markers(good))
        citations.extend(_citation(shown[n], supports[n]) for n in good)
        if weak_cite is not None:
            decide(sentence, nums, "recited", "better_passage", f"[{weak_cite[0]}] is near it ({weak_cite[1]:.2f}); "
                   f"[{good[0]}] says it ({supports[good[0]].score:.2f})")
        elif good[0] in cited:
            scores = ", ".join(f"[{n}] {supports[n].score:.2f}" for n in good)
            decide(sentence, nums, "kept", "supported", f"supported by {scores}")
        elif cited:
            first = supports[cited[0]]
            decide(sentence, nums, "recited", first.rule,
                   f"[{cited[0]}] {first.reason}; [{good[0]}] says it ({supports[good[0]].score:.2f})")
        else:
            rule, why = _why_not(list(dict.fromkeys(nums)), shown, old)
            decide(sentence, nums, "recited", rule, f"{why}; [{good[0]}] says it ({supports[good[0]].score:.2f})")
    checked.answer = " ".join(out_text)
    return checked
