"""Citation checking with fixed model outputs: re-cite, remove, refuse, leave correct answers alone."""

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from qa.chain import Assistant
from qa.citations import Evidence, answer_sentences, gives_answer_type, verify
from qa.config import Settings
from qa.embedding import make_embeddings
from qa.ingest import ingest
from qa.prompts import REFUSAL
from qa.retrieval import Retriever
from qa.store import open_store
from qa.types import Passage

ELECTRICITY = ("Iraq has sustained its dependence on Iranian electricity despite U.S. sanctions. "
               "Waivers let Baghdad keep paying Tehran for power.")
MILITIAS = ("Secretary Blinken urged Prime Minister Sudani to curb Iranian-backed militias. "
            "He also asked Iraq to stop Iranian arms transfers to Syria.")


def _passages() -> list[Passage]:
    return [Passage(n=1, article_id="power", chunk_id="power::0", score=0.8, text=ELECTRICITY, start=10,
                    end=10 + len(ELECTRICITY), title="Power", source="Wire", date="2024-12-13"),
            Passage(n=2, article_id="visit", chunk_id="visit::0", score=0.7, text=MILITIAS, start=0,
                    end=len(MILITIAS), title="Visit", source="Wire", date="2024-12-13")]


@pytest.fixture
def evidence(fake_env: None) -> Evidence:
    emb = make_embeddings(Settings())
    return Evidence(_passages(), emb.embed_documents)


def test_a_correct_answer_stays_untouched(evidence: Evidence) -> None:
    text = "Blinken urged Sudani to curb Iranian-backed militias [2]."
    checked = verify(text, evidence)
    assert checked.answer == "Blinken urged Sudani to curb Iranian-backed militias. [2]"
    assert [(c.n, c.verified) for c in checked.citations] == [(2, True)]
    assert checked.removed == [] and checked.recited == []


def test_a_wrongly_cited_sentence_is_recited(evidence: Evidence) -> None:
    checked = verify("Iraq depends on Iranian electricity despite sanctions [2].", evidence)
    assert [c.n for c in checked.citations] == [1]
    assert checked.recited and checked.citations[0].verified
    assert checked.citations[0].quote == "Iraq has sustained its dependence on Iranian electricity despite U.S. " \
                                         "sanctions."


def test_an_invented_sentence_is_removed_and_the_supported_one_kept(evidence: Evidence) -> None:
    text = "Blinken urged Sudani to curb Iranian-backed militias [2]. He then flew to Paris on 3 May 2023 [2]."
    checked = verify(text, evidence)
    assert "Paris" not in checked.answer and "militias" in checked.answer
    assert checked.removed == ["He then flew to Paris on 3 May 2023."]


def test_marking_instead_of_removing(evidence: Evidence) -> None:
    checked = verify("The 2022 World Cup was won by France [2].", evidence, unsupported="mark")
    assert checked.answer.endswith("[unsupported]") and checked.citations == []


def test_quote_offsets_point_into_the_article(evidence: Evidence) -> None:
    checked = verify("Waivers let Baghdad pay Tehran for power [1].", evidence)
    c = checked.citations[0]
    article_text = " " * 10 + ELECTRICITY  # the passage starts at offset 10 of its article
    assert article_text[c.start:c.end] == c.quote == "Waivers let Baghdad keep paying Tehran for power."


def test_markers_before_or_after_sentences() -> None:
    assert answer_sentences("[1] Iraq buys power. [2] Blinken asked.") == [("Iraq buys power.", [1]),
                                                                          ("Blinken asked.", [2])]
    assert answer_sentences("Iraq buys power. [1] Blinken asked [2, 3].") == [("Iraq buys power.", [1]),
                                                                             ("Blinken asked.", [2, 3])]


def _assistant(tmp_path: Path, reply: str) -> Assistant:
    d = tmp_path / "news"
    d.mkdir()
    (d / "power.md").write_text(f"---\ntitle: Power\nsource: Wire\ndate: 2024-12-13\n---\n{ELECTRICITY}\n")
    (d / "visit.md").write_text(f"---\ntitle: Visit\nsource: Wire\ndate: 2024-12-13\n---\n{MILITIAS}\n")
    s = Settings(min_evidence=0.0)  # the fixed reply must reach verification
    emb = make_embeddings(s)
    store = open_store(s, emb)
    ingest([d], store, s)
    return Assistant(s, Retriever(store), FakeListChatModel(responses=[reply]), emb)


