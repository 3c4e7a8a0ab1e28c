"""The text toolkit: one place for how `qa` reads words, names, numbers, months, dates, sentences and [n] markers.

Every module that compares text (retrieval, BM25, verification, disagreements, copies, the chat) uses these, so
"the same word" means the same thing everywhere. Pure functions over strings; the only imports are the stemmer
(PyStemmer), pysbd and bm25s's stop-word list, each loaded on first use.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

# --- folding, words, stems --------------------------------------------------------------------------------------


def fold(text: str) -> str:
    """Lower case without accents: names are written both ways (António/Antonio, Téte/Tete, José/Jose)."""
    text = text.lower()
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def stemmer() -> Any:
    """The English Snowball stemmer (PyStemmer), loaded once."""
    import Stemmer

    return Stemmer.Stemmer("english")


def stems(words: list[str]) -> list[str]:
    return list(stemmer().stemWords(words))


WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’]*")
STOP = frozenset(["a", "an", "the", "of", "to", "in", "on", "at", "for", "and", "or", "but", "is", "are", "was",
                  "were", "be", "been", "by", "with", "from", "as", "that", "this", "what", "which", "who", "whom",
                  "whose", "when", "where", "why", "how", "did", "do", "does", "not", "it", "its", "he", "she",
                  "they", "them", "his", "her", "their", "about", "into", "than", "then", "there", "these", "those",
                  "after", "before", "over", "under", "during", "between", "against", "said", "says", "say",
                  "also", "has", "have", "had", "will", "would", "can", "could", "may", "might", "many", "much"])


def content_words(text: str) -> set[str]:
    """Stemmed, lower-cased words that carry meaning (no stop words, no 1-2 letter words)."""
    words = [w.lower().replace("’", "'") for w in WORD.findall(text)]
    return set(stemmer().stemWords([w for w in words if len(w) > 2 and w not in STOP]))


INDEX_WORD = re.compile(r"\w\w+|\d")


@lru_cache(maxsize=1)
def _index_stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def index_tokens(texts: list[str]) -> list[list[str]]:
    """What BM25 indexes and searches: folded words of 2+ characters (and single digits), bm25s's English stop
    words removed, Snowball-stemmed."""
    stop = _index_stopwords()
    stem = stemmer().stemWords
    return [stem([w for w in INDEX_WORD.findall(fold(t)) if w not in stop]) for t in texts]


def one_edit(a: str, b: str) -> bool:
    """a and b differ by at most one substitution, insertion or deletion."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + 1:] == b[i + 1:] if len(a) == len(b) else a[i:] == b[i + 1:]


# Words that turn a claim into its opposite: "not", "never", "no"; "n't" is split off as "t" by some tokenizers.
NEGATIONS = frozenset({"not", "no", "never", "nor", "without", "t", "none", "neither", "cannot", "nobody",
                       "nothing", "nowhere"})

