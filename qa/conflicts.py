"""Sources that disagree: two shown passages giving different values for the same thing.

An answer cites a sentence; every other article shown (its whole text, flagged spans aside) is searched for a
sentence that says the same thing with another value: a running total or a toll with the same magnitude and the
same counted thing ("brings total aid to $45 million" / "... to $50 million"; a headline's or a package's own
amount is not a total), a different name or date in the same sentence frame
("... led by Joseph Aoun" / "... led by Michel Aoun"; "on February 21 at 17:00" / "... at 16:30"). Each rule is a
small named function taking two sentences and returning what they disagree about ("" when they do not).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from difflib import SequenceMatcher

from qa.text import MONTH_WORDS, QUANTITY, STOP, WEEKDAYS, claim_names, content_words, fold, stems

WORD = re.compile(r"[\w$%][\w.'’:-]*[\w%]|[\w$%]")
TIME = re.compile(r"\b\d{1,2}:\d{2}\b")
MIN_FRAME = 0.6  # share of words two sentences have in common (difflib ratio) to be the same sentence frame
MIN_CONTEXT = 0.2  # share of content words (numbers aside) two sentences about one running total have in common
COUNTED_WORDS = 3  # content words after a number that say what it counts
SKIP = STOP | {"more", "than", "over", "nearly", "almost", "about", "around", "some", "least", "additional", "other",
               "new", "total", "approximately", "estimated", "roughly", "just", "up", "since", "including"}
# A count of one thing that sources revise or report differently: a running total, a toll. Two packages, two
# drawdowns or two headlines with their own amounts are different things, not a disagreement.
CUMULATIVE = re.compile(r"\b(?:total(?:s|ing|led)?|cumulative|so far|to date|in all|altogether|overall|brings?|"
                        r"bringing|toll|killed|dead|died|deaths|injured|wounded|casualties|displaced|missing|"
                        r"delivered|donated)\b", re.IGNORECASE)


def _tokens(text: str) -> list[str]:
    return WORD.findall(text)


def _is_date(tokens: list[str], before: list[str]) -> bool:
    """A run of words that gives a date or a time: a month, a weekday, a year, "17:00", or a day after a month."""
    for i, t in enumerate(tokens):
        prev = tokens[i - 1] if i else (before[-1] if before else "")
        if re.fullmatch(f"{MONTH_WORDS}|{WEEKDAYS}", t, re.IGNORECASE) or TIME.fullmatch(t) or \
                re.fullmatch(r"(?:19|20)\d\d", t) or (re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?", t) and
                                                   re.fullmatch(MONTH_WORDS, prev, re.IGNORECASE)):
            return True
    return False


def counted(sentence: str, after: int = 0) -> list[tuple[str, str, tuple[str, ...]]]:
    """(number, magnitude, what it counts) for each quantity of a sentence (from offset `after`): "$45 million in
    humanitarian aid" -> ("45", "million", ("humanitarian", "aid")), words stemmed; times and years are not
    counts."""
    out = []
    for m in QUANTITY.finditer(sentence, after):
        if ":" in (sentence[m.start() - 1:m.start()] + sentence[m.end():m.end() + 1]) or \
                re.fullmatch(r"(?:19|20)\d\d", m.group(1)):
            continue
        words = [w.lower() for w in re.findall(r"[A-Za-z][\w'-]*", sentence[m.end():])[:6]]
        kept = [w for w in words if w not in SKIP][:COUNTED_WORDS]
        nouns = tuple(stems(kept))
        _SHOWN.update(zip(nouns, kept))  # for `about`: the words as written
        unit = (m.group(2) or "").lower()
        out.append((m.group(1).replace(",", ""), "percent" if unit in ("%", "per cent") else unit, nouns))
    return out


_SHOWN: dict[str, str] = {}  # stem -> a word it came from


def _context(sentence: str) -> set[str]:
    return {w for w in content_words(sentence) if not any(c.isdigit() for c in w)}


def different_quantity(a: str, b: str) -> str:
    """different_quantity (two sentences on one topic): the same kind of count (magnitude and counted words) with
    another number, e.g. a toll or an aid total revised in a later release. Returns what is counted."""
    cue_a, cue_b = CUMULATIVE.search(a), CUMULATIVE.search(b)
    if not (cue_a and cue_b):
        return ""  # packages and headlines announce their own amounts; only running totals and tolls are revised
    ca, cb = _context(a), _context(b)
    if not ca or not cb or len(ca & cb) / len(ca | cb) < MIN_CONTEXT:
        return ""
    # the total is what follows its cue ("brings total aid to $X"; "killed 120"), not an amount said before it
    qa_, qb = counted(a, cue_a.start()) or counted(a), counted(b, cue_b.start()) or counted(b)
    numbers_b = {n for n, _u, _w in qb}
    for n1, u1, w1 in qa_:
        if n1 in numbers_b:
            continue
        for n2, u2, w2 in qb:
            if n1 != n2 and u1 == u2 and w1 and set(w1) & set(w2) and n2 not in {n for n, _u, _w in qa_}:
                return " ".join(x for x in (u1, *(_SHOWN.get(w, w) for w in w1 if w in w2)) if x)
    return ""


def _frame_changes(a: str, b: str) -> list[tuple[list[str], list[str], list[str]]]:
    """(words before, words of a, words of b) for each replaced run, when a and b share one sentence frame."""
    ta, tb = _tokens(a), _tokens(b)
    sm = SequenceMatcher(None, [t.lower() for t in ta], [t.lower() for t in tb], autojunk=False)
    if sm.ratio() < MIN_FRAME:
        return []
    return [(ta[max(0, i1 - 5):i1], ta[i1:i2], tb[j1:j2]) for tag, i1, i2, j1, j2 in sm.get_opcodes()
            if tag == "replace"]


def different_name(a: str, b: str) -> str:
    """different_name (two sentences in one frame): another person, place or organisation in the same role."""
    names_a, names_b = set(claim_names(a)), set(claim_names(b))
    for before, x, y in _frame_changes(a, b):
        nx = [fold(w) for w in x if fold(w) in names_a and fold(w) not in names_b]
        ny = [fold(w) for w in y if fold(w) in names_b and fold(w) not in names_a]
        if nx and ny:
            return " ".join(before) or "who"
    return ""


def different_date(a: str, b: str) -> str:
    """different_date (two sentences in one frame): another day, month, year or time for the same event."""
    for before, x, y in _frame_changes(a, b):
        if _is_date(x, before) and _is_date(y, before) and [w.lower() for w in x] != [w.lower() for w in y]:
            return " ".join(before) or "when"
    return ""


RULES: tuple[Callable[[str, str], str], ...] = (different_date, different_name, different_quantity)


def disagreement(a: str, b: str) -> str:
    """What two sentences disagree about ("" when they agree or are about different things)."""
    if " ".join(a.split()).lower() == " ".join(b.split()).lower() or a.lstrip().startswith("#") or \
            b.lstrip().startswith("#"):
        return ""  # a heading names its own article's news ("# $100 Million in ..."), it does not report a value
    for rule in RULES:
        if about := rule(a, b):
            return about
    return ""