def test_an_invented_answer_to_an_out_of_corpus_question_becomes_a_refusal(tmp_path: Path, fake_env: None) -> None:
    answer = _assistant(tmp_path, "The 2022 World Cup was won by France [2].").ask("Who won the 2022 World Cup?")
    assert answer.refused and answer.answer == REFUSAL
    assert answer.citations == [] and answer.short_answer == ""
    assert answer.passages  # the refusal still shows what was searched


def test_a_supported_answer_keeps_its_short_answer(tmp_path: Path, fake_env: None) -> None:
    reply = "Iraq depends on Iranian electricity [1].\nShort answer: Iran"
    answer = _assistant(tmp_path, reply).ask("Which country sells Iraq electricity?")
    assert not answer.refused and answer.short_answer == "Iran"
    assert answer.citations[0].article_id == "power" and answer.citations[0].verified


def test_the_unverified_baseline_keeps_what_the_model_wrote(evidence: Evidence) -> None:
    checked = verify("The 2022 World Cup was won by France [2].", evidence, check=False)
    assert checked.answer == "The 2022 World Cup was won by France. [2]"
    assert [(c.n, c.verified) for c in checked.citations] == [(2, False)]


def test_an_answer_that_opens_with_withheld_information_is_a_refusal() -> None:
    from qa.citations import is_refusal

    assert is_refusal("While the U.S. official did not disclose the specifics of Sudani's response, he indicated "
                      "a desire for calm. [2] Furthermore, Blinken reiterated support. [2]")
    assert not is_refusal("Blinken urged Iraq to curb militias. [1] He did not say when. [1]")


def test_fallback_short_answer_keeps_abbreviations_whole() -> None:
    from qa.chain import short_from

    assert short_from("U.S. envoy Lenderking met Houthi negotiators in Muscat on Monday to discuss a truce. [1]") \
        == "U.S. envoy Lenderking met Houthi negotiators in Muscat on Monday"  # cut before a phrase, not inside it


def test_time_sensitive_answers_say_the_date_of_their_evidence() -> None:
    from qa.chain import dated

    assert dated("The State Department designated two banks. [1]", "2022-03-14T18:00:00+00:00") == \
        "On 14 March 2022, the State Department designated two banks. [1]"
    assert dated("Blinken spoke with Kuleba. [1]", "2022-03-14") == "On 14 March 2022, Blinken spoke with Kuleba. [1]"
    assert dated("Blinken spoke with Kuleba. [1]", "") == "Blinken spoke with Kuleba. [1]"


def test_an_as_of_answer_is_dated_from_the_cited_article(tmp_path: Path, fake_env: None) -> None:
    from qa.retrieval import Filters

    reply = "Iraq depends on Iranian electricity [1].\nShort answer: Iran"
    answer = _assistant(tmp_path, reply).ask("Which country sells Iraq electricity?",
                                             filters=Filters(as_of="2024-12-20"))
    assert answer.answer.startswith("On 13 December 2024, Iraq depends on Iranian electricity.")


def test_a_later_sentence_unrelated_to_the_question_is_dropped_as_filler(evidence: Evidence) -> None:
    text = "Blinken urged Sudani to curb Iranian-backed militias [2]. Waivers let Baghdad pay Tehran for power [1]."
    checked = verify(text, evidence, question="What did Blinken ask Sudani?")
    assert checked.answer == "Blinken urged Sudani to curb Iranian-backed militias. [2]"
    assert checked.removed == ["Waivers let Baghdad pay Tehran for power."]
    related = verify("Blinken urged Sudani to curb militias [2]. He also asked Sudani to stop arms transfers [2].",
                     evidence, question="What did Blinken ask Sudani?")
    assert "arms transfers" in related.answer
    asked = verify("Blinken urged Sudani to curb militias [2]. Did he ask Iraq about arms transfers to Syria? [2]",
                   evidence, question="What did Blinken ask Sudani?")  # a reporter's question, copied
    assert asked.answer == "Blinken urged Sudani to curb militias. [2]"


def test_names_match_by_alias_but_a_question_name_is_still_checked(evidence: Evidence) -> None:
    ok = "Washington sanctions did not stop Iraq buying Iranian electricity [1]."  # "U.S. sanctions" in [1]
    assert verify(ok, evidence, question="Did Washington stop Iraq buying Iranian power?").citations
    invented = "Sanctions on Baku did not stop Iraq buying Iranian electricity [1]."
    assert not verify(invented, evidence, question="Did sanctions on Baku stop Iraq buying Iranian power?").citations


def test_a_cited_answer_followed_by_the_refusal_phrase_is_an_answer(tmp_path: Path, fake_env: None) -> None:
    reply = f"Iraq depends on Iranian electricity [1].\nShort answer: Iran\n\n{REFUSAL}"
    answer = _assistant(tmp_path, reply).ask("Which country sells Iraq electricity?")
    assert not answer.refused and answer.answer == "Iraq depends on Iranian electricity. [1]"


