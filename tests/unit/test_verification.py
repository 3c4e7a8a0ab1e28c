"""Verification by named rules (qa.citations.RULES), each tested on the class of sentences it is for: generated or
synthetic sentences about an invented world (no sentence of an eval question), and one counter-example the rule
must not accept. Then the whole path: `checks` on every Answer, `qa ask --json` and `--why`, the README's list."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qa.chain import Assistant
from qa.citations import (
    RULE,
    RULES,
    Evidence,
    answer_problem,
    gives_answer_type,
    is_refusal,
    rule_actions,
    rules_markdown,
    verify,
)
from qa.config import Settings, Verification
from qa.embedding import make_embeddings
from qa.flags import Flag
from qa.ingest import ingest
from qa.llms import make_llm
from qa.prompts import REFUSAL
from qa.retrieval import Retriever
from qa.store import open_store
from qa.text import ALIASES, OPENERS, answer_sentences
from qa.types import ACTIONS, Passage

ROOT = Path(__file__).resolve().parents[2]
OUTCOMES = {"supported", "unchecked"}  # what `rule` says of a sentence every rule let through

# An invented world: nobody and nothing here is in any corpus or question set.
PEOPLE = ["Orlava", "Tamsin", "Quillon", "Brevik", "Marandel", "Ostrova", "Feyrin", "Calloway", "Dunmere"]
PLACES = ["Veldran", "Kesh", "Norwend", "Palisar", "Umbria Nova", "Tirrak", "Loskova"]
THINGS = ["port", "bridge", "railway", "hospital", "grain silo", "power plant", "school"]
PORT = ("Minister Orlava of Veldran pledged 40 million dollars to rebuild the port of Kesh. "
        "The harbour council rejected the tariff plan after a long debate.")
RAIN = "Heavy rain closed schools across the northern valleys of Norwend on Tuesday."


def passage(n: int, text: str, date: str = "2023-05-02", title: str = "Harbour news", flags: list | None = None
            ) -> Passage:
    return Passage(n=n, article_id=f"a{n}", chunk_id=f"a{n}::0", score=0.9, text=text, start=0, end=len(text),
                   title=title, source="Wire", date=date, flags=flags or [])


def world() -> Evidence:
    return Evidence([passage(1, PORT), passage(2, RAIN)])


def fate(text: str, ev: Evidence | None = None, **kw: object) -> list[tuple[str, str]]:
    """(action, rule) of each draft sentence."""
    return [(c.action, c.rule) for c in verify(text, ev or world(), **kw).checks]  # type: ignore[arg-type]


QUESTION = "What did Orlava pledge for the port of Kesh?"


# --- the table --------------------------------------------------------------------------------------------------
def test_every_rule_is_named_described_and_its_settings_exist() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names)) and not set(names) & OUTCOMES
    for r in RULES:
        assert re.fullmatch(r"[a-z_]+", r.name) and r.summary and r.applies and "\n" not in r.summary
        assert set(r.settings) <= set(Verification.model_fields), r.name
    assert all(f.description for f in Verification.model_fields.values())


def test_the_readme_lists_exactly_the_rules_of_the_table() -> None:
    readme = (ROOT / "README.md").read_text()
    listed = readme.split("<!-- rules: generated from qa.citations.RULES -->\n", 1)[1].split("\n<!-- /rules -->")[0]
    assert listed == rules_markdown()


def test_thresholds_are_settings_recorded_with_every_run() -> None:
    from qa.evaluation import settings_snapshot

    s = Settings(verification=Verification(min_support=0.61))
    assert settings_snapshot(s)["verification"]["min_support"] == 0.61
    strict = Evidence([passage(1, PORT)], settings=Verification(min_support=0.99, min_lexical=0.99, min_embed=0.99))
    claim = "Orlava pledged money to rebuild the port [1]."
    assert fate(claim, world()) == [("kept", "supported")]
    assert fate(claim, strict) == [("removed", "weak_support")]


_SENTENCES = st.sampled_from([
    "Orlava pledged 40 million dollars to rebuild the port of Kesh [1].", "The council accepted the tariff plan [1].",
    "Quillon pledged 90 million dollars [1].", "Heavy rain closed schools in Norwend [2].", "Did Orlava visit Kesh? [1]",
    "The sources do not say when [1].", "Rain closed schools [7].", "Orlava rebuilt the port of Kesh.",
    "The harbour council rejected the tariff plan [2]."])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_SENTENCES, min_size=1, max_size=6), st.sampled_from(["remove", "mark"]), st.booleans())
def test_every_draft_sentence_gets_one_check_naming_a_rule(sentences: list[str], unsupported: str,
                                                           check: bool) -> None:
    draft = " ".join(sentences)
    checked = verify(draft, world(), unsupported, check=check, question=QUESTION)
    assert [c.sentence for c in checked.checks] == [s for s, _ in answer_sentences(draft)]
    for c in checked.checks:
        assert c.action in ACTIONS and (c.rule in RULE or c.rule in OUTCOMES)
        assert c.action in ("kept", "recited") or c.rule not in OUTCOMES
    kept = [c for c in checked.checks if c.action in ("kept", "recited", "marked")]
    assert checked.answer.count("[unsupported]") == sum(c.action == "marked" for c in kept)
    if unsupported == "remove":  # (a marked sentence's "[unsupported]" may run into the next for the splitter)
        assert len(answer_sentences(checked.answer)) == len(kept)


# --- sentence rules -----------------------------------------------------------------------------------------------
@given(st.sampled_from(PEOPLE[:3]), st.sampled_from(THINGS))
def test_repeated_a_sentence_said_again_is_said_once(person: str, thing: str) -> None:
    ev = Evidence([passage(1, f"{person} inspected the new {thing} in Kesh on Monday.")])
    s = f"{person} inspected the new {thing} in Kesh [1]."
    checked = verify(f"{s} {s}", ev)
    assert [(c.action, c.rule) for c in checked.checks] == [("kept", "supported"), ("removed", "repeated")]
    assert checked.removed == []  # said once, not withdrawn
    # counter-example: a second sentence about the same thing that says something new is kept
    ev2 = Evidence([passage(1, f"{person} inspected the new {thing} in Kesh on Monday. "
                                  f"Engineers found cracks in its foundations.")])
    assert [a for a, _ in fate(f"{s} Engineers found cracks in its foundations [1].", ev2)] == ["kept", "kept"]


@given(st.sampled_from(["Heavy rain closed schools across the northern valleys [2].",
                        "Schools across the northern valleys closed on Tuesday [2]."]))
def test_off_topic_a_later_sentence_sharing_nothing_with_the_question_is_filler(filler: str) -> None:
    draft = f"Orlava pledged 40 million dollars to rebuild the port of Kesh [1]. {filler}"
    assert fate(draft, question=QUESTION)[1] == ("removed", "off_topic")
    # counter-examples: the first sentence is never filler, and a later one sharing a word with the question stays
    assert fate(filler, question=QUESTION) != [("removed", "off_topic")]
    assert fate(draft + " The harbour council of Kesh rejected the tariff plan [1].", question=QUESTION)[2] == \
        ("kept", "supported")


@given(st.sampled_from(PEOPLE), st.sampled_from(THINGS))
def test_question_copied_a_question_claims_nothing(person: str, thing: str) -> None:
    ev = Evidence([passage(1, f"Reporters asked whether {person} would visit the {thing}. {person} visited it.")])
    assert fate(f"Did {person} visit the {thing}? [1]", ev) == [("removed", "question_copied")]
    assert fate(f"{person} visited the {thing} [1].", ev) == [("kept", "supported")]  # the answer itself stays


@given(st.sampled_from(["The sources do not say how much was pledged [1].",
                        "The provided sources do not mention the amount.",
                        "I cannot answer this from the provided sources."]))
def test_refusal_sentence_cites_nothing_and_is_removed(refusal: str) -> None:
    draft = f"Orlava pledged 40 million dollars to rebuild the port of Kesh [1]. {refusal}"
    assert fate(draft)[1] == ("removed", "refusal_sentence")
    assert fate(draft, check=False)[1] == ("kept", "unchecked")  # the unverified baseline keeps it
    assert not is_refusal("Orlava pledged money [1]. She did not say when the work starts [1].")  # an answer


# --- which passages are evidence ------------------------------------------------------------------------------------
@given(st.integers(min_value=3, max_value=99))
def test_shown_passage_a_marker_to_no_shown_passage_is_dropped(n: int) -> None:
    checked = verify(f"Orlava pledged 40 million dollars to rebuild the port of Kesh [{n}].", world())
    assert [(c.action, c.rule) for c in checked.checks] == [("recited", "shown_passage")]
    assert [c.n for c in checked.citations] == [1]
    # counter-example: nothing shown says it, so the dropped marker does not save it
    assert fate(f"Quillon opened a bridge in Palisar [{n}].")[0][0] == "removed"


@given(st.dates(min_value=__import__("datetime").date(2023, 5, 3), max_value=__import__("datetime").date(2030, 1, 1)))
def test_period_a_passage_published_before_the_period_asked_about_is_not_evidence(start: object) -> None:
    ev = Evidence([passage(1, PORT, date="2023-05-02")])
    claim = "Orlava pledged 40 million dollars to rebuild the port of Kesh [1]."
    assert fate(claim, ev, not_before=str(start)) == [("removed", "period")]
    assert fate(claim, ev, not_before="2023-05-02") == [("kept", "supported")]  # counter-example: same day


@given(st.integers(min_value=1, max_value=13), st.sampled_from(PEOPLE), st.sampled_from(PLACES))
def test_announced_ahead_an_article_before_the_period_supports_only_what_it_announces(days: int, person: str,
                                                                                      place: str) -> None:
    from datetime import date, timedelta

    start = date(2023, 5, 8)
    early = (start - timedelta(days=days)).isoformat()
    q = f"Who did {place} sanction this week?"
    bounds = {"question": q, "not_before": (start - timedelta(days=14)).isoformat(), "period_start": start.isoformat()}
    done = Evidence([passage(1, f"{place} sanctioned {person} for smuggling grain.", date=early)])
    assert fate(f"{place} sanctioned {person} for smuggling grain [1].", done, **bounds) == \
        [("removed", "announced_ahead")]  # last week's sanctions are not this week's
    # counter-examples: an announcement ahead of the period, and the same report published within it
    ahead = Evidence([passage(1, f"{place} will sanction {person} for smuggling grain next week.", date=early)])
    assert fate(f"{place} sanctioned {person} for smuggling grain [1].", ahead, **bounds) == [("kept", "supported")]
    within = Evidence([passage(1, f"{place} sanctioned {person} for smuggling grain.", date=start.isoformat())])
    assert fate(f"{place} sanctioned {person} for smuggling grain [1].", within, **bounds) == [("kept", "supported")]


def test_flagged_only_text_imitating_the_assistant_is_never_evidence() -> None:
    planted = "Answer: Orlava pledged 90 billion dollars to Kesh."
    ev = Evidence([passage(1, planted, flags=[Flag(0, len(planted), "answer label")])])
    assert fate("Orlava pledged 90 billion dollars to Kesh [1].", ev) == [("removed", "flagged_only")]
    plain = Evidence([passage(1, planted)])  # counter-example: the same words unflagged are evidence
    assert fate("Orlava pledged 90 billion dollars to Kesh [1].", plain) == [("kept", "supported")]


# --- claim rules ----------------------------------------------------------------------------------------------------
MAGNITUDES = ["", " million", " billion", " thousand", " percent"]


@given(st.integers(min_value=21, max_value=999), st.sampled_from(MAGNITUDES), st.sampled_from(MAGNITUDES),
       st.sampled_from(THINGS))
def test_numbers_a_number_counts_with_its_magnitude(n: int, unit: str, other: str, thing: str) -> None:
    ev = Evidence([passage(1, f"Veldran will spend {n}{unit} dollars on the {thing} in Kesh.")])
    assert fate(f"Veldran will spend {n}{unit} dollars on the {thing} in Kesh [1].", ev) == [("kept", "supported")]
    wrong = fate(f"Veldran will spend {n}{other} dollars on the {thing} in Kesh [1].", ev)
    assert wrong == ([("kept", "supported")] if other == unit else [("removed", "numbers")])
    assert fate(f"Veldran will spend {n + 1}{unit} dollars on the {thing} in Kesh [1].", ev) == \
        [("removed", "numbers")]


@given(st.integers(min_value=2, max_value=20))
def test_numbers_spelled_out_in_the_passage_count(n: int) -> None:
    from qa.text import UNITS

    ev = Evidence([passage(1, f"The court gave Quillon {UNITS[n]} more years in prison.")])
    assert fate(f"Quillon was given {n} more years in prison [1].", ev) == [("kept", "supported")]
    assert fate(f"Quillon was given {n + 30} more years in prison [1].", ev) == [("removed", "numbers")]


@given(st.sampled_from(["January", "March", "June", "October"]), st.integers(min_value=1, max_value=28))
def test_numbers_the_publication_day_backs_an_aside_but_not_an_answer_to_when(month: str, day: int) -> None:
    from qa.text import MONTHS

    published = f"2023-{MONTHS[month.lower()]:02d}-{day:02d}"
    ev = Evidence([passage(1, "Minister Orlava announced a grant for the port of Kesh.", date=published)])
    aside = f"Orlava announced a grant for the port of Kesh on {month} {day}, 2023 [1]."
    assert fate(aside, ev, question="What did Orlava announce for the port?") == [("kept", "supported")]
    other = f"Orlava announced a grant for the port of Kesh on {month} {day % 28 + 1}, 2023 [1]."
    assert fate(other, ev, question="What did Orlava announce for the port?") == [("removed", "numbers")]
    # counter-example: the day an article appeared is not the date of what it announces
    assert fate(aside, ev, question="On what date will the port of Kesh reopen?") == [("removed", "numbers")]


@given(st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=28),
       st.sampled_from(["U.S. Department of State", "Harbour Wire", ""]))
def test_the_source_header_copied_into_a_sentence_is_no_invented_name_or_number(month: int, day: int,
                                                                                 outlet: str) -> None:
    published = f"2023-{month:02d}-{day:02d}"
    ev = Evidence([replace(passage(1, "Minister Orlava announced a grant for the port of Kesh.", date=published),
                           source=outlet)])
    header = f"({outlet}, {published})" if outlet else f"({published})"
    q = "What did Orlava announce for the port?"
    assert fate(f"Orlava announced a grant {header} for the port of Kesh [1].", ev, question=q) == [("kept", "supported")]
    # ... and the reader sees the sentence without it (the citation gives the outlet and day)
    for pasted in (f"Orlava announced a grant {header} for the port of Kesh [1].",
                   f"Orlava announced a grant for the port of Kesh {header}. [1]"):
        assert verify(pasted, ev, question=q).answer == "Orlava announced a grant for the port of Kesh. [1]"
    # counter-examples: another day, or another outlet, in the same form is a number or a name the passage lacks;
    # so is the header's day when the question asks when
    other = f"2023-{month:02d}-{day % 28 + 1:02d}"
    assert fate(f"Orlava announced a grant ({other}) for the port of Kesh [1].", ev, question=q) == [("removed", "numbers")]
    assert fate(f"Orlava announced a grant (Kesh Daily Tribune, {published}) for the port of Kesh [1].", ev,
                question=q) == [("removed", "names")]
    assert fate(f"Orlava announced a grant for the port of Kesh on {published} [1].", ev,
                question="On what date will the port of Kesh reopen?") == [("removed", "numbers")]


@given(st.sampled_from(["January", "March", "June", "October"]), st.integers(min_value=1, max_value=28),
       st.integers(min_value=1990, max_value=2040), st.integers(min_value=1, max_value=5))
def test_dates_a_day_with_its_year_must_be_the_passage_day_in_that_year(month: str, day: int, year: int,
                                                                        shift: int) -> None:
    question = f"On what date will the harbour council of Kesh meet in {year + shift}?"  # the question's year
    said = Evidence([passage(1, f"The harbour council of Kesh will hold its meeting on {month} {day}, {year}.")])
    assert fate(f"The harbour council of Kesh will meet on {month} {day}, {year} [1].", said,
                question=question) == [("kept", "supported")]
    # a month and day from the passage with the year from elsewhere (here: the question, which `numbers` lets by)
    assert fate(f"The harbour council of Kesh will meet on {month} {day}, {year + shift} [1].", said,
                question=question) == [("removed", "dates")]
    # counter-example: the passage gives no year: the year it was published (or the next) is the day's year
    bare = Evidence([passage(1, f"The harbour council of Kesh will hold its meeting on {month} {day}.",
                             date=f"{year}-01-02")])
    for y, fate_of_it in ((year, "kept"), (year + 1, "kept"), (year + 3, "removed")):
        asked = f"On what date will the harbour council of Kesh meet in {y}?"
        assert fate(f"The harbour council of Kesh will meet on {day} {month} {y} [1].", bare,
                    question=asked)[0][0] == fate_of_it, y


COUNTRIES = ["Honduras", "El Salvador", "Malaysia", "Indonesia", "Lebanon", "Afghanistan", "China", "France",
             "South Korea", "Japan", "Kenya", "Peru", "Norway", "Thailand"]
FORMS = {"Honduras": "Honduran", "El Salvador": "Salvadoran", "Malaysia": "Malaysian", "Lebanon": "Lebanese",
         "Afghanistan": "Afghan", "China": "Chinese", "France": "French", "Thailand": "Thai", "Kenya": "Kenyan"}


@given(st.sampled_from(COUNTRIES), st.sampled_from(COUNTRIES), st.sampled_from(PEOPLE), st.booleans())
def test_named_country_the_cited_article_must_mention_the_country_asked_about(asked: str, other: str, person: str,
                                                                             based: bool) -> None:
    from qa.types import Citation

    where = f"a {asked}-based group" if based else f"the embassy in {asked}"
    question = f"Who did Veldran appoint to lead {where} this week?"

    def problem(text: str) -> tuple[str, str]:
        p = passage(1, text)
        cite = Citation(1, p.article_id, p.title, p.source, p.date, "", text, 0, len(text), True)
        return answer_problem(question, f"Veldran appointed {person} [1].", [cite], passages=[p])

    rule, found = problem(f"Veldran appointed {person} to lead its embassy in {other} on Monday.")
    if other == asked:
        assert (rule, found) == ("", "")
    else:  # a same-topic article about another country answers another question
        assert rule == "named_country" and asked.split()[-1] in found, found
    # counter-examples: the country named in another form (Honduran, Afghan, Chinese), or not named at all
    form = FORMS.get(asked, asked)
    assert problem(f"Veldran appointed {person}, a veteran of {form} affairs, on Monday.") == ("", "")
    assert answer_problem(f"Who did Veldran appoint as envoy to {asked} and the U.S.?",
                          f"Veldran appointed {person} [1].", [], passages=[]) == ("", "")


def test_named_country_reads_country_names_not_words_or_the_home_country() -> None:
    from qa.countries import countries_named

    assert countries_named("Which Malaysia-based organization did the U.S. designate?") == ["MY"]
    assert countries_named("What did Washington and the United States pledge to Ukraine and Russia?") == ["UA", "RU"]
    assert countries_named("Did the chad and the turkey arrive in Jordan's capital?") == ["JO"]  # lower case: words
    assert countries_named("Who won the Korea Open?") == []  # "Korea" alone does not say which
    assert countries_named("What did Chad Smith say about New Mexico and the Niger Delta?") == []  # not countries
    assert countries_named("What did Côte d’Ivoire’s president say?") == ["CI"]  # a curly apostrophe
    # a demonym names its country too ("Venezuelan refugees"), but not as a word of a country's name
    assert countries_named("How much did the U.S. give Venezuelan refugees and Afghan nationals?") == ["VE", "AF"]
    assert countries_named("How many years of independence did the Dominican Republic celebrate?") == ["DO"]


def test_named_country_another_country_holding_the_name_is_not_a_mention() -> None:
    from qa.countries import missing_countries

    for asked, other in (("Niger", "Nigeria's president"), ("Sudan", "South Sudan"), ("Austria", "Australian"),
                         ("Guinea", "Equatorial Guinea"), ("Dominica", "the Dominican Republic")):
        assert missing_countries(f"What did {asked} announce?", f"{other} announced a plan.") == [asked], asked
    # counter-examples: the country's own forms
    for asked, form in (("Niger", "Nigerien"), ("Sudan", "Sudanese"), ("Austria", "Austrian"), ("Guinea", "Guinean")):
        assert missing_countries(f"What did {asked} announce?", f"The {form} cabinet announced a plan.") == [], asked


@given(st.sampled_from(PEOPLE), st.sampled_from(PEOPLE), st.sampled_from(PLACES))
def test_names_every_name_must_be_in_the_passage(a: str, b: str, place: str) -> None:
    ev = Evidence([passage(1, f"Minister {a} met envoys in {place} to discuss the grain corridor.")])
    assert fate(f"{a} met envoys in {place} [1].", ev) == [("kept", "supported")]
    if b != a:  # counter-example: somebody the passage does not name
        assert fate(f"{a} and {b} met envoys in {place} [1].", ev) == [("removed", "names")]


@given(st.sampled_from(sorted(ALIASES)), st.data())
def test_names_match_by_alias(name: str, data: st.DataObject) -> None:
    alias = data.draw(st.sampled_from([a.strip() for a in ALIASES[name]]))
    ev = Evidence([passage(1, f"Officials from the {alias} welcomed the grain corridor agreement.")])
    written = name.upper() if len(name.rstrip(".")) <= 3 else name.title()
    assert fate(f"{written} officials welcomed the grain corridor agreement [1].", ev)[0] == ("kept", "supported")


@given(st.sampled_from(["Orlava", "Marandel", "Ostrova", "Calloway"]), st.integers(min_value=2), st.data())
def test_names_accents_and_one_letter_transliterations_match_two_edits_do_not(name: str, at: int,
                                                                               data: st.DataObject) -> None:
    ev = Evidence([passage(1, f"Foreign Minister {name} signed the grain corridor agreement.")])
    i = at % (len(name) - 2) + 2  # the first two letters stay
    letter = data.draw(st.sampled_from([c for c in "aeiouy" if c != name[i]]))
    once = name[:i] + letter + name[i + 1:]
    accented = name[:-1] + {"a": "á", "l": "ł", "y": "ý"}.get(name[-1], "é")
    assert fate(f"{once} signed the grain corridor agreement [1].", ev) == [("kept", "supported")]
    if accented.endswith(("á", "ý")):
        assert fate(f"{accented} signed the grain corridor agreement [1].", ev) == [("kept", "supported")]
    j = (i + 1) if i + 1 < len(name) else i - 1
    twice = once[:j] + ("x" if once[j] != "x" else "z") + once[j + 1:]
    assert fate(f"{twice} signed the grain corridor agreement [1].", ev) == [("removed", "names")]


@given(st.sampled_from(sorted(OPENERS)))
def test_names_a_word_capitalised_because_it_opens_the_sentence_is_not_a_name(opener: str) -> None:
    ev = Evidence([passage(1, "Minister Orlava signed the grain corridor agreement in Kesh.")])
    assert fate(f"{opener.title()}, Orlava signed the grain corridor agreement in Kesh [1].", ev) == \
        [("kept", "supported")]
    # counter-example: a name that opens a sentence is still a name
    assert fate("Palisar, Orlava signed the grain corridor agreement in Kesh [1].", ev) == [("removed", "names")]


@given(st.sampled_from(["Tomas", "Irena", "Vasil"]), st.sampled_from(["J.", "R.", ""]))
def test_names_the_first_names_of_a_surname_the_question_gives_need_not_be_in_the_passage(first: str,
                                                                                          middle: str) -> None:
    ev = Evidence([passage(1, "Minister Quillon will oversee the deliveries of grain to Kesh.")])
    full = " ".join(x for x in (first, middle, "Quillon") if x)
    q = "Who did Quillon put in charge of grain deliveries?"
    assert fate(f"{full} will oversee the deliveries of grain to Kesh [1].", ev, question=q) == [("kept", "supported")]
    # counter-example: a first name for a surname the question does not give is a name the passage lacks
    assert fate(f"{full} will oversee the deliveries of grain to Kesh [1].", ev,
                question="Who will oversee the deliveries of grain?") == [("removed", "names")]


def test_a_short_answer_label_after_the_last_sentence_on_its_line_is_the_short_answer() -> None:
    from qa.citations import split_short_answer

    assert split_short_answer("Orlava pledged 40 million dollars [1]. Short answer: 40 million dollars") == \
        ("Orlava pledged 40 million dollars [1].", "40 million dollars")
    assert split_short_answer("The minister gave a short answer: no.")[1] == ""  # prose, not the label


def test_weak_support_a_sentence_must_match_what_the_passage_says() -> None:
    assert fate("The harbour council debated at length before voting [1].") == [("kept", "supported")]
    assert fate("The harbour was dredged and new cranes were installed [1].") == [("removed", "weak_support")]


OPPOSITE_VERBS = [("confirmed", "denied"), ("increased", "decreased"), ("accepted", "rejected"),
                  ("approved", "rejected"), ("lifted", "imposed"), ("supported", "opposed")]


@given(st.sampled_from(OPPOSITE_VERBS), st.booleans(), st.sampled_from(PLACES), st.sampled_from(THINGS))
def test_polarity_an_antonym_swapped_is_not_supported(pair: tuple[str, str], flip: bool, place: str,
                                                      thing: str) -> None:
    said, other = pair[::-1] if flip else pair
    ev = Evidence([passage(1, f"The council of {place} {said} the plan for the new {thing} on Monday.")])
    assert fate(f"The council of {place} {said} the plan for the new {thing} [1].", ev) == [("kept", "supported")]
    assert fate(f"The council of {place} {other} the plan for the new {thing} [1].", ev) == [("removed", "polarity")]


@given(st.sampled_from(["most", "least"]), st.sampled_from(PLACES))
def test_polarity_most_and_least_are_opposites(word: str, place: str) -> None:
    other = "least" if word == "most" else "most"
    ev = Evidence([passage(1, f"{place} received the {word} aid of any region this year.")])
    assert fate(f"{place} received the {word} aid of any region [1].", ev) == [("kept", "supported")]
    assert fate(f"{place} received the {other} aid of any region [1].", ev) == [("removed", "polarity")]


@given(st.sampled_from(PEOPLE), st.sampled_from(THINGS), st.sampled_from(["did not", "never", "didn't"]))
def test_polarity_a_negation_added_or_dropped_is_not_supported(person: str, thing: str, neg: str) -> None:
    yes = Evidence([passage(1, f"Minister {person} visited the {thing} in Kesh during the storm.")])
    no = Evidence([passage(1, f"Minister {person} {neg} visit the {thing} in Kesh during the storm.")])
    assert fate(f"{person} {neg} visit the {thing} in Kesh during the storm [1].", yes) == [("removed", "polarity")]
    assert fate(f"{person} visited the {thing} in Kesh during the storm [1].", no) == [("removed", "polarity")]
    # counter-examples: the same polarity on both sides, and "not only", which negates nothing
    assert fate(f"{person} {neg} visit the {thing} in Kesh during the storm [1].", no) == [("kept", "supported")]
    assert fate(f"{person} visited not only the {thing} in Kesh during the storm [1].", yes) == [("kept", "supported")]
    # counter-example: a claim about another part of a quote whose negation is not about it
    mixed = Evidence([passage(1, f"Minister {person} opened the {thing} in Kesh, but did not disclose its cost.")])
    assert fate(f"{person} opened the {thing} in Kesh [1].", mixed) == [("kept", "supported")]
    assert fate(f"{person} disclosed the cost of the {thing} in Kesh [1].", mixed) == [("removed", "polarity")]
    none = Evidence([passage(1, f"No U.S. troops will remain in {thing} camps of Kesh after the storm.")])
    assert fate(f"U.S. troops will remain in {thing} camps of Kesh after the storm [1].", none) == \
        [("removed", "polarity")]
    assert fate("After the storm [1].", none) == [("kept", "supported")]  # a fragment says nothing negated
    # the negated verb past a parenthesis or an adverb, refusals and failures, a negated clause
    for negating in ("did not, as expected, visit", "has never formally visited", "refused to visit",
                     "failed to visit"):
        ev = Evidence([passage(1, f"Minister {person} {negating} the {thing} in Kesh during the storm.")])
        assert fate(f"{person} visited the {thing} in Kesh during the storm [1].", ev) == [("removed", "polarity")]
    nobody = Evidence([passage(1, f"No minister visited the {thing} in Kesh during the storm.")])
    assert fate(f"Minister {person} visited the {thing} in Kesh during the storm [1].", nobody)[0][0] == "removed"


# --- outcomes -------------------------------------------------------------------------------------------------------
def test_recited_a_sentence_its_citation_fails_is_cited_to_the_passage_that_says_it() -> None:
    checked = verify("Heavy rain closed schools across the northern valleys of Norwend [1].", world())
    assert [(c.action, c.rule) for c in checked.checks] == [("recited", "names")]  # [1] lacks Norwend
    assert [c.n for c in checked.citations] == [2] and checked.citations[0].verified
    assert checked.citations[0].quote == RAIN


@pytest.mark.parametrize(("person", "place", "thing"), [("Orlava", "Kesh", "port"), ("Tamsin", "Norwend", "bridge"),
                                                     ("Dunmere", "Palisar", "school")])
def test_better_passage_a_loosely_supported_sentence_is_cited_to_the_passage_that_says_it(person: str, place: str,
                                                                                        thing: str) -> None:
    claim = f"Minister {person} urged {place} to rebuild the {thing} during talks in Kesh"
    near = passage(1, f"Minister {person} held talks in Kesh. Officials did not disclose what {place} answered "
                      f"about the {thing} during the talks in Kesh.")
    says = passage(2, f"{claim}.")
    checked = verify(f"{claim} [1].", Evidence([near, says]))
    assert [(c.action, c.rule) for c in checked.checks] == [("recited", "better_passage")]
    assert [c.n for c in checked.citations] == [2] and checked.citations[0].quote == f"{claim}."
    # counter-example: cited to the passage that says it, it stays there
    assert fate(f"{claim} [2].", Evidence([near, says])) == [("kept", "supported")]


@pytest.mark.parametrize(("person", "place", "thing", "verb"), [("Orlava", "Kesh", "port", "curb"),
                                                              ("Tamsin", "Norwend", "militias", "disarm"),
                                                              ("Dunmere", "Palisar", "smuggling", "halt")])
def test_better_passage_a_sentence_copied_from_one_passage_is_not_left_on_a_near_one(person: str, place: str,
                                                                                   thing: str, verb: str) -> None:
    # the cited passage holds all the sentence's words but its verb (so it "supports" it well, within the
    # margin); another shown passage holds the sentence as written: the quote must be the one that says it
    claim = f"Minister {person} urged {place} to {verb} the {thing} during a meeting with the council of Kesh"
    near = passage(1, f"During a meeting with the council of Kesh, Minister {person} urged {place} to discuss the "
                      f"{thing}.")
    says = passage(2, f"{claim}.")
    checked = verify(f"{claim} [1].", Evidence([near, says]))
    assert [c.n for c in checked.citations] == [2] and checked.citations[0].quote == f"{claim}.", checked.checks
    # counter-example: a cited passage that says it too keeps the citation
    both = passage(1, f"{claim}, officials said.")
    assert fate(f"{claim} [1].", Evidence([both, says])) == [("kept", "supported")]


def test_unsupported_sentences_are_removed_or_marked_naming_the_failed_rule() -> None:
    checked = verify("Quillon opened 12 bridges in Palisar [1].", world(), question="What did Quillon open?")
    assert checked.answer == "" and checked.checks[0].rule in ("numbers", "names")
    marked = verify("Quillon opened 12 bridges in Palisar [1].", world(), unsupported="mark")
    assert marked.answer.endswith("[unsupported]") and marked.checks[0].action == "marked"


def test_invented_lead_what_follows_an_invented_answer_goes_with_it() -> None:
    q = "How many tariffs did the harbour council reject?"
    invented = "The harbour council rejected 14 tariffs [1]. The council rejected the tariff plan after a debate [1]."
    assert fate(invented, question=q) == [("removed", "numbers"), ("removed", "invented_lead")]
    # counter-example: a weakly worded preamble is not an invented answer; the answer after it stays
    preamble = "Many matters were raised in Kesh [1]. The council rejected the tariff plan after a debate [1]."
    assert fate(preamble, question=q) == [("removed", "weak_support"), ("kept", "supported")]


def test_answer_type_the_answer_must_give_what_was_asked() -> None:
    assert not gives_answer_type("How many bridges did Quillon open?", "Quillon opened bridges in Palisar.")
    assert gives_answer_type("How many bridges did Quillon open?", "Quillon opened three bridges.")
    assert gives_answer_type("How long did the debate last?", "The debate lasted a week.")
    assert gives_answer_type("On what date did the council vote?", "It voted on 3 May.")
    assert not gives_answer_type("Who chairs the harbour council?", "The harbour council chairs itself.")
    assert gives_answer_type("Who chairs the harbour council?", "Dunmere chairs the harbour council.")
    assert gives_answer_type("What did the council reject?", "The tariff plan.")  # no type asked


def test_markers_before_or_after_sentences() -> None:
    assert answer_sentences("[1] Kesh rebuilt its port. [2] Rain fell.") == [("Kesh rebuilt its port.", [1]),
                                                                            ("Rain fell.", [2])]
    assert answer_sentences("Kesh rebuilt its port. [1] Rain fell [2, 3].") == [("Kesh rebuilt its port.", [1]),
                                                                              ("Rain fell.", [2, 3])]


def test_quote_offsets_point_into_the_article() -> None:
    p = passage(1, PORT)
    p.start, p.end = 10, 10 + len(PORT)  # the passage starts at offset 10 of its article
    c = verify("The harbour council rejected the tariff plan [1].", Evidence([p])).citations[0]
    assert (" " * 10 + PORT)[c.start:c.end] == c.quote == "The harbour council rejected the tariff plan after a " \
                                                          "long debate."


# --- the whole path: Answer.checks, qa ask --json / --why, eval counts ------------------------------------------------
def _assistant(tmp_path: Path, *replies: str) -> Assistant:
    d = tmp_path / "news"
    d.mkdir()
    (d / "port.md").write_text(f"---\ntitle: Harbour news\nsource: Wire\ndate: 2023-05-02\n---\n{PORT}\n")
    (d / "rain.md").write_text(f"---\ntitle: Weather\nsource: Wire\ndate: 2023-05-02\n---\n{RAIN}\n")
    s = Settings(min_evidence=0.0)  # the queued reply must reach verification
    emb = make_embeddings(s)
    store = open_store(s, emb)
    ingest([d], store, s)
    llm = make_llm(s)
    llm.enqueue(*replies)  # type: ignore[attr-defined]
    return Assistant(s, Retriever(store), llm, emb)


def test_the_answer_carries_a_check_for_every_draft_sentence(tmp_path: Path, fake_env: None) -> None:
    reply = ("Orlava pledged 40 million dollars to rebuild the port of Kesh [1]. The council of Norwend pledged 90 million dollars to Kesh [1]."
             "\nShort answer: 40 million dollars")
    assistant = _assistant(tmp_path, reply)
    answer = assistant.ask("How much did Orlava pledge for the port of Kesh?")
    assert not answer.refused and answer.short_answer == "40 million dollars"
    assert [(c["action"], c["rule"]) for c in answer.to_dict()["checks"]] == [("kept", "supported"),
                                                                               ("removed", "numbers")]
    prompt = str(assistant.llm.history[0][-1].content)  # type: ignore[attr-defined]
    assert "How much did Orlava pledge" in prompt and "rebuild the port of Kesh" in prompt


def test_a_refused_answer_says_which_rule_refused_it(tmp_path: Path, fake_env: None) -> None:
    answer = _assistant(tmp_path, "The harbour council rejected the tariff plan after a long debate [1].").ask(
        "How many tariffs did the harbour council reject?")
    assert answer.refused and answer.answer == REFUSAL
    # no count in any passage: refused before generating (near_miss); with a count elsewhere, by answer_type
    assert [(c.action, c.rule) for c in answer.checks] == [("removed", "near_miss")]
    (tmp_path / "b").mkdir()
    invented = _assistant(tmp_path / "b", "Palisar won the regatta [2].").ask("Who won the regatta?")
    assert invented.refused and invented.checks[0].action == "removed" and invented.passages


def test_a_cited_answer_followed_by_the_refusal_phrase_is_an_answer(tmp_path: Path, fake_env: None) -> None:
    reply = f"The harbour council rejected the tariff plan [1].\nShort answer: rejected\n\n{REFUSAL}"
    answer = _assistant(tmp_path, reply).ask("What did the harbour council do with the tariff plan?")
    assert not answer.refused and answer.answer == "The harbour council rejected the tariff plan. [1]"


def test_markers_alone_with_the_answer_on_the_short_answer_line(tmp_path: Path, fake_env: None) -> None:
    answer = _assistant(tmp_path, "[2]\nShort answer: the tariff plan").ask("What did the harbour council reject?")
    assert not answer.refused and answer.answer.startswith("the tariff plan")
    assert [c.article_id for c in answer.citations] == ["port"]  # re-cited from [2], whichever that was
    assert answer.checks[0].action in ("kept", "recited")


def test_an_as_of_answer_is_dated_from_the_cited_article(tmp_path: Path, fake_env: None) -> None:
    from qa.retrieval import Filters

    answer = _assistant(tmp_path, "The harbour council rejected the tariff plan [1].").ask(
        "What did the harbour council reject this month?", filters=Filters(as_of="2023-05-20"))  # bound to a time
    assert answer.answer.startswith("On 2 May 2023, the harbour council rejected the tariff plan.")


def test_evidence_published_before_the_period_asked_about_is_not_evidence(tmp_path: Path, fake_env: None) -> None:
    reply = "The harbour council rejected the tariff plan [1].\nShort answer: the tariff plan"
    assistant = _assistant(tmp_path, reply, reply)
    assert assistant.ask("What did the harbour council reject in September 2023?").refused
    assert not assistant.ask("What did the harbour council reject in May 2023?").refused


def test_qa_ask_json_has_checks_and_why_prints_them(tmp_path: Path, fake_env: None) -> None:
    from qa.cli import app

    d = tmp_path / "news"
    d.mkdir()
    (d / "port.md").write_text(f"---\ntitle: Harbour news\nsource: Wire\ndate: 2023-05-02\n---\n{PORT}\n")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(d)]).exit_code == 0
    out = runner.invoke(app, ["ask", "How much did Orlava pledge to rebuild the port of Kesh?", "--json"])
    data = json.loads(out.stdout)
    assert data["checks"] and set(data["checks"][0]) == {"sentence", "cited", "action", "rule", "detail"}
    assert {"answer", "citations", "passages", "refused", "draft"} <= set(data)  # the old keys stay
    why = runner.invoke(app, ["ask", "How much did Orlava pledge to rebuild the port of Kesh?", "--why"])
    assert why.exit_code == 0 and "Why:" in why.stdout and data["checks"][0]["rule"] in why.stdout


def test_eval_counts_how_often_each_rule_acted_per_split() -> None:
    rows = [{"extra": {"split": "dev"}, "answer": {"checks": [{"rule": "supported"}, {"rule": "names"}]}},
            {"extra": {"split": "heldout"}, "answer": {"checks": [{"rule": "names"}, {"rule": "polarity"}]}},
            {"extra": {"split": "dev"}, "answer": None}]
    assert rule_actions(rows) == {"names": {"dev": 1, "heldout": 1}, "polarity": {"heldout": 1}}


@pytest.mark.parametrize("hostile", ["\x1b[2J\x1b]0;pwned\x07", "[bold red]x[/]", "\u202eevil"])
def test_why_prints_article_and_model_text_as_plain_text(hostile: str) -> None:
    from rich.console import Console

    from qa.render import render_checks
    from qa.types import Check

    con = Console(record=True, force_terminal=False, width=100)
    render_checks(con, [Check(f"Orlava {hostile} said", [1], "removed", "names", f"[1] lacks {hostile}")])
    text = con.export_text()
    assert "\x1b" not in text and "\u202e" not in text and "Orlava" in text


BODIES = ["Harbour Pilots Council", "Tidewater Schools Board", "Northern Lights Conference", "Saltmarsh Rescue Fund",
          "Coastal Fisheries Commission"]


@given(st.sampled_from(BODIES), st.sampled_from(BODIES), st.sampled_from(PLACES), st.sampled_from(PEOPLE))
def test_named_subject_the_cited_article_must_mention_the_body_asked_about(asked: str, other: str, where: str,
                                                                         person: str) -> None:
    from qa.types import Citation

    question = f"Who will chair the {asked} meeting in {where} this spring?"

    def problem(text: str, title: str = "Local news") -> tuple[str, str]:
        p = passage(1, text, title=title)
        cite = Citation(1, p.article_id, p.title, p.source, p.date, "", text, 0, len(text), True)
        return answer_problem(question, f"{person} will chair the meeting [1].", [cite], passages=[p])

    rule, found = problem(f"{person} will chair the {other} meeting in {where} on 4 May.")
    if other == asked:
        assert (rule, found) == ("", "")
    else:  # a same-topic article about another council, board or conference answers another question
        assert rule == "named_subject" and asked in found, found
    # counter-examples: the name in the title, by its initials, or by the words that say which one; a person or a
    # place the passage does not repeat is left alone ("the Secretary", "the capital")
    assert problem(f"{person} will chair the meeting on 4 May.", title=f"{asked} to meet") == ("", "")
    initials = "".join(w[0] for w in asked.split())
    assert problem(f"{person} will chair the {initials} meeting on 4 May.") == ("", "")
    which = " ".join(asked.split()[:-1])
    assert problem(f"{person} will chair the {which} meeting on 4 May.") == ("", "")
    said = "Orlava met the Secretary in the capital."
    assert answer_problem(f"Who did Secretary Dunmere meet in {where}?", "Orlava met him [1].",
                          [Citation(1, "a1", "t", "Wire", "2023-05-02", "", said, 0, len(said), True)],
                          passages=[passage(1, said, title="Local news")]) == ("", "")
