"""The countries a question names, and whether a text mentions a country (for the `named_country` rule).

News about one country has neighbours about others: the same designation, appointment or visa measure, a week
apart, for another country. A question that names a country ("Who did the U.S. appoint as chargé to Honduras?")
is not answered by an article that never mentions it, however well the article supports the sentence the model
wrote from it (about El Salvador).

Country names come from ISO 3166 (`pycountry`: short, common and official names); news forms ISO lacks (Russia,
UAE, Turkey, Burma, Ivory Coast, ...) and demonyms not spelled like their country (French, Dutch, Swiss, ...)
are listed here. A text mentions a country when it holds one of its names, or a word sharing a long enough
prefix with one (Honduran, Salvadoran, Afghan, Chinese).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from qa.text import fold

# News forms of names ISO 3166 does not give, by alpha-2 code (written by hand)
EXTRA = {
    "RU": ("Russia",), "GB": ("Britain", "UK", "U.K.", "England", "Scotland", "Wales"), "AE": ("UAE", "U.A.E.", "Emirates"),
    "TR": ("Turkey",), "MM": ("Burma",), "CI": ("Ivory Coast",), "CD": ("DRC", "Democratic Republic of the Congo"),
    "CG": ("Republic of Congo",), "VA": ("Vatican",), "CV": ("Cape Verde",), "TL": ("East Timor",), "BN": ("Brunei",),
    "MK": ("Macedonia",), "SZ": ("Swaziland",), "FM": ("Micronesia",), "PS": ("West Bank", "Gaza"),
    "KR": ("Korea", "ROK"), "KP": ("DPRK",), "LA": ("Lao",), "NL": ("Holland",), "CN": ("PRC",),
    "US": ("U.S.", "US", "America", "USA"),
}
# ... and demonyms not made from a name by DEMONYM_ENDINGS (pycountry has none): they name their country in a question
# but are not its name ("Russian officials" describe; "Russia" acted)
DEMONYMS = {
    "RU": ("Russian",), "GB": ("British",), "AE": ("Emirati",), "TR": ("Turkish",), "MM": ("Burmese",),
    "CI": ("Ivorian",), "SO": ("Somali",), "SK": ("Slovak",), "BA": ("Bosniak",),
    "AZ": ("Azerbaijani",), "CZ": ("Czech",), "PS": ("Palestinian",), "LA": ("Laotian",), "PE": ("Peruvian",),
    "MZ": ("Mozambican",), "FR": ("French",), "ES": ("Spanish",), "DK": ("Danish",), "NL": ("Dutch",), "CH": ("Swiss",),
    "TH": ("Thai",), "PH": ("Filipino", "Philippine"), "GR": ("Greek",), "FI": ("Finnish",), "PL": ("Polish",),
    "NO": ("Norwegian",), "IE": ("Irish",), "SE": ("Swedish",), "PT": ("Portuguese",), "VN": ("Vietnamese",),
    "IL": ("Israeli",), "PK": ("Pakistani",), "YE": ("Yemeni",), "IQ": ("Iraqi",), "KW": ("Kuwaiti",), "QA": ("Qatari",),
    "OM": ("Omani",), "BH": ("Bahraini",), "SA": ("Saudi",), "TW": ("Taiwanese",), "SY": ("Syrian",),
    "LB": ("Lebanese",), "SD": ("Sudanese",), "SS": ("South Sudanese",), "NE": ("Nigerien",), "US": ("American",),
    "DO": ("Dominican",), "ME": ("Montenegrin",), "BF": ("Burkinabe",), "SI": ("Slovene",), "CR": ("Costa Rican",), "SL": ("Sierra Leonean",),
}
HOME = "US"  # the country a question may name as context without it being the slot's country (Washington's news)
MIN_PREFIX = 4


@lru_cache(maxsize=1)
def _names() -> dict[str, tuple[str, ...]]:
    """alpha-2 code -> the names a text may use for the country (ISO short/common/official names, EXTRA)."""
    import pycountry

    out: dict[str, tuple[str, ...]] = {}
    for c in pycountry.countries:
        forms = {c.name, getattr(c, "common_name", ""), getattr(c, "official_name", "")}
        forms |= {f.split(",")[0] for f in list(forms) if "," in f}  # "Korea, Republic of" -> "Korea"
        forms |= set(EXTRA.get(c.alpha_2, ())) | set(DEMONYMS.get(c.alpha_2, ()))
        out[c.alpha_2] = tuple(sorted((f for f in forms if f), key=len, reverse=True))
    return out


@lru_cache(maxsize=1)
def _finder() -> tuple[re.Pattern[str], dict[str, str]]:
    """One pattern for every country name as a capitalised whole word or phrase, and name -> code."""
    code_of: dict[str, str] = {}
    for code, forms in _names().items():
        for f in forms:
            if len(f) >= 3 and f[0].isupper() and f not in ("Korea",):  # "Korea" alone does not say which
                code_of.setdefault(f, code)
    alternatives = sorted(code_of, key=len, reverse=True)
    # not "New Mexico", not a first name or a place's first word ("Chad Smith", "Jordan Peterson", "Niger Delta")
    pattern = re.compile(r"(?<![\w.])(?<!New )(" + "|".join(re.escape(f) for f in alternatives) +
                         r")(?![\w])(?!\s+[A-Z][a-z])")
    return pattern, code_of


def countries_named(text: str) -> list[str]:
    """The alpha-2 codes of the countries `text` names (capitalised, as written) or whose demonym it uses, in order,
    without the home country; a name followed by "-based"/"-backed" counts too ("a Malaysia-based organization")."""
    pattern, code_of = _finder()
    text = text.replace("’", "'")
    names = list(pattern.finditer(text))
    found = [(m.start(), code_of[m.group(1)]) for m in names]
    # ... and its demonym ("Venezuelan refugees", "an Afghan national"): a capitalised word, not a sentence's first,
    # not a word of a name found ("the Dominican Republic") nor after another capitalised word ("North Korean",
    # "Papua New Guinean", "Bosnian Serb": a compound the single word misreads)
    found += [(m.start(), code) for m in re.finditer(r"(?<=[a-z0-9,;:] )[A-Z][a-z'-]{3,}\b"
                                                     r"(?!\s+(?:Ocean|Sea|Gulf|Peninsula|Airlines|Airways)\b)", text)
              if not any(n.start(1) <= m.start() < n.end(1) for n in names) and not is_country_name(m.group())
              and not re.search(r"(?:^|\s)[A-Z][\w.'-]*\s$", text[:m.start()])
              and (code := country_of_word(m.group())) is not None]
    return list(dict.fromkeys(code for _, code in sorted(found) if code != HOME))


# Words of long official names that say nothing about which country ("Republic of", "United", "Islamic").
GENERIC_PARTS = frozenset({
    "republic", "state", "states", "united", "kingdom", "democratic", "people", "islands", "federal", "federation",
    "north", "south", "east", "west", "arab", "islamic", "plurinational", "bolivarian", "socialist", "province",
    "china", "great", "britain", "northern", "ireland", "territory",
})


def _lcp(a: str, b: str) -> int:
    return len(os.path.commonprefix((a, b)))


@lru_cache(maxsize=1)
def _parts() -> dict[str, frozenset[str]]:
    """code -> the one distinctive word of each of its names, which a word of a text can be a form of."""
    out: dict[str, set[str]] = {}
    for code, forms in _names().items():
        for form in forms:
            words = re.findall(r"[a-z]+", _folded(form))
            parts = words if len(words) == 1 else [p for p in words if len(p) >= MIN_PREFIX and p not in GENERIC_PARTS]
            if len(parts) == 1 and len(parts[0]) >= MIN_PREFIX:
                out.setdefault(code, set()).add(parts[0])
    return {code: frozenset(parts) for code, parts in out.items()}


def _folded(text: str) -> str:
    return fold(text).replace("’", "'")


def _form_of(word: str, part: str, code: str) -> bool:
    """`word` is `part` or a form of it (a demonym: Honduran, Afghan, Chinese): a long enough common prefix, and no
    other country's name closer to it ("Nigerian" is Nigeria's, not Niger's; "Australian" not Austria's)."""
    n = _lcp(word, part)
    if not (n >= max(MIN_PREFIX, min(len(part) - 3, 5)) or n == len(part) == len(word)):
        return False
    return not any(_lcp(word, p) > n for c, ps in _parts().items() if c != code for p in ps
                   if p[:2] == word[:2])


@lru_cache(maxsize=512)
def _longer(code: str) -> tuple[str, ...]:
    """Other countries' names that hold one of this country's names ("South Sudan" holds "Sudan")."""
    mine = [_folded(f) for f in _names().get(code, ())]
    return tuple(sorted({o for c, forms in _names().items() if c != code for o in map(_folded, forms)
                         if any(m != o and re.search(r"(?<![a-z])" + re.escape(m) + r"(?![a-z])", o) for m in mine)},
                        key=len, reverse=True))


def mentions(code: str, text: str) -> bool:
    """`text` mentions the country: one of its names (folded), not inside another country's name, or a word that
    is a form of one."""
    low = _folded(text)
    for other in _longer(code):
        low = low.replace(other, " ")
    for form in _names().get(code, ()):
        if re.search(r"(?<![a-z])" + re.escape(_folded(form)) + r"(?![a-z])", low):
            return True
    words = set(re.findall(r"[a-z][a-z'-]+", low))
    return any(_form_of(w, part, code) for part in _parts().get(code, frozenset()) for w in words
               if w[:2] == part[:2])


# How a demonym ends after its country's name, or after that name less up to three letters (Cuba-n, Iraq-i,
# Ira-nian, German(y), Morocc-an, Chin-ese, Leban-ese, Congo-lese, Cypr-iot, Argent-ine); "-istan" and "-stan" drop
# whole (Afghan, Uzbek, Kazakh).
DEMONYM_ENDINGS = ("", "n", "an", "ian", "ean", "ese", "lese", "i", "ish", "ic", "ine", "iot", "nian")


@lru_cache(maxsize=1)
def _folded_names() -> dict[str, frozenset[str]]:
    return {code: frozenset(map(_folded, forms)) for code, forms in _names().items()}


@lru_cache(maxsize=4096)
def country_word(word: str) -> bool:
    """One word is a country's name ("Jordan") or its demonym ("Afghan", "Cuban", "German", "French", "Iraqi");
    "Taliban", "Truman", "Munich", "Police", "Marine", "Austin", "Green" and "Marshall" (the Marshall Plan) are not.
    Made from the names with DEMONYM_ENDINGS, not from a shared prefix: "Police" shares four letters with Poland."""
    return bool(_codes_of_word(word))


@lru_cache(maxsize=4096)
def _codes_of_word(word: str) -> dict[str, int]:
    w = _folded(word).strip(".,;:")
    if not re.fullmatch(r"[a-z][a-z'-]+", w):
        return {}
    return _word_codes(w) or (_word_codes(w[:-1]) if w.endswith("s") and len(w) > 4 else {})


@lru_cache(maxsize=4096)
def country_of_word(word: str) -> str | None:
    """The alpha-2 code of the country one word names or is the demonym of (`country_word`); a plural is read as its
    singular ("Afghans"). None when it is no such word, or when two countries' forms fit it equally ("Korean": North
    or South; "Congolese"): the longer name wins ("Nigerian" is Nigeria's, not Niger's)."""
    found = _codes_of_word(word)
    if not found:
        return None
    best = max(found.values())
    codes = [code for code, n in found.items() if n == best]
    return codes[0] if len(codes) == 1 else None


CONTINENTS = frozenset({"africa", "america", "asia", "europe"})  # "South Africa" is not the only African country


def _word_codes(w: str) -> dict[str, int]:
    """code -> how many letters of `w` come from the country's name, for every country `w` is a form of."""
    out: dict[str, int] = {}
    for code, parts in _parts().items():  # the bare name only when it is the country's whole name: "Marshall"
        names = _folded_names()[code]  # and "Solomon" are not the Marshall or Solomon Islands
        if w in names:
            out[code] = len(w) + 1
            continue
        for part in parts - CONTINENTS:
            if w[:3] != part[:3]:
                continue
            stems = [part[:len(part) - k] for k in range(4) if len(part) - k >= MIN_PREFIX]
            stems += [part[:-5]] if part.endswith("istan") else [part[:-4]] if part.endswith("stan") else []
            if w == part and part not in names:
                continue
            n = max((len(stem) for stem in stems for e in DEMONYM_ENDINGS
                     if w == stem + e and _joins(part, stem, e, names)), default=0)
            if n:
                out[code] = max(out.get(code, 0), n)
    return out