def test_markers_alone_with_the_answer_on_the_short_answer_line(tmp_path: Path, fake_env: None) -> None:
    answer = _assistant(tmp_path, "[1]\nShort answer: Iranian electricity").ask("What does Iraq buy from Iran?")
    assert not answer.refused and answer.answer.startswith("Iranian electricity")
    assert [c.article_id for c in answer.citations] == ["power"]  # re-cited if [1] was the other article


def test_a_number_the_question_uses_need_not_be_in_the_passage(evidence: Evidence) -> None:
    text = "In 2024 Blinken urged Sudani to curb Iranian-backed militias [2]."
    assert verify(text, evidence, question="What did Blinken ask Sudani in 2024?").citations
    assert not verify(text, evidence, question="What did Blinken ask Sudani?").citations


def test_evidence_published_before_the_period_the_question_names_is_not_evidence(tmp_path: Path,
                                                                                 fake_env: None) -> None:
    reply = "Blinken urged Sudani to curb Iranian-backed militias [2].\nShort answer: curb militias"
    assistant = _assistant(tmp_path, reply)  # both articles are dated 13 December 2024
    assert assistant.ask("What did Blinken ask Sudani in March 2025?").refused
    later = assistant.ask("What did Blinken ask Sudani in December 2024?")
    assert not later.refused and later.citations[0].article_id == "visit"


def test_a_how_many_question_answered_without_a_number_is_a_refusal(tmp_path: Path, fake_env: None) -> None:
    reply = "Blinken urged Sudani to curb Iranian-backed militias [2]."
    assert _assistant(tmp_path, reply).ask("How many militias did Blinken ask Sudani to curb?").refused
    counted = "Blinken urged Sudani to curb two Iranian-backed militias [2]."
    assert gives_answer_type("How many militias did Blinken ask Sudani to curb?", counted)
    assert not gives_answer_type("How many militias did Blinken name in 2024?", "He named militias in 2024.")
    assert gives_answer_type("How long did the talks last?", "The talks lasted a week.")
    assert gives_answer_type("On what date did they meet?", "They met on 13 December.")
    assert gives_answer_type("What did Blinken ask Sudani?", "To curb militias.")
    rounds = "How many 155mm artillery rounds were in the package?"
    assert not gives_answer_type(rounds, "The package held 2,000 Javelins and 1,000 anti-armor weapons.")
    assert gives_answer_type(rounds, "The package held 75,000 rounds of artillery ammunition.")
    assert gives_answer_type(rounds, "75,000")  # a bare number answers it


def test_a_number_is_checked_with_its_magnitude_and_spelled_numbers_count() -> None:
    text = "More than 10 million Ukrainians were uprooted. Navalny was given nine more years in prison."
    ev = Evidence([Passage(n=1, article_id="a", chunk_id="a::0", score=0.9, text=text, start=0, end=len(text),
                           title="Russia", source="Wire", date="2022-04-21")])
    q = "How many member states voted for the suspension?"
    assert not verify("10 member states voted for the suspension [1].", ev, question=q).citations  # 10 ≠ 10 million
    assert verify("10 million Ukrainians were uprooted [1].", ev, question="How many were uprooted?").citations
    assert verify("Navalny was given 9 more years in prison [1].", ev,
                  question="How many more years was Navalny given?").citations


def test_names_match_across_accents_and_transliterations() -> None:
    text = "Blinken met Angolan Foreign Minister Tete António and Iraqi Foreign Minister Fuad Hussain."
    ev = Evidence([Passage(n=1, article_id="a", chunk_id="a::0", score=0.9, text=text, start=0, end=len(text),
                           title="Meetings", source="Wire", date="2022-05-26")])
    assert verify("Blinken met Téte Antonio [1].", ev, question="Whom did Blinken meet?").citations
    assert verify("Blinken met Fuad Hussein [1].", ev, question="Whom did Blinken meet?").citations
    assert not verify("Blinken met Fuad Hassan [1].", ev, question="Whom did Blinken meet?").citations  # 2 edits


def test_a_who_question_is_answered_by_naming_someone() -> None:
    q = "Who was declared the winner of Kenya's August 2022 presidential election?"
    assert not gives_answer_type(q, "The August 9 election will be an opportunity for Kenya to showcase democracy.")
    assert not gives_answer_type(q, "Kenyan General Elections are due in August.")
    assert gives_answer_type(q, "William Ruto was declared the winner.")
    assert gives_answer_type("What did Kenya's election board declare?", "The vote was fair.")  # not a "who"


