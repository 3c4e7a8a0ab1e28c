"""What a question asks for (its focus) and whether an answer gives it.

`focus_of(question)` reads the asked slot from the question: its kind (person, organisation, work/title, event,
place, number with its unit, date, yes/no, or "thing" for an open "what did ... do"), the head noun that names the
kind ("which awards show" -> "show"), and the predicate the slot is bound to ("how many people were arrested" ->
arrested). `fills(question, sentence, quotes)` checks an answer's first sentence against it: a span of the asked
kind that the question does not already hold, not a description ("a South Korean show" for "which show"), not a
span of another kind (a venue for an awards show), and, for a count or a name bound to an event predicate, not
the right kind of span for another predicate ("40 people died" for "how many were arrested"). `span_of` cuts a
short answer down to the span that fills the slot. Everything here is lexical and local: no model is called.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol, TypeVar

from qa.text import (
    GENERIC_CAPS,
    OPENERS,
    SENTENCE_START,
    SPELLED,
    STOP,
    answer_sentences,
    content_words,
    fold,
    name_in,
    phrase_in,
)


class _HasText(Protocol):
    text: str


P = TypeVar("P", bound=_HasText)
KINDS = ("person", "organisation", "work", "event", "place", "number", "date", "yesno", "thing")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The noun after "which"/"what" says what kind of thing is asked for. Checked last word first ("awards show" is a
# show, "army commander" a person).
HEADS = {
    "person": _words("""person man woman boy girl official minister president leader commander general envoy
        ambassador secretary spokesperson spokesman spokeswoman chief head director senator king queen prince
        princess ruler candidate journalist reporter activist dissident player athlete actor actress singer artist
        author writer ceo founder judge lawyer governor mayor premier chancellor diplomat officer winner individual
        politician lawmaker opponent successor predecessor nominee coach star celebrity billionaire executive pope
        cleric monarch emperor negotiator representative counterpart deputy chair chairman chairwoman rapper
        musician filmmaker novelist poet scientist doctor businessman businesswoman owner suspect victim hostage
        prisoner detainee defendant cofounder co-founder heir mogul tycoon economist commissioner administrator
        advisor adviser aide lieutenant colonel captain admiral sheikh emir prosecutor attorney"""),
    "organisation": _words("""company firm organisation organization group agency bank party militia ministry
        department entity network outlet newspaper broadcaster channel team club union alliance coalition bloc
        institution university charity brand carrier airline manufacturer maker retailer platform startup
        corporation fund council court parliament committee government regime cartel gang faction movement league
        studio publisher exchange insurer automaker lender nonprofit ngo association federation consortium
        conglomerate subsidiary business giant contractor supplier operator developer battalion brigade regiment"""),
    "work": _words("""show series film movie book novel song album play documentary programme program game app
        title podcast painting opera musical initiative plan act law bill treaty agreement accord strategy
        campaign operation project mission exercise word phrase slogan name nickname term drama sitcom memoir
        magazine website"""),
    "event": _words("""awards award ceremony summit conference festival election tournament championship games cup
        race contest event meeting forum competition olympics prize gala"""),
    "place": _words("""country nation city town village state province region capital island port territory
        continent area district county location place venue site border airport stadium river sea lake mountain
        neighborhood neighbourhood street building hotel prison base embassy consulate hospital arena destination
        republic kingdom emirate"""),
    "date": _words("year month day date deadline decade century weekday"),
    "number": _words("""number amount sum total percentage percent share figure price cost rate value toll count
        age proportion fraction score distance height temperature budget fine salary population"""),
}
HEAD_KIND = {w: kind for kind, words in HEADS.items() for w in words}
# What a capitalised span's last word says it is ("Radio City Music Hall" is a place, "the Grammy Awards" an event).
SPAN_SUFFIX = {
    # not "center": "the Carter Center", "the Kennedy Center" are institutions as often as buildings
    "place": _words("""hall arena stadium square park street avenue road airport palace theatre
        theater building tower island islands river sea ocean lake mountain mountains valley province county city
        district region oblast bay gulf coast bridge plaza gardens garden capitol"""),
    "organisation": _words("""inc inc. ltd ltd. corp corp. corporation company co co. bank group ministry agency
        party university council committee association foundation union organization organisation forces army
        navy front brigade institute commission authority service services department fund network airlines
        motors holdings partners league federation"""),
    "event": _words("""awards award summit conference games festival cup championship championships olympics
        forum prize prizes gala ceremony expo week"""),
}
# what an office is "of" ("Secretary of State", "Minister of Foreign Affairs"): part of the title, not the name
OFFICE_OF = _words("""the state defense defence foreign affairs home homeland security treasury commerce energy health
    agriculture interior justice labor labour education transportation transport veterans finance economy trade
    national public external internal environment culture""")
TITLES = _words("""president minister secretary general commander chief director ambassador envoy senator governor
    mayor king queen prince princess mr mr. ms ms. mrs mrs. dr dr. sir dame lord lady sheikh emir pope
    lieutenant colonel captain admiral major judge justice prime foreign defense defence deputy acting special
    assistant under spokesperson spokesman spokeswoman army chair chairman chairwoman ceo representative
    sen. rep. gov. gen. col. lt. capt. adm. premier chancellor vice first lady speaker""")
KIND_OK = {  # asked kind -> the kinds a span may be read as (a span whose kind is unknown always fits)
    "person": {"person", "organisation"},  # "who sanctioned ...?" is answered by an agency too
    "organisation": {"organisation"},
    "work": {"work", "event"},
    "event": {"event", "work"},
    "place": {"place"},
    "where": {"place", "event", "organisation"},  # "where" is answered by a venue: a conference, an institution
    "thing": set(KINDS),
}

# Predicates that news counts and names are bound to, in families that are confused with each other: a count of
# the dead does not answer "how many were arrested". Stems (Snowball) of the words that carry each.
FAMILIES = {
    "died": _words("""die died dead death deaths kill killed killing fatal fatalities fatality lives lost
        perish perished murdered massacred"""),
    "injured": _words("injur injured injuries injury wound wounded hurt hospitalized hospitalised"),
    "arrested": _words("""arrest arrested arrests detain detained detention detainees custody jail jailed
        imprisoned apprehended"""),
    "missing": _words("missing disappeared unaccounted"),
    "displaced": _words("""displace displaced flee fled refugee refugees evacuate evacuated homeless uprooted
        evacuees"""),
    "released": _words("release released freed rescued rescue"),  # not "free" (trade, elections)
    "charged": _words("""charge charged indict indicted convict convicted sentence sentenced prosecuted"""),
    "infected": _words("infect infected infections cases tested positive"),
    "vaccinated": _words("vaccinated vaccine vaccines vaccination doses shots jabs inoculated"),
    "won": _words("win won wins winner winners victory"),
    "lost": _words("lose lost loser defeated defeat"),
    "nominated": _words("nominated nomination nominee nominees shortlisted"),
    "resigned": _words("resign resigned resignation quit stepped"),
    "fired": _words("fire fired sacked dismissed ousted"),
    "hired": _words("hire hired appointed appoint named tapped"),
    "sold": _words("sell sold sale sales"),
    "bought": _words("buy bought purchase purchased acquire acquired acquisition"),
}


@lru_cache(maxsize=1)
def _family_stems() -> dict[str, frozenset[str]]:
    return {f: frozenset(content_words(" ".join(ws))) for f, ws in FAMILIES.items()}


def families(text: str) -> set[str]:
    """The predicate families whose words the text uses."""
    words = content_words(text)
    return {f for f, stems in _family_stems().items() if words & stems}


AUX = r"(?:is|are|was|were|am|do|does|did|has|have|had|can|could|will|would|should|shall|may|might|must)"
# "So far, did ...", "According to police, was ...": a short opening phrase before the auxiliary
YES_NO = re.compile(rf"^\W*(?:[^,?]{{1,60}},\s*)?(?:and |but |so )?{AUX}(?:n['’]t)?\b", re.IGNORECASE)
WH = re.compile(r"\b(who|whom|whose|what|which|when|where|why|how)\b", re.IGNORECASE)
HOW_NUMBER = re.compile(r"\bhow (many|much|long|far|old|big|large|high|tall|often)\b", re.IGNORECASE)
WHAT_NUMBER = re.compile(r"\bwhat (?:percentage|percent|share|amount|number|proportion|sum|total|price|age)\b",
                         re.IGNORECASE)
WHAT_DATE = re.compile(r"\b(?:what|which) (?:date|day|year|month|time|deadline)\b|\bin what year\b|"
                       r"\bby what (?:date|time|deadline)\b|^\W*when\b|\bwhen (?:did|does|do|was|were|is|will)\b",
                       re.IGNORECASE)
STOP_HEAD = re.compile(rf"^(?:{AUX}|to|of|in|on|at|for|from|by|with|that|who|which|whose|has|had|\w+ed)$",
                       re.IGNORECASE)
TIME_WORDS = _words("""week weekend month year today yesterday tuesday monday wednesday thursday friday saturday
    sunday recently latest last this past ago earlier""")


@dataclass(frozen=True)
class Focus:
    """What a question asks for: the kind of its answer, the noun naming it, the predicate it is bound to."""

    kind: str
    head: str = ""  # "show" in "which awards show", "people" in "how many people"
    predicate: frozenset[str] = field(default_factory=frozenset)  # stems the slot is bound to ("arrest")
    families: frozenset[str] = field(default_factory=frozenset)  # FAMILIES the predicate belongs to
    possessor: bool = False  # "which state's proposal": the answer often names it inside a longer name


def _after(question: str, end: int, limit: int = 5) -> list[str]:
    return re.findall(r"[\w'’.-]+", question[end:])[:limit]


def _head_word(word: str) -> str:
    """A question word as a HEADS key: lower case, possessive and plural taken off (countries, companies, cities)."""
    low = re.sub(r"['’]s?$", "", word.lower().strip(".,"))
    if low.endswith("s"):
        return next((b for b in (low, low[:-1], low[:-3] + "y", low[:-2]) if b in HEAD_KIND), low)
    return low


def _question_word(q: str) -> str:
    """The question's own wh-word: the first one not after a comma ("What did the official who resigned say?" asks
    "what"; a later "who"/"where" opens a relative clause), else the last ("After the vote, which was delayed, who
    won?")."""
    found = list(WH.finditer(q))
    # ", which was delayed twice," opens a clause; the question word is then the last after a comma
    m = next((m for m in found if not re.search(r",\s*$", q[:m.start()])), found[-1] if found else None)
    return m.group(1).lower() if m else ""


def focus_of(question: str) -> Focus:
    """The asked slot of a question (see the module's docstring)."""
    q = " ".join(question.split())
    kind, head, possessor = "thing", "", False
    if YES_NO.search(q) and not re.search(r"\b(?:which|what|who|whom|how many|how much)\b", q, re.IGNORECASE):
        kind = "yesno"
    elif (m := HOW_NUMBER.search(q)) or (m := WHAT_NUMBER.search(q)):
        kind = "number"
        if m.group().lower() in ("how many", "how much"):
            nouns = [w for w in _after(q, m.end(), 3) if not STOP_HEAD.match(w)]
            words = []
            for w in _after(q, m.end(), 3):
                if STOP_HEAD.match(w):
                    break
                words.append(w)
            head = (words or nouns[:1] or [""])[-1].lower()
        else:
            head = m.group().split()[-1].lower()
    elif (m := WHAT_DATE.search(q)):
        kind = "date"  # the head says how precise: "what date/day" a day, "what year" a year, "when" anything
        head = next((w for w in ("date", "day", "year", "month") if re.search(rf"\b{w}\b", m.group(), re.IGNORECASE)), "")
    elif (first := _question_word(q)) == "where":
        kind = "place"
    elif first in ("who", "whom", "whose"):
        kind, head = "person", "who"
    elif (m := re.search(r"\b(?:which|what)\s+(?:(?:is|was|are|were)\s+the\s+|of\s+(?:the\s+|these\s+|those\s+)?)?",
                         q, re.IGNORECASE)):  # "which of the officials" asks for an official
        # "what was the death toll", "which two countries": the noun after the copula and article names the kind
        words = []
        for w in _after(q, m.end(), 5):
            if STOP_HEAD.match(w):  # "what did the president say": no head noun, an open question
                break
            words.append(w)
        # the first head noun, or the last of a run of them ("which awards show" is a show, "which army commander"
        # a person), or a possessor ("which city's airport" asks for a city); what follows the run is the rest of
        # the question ("which company bought the port")
        for w in words:
            base = _head_word(w)
            if base in HEAD_KIND:
                kind, head = HEAD_KIND[base], base
                if re.search(r"['’]s?$", w):  # "which country's prime minister": the possessor is asked for
                    possessor = True
                    break
            elif head:
                break
        if head == "name" and (of := re.search(r"\bnames?\s+of\s+", q, re.IGNORECASE)):
            # "what is the name of Angola's foreign minister": the kind of the thing named (a person), whose
            # name may carry its kind noun (head "name": "the Cities Forward initiative" names it)
            for w in _after(q, of.end(), 5):
                if STOP_HEAD.match(w) or w.endswith("ing"):  # "the official heading the agency": an official
                    break
                if (base := _head_word(w)) in HEAD_KIND and not re.search(r"['’]s?$", w):
                    kind, head = HEAD_KIND[base], base
    if kind == "yesno":
        return Focus(kind)
    predicate = frozenset(content_words(re.sub(r"[A-Z][\w'’.-]*", " ", q))) - frozenset(
        content_words(" ".join([head, *TIME_WORDS, *HEADS.get(kind, ())])))
    said = families(q) | ({"died", "injured"} if re.search(r"\bcasualt", q, re.IGNORECASE) else set())
    return Focus(kind, head, predicate, frozenset(said), possessor)  # "casualties" asks for the dead or the hurt


# Spans of an answer -------------------------------------------------------------------------------------------
CONNECT = r"(?:of|the|de|del|da|di|van|von|bin|ibn|al|el|and|for|on|la|le|du|y)"
NAME_SPAN = re.compile(rf"(?:[A-Z][\w'’.-]*|al-[A-Z][\w'’-]*)(?:\s+(?:{CONNECT}\s+)?(?:[A-Z][\w'’.-]*|al-[A-Z][\w'’-]*|\d+))*")
# a title in double or curly quotes; a straight ' is an apostrophe ("it's", "the mayor's") far more often than a quote
QUOTED = re.compile(r"[\"“]([^\"“”]{2,80})[\"”]|‘([^‘’]{2,80})’")
MONEY = r"(?:[$€£¥]|US\$|USD\s?)"
# the unit of an amount written after it ("40 million dollars"): part of the answer, as "$" before it is
CURRENCY_WORD = r"(?:\s+(?:U\.S\.\s+)?(?:dollars|euros|pounds(?: sterling)?|yen|yuan|rupees|francs|rubles|roubles)\b)"
NUMBER_SPAN = re.compile(
    rf"(?<!\w)(?<![A-Za-z][-–]){MONEY}?\d+(?:[.,]\d+)*(?:\s?(?:%|percent\b|per cent\b|thousand\b|million\b|billion\b|trillion\b|bn\b|m\b))?"
    rf"{CURRENCY_WORD}?"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    r"seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|a dozen|dozens|"
    r"hundreds|thousands|millions|billions|half|a (?:hundred|thousand|million|billion|trillion)|"
    r"(?:a|one|two|three) (?:third|quarter|fifth|tenth)s?|two-thirds|three-quarters)\b(?:[\s-]+(?:one|two|three|four|five|six|seven|eight|nine|dozen|hundred|"
    r"thousand|million|billion))*(?:\s(?:percent|per cent)\b)?", re.IGNORECASE)
# case-sensitive inside the IGNORECASE patterns: "may" and "march" are a verb, not a month
MONTH = (r"(?-i:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|"
         r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
DATE_SPAN = re.compile(
    rf"\b(?:\d{{4}}-\d\d-\d\d|{MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTH}"
    rf"(?:,?\s+\d{{4}})?|{MONTH}\s+\d{{4}}|(?:early|mid|late)[ -]{MONTH}|{MONTH}|(?:1[89]|2[01])\d\d|(?:1[89]|2[01])\d0s|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|yesterday|today|tomorrow)\b"
    # a time of day answers "at what time" ("16:30", "9.30 a.m.", "9 a.m.", "noon"); "6.92" alone is a decimal
    r"|\b\d{1,2}:\d\d(?:\s*[ap]\.?m\.?)?(?!\d)|\b\d{1,2}\.\d\d\s*[ap]\.?m\.?|\b\d{1,2}\s*[ap]\.m\.|\b\d{1,2}(?::\d\d)?\s?[ap]m\b|\b[012]\d[0-5]\d\s?(?:GMT|UTC)\b|"
    r"\b(?:noon|midnight)\b",
    re.IGNORECASE)
YES_NO_OVERLAP = 0.5  # share of a yes/no question's content words (names aside) its answer's fact must hold
YESNO_SPAN = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


def _in_question(word: str, q_low: str) -> bool:
    w = fold(re.sub(r"['’]s$", "", word)).strip(".,")
    return not w or name_in(w, q_low)


def span_kind(span: str) -> str:
    """What a capitalised span's own words say it is: "Radio City Music Hall" a place, "the Grammy Awards" an
    event, "President Joe Biden" a person; "" when they say nothing."""
    words = span.split()
    last = words[-1].lower().strip(".,")
    for kind, suffixes in SPAN_SUFFIX.items():
        if last in suffixes:
            return kind
    if len(words) > 1 and words[0].lower().strip(".,") in TITLES and words[0].lower() not in ("first", "under"):
        return "person"
    return ""


def _bare(word: str) -> str:
    """A word folded, without its punctuation and contraction ("It's" -> "it", "They'll" -> "they")."""
    return re.sub(r"['’](?:s|re|ll|d|ve|m)$", "", fold(word).strip(".,;:"))


def _acronym(word: str) -> bool:
    """An all-capital word ("WHO", "U.S.", "NATO"): a name even when it spells an ordinary word."""
    return word.isupper() and len(word) > 1


NOBODY = _words("none neither nobody nothing no")  # "None of the sources names him": no one is named
ORDINARY = STOP | GENERIC_CAPS | OPENERS | NOBODY  # a sentence's opening word that names nothing


def _name_spans(text: str) -> list[tuple[int, int, str]]:
    """Capitalised spans (titles and quoted titles too), with a sentence's opening word dropped when it is an
    ordinary word ("The", "Additionally", "Several")."""
    out = []
    for m in NAME_SPAN.finditer(text):
        start, words = m.start(), m.group().split()
        while words and (_bare(words[0]) in ORDINARY) and not _acronym(words[0]) and \
                (SENTENCE_START.search(text[:start]) or _bare(words[0]) in STOP):
            start = text.index(words[0], start) + len(words[0])
            words = words[1:]
            start = start + (len(text[start:]) - len(text[start:].lstrip()))
        while words and re.fullmatch(CONNECT, words[-1]):
            words = words[:-1]
        if words and words[-1].endswith(".") and "." not in words[-1][:-1] and len(words[-1]) > 3:
            words[-1] = words[-1][:-1]  # the sentence's full stop, not an abbreviation ("U.S.", "Jr.")
        if words:
            span = " ".join(words)
            out.append((start, start + len(span), span))
    for m in QUOTED.finditer(text):
        g = 1 if m.group(1) is not None else 2
        out.append((m.start(g), m.end(g), m.group(g)))
    return out


# a word that describes rather than names: Russian, European, Chinese, British, Islamist, a possessive,
# "Kremlin-backed", "Obama-era", "Hamas-run", a pair ("U.S.-Taliban"); a country's own form (Afghan, Cuban, French,
# Dutch) is found by `countries.country_word`. Not a bare "-an" or "-ch": Taliban, Truman, Reagan, Munich name what
# follows them ("the Taliban movement"). A pair with a country on one side describes ("U.S.-Taliban", "Sino-German",
# "Israel-Hamas"); a region's name does not ("the Indo-Pacific Strategy", "Asia-Pacific", "Trans-Pacific")
DEMONYM = re.compile(r"(?:ian|ean|ican|ese|ish|ist|['’]s|-[a-z]+ed|-era|-run|-style|-based)$")
# peoples, faiths and regions news puts before a movement, group or plan, not its name ("the Tigrayan movement")
PEOPLES = _words("""arab kurd kurdish tamil uyghur uighur shia shiite sunni baloch rohingya pashtun hazara druze yazidi
    amhara oromo tigrayan catalan tibetan balkan basque azeri kosovar sikh hindu muslim catholic orthodox christian
    jewish european african asian latin western eastern northern southern""")
# nouns news puts after a name that is the thing's own name ("the Wagner group", "the Artemis program"); after a
# person's or a company's noun a name describes ("the Hamas commander", "the U.S. company", "a Netflix show")
NAMED_BY = _words("""group program programme initiative network battalion brigade regiment movement operation plan
    project campaign mission act law bill treaty agreement accord strategy exercise cartel gang faction doctrine""")


def _modifier(text: str, start: int, end: int, span: str, focus: Focus) -> bool:
    """The span describes the slot's noun instead of naming it: "a South Korean show", "the Chinese company",
    "a Netflix show", "the Hamas commander". Before a noun that takes a name (`NAMED_BY`) a name names it ("the
    Wagner group", "the Fulbright program") unless it follows "a"/"an" or is the U.S., a nationality or a country."""
    nxt = re.match(r"\s+([a-z][\w-]*)", text[end:])
    if not nxt:
        return False
    word = nxt.group(1)
    if focus.head == "name":  # "what is the name of the initiative": "the Cities Forward initiative" names it
        return False
    base = word.removesuffix("s")
    if not (base == focus.head or (base in HEAD_KIND and HEAD_KIND[base] == focus.kind)):
        return False
    if base not in NAMED_BY:
        return True
    from qa.countries import countries_named, country_word

    # "a Taliban plan", "a new Taliban plan", "a rival Taliban faction": one of several, not the one named
    indefinite = re.search(r"\b(?:a|an|another|one)\s+(?:(?-i:[a-z])[\w-]*\s+)?$", text[max(0, start - 24):start],
                           re.IGNORECASE)
    home = re.fullmatch(r"(?:the\s+)?(?:U\.?S\.?|US|USA|United States|America)", span, re.IGNORECASE)
    last = span.split()[-1]
    against = re.search(r"\b(?:pro|anti|ex|non|post)-$", text[max(0, start - 5):start], re.IGNORECASE)  # anti-Taliban
    pair = re.fullmatch(r"([A-Z][\w.]*)-([A-Z][\w.]*)", last)
    pair_of_countries = pair is not None and any(HOME_WORD.fullmatch(side) or country_word(side) for side in pair.groups())
    return bool(indefinite or home or against or pair_of_countries or DEMONYM.search(last) or _bare(last) in PEOPLES
                or country_word(last) or countries_named(span))


# A date question's head says how precise the answer must be: "early 2022" does not answer "on what date".
PRECISION = {
    "date": re.compile(r"(?<![:.])\b\d{1,2}(?:st|nd|rd|th)?\b(?![:.]\d)(?!\s*[ap]\.?m)|\d{4}-\d\d-\d\d|day\b|tomorrow\b",
                       re.IGNORECASE),
    "year": re.compile(r"\b(?:1[89]|2[01])\d\d\b"),
    "month": re.compile(MONTH, re.IGNORECASE),
}
PRECISION["day"] = PRECISION["date"]
DURATION_HEADS = frozenset(["long", "old", "often", "year", "years", "day", "days", "week", "weeks", "month", "months",
                            "hour", "hours"])


# a place one is at: "at the Kennedy Center", "in the Interior Ministry", "at the newly opened National Museum"; not
# "in a raid by the FSB", "according to the Health Ministry", "plans to sue the Security Service"
AT_PLACE = re.compile(r"(?:\b(?:at|in|inside|outside|near)|(?<!according )(?<!thanks )(?<!due )(?<!owing )(?<!addition )"
                      r"(?<!response )(?<!linked )(?<!loyal )(?<!close )\bto)\s+(?:the\s+)?$|"
                      r"\bat\s+the\s+(?:(?!(?:by|of|from|with|for|that|which|who|and|or)\b)(?-i:[a-z])[\w-]*\s+){1,2}$",
                      re.IGNORECASE)
# what makes a year-like number a count: a word of quantity before it ("about 2000 protesters"); edited news writes
# other counts "2,000", and a bare "2021" before a noun is a year ("the 2021 heroes", "Observers monitored the 2022
# elections")
ABOUT = re.compile(r"\b(?:about|around|nearly|almost|approximately|roughly|some|over|more than|fewer than|less than|"
                   r"at least|an estimated)\s+$", re.IGNORECASE)


def _counted(text: str, start: int, end: int, focus: Focus) -> bool:
    """A year-like number ("2000", "1850") counts the asked noun when a word of quantity comes before it and the
    noun right after it: "about 2000 protesters were detained", never "in 2000 protesters marched"."""
    if not re.fullmatch(r"\d{4}", text[start:end]) or not focus.head or not ABOUT.search(text[max(0, start - 16):start]):
        return False
    nxt = re.match(r"\s+(?:(?:more|additional|new|other)\s+)?([a-z]+)", text[end:])  # "2000 more troops"
    return nxt is not None and _head_word(nxt.group(1)) == _head_word(focus.head)


# the home country's forms (the news is Washington's): a qualifier of a name the question holds, unless alone
HOME_WORD = re.compile(r"(?:the\s+)?(?:U\.S\.(?:A\.)?|US|USA|United\s+States(?:\s+of\s+America)?|United|States|"
                       r"America|American|Americans)[.,]?", re.IGNORECASE)


# what a country can be, beside a place: who acted, its government, a side, a team ("Argentina won the final")
GOVERNMENT = _words("""government regime administration state nation country team side opponent party member ally
    partner rival winner champion signatory""")
# regions news puts before a plural, as a nationality is ("Caribbean nations", "Baltic states")
REGIONS = _words("caribbean mediterranean baltic nordic scandinavian arctic andean sahelian pacific atlantic")


def _nation_kind(text: str, end: int, span: str) -> str:
    """"country" for a country's name ("the U.S.", "Pakistan"); "people" for a nationality, people or region before a
    noun ("Afghan officials", "Caribbean nations"): what they describe is not named."""
    from qa.countries import country_word, is_country_name

    if is_country_name(span):
        return "country"
    word = span.split()[-1]
    nxt = re.match(r"\s+((?-i:[a-z])[\w'-]*)", text[end:])
    if len(span.split()) == 1 and (country_word(word) or _bare(word) in PEOPLES | REGIONS) and nxt and \
            not re.fullmatch(rf"{AUX}|\w+ed|said|says|will|would|told|won|lost|made|took|\w+ly|first|also|then|again|"
                             r"already|still|never|just|once", nxt.group(1)):
        return "people"  # not "The Atlantic published", "Emirates will resume", "The Hindu reported"
    return ""


def _name_words(span: str) -> frozenset[str]:
    return frozenset(w for w in (_bare(x) for x in span.split()) if w and not re.fullmatch(CONNECT, w))


def _home_before_asked(span: str, question: str) -> bool:
    """The span is the home country before a name the question holds, in any order: "U.S. Department of State" for
    "the State Department's Evolve program"; not "U.S. Steel" for "Nippon Steel" (one word of a longer name), nor
    "United Airlines" for "which airline"."""
    home = re.match(r"(?:the\s+)?(?:U\.S\.(?:A\.)?|US|USA|United\s+States|America)\s+", span)
    rest = _name_words(span[home.end():]) if home else frozenset()
    return bool(rest) and any(rest == _name_words(asked) or (len(rest) > 1 and rest <= _name_words(asked))
                              for _s, _e, asked in _name_spans(question))


def typed_spans(focus: Focus, text: str, question: str) -> list[str]:
    """The spans of `text` that can fill the question's slot: of the asked kind, not already in the question."""
    q_low = fold(question)
    if focus.kind == "yesno":
        m = YESNO_SPAN.match(text)
        return [m.group(1).capitalize()] if m else []
    if focus.kind == "number":
        given = {re.sub(r"\D", "", n) for n in re.findall(r"\d[\d.,]*", question)}
        out = []
        if focus.head not in ("long", "old", "year", "years"):  # "on 14 March", "in 2021" hold no count
            text = DATE_SPAN.sub(lambda m: m.group() if not re.search(r"\d", m.group()) or
                                 _counted(text, m.start(), m.end(), focus) else " ", text)
        for m in NUMBER_SPAN.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if digits and digits in given:
                continue
            out.append(m.group().strip())
        if focus.head in DURATION_HEADS:  # "a week" answers "how long", never "how many people"
            out += [m.group() for m in re.finditer(r"\b(?:a|an|one) (?:day|week|month|year|decade|hour)s?\b", text,
                                                   re.IGNORECASE)]
        return out
    if focus.kind == "date":
        precise = PRECISION.get(focus.head)
        return [m.group() for m in DATE_SPAN.finditer(text) if not _in_question(m.group(), q_low)
                and (precise is None or precise.search(m.group()))]
    out = []
    where = focus.kind == "place" and not focus.head
    allowed = KIND_OK.get("where" if where else focus.kind, set(KINDS))
    actor = focus.head in GOVERNMENT or (focus.kind == "person" and focus.head in ("", "who"))  # a country may act
    for _s, end, span in _name_spans(text):
        new = [w for w in span.split() if w.lower().strip(".,") not in TITLES and (
            not _in_question(w, q_low) or (_acronym(w) and not re.search(rf"\b{re.escape(w)}\b", question)))]
        if not new or DATE_SPAN.fullmatch(span):
            continue
        if _home_before_asked(span, question):
            continue  # "the U.S. Department of State" for "the State Department's ...": the home country adds nothing
        if focus.kind in ("person", "organisation", "work", "event") and _modifier(text, _s, end, span, focus):
            continue
        kind = span_kind(span) or _nation_kind(text, end, span)
        if kind == "country":  # "the U.S." is no company, initiative or summit; it may be who acted, or the government
            if not (focus.kind in ("place", "thing") or where or actor):
                continue
            kind = ""
        if kind == "people":  # "Caribbean nations", "Afghan officials": a description, not the name asked for; but
            after = re.match(r"\s+([a-z]+)", text[end:])  # "Ukrainian drones struck it" says who did, by country
            person = after is not None and _head_word(after.group(1)) in HEADS["person"]
            if not (focus.kind == "thing" or (actor and not person) or focus.head in ("country", "nation")):
                continue
            kind = ""
        if where and kind == "organisation" and not AT_PLACE.search(text[max(0, _s - 60):_s]):
            continue  # "arrested by the Federal Security Service" says who, not where
        if kind and kind not in allowed and not focus.possessor:  # "Minnesota USA Expo" names the state's bid
            continue
        out.append(span)
    return out


def _sentence_with(text: str, span: str) -> str:
    from qa.chunking import sentence_spans

    for s, e in sentence_spans(text) or [(0, len(text))]:
        if span in text[s:e]:
            return text[s:e]
    return text


def predicate_clash(focus: Focus, sentence: str) -> bool:
    """The sentence binds its span to another predicate of a confusable family ("40 people died" for "how many
    were arrested") and not to the asked one."""
    if not focus.families or focus.kind != "number":  # a count is bound to one predicate; a name plays many roles
        return False  # ("X, the leader killed on Thursday - a victory for the coalition")
    said = families(sentence)
    return bool(said) and not (said & focus.families)


def fills(question: str, answer: str, quotes: list[str] | None = None) -> tuple[bool, str]:
    """(does the answer's first sentence fill the question's slot, why not). `quotes`: the cited passages'
    sentences for that first sentence: the filling span must be in one of them (when given) and the quote's
    sentence holding it must not carry another predicate of a confusable family."""
    focus = focus_of(question)
    sentences = answer_sentences(answer)
    first = sentences[0][0] if sentences else answer.strip()
    if not first:
        return False, "no answer"
    if focus.kind == "yesno":  # the fact after "Yes,"/"No," is checked by the claim verification; here, that it
        # is about what was asked: "No, Kavala was convicted" does not answer "was he sentenced to life in prison?"
        asked = content_words(re.sub(r"[A-Z][\w'’.-]*", " ", question)) - content_words(" ".join(TIME_WORDS))
        said = content_words(YESNO_SPAN.sub("", first))
        if asked and len(asked & said) < YES_NO_OVERLAP * len(asked):
            return False, "its fact is not about what the question asks (too few of the question's words)"
        return True, ""
    spans = typed_spans(focus, first, question)
    if focus.kind == "thing":
        new = content_words(first) - content_words(question) - content_words(" ".join(TIME_WORDS))
        if not new:
            return False, "it restates the question without answering it"
        if restates(question, first):
            return False, "it restates the question without answering it"
        return True, ""
    if not spans and focus.kind == "date" and focus.head in PRECISION:
        return False, f"it gives no date as precise as the question asks for (a {focus.head if focus.head != 'date' else 'day'})"
    if not spans:
        return False, f"it names no {focus.kind if focus.kind != 'organisation' else 'organisation'} " \
                      f"{'for ' + repr(focus.head) if focus.head and focus.head != 'who' else ''}".rstrip()
    if predicate_clash(focus, first):
        return False, "its figure or name is for another event than the one asked about"
    if quotes:
        where = [q for q in quotes if any(phrase_in(s, q) for s in spans)]
        if not where:
            return True, ""  # worded differently from the quote; the claim check decides
        if all(predicate_clash(focus, _sentence_with(q, s)) for q in where for s in spans if phrase_in(s, q)):
            return False, "its source gives that figure or name for another event than the one asked about"
    return True, ""


GAP_STOP = re.compile(r"^(?:from|to|in|on|at|for|with|by|of|about|over|despite|after|before|during|since|"
                      r"under|against|into|amid|and|but|as|while|because)$", re.IGNORECASE)


def restates(question: str, sentence: str) -> bool:
    """An open "what does X keep buying from Y?" answered "X keeps buying from Y despite sanctions": the words
    right after the question's verb, where the answer belongs, are the question's own."""
    # "what is/was X" asks for a predicate noun, not an object after a verb: no gap to find
    m = re.search(r"\b(?:what|which)\s+(?:do|does|did|has|have|had|can|could|will|would|should|shall|may|might|"
                  r"must)\s+(.+?)\??$", " ".join(question.split()), re.IGNORECASE)
    if not m:
        return False
    if re.search(r"\bdo\b", m.group(1), re.IGNORECASE):  # "what did X do (about Y)?", "... urge Y to do?"
        return not (content_words(sentence) - content_words(question))  # the action is the slot: any new word
    before = re.findall(r"[\w'’-]+", question[:m.start()])
    if before and GAP_STOP.match(before[-1]):
        return False  # "despite what ...?", "with which ...?": the gap is the preposition's object, not the verb's
    rest = re.findall(r"[\w'’.-]+", m.group(1))
    # the question's verb: the end of its first run of lowercase content words ("keep buying", "urge")
    start = next((i for i, w in enumerate(rest) if w[:1].islower() and w.lower() not in STOP), None)
    if start is None:
        return False
    end = start
    while end + 1 < len(rest) and rest[end + 1][:1].islower() and rest[end + 1].lower() not in STOP:
        end += 1
    verb = content_words(rest[end])
    if not verb:
        return False
    words = re.findall(r"[\w'’.-]+", sentence)
    at = next((i for i, w in enumerate(words) if content_words(w) & verb), None)
    if at is None:
        return False  # the answer words it another way: the claim check decides
    qwords = content_words(question)
    # a preposition the question leaves stranded after its verb ("what did the talks end with?") opens the gap
    tail = rest[end + 1:]
    stranded = [w.lower() for w in tail] if tail and all(GAP_STOP.match(w) for w in tail) else []
    at += 1
    for p in stranded:
        if at < len(words) and words[at].lower() == p:
            at += 1
    after = []
    for w in words[at:]:  # up to the next preposition ("to" is an infinitive here: "urged Iraq to arm")
        if GAP_STOP.match(w) and w.lower() != "to":
            break
        after.append(w)
    return not (content_words(" ".join(after)) - qwords)


MEASURES = frozenset(["long", "far", "old", "big", "large", "high", "tall", "often"])


def span_of(question: str, short: str, answer: str = "") -> str:
    """The short answer as the span that fills the slot: "$120 million" from "$120 million in military
    financing", "Joseph Aoun" from "Army Commander General Joseph Aoun", "Yes" for a yes/no question. The short
    answer is kept as it is when it holds no such span or several."""
    focus = focus_of(question)
    if focus.kind == "yesno":
        m = YESNO_SPAN.match(short) or YESNO_SPAN.match(answer)
        return m.group(1).capitalize() if m else short
    if focus.kind == "thing" or not short or focus.head in MEASURES:
        return short  # "72 hours", "300 km": a measure keeps its unit word
    spans = list(dict.fromkeys(typed_spans(focus, short, question)))
    if len(spans) != 1:
        return short
    span = spans[0]
    if focus.kind in ("person",):
        words = span.split()
        # "Army Commander General Joseph Aoun"; "(Secretary of) State Antony J. Blinken", "Minister of Foreign
        # Affairs Ayman Safadi": an office and what it is of come before the name
        while len(words) > 1 and (words[0].lower().strip(".,") in TITLES | OFFICE_OF or words[0] == "of"):
            words = words[1:]
        span = " ".join(words)
    return span


def asks_yes_no(question: str) -> bool:
    return focus_of(question).kind == "yesno"


def slot_sentences(question: str, text: str, focus: Focus | None = None) -> int:
    """How many sentences of `text` hold a span that could fill the question's slot next to the question's
    words (at least two of them, or the predicate) and without another predicate of a confusable family."""
    from qa.chunking import sentence_spans

    focus = focus or focus_of(question)
    if focus.kind in ("thing", "yesno"):
        return 0
    qwords = content_words(question)
    n = 0
    for s, e in sentence_spans(text) or [(0, len(text))]:
        sentence = text[s:e]
        shared = content_words(sentence) & qwords
        if (len(shared) >= 2 or shared & focus.predicate) and typed_spans(focus, sentence, question) and \
                not predicate_clash(focus, sentence):
            n += 1
    return n


def focused_order(question: str, passages: list[P]) -> list[P]:
    """The passages with those holding a span of the asked kind next to the question's words first (stable: the
    ranking decides among equals). Open and yes/no questions keep the ranked order."""
    focus = focus_of(question)
    if focus.kind in ("thing", "yesno"):
        return list(passages)
    has = [slot_sentences(question, p.text, focus) > 0 for p in passages]
    return [p for p, h in zip(passages, has) if h] + [p for p, h in zip(passages, has) if not h]


# Words an institution's, a programme's or an event's name is made of that do not say which one ("the Overseas Schools
# Advisory Council" and "the Advisory Commission on Public Diplomacy" share "Advisory"): a name with one of them is
# mentioned only when at least half of its other words are
INSTITUTION_WORDS = _words("""department state states council office ministry committee commission agency bureau program
    programme initiative forum summit conference partnership national international united nations assembly board
    center centre institute foundation fund group association union organization organisation administration
    government court parliament senate house congress republic federal embassy consulate mission service services
    affairs security public act law bill treaty agreement accord accords strategy plan report day week award awards
    prize new joint special annual global world regional high level dialogue meeting talks framework policy
    fellowship exchange visa force forces task team coalition alliance network convention declaration statement
    advisory development cooperation economic relief works human rights bank""")
SEASONS = _words("spring summer autumn fall winter")


def _distinct_words(words: list[str]) -> list[str]:
    """The words of a name that say which one it is: not a connector, title, institution word, month, season,
    country or the home country ("al-" dropped: "al-Sudani" is "Sudani")."""
    from qa.countries import country_word, is_country_name

    out = []
    for w in words:
        bare = re.sub(r"['’]s$", "", w).strip(".,;:?!\"“”")
        f = re.sub(r"^(?:al|el|ad|as|ash|an|ar)-", "", fold(bare))
        if len(f) < 3 or f.isdigit() or re.fullmatch(CONNECT, f) or f in TITLES | INSTITUTION_WORDS | SEASONS or \
                re.fullmatch(MONTH, bare) or HOME_WORD.fullmatch(bare) or country_word(bare) or is_country_name(bare):
            continue
        out.append(f)
    return out


def _initials(words: list[str], connectors: bool) -> str:
    """A name's initials as news abbreviates it: "U.S. Agency for International Development" USAID, "Joint
    Comprehensive Plan of Action" JCPOA (with its connectors), "Group of Seven" G7."""
    out = ""
    for w in words:
        b = re.sub(r"['’]s$", "", w).strip(",;:")
        if b.lower() in SPELLED or b.isdigit():
            out += SPELLED.get(b.lower(), b)
        elif re.fullmatch(r"(?:[A-Z]\.){2,}", b) or _acronym(b):
            out += b.replace(".", "")
        elif b[:1].isupper() or (connectors and re.fullmatch(CONNECT, b)):
            out += b[0].upper()
    return out


def missing_names(question: str, text: str) -> list[str]:
    """The names of institutions, programmes and events the question names ("the Overseas Schools Advisory Council",
    "the Our Ocean Conference") that `text` never mentions: the whole name, its initials ("OSAC", "JCPOA", "G7"), or
    at least half the words that say which one. A name with fewer than two such words is not read ("the Supreme
    Court" is "the court" in its own story), nor a person's office ("House Speaker Mike Johnson"), a country ("the
    United Kingdom"), or a place."""
    from qa.countries import is_country_name

    low = fold(text)
    out = []
    for start, _end, span in _name_spans(question):
        words = span.split()
        if start == 0 and re.fullmatch(r"[A-Z][a-z]+(?:ing|ed|ly)", words[0]):
            words = words[1:]  # "Echoing the African Union, ...": the question's own first word
        name = " ".join(words)
        if len(words) < 2 or not any(_bare(w) in INSTITUTION_WORDS for w in words) or \
                any(_bare(w) in TITLES or _head_word(_bare(w)) in HEADS["person"] for w in words):
            continue
        which = _distinct_words(words)
        if len(which) < 2 or is_country_name(re.sub(r"['’]s$", "", name)) or name_in(fold(name), low):
            continue
        bare = words[:-1] if _bare(words[-1]) in INSTITUTION_WORDS else words  # "the INF Treaty", "the G20 summit"
        if any(len(ab) >= 3 or (len(ab) == 2 and ab[1].isdigit())
               for ab in {_initials(ws, c) for ws in (words, bare) for c in (False, True)}
               if re.search(rf"\b{re.escape(ab)}\b", text)):
            continue
        if sum(name_in(w, low) for w in which) < math.ceil(len(which) / 2):
            out.append(name)
    return out
