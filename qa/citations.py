"""Parse [n] markers, check every cited sentence against its passage, re-cite or drop, quote exact spans."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date

from qa.chunking import sentence_spans
from qa.llms import STOP, content_words
from qa.prompts import REFUSAL
from qa.retrieval import MONTHS
from qa.types import Citation, Passage

Embed = Callable[[list[str]], list[list[float]]]
MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;]\s*\d+)*)\]")
# The "Short answer:" line; models sometimes put the answer's markers in front of it ("[2] [3] Short answer: ...").
SHORT = re.compile(r"^((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])*)\s*\**short answer\**\s*:\**\s*(.*)$",
                   re.IGNORECASE | re.MULTILINE)
REFUSAL_HINTS = ("cannot answer", "can't answer", "unable to answer", "do not answer the question",
                 "does not answer the question", "do not contain", "does not contain", "not provided in the sources",
                 "no information", "not mentioned in the sources", "do not mention", "does not mention",
                 "do not provide", "does not provide", "not specified in the sources", "do not say", "does not say",
                 "not disclosed")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
NAME = re.compile(r"\b[^\W\d_][\w'’.-]*[^\W\d_]")  # capitalised: checked in claim_names
# Claims and passages name the same thing differently; a name matches if any of its aliases occurs.
ALIASES = {"us": ("u.s.", "united states", "america"), "u.s.": ("united states", "us ", "america"),
           "u.s": ("united states", "us ", "america"),
           "united": ("u.s.", "us "), "states": ("u.s.", "us "), "america": ("u.s.", "united states"),
           "american": ("u.s.", "united states"), "uk": ("u.k.", "united kingdom", "britain"),
           "britain": ("u.k.", "united kingdom"), "washington": ("u.s.", "united states"),
           "un": ("u.n.", "united nations"), "u.n.": ("united nations",)}
GENERIC_CAPS = {"according", "however", "secretary", "minister", "president", "prime", "the", "in", "on", "he",
                "she", "they", "it", "this", "that", "these", "his", "her", "their", "both", "while", "during",
                "after", "before", "source", "sources", "yes", "no", "mr", "ms", "mrs", "dr", "general"}

# Verification thresholds. Documented in README ("Citations you can trust"); chosen on the dev questions.
MIN_SUPPORT = 0.5   # combined support a cited passage must reach
MIN_EMBED = 0.45    # ... with at least this embedding similarity to one of its sentences
MIN_LEXICAL = 0.5   # ... or at least this share of the claim's content words in the passage
OFF_TOPIC = 0.25    # a later answer sentence sharing no word with the question needs this similarity to it


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


def _numbers(text: str) -> list[int]:
    return [int(x) for m in MARKER.finditer(text) for x in re.split(r"\s*[,;]\s*", m.group(1))]


def answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """(sentence without markers, cited numbers) for each sentence of an answer.

    Models put markers after a sentence ("... Iran [3].", "... Iran. [3]") or, less often, before it
    ("[3] Iraq depends ..."); an answer that opens with a marker is read in the second style."""
    text = re.sub(r"\b([A-Z])\. ([A-Z])\.", r"\1.\2.", text.strip())  # models write "U. S." for "U.S."
    text = re.sub(r"([.!?])\s+(\[\d)", "\\1\n\\2", text)  # "... power. [2] Next": a sentence ends there
    leading = MARKER.match(text) is not None
    out: list[tuple[str, list[int]]] = []
    carry: list[int] = []
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        head = re.match(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+", sentence)
        head_nums = _numbers(head.group()) if head else []
        body = sentence[head.end():] if head else sentence
        nums = _numbers(body)
        clean = " ".join(MARKER.sub("", body).split())
        if head_nums and not leading and out:
            out[-1][1].extend(head_nums)  # "... Iran. [3] Next sentence": the marker closes the previous one
        elif head_nums:
            nums = head_nums + nums
        if clean:
            out.append((clean, carry + nums))
            carry = []
        else:
            carry.extend(nums)
    if carry and out:
        out[-1][1].extend(carry)
    return out


def _norm_number(n: str) -> str:
    return n.replace(",", "").rstrip(".").lstrip("0") or "0"


# A number is a quantity with its magnitude: "10 member states" is not supported by "10 million Ukrainians", nor
# "$45 million" by "45 countries". Passages often spell small numbers out ("nine more years").
UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty")
SPELLED = {w: str(i) for i, w in enumerate(UNITS)} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
                                                     "seventy": "70", "eighty": "80", "ninety": "90",
                                                     "hundred": "100", "dozen": "12"}
MAGNITUDE = r"(?:\s*(%|percent\b|per cent\b|thousand\b|million\b|billion\b|trillion\b))?"
QUANTITY = re.compile(r"(\d+(?:[.,]\d+)*)" + MAGNITUDE, re.IGNORECASE)
SPELLED_QUANTITY = re.compile(r"\b(" + "|".join(SPELLED) + r")\b" + MAGNITUDE, re.IGNORECASE)


def quantities(text: str, spelled: bool = False) -> set[tuple[str, str]]:
    """(number, magnitude) pairs of a text: "$45 million" -> ("45", "million"), "45%" -> ("45", "percent")."""
    def unit(m: re.Match[str]) -> str:
        u = (m.group(2) or "").lower()
        return "percent" if u in ("%", "per cent") else u
    out = {(_norm_number(m.group(1)), unit(m)) for m in QUANTITY.finditer(text)}
    if spelled:
        out |= {(SPELLED[m.group(1).lower()], unit(m)) for m in SPELLED_QUANTITY.finditer(text)}
    return out


def fold(text: str) -> str:
    """Lower case without accents: names are written both ways (António/Antonio, Téte/Tete)."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