def test_the_question_may_be_worded_differently_from_a_passage_that_has_the_answer() -> None:
    text = ("The U.S. Department of State and the Lebanese Armed Forces held their inaugural Defense Resourcing "
            "Conference. Lebanese Armed Forces Commander General Joseph Aoun led the Lebanese delegation.")
    ev = Evidence([Passage(n=1, article_id="a", chunk_id="a::0", score=0.9, text=text, start=0, end=len(text),
                           title="Inaugural U.S.-Lebanon Defense Resourcing Conference", source="Wire",
                           date="2021-05-21")])
    q = "Which Lebanese army commander led Beirut's side at the inaugural talks with the U.S.?"
    assert verify("Joseph Aoun led Beirut's side at the inaugural talks with the U.S. [1].", ev, question=q).citations
    # ... but an answer naming someone the passage does not is still checked, and so is a question about
    # something the passage barely touches ("Baku": one name, missing).
    assert not verify("Michel Aoun led Beirut's side [1].", ev, question=q).citations
    baku = "Who led the delegation to the Baku talks?"
    assert not verify("Joseph Aoun led the delegation to the Baku talks [1].", ev, question=baku).citations


def test_when_the_answer_itself_is_unsupported_its_elaboration_goes_too(evidence: Evidence) -> None:
    text = ("Ten militias were disbanded after the visit [2]. Blinken urged Sudani to curb Iranian-backed "
            "militias [2].")
    checked = verify(text, evidence, question="How many militias were disbanded after Blinken's visit?")
    assert not checked.citations and len(checked.removed) == 2
    preamble = ("The talks covered many matters of mutual concern [2]. Blinken urged Sudani to curb "
                "Iranian-backed militias [2].")
    kept = verify(preamble, evidence, question="What did Blinken ask Sudani?")
    assert kept.removed == ["The talks covered many matters of mutual concern."]  # weak, not invented
    assert "militias" in kept.answer and kept.citations


def test_a_word_capitalised_only_because_it_opens_the_sentence_is_not_a_name(evidence: Evidence) -> None:
    q = "What did Blinken ask Sudani?"
    for opener in ("Additionally, Blinken", "Reportedly, Blinken", "Several times Blinken"):
        text = f"{opener} urged Sudani to curb Iranian-backed militias [2]."
        assert verify(text, evidence, question=q).citations, opener  # none of these words is in the passage
    assert not verify("Italy, Blinken urged Sudani to curb Iranian-backed militias [2].", evidence,
                      question=q).citations  # a name that opens a sentence is still a name


def test_the_day_a_passage_was_published_and_the_first_name_of_a_surname_the_question_gives_are_supported() -> None:
    text = ("Secretary Blinken is authorizing a drawdown of $200 million in arms for Ukraine. "
            "Under Secretary John R. Bass will oversee the deliveries.")
    ev = Evidence([Passage(n=1, article_id="a", chunk_id="a::0", score=0.9, text=text, start=0, end=len(text),
                           title="Security assistance", source="Wire", date="2022-03-12T18:00:00Z")])
    q = "How large was the newest drawdown of arms for Ukraine that Blinken signed off on?"
    # the citation shows the article's date; its text need not repeat it
    assert verify("Blinken is authorizing a drawdown of $200 million on March 12, 2022 [1].", ev, question=q).citations
    assert verify("On 12 March, Blinken is authorizing a drawdown of $200 million [1].", ev, question=q).citations
    assert not verify("Blinken is authorizing a drawdown of $200 million on March 14, 2022 [1].", ev,
                      question=q).citations  # another day is a number the passage lacks
    who = "Who will oversee the deliveries of arms Blinken authorized?"
    assert verify("Secretary Antony J. Blinken said John R. Bass will oversee the deliveries [1].", ev,
                  question=who).citations
    # a first name is only let through for a surname the question gives: Bass is the answer, not the question's
    assert not verify("Blinken said Robert J. Bass will oversee the deliveries [1].", ev, question=who).citations
    # ... but it does not answer "when": an announcement's date is not the date of what it announces
    visit = ("Deputy Secretary Sherman will travel to Honiara to open the U.S. Embassy. "
             "She will meet Solomon Islands officials.")
    ev = Evidence([Passage(n=1, article_id="b", chunk_id="b::0", score=0.9, text=visit, start=0, end=len(visit),
                           title="Travel", source="Wire", date="2022-07-25")])
    assert not verify("Sherman will open the U.S. Embassy in Honiara on July 25 [1].", ev,
                      question="On what date did the U.S. Embassy in Honiara open?").citations