# --- months, days, dates ----------------------------------------------------------------------------------------
MONTHS = {m: i + 1 for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"))}
MONTHS.update({m[:3]: i for m, i in list(MONTHS.items())} | {"sept": 9})
# A month's name, full or abbreviated, captured (for reading dates) ...
MONTH_RE = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|" \
    r"apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?"
# ... and as a whole word, not captured (for finding or skipping them)
MONTH_WORDS = (r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
               r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b")
WEEKDAYS = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
DAY_WORDS = rf"\b(?:yesterday|today|{WEEKDAYS[3:-1]})\b"
# A day written out ("on March 12, 2022", "12 March", "Sept. 3rd"): groups 1-3 month/day/year, or 4-6 day/month/year.
WRITTEN_DAY = re.compile(rf"({MONTH_WORDS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?|"
                         rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({MONTH_WORDS})\.?(?:,?\s+(\d{{4}})\b)?",
                         re.IGNORECASE)


def written_day(m: re.Match[str]) -> tuple[int, int, int | None]:
    """(month, day, year or None) of a WRITTEN_DAY match."""
    month, day, year = (m.group(1), m.group(2), m.group(3)) if m.group(1) else (m.group(5), m.group(4), m.group(6))
    return MONTHS[month.lower()], int(day), int(year) if year else None


# What is said ahead of time: a plan, an announcement ("will travel", "is scheduled to", "next week").
FUTURE = re.compile(r"\b(?:will|upcoming|plans?|planned|scheduled|expected|due to|next|going to)\b", re.IGNORECASE)


# --- numbers ------------------------------------------------------------------------------------------------------
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def norm_number(n: str) -> str:
    """"1,000" -> "1000", "07" -> "7", "3." -> "3"."""
    return n.replace(",", "").rstrip(".").lstrip("0") or "0"


# A number is a quantity with its magnitude: "10 member states" is not "10 million Ukrainians", nor "$45 million"
# "45 countries". Passages often spell small numbers out ("nine more years").
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
    out = {(norm_number(m.group(1)), unit(m)) for m in QUANTITY.finditer(text)}
    if spelled:
        out |= {(SPELLED[m.group(1).lower()], unit(m)) for m in SPELLED_QUANTITY.finditer(text)}
    return out


# --- citation markers ---------------------------------------------------------------------------------------------
MARKER_BODY = r"\[(\d+(?:\s*[,;]\s*\d+)*)\]"
MARKER = re.compile(r"\s*" + MARKER_BODY)  # " [2]", " [1, 3]": with the space before it, group 1 the numbers
BARE_MARKER = re.compile(MARKER_BODY)  # the same without the space before it
MARKERS_AT_START = re.compile(r"(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")


def marker_numbers(text: str) -> list[int]:
    """The passage numbers of every [n] marker in the text, in order: "a [1, 3] b [2]" -> [1, 3, 2]."""
    return [int(x) for m in MARKER.finditer(text) for x in re.split(r"\s*[,;]\s*", m.group(1))]


def strip_markers(text: str) -> str:
    """The text without its [n] markers."""
    return MARKER.sub("", text).strip()


def markers(numbers: list[int]) -> str:
    """" [1] [3]" for [1, 3]: how an answer writes its citations after a sentence."""
    return "".join(f" [{n}]" for n in numbers)


def chunk_text(title: str, text: str) -> str:
    """What is indexed for a chunk, by MiniLM and by BM25 alike: its article's title (so a chunk knows what it is
    about and a title word finds every chunk), then its text."""
    return f"{title}\n{text}"


# --- sentences ----------------------------------------------------------------------------------------------------
PARAGRAPH = re.compile(r"[^\n]+")
# A place where a sentence could end inside a line; lines without one are a single sentence (pysbd is slow).
BOUNDARY = re.compile(r"[.!?…][\"'”’)\]]*\s+[\"“(]?[A-Z0-9]")
# An unambiguous end: a word of 4+ letters (not an abbreviation like "Sept.") or a number of 2+ digits, then .!?
# (and closing quotes), then a capital. Cutting there first leaves pysbd only the ambiguous pieces ("U.S. Embassy",
# "Mr. Price"), which keeps chunking fast: pysbd costs ~0.35 ms per call.
SAFE_END = re.compile(
    r"(?<![A-Za-z0-9])(?!(?:Sept|Corp|Prof|Blvd|Capt|Supt|Dept|Assn|Univ|Govt|Gens|Ests)\b)(?:[A-Za-z][a-z]{3,}|\d{2,})"
    r"[.!?][\"'”’)\]]*(?=\s+[\"“(]?[A-Z])"
)


@lru_cache(maxsize=1)
def _segmenter():  # type: ignore[no-untyped-def]
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def _sentences(text: str) -> list[str]:
    """pysbd's sentences of `text`. Its `segment()` then locates each sentence again with a regex built from the
    sentence (one compile per sentence: a third of its time); the offsets are found below with str.find."""
    return list(_segmenter().processor(text).process())


PYSBD_CHARS = 3_000  # pysbd's time grows faster than the text: it never sees more than this at once


def _windows(part: str) -> list[str]:
    """`part` cut at possible sentence ends into pieces of at most PYSBD_CHARS (a piece without one may be
    longer: it is a single sentence, split later by tokens), so sentence splitting stays linear in the text."""
    if len(part) <= PYSBD_CHARS:
        return [part]
    out, start, last_cut = [], 0, 0
    for m in BOUNDARY.finditer(part):
        cut = m.end() - 1  # before the capital that opens the next sentence
        if cut - start > PYSBD_CHARS and last_cut > start:
            out.append(part[start:last_cut])
            start = last_cut
        last_cut = cut
    if len(part) - start > PYSBD_CHARS and last_cut > start:
        out.append(part[start:last_cut])
        start = last_cut
    out.append(part[start:])
    return out


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; lines are never merged, so headings and datelines stay apart."""
    spans: list[tuple[int, int]] = []
    for para in PARAGRAPH.finditer(text):
        ptext = para.group()
        if not ptext.strip():
            continue
        pieces = []
        last = 0
        for m in [*SAFE_END.finditer(ptext), None]:
            part = ptext[last:m.end()] if m else ptext[last:]
            last = m.end() if m else last
            if not part.strip():
                continue
            for window in _windows(part):
                pieces.extend(_sentences(window) if BOUNDARY.search(window.strip()) else [window])
        cursor = 0
        for piece in pieces:
            s = piece.strip()
            if not s:
                continue
            i = ptext.find(s, cursor)
            if i < 0:  # pysbd altered the text; fall back to the rest of the paragraph
                rest = ptext[cursor:].strip()
                if rest:
                    j = ptext.find(rest, cursor)
                    spans.append((para.start() + j, para.start() + j + len(rest)))
                break
            spans.append((para.start() + i, para.start() + i + len(s)))
            cursor = i + len(s)
    return spans


# --- a draft's sentences and the names in them (the verifier, answer types, conflicts, watch) ---------------------
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
        head = MARKERS_AT_START.match(sentence)
        head_nums = marker_numbers(head.group()) if head else []
        body = sentence[head.end():] if head else sentence
        nums = marker_numbers(body)
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


NAME = re.compile(r"\b[^\W\d_][\w'’.-]*[^\W\d_]")  # capitalised: checked in claim_names
# Claims and passages name the same thing differently; a name matches if any of its aliases occurs.
ALIASES = {"us": ("u.s.", "united states", "america"), "u.s.": ("united states", "us ", "america"),
           "u.s": ("united states", "us ", "america"),
           "united": ("u.s.", "us "), "states": ("u.s.", "us "), "america": ("u.s.", "united states"),
           "american": ("u.s.", "united states"), "uk": ("u.k.", "united kingdom", "britain"),
           "britain": ("u.k.", "united kingdom"), "washington": ("u.s.", "united states"),
           "un": ("u.n.", "united nations"), "u.n.": ("united nations",), "u.n": ("united nations",),
           "u.k": ("united kingdom", "britain")}
# Capitalised words that are titles, pronouns or sentence words, not names of anything a passage must hold.
GENERIC_CAPS = {"according", "however", "secretary", "minister", "president", "prime", "the", "in", "on", "he",
                "she", "they", "it", "this", "that", "these", "his", "her", "their", "both", "while", "during",
                "after", "before", "source", "sources", "yes", "no", "mr", "ms", "mrs", "dr", "general"}
# Words capitalised only because they open a sentence ("Additionally, ...", "Several officials ..."): not names.
_OPENER_WORDS = """additionally also furthermore moreover overall meanwhile currently specifically notably finally
first firstly second secondly third lastly then thus therefore hence instead nevertheless nonetheless similarly
likewise later earlier previously recently subsequently consequently separately together several many some most
other another each every all such despite although though following amid among since until unlike including
besides initially ultimately still yet officials authorities police witnesses residents unidentified unknown
unnamed"""  # the last words: who acted, left unnamed ("Officials have not identified him")
OPENERS = frozenset(_OPENER_WORDS.split())
SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n)\W*$")
SENTENCE_ADVERB = re.compile(r"[a-z]{6,}ly")  # "Reportedly," "Interestingly," opening a sentence; not "Italy,"


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
                w in OPENERS or (SENTENCE_ADVERB.fullmatch(w) and sentence[m.end():m.end() + 1] == ",")):
            continue
        if w.rstrip(".") not in GENERIC_CAPS and w not in STOP and len(w) > 1:
            out.append(w)
    return out


def name_in(name: str, text_low: str) -> bool:
    """A name occurs in the text, allowing demonyms (Iran/Iranian, Syria/Syrian) and common aliases. A short name
    ("un", "uk", "us") must stand as a word: it is inside "fund", "Ukraine", "Russia"."""
    if name in text_low and (len(name) > 3 or re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text_low)):
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


def phrase_in(phrase: str, text: str) -> bool:
    """Every meaningful word of `phrase` occurs in `text` (demonyms and aliases allowed)."""
    low = fold(text)
    words = [fold(w) for w in re.findall(r"[^\W_][\w.'’-]*", phrase)]
    return all(name_in(re.sub(r"['’]s$", "", w).rstrip("."), low) for w in words if w not in STOP)