# Words capitalised only because they open a sentence ("Additionally, ...", "Several officials ..."): not names.
_OPENER_WORDS = """additionally also furthermore moreover overall meanwhile currently specifically notably finally
first firstly second secondly third lastly then thus therefore hence instead nevertheless nonetheless similarly
likewise later earlier previously recently subsequently consequently separately together several many some most
other another each every all such despite although though following amid among since until unlike including
besides initially ultimately still yet"""
OPENERS = frozenset(_OPENER_WORDS.split())
SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n)\W*$")


def claim_names(sentence: str) -> list[str]:
    """Capitalised words of a claim that name something (people, places, organisations); a word that opens a
    sentence is not one when it is a sentence opener ("Additionally,", "Several") or a long -ly adverb before a
    comma ("Reportedly,"; not "Italy,")."""
    out = []
    for m in NAME.finditer(sentence):
        if not m.group()[0].isupper():
            continue
        w = fold(re.sub(r"['’]s$", "", m.group()))
        if SENTENCE_START.search(sentence[:m.start()]) and (
                w in OPENERS or (w.endswith("ly") and len(w) >= 8 and sentence[m.end():m.end() + 1] == ",")):
            continue
        if w.rstrip(".") not in GENERIC_CAPS and w not in STOP and len(w) > 1:
            out.append(w)
    return out


# What kind of answer a question asks for, and how to see that an answer gives one. A "how many" question answered
# with a sentence holding no number has not been answered, however well that sentence is supported.
NUMBER_WORDS = (r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|twenty|thirty|"
                r"forty|fifty|hundreds?|thousands?|millions?|billions?|trillions?|half|several|no)\b")
MONTH_WORDS = (r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
               r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b")
DAY_WORDS = r"\b(?:yesterday|today|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
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


# A day written out in a claim ("on March 12, 2022", "12 March"): when it is the day its passage was published it
# is supported by the citation itself, which shows that date, though the article's text rarely repeats it.
WRITTEN_DAY = re.compile(rf"({MONTH_WORDS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?|"
                         rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({MONTH_WORDS})\.?(?:,?\s+(\d{{4}})\b)?",
                         re.IGNORECASE)


def without_publication_day(claim: str, published: str) -> str:
    """The claim without its mentions of `published` (ISO date), the day its passage was published."""
    try:
        day = date.fromisoformat(published[:10])
    except ValueError:
        return claim

    def same(m: re.Match[str]) -> str:
        month, d, year = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(5), m.group(4), m.group(6))
        if (MONTHS[month.lower()], int(d)) == (day.month, day.day) and (not year or int(year) == day.year):
            return ""
        return m.group()

    return WRITTEN_DAY.sub(same, claim)


def writes_out(word: str, claim: str, known: Callable[[str], bool]) -> bool:
    """`word` opens a person's name written out in the claim ("Antony J. Blinken") whose surname is `known`."""
    for m in re.finditer(r"[^\W\d_][\w'’-]*\.?", claim):
        if fold(m.group().rstrip(".")) != word:
            continue
        rest = re.match(r"(?:\s+[A-Z]\.)*(?:\s+[A-Z][\w'’-]+\.?){1,2}", claim[m.end():])
        if rest and known(fold(re.sub(r"['’]s$", "", rest.group().split()[-1].rstrip(".")))):
            return True
    return False


def name_in(name: str, text_low: str) -> bool:
    """A name occurs in the text, allowing demonyms (Iran/Iranian, Syria/Syrian) and common aliases."""
    if name in text_low:
        return True
    if any(a in text_low for a in ALIASES.get(name, ())):
        return True
    stem = name[:-3] if name.endswith(("ian", "ese")) else name[:-1] if name.endswith(("n", "s")) else ""
    if len(stem) >= 4 and re.search(r"\b" + re.escape(stem), text_low) is not None:
        return True
    # Transliterated names are spelled several ways (Hussein/Hussain, Zelensky/Zelenskyy): one edit apart is the
    # same name when it is long enough and starts alike.
    return len(name) >= 5 and any(one_edit(name, w) for w in set(re.findall(r"[a-z][a-z'-]{3,}", text_low))
                                  if w[:2] == name[:2] and abs(len(w) - len(name)) <= 1)