def _joins(part: str, stem: str, ending: str, names: frozenset[str]) -> bool:
    """`stem` + `ending` is a form of the country name word `part`: German(y), Turk(ey), Afghan(istan), Cuba-n,
    Iraq-i, Pakistan-i, Leban(on)-ese; not a first name or surname cut from one (Roman, Chin, Dominic, Marshal, Ghani,
    Sudani, Albanese: their countries' forms are Romanian, Chinese, Dominican, Marshallese, Ghanaian, Sudanese,
    Albanian; Somali, Slovak and the like are in DEMONYMS)."""
    cut = part[len(stem):]
    if not ending:
        return (cut == "" and stem in names) or cut in ("y", "ey", "istan", "stan")
    if ending == "n":
        return cut == "" and stem.endswith("a")  # Cuba-n, not Gree-n, Roma-n
    if ending == "i":
        return cut == "" and (not part.endswith("an") or part.endswith("stan"))
    if ending in ("ese", "lese"):
        return not part.endswith("ia")
    if ending == "an":
        return cut in ("", "a", "o", "as")  # Chile-an, Americ(a)-an, Mexic(o)-an, Hondur(as)-an; not Mari(ana)-an
    if ending == "ic":
        return cut == ""  # Iceland-ic; not Domin(ica)-ic
    if ending == "ine":
        return cut == "ina"  # Argent(ina)-ine; not Germ(any)-ine
    return True


def is_country_name(span: str) -> bool:
    """The span is one of a country's names, as a whole ("the United States", "U.S.", "Pakistan", "South Sudan"), not
    its demonym ("Russian")."""
    bare = re.sub(r"^the\s+", "", _folded(span).strip(",;:"))
    return any((bare in names or bare.rstrip(".") in names) and bare not in _folded_demonyms()
               for names in _folded_names().values())


@lru_cache(maxsize=1)
def _folded_demonyms() -> frozenset[str]:
    return frozenset(_folded(d) for forms in DEMONYMS.values() for d in forms)


USUAL = {"RU": "Russia", "TR": "Turkey", "AE": "the UAE", "GB": "the UK", "CD": "the DRC"}  # names news uses


def usual_name(code: str) -> str:
    import pycountry

    c = pycountry.countries.get(alpha_2=code)
    return USUAL.get(code) or (str(getattr(c, "common_name", "") or c.name) if c else code)


def missing_countries(question: str, text: str) -> list[str]:
    """The countries the question names that `text` never mentions, by their usual names."""
    return [usual_name(c) for c in countries_named(question) if not mentions(c, text)]