def one_edit(a: str, b: str) -> bool:
    """a and b differ by at most one substitution, insertion or deletion."""
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + 1:] == b[i + 1:] if len(a) == len(b) else a[i:] == b[i + 1:]


def phrase_in(phrase: str, text: str) -> bool:
    """Every meaningful word of `phrase` occurs in `text` (demonyms and aliases allowed)."""
    low = fold(text)
    words = [fold(w) for w in re.findall(r"[^\W_][\w.'’-]*", phrase)]
    return all(name_in(re.sub(r"['’]s$", "", w).rstrip("."), low) for w in words if w not in STOP)


def cosine(a: list[float], b: list[float]) -> float:
    num = sum(x * y for x, y in zip(a, b))
    den = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return num / den if den else 0.0


INVENTED = ("numbers not in the passage", "names not in the passage")  # a claim's facts the passage lacks
FLAGGED_ONLY = "only text that imitates the assistant (flagged at ingest)"


def _flagged_between(passage: Passage, start: int, end: int) -> bool:
    from qa.flags import overlaps

    return overlaps(passage.flags, passage.start + start, passage.start + end)


def unflagged(passage: Passage, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """unflagged_evidence (any passage): its sentences without those that overlap a span flagged at ingest
    (qa.flags) — text imitating the assistant is never evidence, so a claim it alone supports is not verified."""
    if not passage.flags:
        return spans
    from qa.flags import overlaps

    return [(s, e) for s, e in spans if not overlaps(passage.flags, passage.start + s, passage.start + e)]


@dataclass
class Support:
    """How well one passage supports one claim, and the sentences that do."""

    score: float
    verified: bool
    start: int  # offsets into the passage text
    end: int
    reason: str = ""


@dataclass
class Evidence:
    """The passages shown for a question, split into sentences with embeddings, for checking claims."""

    passages: list[Passage]
    embed: Embed | None = None
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
                given: frozenset[str] = frozenset(), question: str = "") -> Support:
        """Numbers (with their magnitude) and names of the claim must occur in the passage or its article's title;
        its words or meaning must match. The numbers and month names the question itself uses (`given`) are its
        framing ("in July 2021"). The question's names restated in a claim that adds a name of its own (the
        answer, checked like any other) may be missing when the passage has most of them: it is about the same thing
        and words it differently ("Beirut's side" for Lebanon's delegation); a passage with few of them is about
        something else."""
        spans = self.spans[passage.n]
        if not spans:
            return Support(score=0.0, verified=False, start=0, end=0, reason=FLAGGED_ONLY)
        visible = self.visible(passage) if passage.flags else f"{passage.title} {passage.text}"
        text_low = fold(visible)
        words = content_words(claim)
        have = quantities(visible, spelled=True)
        # the article's date backs a claim's aside ("authorized on March 12"), not the answer to "when"
        own = claim if ASKS_WHEN.search(question) else without_publication_day(claim, passage.date)
        missing_numbers = [f"{n} {unit}".strip() for n, unit in sorted(quantities(own))
                           if n not in given and (n, unit) not in have]
        names = claim_names(own)
        missing_names = [n for n in names if n not in given and not name_in(n, text_low)]
        q_low = fold(question)
        if missing_names and any(not name_in(n, q_low) for n in names):
            premise = [n for n in dict.fromkeys(claim_names(question)) if n not in given]
            present = [n for n in premise if name_in(n, text_low)]
            if len(present) >= 2 and 3 * len(present) >= 2 * len(premise):
                missing_names = [n for n in missing_names if n not in premise]
        # the first name of someone the question names by surname, and the claim too, supported ("Antony J. Blinken")
        unsupported = set(missing_names)
        missing_names = [n for n in missing_names
                         if not writes_out(n, own, lambda w: name_in(w, q_low) and w not in unsupported)]
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
            if 0 <= j < len(spans) and len((sent_words[j] | sent_words[best]) & words) - len(covered) >= 2 and not (
                    passage.flags and _flagged_between(passage, spans[min(j, best)][0], spans[max(j, best)][1])):
                lo, hi = min(lo, j), max(hi, j)
                covered |= sent_words[j] & words
        embed_sim = max(sims) if sims else lexical
        score = round(0.5 * embed_sim + 0.5 * lexical, 3)
        reason = ""
        if missing_numbers:
            reason = f"{INVENTED[0]}: {', '.join(missing_numbers)}"
        elif missing_names:
            reason = f"{INVENTED[1]}: {', '.join(missing_names)}"
        elif score < MIN_SUPPORT or (embed_sim < MIN_EMBED and lexical < MIN_LEXICAL):
            reason = f"weak support ({score:.2f})"
        return Support(score=score, verified=not reason, start=spans[lo][0], end=spans[hi][1], reason=reason)

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
    """The verified answer text and its citations, plus what was changed and why."""

    answer: str
    citations: list[Citation]
    removed: list[str] = field(default_factory=list)
    recited: list[str] = field(default_factory=list)


def _citation(p: Passage, s: Support) -> Citation:
    return Citation(n=p.n, article_id=p.article_id, title=p.title, source=p.source, date=p.date, url=p.url,
                    quote=p.text[s.start:s.end], start=p.start + s.start, end=p.start + s.end,
                    verified=s.verified, support=s.score,
                    flags=list(dict.fromkeys(r for f in p.flags for r in f.reason.split("; "))))


def verify(answer: str, evidence: Evidence, unsupported: str = "remove", check: bool = True,
           question: str = "", not_before: str = "") -> Checked:
    """Check each sentence against the passages it cites; re-cite to another shown passage that supports it;
    remove (or mark) sentences nothing supports. Markers pointing at no passage shown are dropped.
    With `check=False` (the unverified baseline) every valid marker is kept as the model wrote it.
    Given the question, a sentence after the first that shares nothing with it is dropped as filler (small models
    pad answers with true but unrelated sentences copied from the sources). `not_before` (ISO date: the start of
    the period the question asks about) rules out passages of articles published before it: a release of April
    cannot report what was announced in September."""
    shown = {p.n: p for p in evidence.passages if not (check and not_before and p.date and p.date[:10] < not_before)}
    sentences = answer_sentences(answer)
    claims = [s for s, _ in sentences]
    vecs = evidence.embed(claims) if evidence.embed and claims else [None] * len(claims)
    qwords = content_words(question)
    qvec = evidence.vector(question) if question else None
    # Numbers and month or day names the question uses ("in July 2021") are its framing; its other names are not
    # exempt: "Who died in the Baku blast?" must not be answered from a passage about another blast.
    given = frozenset(_norm_number(n) for n in NUMBER.findall(question)) | frozenset(
        m.group().lower() for m in re.finditer(f"{MONTH_WORDS}|{DAY_WORDS}", question, re.IGNORECASE))
    out_text: list[str] = []
    citations: list[Citation] = []
    checked = Checked(answer="", citations=citations)
    said: list[set[str]] = []
    lead_failed = False
    for (sentence, nums), vec in zip(sentences, vecs):
        words = content_words(sentence)
        if any(len(words & w) >= 0.8 * max(1, len(words)) for w in said):
            continue  # small models repeat themselves; say it once
        said.append(words)
        if check and question and out_text and not (words & qwords) and \
                (qvec is None or vec is None or cosine(qvec, vec) < OFF_TOPIC):
            checked.removed.append(sentence)
            continue
        if check and sentence.rstrip().endswith("?"):  # a reporter's question copied from a briefing claims nothing
            checked.removed.append(sentence)
            continue
        if is_refusal(sentence):  # "The sources do not say how Sudani responded." cites nothing: a checked answer
            if check:             # holds only cited sentences (the refusal of a whole answer is decided before)
                checked.removed.append(sentence)
            else:
                out_text.append(sentence)
            continue
        cited = [n for n in dict.fromkeys(nums) if n in shown]
        supports = {n: evidence.support(sentence, shown[n], vec, given, question) for n in cited}
        if not check:
            out_text.append(sentence + "".join(f" [{n}]" for n in cited))
            citations.extend(_citation(shown[n], replace(supports[n], verified=False)) for n in cited)
            continue
        good = [n for n in cited if supports[n].verified]
        others: dict[int, Support] = {}
        if not good:
            others = {n: evidence.support(sentence, p, vec, given, question) for n, p in shown.items()
                      if n not in cited}
            ranked = sorted((s.score, n) for n, s in others.items() if s.verified)
            if ranked:
                n = ranked[-1][1]
                supports[n] = others[n]
                good = [n]
                if cited:
                    checked.recited.append(sentence)
        if not good:
            if unsupported == "mark":
                out_text.append(sentence + " [unsupported]")
            else:
                checked.removed.append(sentence)
                closest = max([*supports.values(), *others.values()], key=lambda x: x.score, default=None)
                if not out_text and question and closest is not None and closest.reason.startswith(INVENTED):
                    lead_failed = True  # the answer's own number or name is in no passage shown: it was invented
            continue
        if lead_failed:  # ... and what the model added around an invented answer answers nothing
            checked.removed.append(sentence)
            continue
        out_text.append(sentence + "".join(f" [{n}]" for n in good))
        citations.extend(_citation(shown[n], supports[n]) for n in good)
    checked.answer = " ".join(out_text)
    return checked
