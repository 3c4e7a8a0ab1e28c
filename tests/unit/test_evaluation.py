"""`qa eval` with fake embeddings and the fake generator: metrics on hand-made cases, question-set problems with
line numbers, failure classes, resume, determinism, reports and `qa eval compare`."""

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from qa.cli import app
from qa.errors import QAError
from qa.evaluation import (
    TIMING_KEYS,
    Question,
    Result,
    as_of_supported,
    bootstrap_ci,
    classify,
    contains_answer,
    exact_match,
    load_questions,
    model_checksums,
    normalize_answer,
    paired_test,
    percentile,
    question_metrics,
    recall_at,
    reciprocal_rank,
    score,
    token_f1,
)

runner = CliRunner()


# Metrics ------------------------------------------------------------------------------------------------------
def test_squad_normalization_exact_match_and_f1() -> None:
    assert normalize_answer("The  U.S. Army’s plan!") == "us army plan"
    assert exact_match("the Iran.", ["Iranian", "Iran"]) == 1.0
    assert exact_match("Iraq", ["Iran"]) == 0.0
    # "iranianbacked militias" vs "curb iranianbacked militias": precision 1, recall 2/3
    assert token_f1("Iranian-backed militias", ["curb Iranian-backed militias", "Iran"]) == pytest.approx(0.8)
    assert token_f1("", ["Iran"]) == 0.0
    assert token_f1("a", ["the"]) == 1.0  # both normalize to nothing: SQuAD counts that as a match


def test_answer_must_contain_a_gold_on_word_boundaries() -> None:
    assert contains_answer("Blinken asked him to curb Iranian-backed militias [1].", ["curb Iranian-backed militias"])
    assert contains_answer("It pledged $120 million.", ["$120 million"])
    assert not contains_answer("Iranians protested.", ["Iran"])
    assert not contains_answer("anything", [])


def test_recall_at_k_mrr_and_percentiles() -> None:
    ranked = ["b", "a", "a", "c"]
    assert [recall_at(ranked, {"a"}, k) for k in (1, 2, 3)] == [0.0, 1.0, 1.0]
    assert reciprocal_rank(ranked, {"a"}) == 0.5
    assert reciprocal_rank(ranked, {"c", "x"}) == 0.25
    assert reciprocal_rank(ranked, {"z"}) == 0.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([float(i) for i in range(1, 21)], 95) == pytest.approx(19.05)
    assert percentile([], 50) is None


def _q(answerable: bool = True, answers: tuple[str, ...] = ("Iran",), sources: tuple[str, ...] = ("g",)) -> Question:
    return Question(id="q", question="?", answers=list(answers), sources=list(sources), answerable=answerable)


def _a(text: str = "It is Iran [1].", refused: bool = False, cited: tuple[str, ...] = ("g",),
       verified: tuple[bool, ...] = (), short: str = "Iran") -> dict:
    return {"answer": text, "short_answer": "" if refused else short, "refused": refused,
            "citations": [{"article_id": a, "verified": (verified[i] if verified else False)}
                          for i, a in enumerate(cited)]}


def test_failure_classes_name_the_first_stage_that_went_wrong() -> None:
    assert classify(_q(), ["x", "g"], ["x", "g"], _a()) == "ok"
    assert classify(_q(), ["x", "y"], ["x", "y"], _a()) == "not_retrieved"
    assert classify(_q(), ["x", "y", "g"], ["x", "y"], _a()) == "retrieved_low"
    assert classify(_q(), ["g"], ["g"], _a("I cannot answer this.", refused=True, cited=())) == "false_refusal"
    assert classify(_q(), ["g"], ["g"], _a("It is Iraq [1].", short="Iraq")) == "wrong_answer"
    assert classify(_q(), ["g", "x"], ["g", "x"], _a(cited=("x",))) == "not_cited"
    unanswerable = _q(answerable=False, answers=(), sources=())
    assert classify(unanswerable, ["x"], ["x"], _a(cited=("x",))) == "answered_unanswerable"
    assert classify(unanswerable, ["x"], ["x"], _a("no", refused=True, cited=())) == "ok"
    # retrieval-only: retrieval is judged, an unanswerable question cannot be
    assert classify(_q(), ["x", "g"], ["x"], None) == "retrieved_low"
    assert classify(unanswerable, ["x"], ["x"], None) is None


def test_citation_precision_counts_gold_citations_only_and_verified_rate_apart() -> None:
    # a citation the system verified but that is not a gold source lowers precision: the metric does not grade
    # itself with the system's own verdict
    m = question_metrics(_q(), ["g"], _a(cited=("g", "x", "y"), verified=(False, False, True)))
    assert m["citation_precision"] == pytest.approx(0.3333, abs=1e-4)
    assert m["verified_rate"] == pytest.approx(0.3333, abs=1e-4)
    all_verified = question_metrics(_q(), ["g"], _a(cited=("x", "y"), verified=(True, True)))
    assert all_verified["citation_precision"] == 0.0 and all_verified["verified_rate"] == 1.0
    assert m["citation_recall"] == 1.0 and m["answer_correct"] == 1.0 and m["exact_match"] == 1.0
    refused = question_metrics(_q(), ["g"], _a("x", refused=True, cited=()))
    assert refused["citation_precision"] is None and refused["answer_correct"] == 0.0 and refused["refused"]
    assert refused["verified_rate"] is None
    # no gold sources to judge against: precision does not apply, the verifier's rate still does
    nogold = question_metrics(_q(sources=()), [], _a(cited=("x",), verified=(True,)))
    assert nogold["citation_precision"] is None and nogold["verified_rate"] == 1.0


# Answer matching: one test per class of spelling ------------------------------------------------------------
NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=9)


@given(NAMES, NAMES, st.sampled_from(["'s", "\u2019s"]))
def test_a_possessive_matches_its_name(first: str, last: str, mark: str) -> None:
    name = f"{first.title()} al-{last.title()}"
    assert contains_answer(f"They opposed {name}{mark} regime.", [name])
    assert normalize_answer(f"{name}{mark}") == normalize_answer(name)
    assert contains_answer("the states' rights", ["states rights"])
    assert not contains_answer(f"They opposed {first.title()}son.", [first.title()])  # still whole words


@given(NAMES, NAMES, st.sampled_from(["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212"]))
def test_hyphen_and_dash_variants_match(left: str, right: str, dash: str) -> None:
    assert contains_answer(f"They armed {left}{dash}{right} militias.", [f"{left}-{right} militias"])
    assert exact_match(f"{left}{dash}{right}", [f"{left}\u2013{right}"]) == 1.0
    # a hyphenated compound is one word: "Syria-linked groups" does not name Syria
    assert not contains_answer(f"They armed {left}{dash}{right} militias.", [right])


@given(st.integers(min_value=1000, max_value=10**12), st.sampled_from([",", "\u00a0", "\u202f", "\u2009", " ", "'"]))
def test_thousands_separators_match(n: int, sep: str) -> None:
    grouped = f"{n:,}".replace(",", sep)
    assert contains_answer(f"It sent {grouped} troops.", [f"{n} troops"])
    assert exact_match(f"{n:,}", [str(n)]) == 1.0
    assert not contains_answer("It sent 3.5 million.", ["35 million"])  # a decimal point is not a separator


@given(st.integers(min_value=1, max_value=999), st.sampled_from(["", " million", " billion"]),
       st.sampled_from([("${}{}", "{}{} dollars"), ("US${}{}", "{}{} U.S. dollars"), ("USD {}{}", "{}{} dollars"),
                        ("\u20ac{}{}", "{}{} euros"), ("EUR {}{}", "{}{} euro"), ("\u00a3{}{}", "{}{} pounds sterling"),
                        ("\u00a5{}{}", "{}{} yen")]))
def test_currency_symbols_and_words_match(n: int, scale: str, forms: tuple[str, str]) -> None:
    symbol, words = forms
    assert exact_match(symbol.format(n, scale), [words.format(n, scale)]) == 1.0
    assert contains_answer(f"It pledged {words.format(n, scale)} in aid.", [symbol.format(n, scale)])
    assert contains_answer(f"It pledged {symbol.format(n, scale)}.", [f"{n}{scale}"])  # the gold without currency
    assert not contains_answer(f"It pledged {n + 1}{scale} dollars.", [symbol.format(n, scale)])


def test_currency_words_inside_other_words_are_left_alone() -> None:
    assert normalize_answer("USDA dollarization") == "usda dollarization"
    assert exact_match("$5", ["5 euros"]) == 0.0


# Question sets ------------------------------------------------------------------------------------------------
def test_malformed_lines_are_reported_with_line_numbers_and_skipped(tmp_path: Path) -> None:
    f = tmp_path / "qs.jsonl"
    lines = [
        '{"id": "a", "question": "Who?", "answers": ["X"], "sources": ["s"], "answerable": true, "split": "dev"}',
        '{"id": "b", "question": "Who?", "answers": ["X"]',                        # 2: cut short
        '',
        '{"id": "c", "question": "Who?", "answers": ["X"], "sources": []}',         # 4: no answerable
        '{"id": "a", "question": "Again?", "answers": [], "sources": [], "answerable": false}',  # 5: duplicate
        '{"id": "d", "question": "When?", "answers": "X", "answerable": true}',     # 6: answers not a list
        '{"id": "e", "question": "When?", "answers": [], "answerable": false, "as_of": "May 3"}',  # 7: bad date
        '{"id": "f", "question": "Where?", "answers": [], "sources": [], "answerable": false}',
    ]
    f.write_text("".join(line + "\n" for line in lines))
    qs = load_questions(f)
    assert [q.id for q in qs.questions] == ["a", "f"]
    assert qs.questions[0].extra == {"split": "dev"}
    assert [p.split(": ")[0] for p in qs.problems] == [f"{f}:2", f"{f}:4", f"{f}:6", f"{f}:7"]
    assert "not valid JSON" in qs.problems[0] and "`answerable`" in qs.problems[1]
    assert qs.warnings == [f"{f}:5: duplicate id 'a' (first on line 1); skipped"]
    with pytest.raises(QAError, match=r"qs\.jsonl:2"):
        load_questions(f, strict=True)


def test_csv_question_sets_split_lists_on_pipes(tmp_path: Path) -> None:
    f = tmp_path / "qs.csv"
    f.write_text('id,question,answers,sources,answerable,split\n'
                 'c1,"Who, exactly?",Iran|Iranian,src-1|src-2,true,dev\n'
                 'c2,Who won?,,,false,heldout\n'
                 'c3,Broken?,x,y,maybe,dev\n')
    qs = load_questions(f)
    assert [(q.id, q.answers, q.sources, q.answerable) for q in qs.questions] == [
        ("c1", ["Iran", "Iranian"], ["src-1", "src-2"], True), ("c2", [], [], False)]
    assert qs.questions[0].question == "Who, exactly?" and qs.questions[1].extra == {"split": "heldout"}
    assert len(qs.problems) == 1 and qs.problems[0].startswith(f"{f}:4: ")


# The command --------------------------------------------------------------------------------------------------
ARTICLES = {
    "wheat": "title: Wheat exports\ndate: 2022-03-01\nsource: Wire\n---\n"
             "Ukraine exported record wheat volumes through Odesa. Prices fell in March.\n",
    "chips": "title: Chip plant\ndate: 2022-04-02\nsource: Daily\n---\n"
             "A new semiconductor plant opened in Arizona. The chip plant employs 3,000 workers.\n",
    "rain": "title: Monsoon\ndate: 2022-06-03\nsource: Wire\n---\n"
            "Heavy monsoon rains flooded parts of Dhaka. Schools were closed.\n",
}
QUESTIONS = [
    {"id": "ok", "question": "How many workers does the chip plant employ?", "answers": ["3,000 workers"],
     "sources": ["chips"], "answerable": True, "split": "dev"},
    {"id": "wrong", "question": "How many workers does the chip plant employ?", "answers": ["5,000"],
     "sources": ["chips"], "answerable": True, "split": "dev"},
    {"id": "low", "question": "How many workers does the chip plant employ?", "answers": ["3,000"],
     "sources": ["rain"], "answerable": True, "split": "heldout"},
    {"id": "missing", "question": "How many workers does the chip plant employ?", "answers": ["3,000"],
     "sources": ["no-such-article"], "answerable": True, "split": "dev"},
    {"id": "cup", "question": "Who won the 2022 World Cup?", "answers": [], "sources": [], "answerable": False,
     "split": "heldout"},
]


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    corpus = tmp_path / "news"
    corpus.mkdir()
    for name, body in ARTICLES.items():
        (corpus / f"{name}.md").write_text(f"---\nid: {name}\n{body}")
    questions = tmp_path / "qs.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return corpus, questions


def _eval(*args: str) -> tuple[str, int]:
    result = runner.invoke(app, ["eval", *map(str, args)])
    return result.output, result.exit_code


def test_eval_writes_results_summary_and_self_contained_report(tmp_path: Path, fake_env: None) -> None:
    corpus, questions = _setup(tmp_path)
    out = tmp_path / "run"
    output, code = _eval(questions, "--corpus", corpus, "--out", out, "-k", "1")
    assert code == 0, output
    assert "no-such-article" in output  # warned: a gold source that is not in the index
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    classes = {r["id"]: r["failure_class"] for r in results}
    assert classes == {"ok": "ok", "wrong": "wrong_answer", "low": "retrieved_low", "missing": "not_retrieved",
                       "cup": "ok"}
    first = results[0]
    # typed rows keep results.jsonl's keys; re-scoring a stored row (no model) gives the same metrics and class
    assert list(first) == ["id", "question", "answers", "sources", "answerable", "extra", "retrieved", "shown",
                           "answer", "metrics", "failure_class", "timings"]
    assert all(Result.from_dict(r).to_dict() == r and score(Result.from_dict(r)).to_dict() == r for r in results)
    assert first["answer"]["citations"][0]["article_id"] == "chips" and first["retrieved"][0] == "chips"
    assert first["extra"] == {"split": "dev"} and first["metrics"]["recall_at_1"] == 1.0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("n", "n_answerable", "n_unanswerable", "answer_accuracy", "exact_match", "f1", "refusal_accuracy",
                "false_refusal_rate", "recall_at_1", "recall_at_5", "mrr", "citation_precision", "citation_recall",
                "latency_p50_s", "latency_p95_s", "settings", "models", "corpus_fingerprint"):
        assert key in summary, key
    assert (summary["n"], summary["n_answerable"], summary["n_unanswerable"]) == (5, 4, 1)
    assert summary["ci"]["recall_at_1"] == [0.0, 1.0] and summary["ci"]["refusal_accuracy"] == [1.0, 1.0]
    assert all(lo <= summary[m] <= hi for m, (lo, hi) in summary["ci"].items()), summary["ci"]
    assert summary["recall_at_1"] == 0.5 and summary["recall_at_3"] == 0.75 and summary["refusal_accuracy"] == 1.0
    assert summary["answer_accuracy"] == 0.75 and summary["failure_classes"]["ok"] == 2
    assert summary["models"]["llm"] == {"name": "fake"} and summary["k"] == 1 and "k" not in summary["settings"]
    assert "failure classes: ok 2" in output
    html = (out / "report.html").read_text()
    for chart in ("chart-recall", "chart-failures", "chart-latency"):
        assert f'<svg id="{chart}"' in html
    assert not re.search(r"<link|\bsrc=|@import|url\(|<iframe|<img", html)  # nothing fetched: one self-contained file
    md = (out / "report.md").read_text()
    assert "| wrong | wrong_answer |" in md and "| recall_at_1 | 0.500 |" in md


def test_split_filter_and_retrieval_only(tmp_path: Path, fake_env: None) -> None:
    corpus, questions = _setup(tmp_path)
    out = tmp_path / "run"
    output, code = _eval(questions, "--corpus", corpus, "--out", out, "--retrieval-only", "--split", "heldout")
    assert code == 0, output
    results = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [(r["id"], r["answer"], r["failure_class"]) for r in results] == [("low", None, "ok"), ("cup", None, None)]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "retrieval-only" and summary["answer_accuracy"] is None
    assert summary["recall_at_5"] == 1.0 and summary["models"]["llm"]["name"].startswith("not used")
    output, code = _eval(questions, "--out", tmp_path / "x", "--split", "test")
    assert code != 0 and "no question has split 'test'" in output


def test_retrieval_only_reports_the_passages_ask_shows(tmp_path: Path, fake_env: None) -> None:
    """Shown-passage recall means the same in both modes: a retrieval-only run lists, per question, the articles a
    full run put in front of the generator."""
    corpus, questions = _setup(tmp_path)
    shown = {}
    for mode in ("--retrieval-only", "--no-retrieval-only"):
        out = tmp_path / mode.strip("-")
        output, code = _eval(questions, "--corpus", corpus, "--out", out, mode)
        assert code == 0, output
        shown[mode] = {r["id"]: r["shown"] for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert shown["--retrieval-only"] == shown["--no-retrieval-only"] and any(shown["--retrieval-only"].values())


def test_resume_after_a_crash_gives_the_same_summary(tmp_path: Path, fake_env: None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, questions = _setup(tmp_path)
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    assert _eval(questions, "--corpus", corpus, "--out", out_a)[1] == 0
    summary_a = json.loads((out_a / "summary.json").read_text())
    # a fresh run into another folder: same numbers (timings aside)
    assert _eval(questions, "--out", out_b)[1] == 0
    summary_b = json.loads((out_b / "summary.json").read_text())
    drop = {*TIMING_KEYS, "ci", "provenance"}  # latency intervals are timings too; provenance has the start time
    assert {k: v for k, v in summary_a["ci"].items() if "latency" not in k} == {
        k: v for k, v in summary_b["ci"].items() if "latency" not in k}
    assert {k: v for k, v in summary_a.items() if k not in drop} == {k: v for k, v in summary_b.items()
                                                                      if k not in drop}
    # crash: two results written, the third cut short, no summary yet
    lines = (out_b / "results.jsonl").read_text().splitlines()
    (out_b / "results.jsonl").write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:40])
    (out_b / "summary.json").unlink()
    monkeypatch.setenv("QA_N_THREADS", "1")  # speed settings may change between sessions
    output, code = _eval(questions, "--out", out_b)
    assert code == 0 and "resuming: 2 of 5 already done" in output
    rows = [json.loads(x) for x in (out_b / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [q["id"] for q in QUESTIONS]
    resumed = json.loads((out_b / "summary.json").read_text())
    resumed["settings"]["n_threads"] = summary_a["settings"]["n_threads"]
    assert resumed["provenance"] == summary_b["provenance"]  # a resumed run keeps when and from what it started
    assert {k: v for k, v in resumed.items() if k not in drop} == {k: v for k, v in summary_a.items()
                                                                    if k not in drop}
    result = runner.invoke(app, ["eval", str(questions), "--out", str(out_b), "-k", "2"])
    assert isinstance(result.exception, QAError) and "different k" in result.exception.message  # never mixed


def test_compare_lists_metric_deltas_and_changed_questions(tmp_path: Path, fake_env: None) -> None:
    corpus, questions = _setup(tmp_path)
    k1, k3 = tmp_path / "k1", tmp_path / "k3"
    assert _eval(questions, "--corpus", corpus, "--out", k1, "-k", "1")[1] == 0
    assert _eval(questions, "--out", k3, "-k", "3")[1] == 0
    output, code = _eval("compare", k1, k3)
    assert code == 0, output
    assert "| recall_at_1 | 0.500 [0.000, 1.000] | 0.500 [0.000, 1.000] | +0.000 | 1.000 |  |" in output
    assert "paired permutation (sign-flip) test" in output
    assert "- low: retrieved_low → " in output  # k=3 shows the gold article that k=1 left out
    assert "- settings" not in output and "- k: 1 → 3" in output
    data = json.loads(runner.invoke(app, ["eval", "compare", str(k1), str(k3), "--json"]).output)
    assert [c["id"] for c in data["changed"]] == ["low"] and data["differ"]["k"] == {"a": 1, "b": 3}
    low = next(x for x in data["changed_questions"] if x["id"] == "low")
    assert low["a"] == "retrieved_low" and all(m["p"] is None or 0 <= m["p"] <= 1 for m in data["metrics"])
    result = runner.invoke(app, ["eval", "compare", str(k1), str(tmp_path / "nowhere")])
    assert isinstance(result.exception, QAError) and "No summary.json" in result.exception.message


def test_eval_on_an_empty_index_says_what_to_do(tmp_path: Path, fake_env: None) -> None:
    _corpus, questions = _setup(tmp_path)
    result = runner.invoke(app, ["eval", str(questions), "--out", str(tmp_path / "run")])
    assert result.exit_code != 0
    assert isinstance(result.exception, QAError) and "--corpus" in result.exception.hint


@pytest.mark.skipif(not as_of_supported(), reason="qa.retrieval.Filters has no `as_of` yet (issue 9)")
def test_a_questions_as_of_date_reaches_retrieval(tmp_path: Path, fake_env: None) -> None:
    corpus, _questions = _setup(tmp_path)
    asked = tmp_path / "asof.jsonl"
    asked.write_text(json.dumps({"id": "early", "question": "How many workers does the chip plant employ?",
                                 "answers": ["3,000"], "sources": ["chips"], "answerable": True,
                                 "as_of": "2022-03-15"}) + "\n")  # the chip article is dated 2022-04-02
    assert _eval(asked, "--corpus", corpus, "--out", tmp_path / "with", "--retrieval-only")[1] == 0
    assert _eval(asked, "--out", tmp_path / "without", "--retrieval-only", "--no-as-of")[1] == 0
    with_as_of = json.loads((tmp_path / "with" / "results.jsonl").read_text())
    without = json.loads((tmp_path / "without" / "results.jsonl").read_text())
    assert "chips" not in with_as_of["retrieved"] and with_as_of["failure_class"] == "not_retrieved"
    assert without["retrieved"][0] == "chips" and without["failure_class"] == "ok"
    assert json.loads((tmp_path / "with" / "summary.json").read_text())["as_of_used"] is True


def test_the_run_records_the_embedding_dtype_it_resolved() -> None:
    from qa.config import Settings

    emb = model_checksums(Settings(embeddings="minilm", embed_dtype="auto"), retrieval_only=True)["embeddings"]
    assert emb["dtype"] in ("float32", "bfloat16")  # what ran on this CPU, not "auto"
    assert model_checksums(Settings(embeddings="minilm", embed_dtype="float32"), True)["embeddings"]["dtype"] == \
        "float32"


@given(st.text())
def test_report_md_cells_cannot_act(text: str) -> None:
    """Question, answer and article text in report.md: no HTML, no link or image, no extra cell, one line."""
    import re

    from qa.eval_report import md

    out = md(text)
    assert "<" not in out and ">" not in out and "\n" not in out
    assert not re.search(r"(?<!\\)\]\(|(?<!\\)\]\[|(?<!\\)\|", out.replace("\\\\", ""))


def test_the_fallback_short_answer_is_a_complete_phrase() -> None:
    from qa.chain import short_from

    long = ("Blinken urged Iraq to curb Iranian-backed militias during a meeting with Prime Minister Mohammed Shia "
            "al-Sudani. [1]")
    assert short_from(long) == "Blinken urged Iraq to curb Iranian-backed militias during a meeting"
    assert short_from("Iran. [1]") == "Iran"
    # a name with "of" inside stays whole; no place to cut within the limit: the whole sentence
    assert short_from("The Minister of Foreign Affairs of the Republic met Blinken in Baghdad on Monday morning "
                      "again today. [1]").startswith("The Minister of Foreign Affairs")
    assert short_from("Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi. [1]").endswith("Xi")


@given(st.lists(st.sampled_from(["Blinken", "met", "in", "Baghdad", "with", "the", "Prime", "Minister", "and",
                                 "talked", "during", "a", "visit", "of", "State", "Iraq,", "on", "Monday"]),
                min_size=1, max_size=30))
def test_a_fallback_short_answer_never_ends_on_a_phrase_opener(words: list[str]) -> None:
    from qa.chain import PHRASE_OPENERS, short_from

    short = short_from(" ".join(words) + ". [1]")
    assert short and " ".join(words).startswith(short)
    if len(words) > 12 and short.split() != words:
        assert short.split()[-1].lower() not in PHRASE_OPENERS or len(short.split()) < 2
        assert words[len(short.split())].lower() in PHRASE_OPENERS or words[len(short.split()) - 1].endswith(",")


# Uncertainty --------------------------------------------------------------------------------------------------
def test_bootstrap_interval_of_a_known_distribution() -> None:
    import random

    rng = random.Random(7)
    for p_true, n in ((0.5, 400), (0.8, 200), (0.1, 300)):
        xs = [float(rng.random() < p_true) for _ in range(n)]
        mean = sum(xs) / n
        half = 1.96 * (mean * (1 - mean) / n) ** 0.5  # the normal approximation the bootstrap should agree with
        lo, hi = bootstrap_ci(xs)
        assert lo <= mean <= hi
        assert lo == pytest.approx(mean - half, abs=0.012) and hi == pytest.approx(mean + half, abs=0.012)
    # a normal sample: the interval of the mean is about mean +- 1.96 sigma / sqrt(n)
    ys = [rng.gauss(10.0, 2.0) for _ in range(500)]
    m = sum(ys) / len(ys)
    lo, hi = bootstrap_ci(ys)
    assert (hi - lo) == pytest.approx(2 * 1.96 * 2.0 / 500 ** 0.5, rel=0.15) and lo < m < hi
    assert bootstrap_ci([1.0] * 10) == [1.0, 1.0] and bootstrap_ci([]) is None
    assert bootstrap_ci(ys) == bootstrap_ci(ys)  # seeded: a summary is a function of its inputs


def test_paired_test_is_exact_mcnemar_for_0_1_metrics() -> None:
    # 10 questions all fixed by B: p = 2 / 2**10; one flip each way: no evidence; identical runs: p = 1
    assert paired_test([0.0] * 10, [1.0] * 10) == pytest.approx(2 / 1024, abs=1e-4)
    assert paired_test([1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 1.0, 1.0]) == 1.0
    assert paired_test([0.3, 0.5], [0.3, 0.5]) == 1.0
    # many questions differ: the Monte Carlo path, a large consistent shift is beyond noise
    assert paired_test([0.0] * 40, [1.0] * 30 + [0.0] * 10) < 0.001


# The HTML report: an article, a question set and a model are hostile input ------------------------------------
HTML_ATTACKS = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "</textarea></details><b>x",
                "' onmouseover='alert(1)", "<!--", "]]><svg onload=alert(1)>", "&lt;script&gt;"]


def _row(text: str, checks: object = None) -> Result:
    answer = {"question": text, "standalone_question": text, "answer": f"It is {text} [1].", "short_answer": text,
              "refused": False, "draft": f"Draft {text} [1].", "conflicts": [], "timings": {"total_s": 1.0},
              "citations": [{"n": 1, "article_id": text, "quote": text, "verified": True}],
              "passages": [{"n": 1, "article_id": text, "chunk_id": "c", "score": 0.5, "text": text}]}
    if checks is not None:
        answer["checks"] = checks
    return score(Result(id=text, question=text, answers=[text], sources=[text], answerable=True,
                        extra={"split": text}, retrieved=[text, "other"], shown=[text], answer=answer,
                        timings={"total_s": 1.0}))


@given(st.sampled_from(HTML_ATTACKS), st.text(max_size=20))
def test_report_html_escapes_everything_from_outside(attack: str, noise: str) -> None:
    from qa.eval_report import render_comparison_html, render_html

    text = noise + attack
    row = _row(text, checks=[{"sentence": text, "cited": [1], "action": text, "rule": text, "detail": text}])
    summary = {"mode": "full", "failure_classes": {c: 0 for c in ("ok",)}, "questions_file": text,
               "provenance": {"git_commit": text}, "settings": {"x": text}}
    summary["failure_classes"] = {"ok": 1, "not_retrieved": 0, "retrieved_low": 0, "not_cited": 0,
                                  "wrong_answer": 0, "false_refusal": 0, "answered_unanswerable": 0}
    page = render_html(summary, [row])
    pair = render_comparison_html({"a": text, "b": text, "metrics": [], "differ": {}, "changed_questions": []},
                                  ((summary, {row.id: row}), (summary, {row.id: row})))
    for html in (page, pair):
        assert html.count("<script>") == 1  # only the report's own
        assert "<img" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
        assert "<svg onload" not in html and "</textarea>" not in html


def test_report_html_shows_what_a_question_needs_to_be_debugged() -> None:
    from qa.eval_report import render_html

    summary = {"mode": "full", "failure_classes": {"ok": 1}, "provenance": {
        "qa_version": "9.9", "git_commit": "abc123", "prompt_sha256": "f00d", "started": "2026-12-02T00:00:00+00:00"}}
    checks = [{"sentence": "Kept sentence.", "cited": [1], "action": "kept", "rule": "numbers-match", "detail": ""},
              {"sentence": "Gone sentence.", "cited": [2], "action": "removed", "rule": "no-support", "detail": "d"}]
    page = render_html(summary, [_row("gold-article", checks)])
    for shown in ("Short answer", "Draft gold-article [1].", "It is gold-article [1].", "numbers-match", "no-support",
                  "★ gold", "<ol><li class=gold>", "abc123", "f00d", "9.9", "2026-12-02", 'data-f1="1.0"'):
        assert shown in page, shown
    # an answer without `checks` (before they existed): no verification table, nothing breaks
    assert "<b>Verification</b>" not in render_html(summary, [_row("gold-article")])


def test_compare_html_side_by_side(tmp_path: Path, fake_env: None) -> None:
    corpus, questions = _setup(tmp_path)
    k1, k3, page = tmp_path / "k1", tmp_path / "k3", tmp_path / "cmp.html"
    assert _eval(questions, "--corpus", corpus, "--out", k1, "-k", "1")[1] == 0
    assert _eval(questions, "--out", k3, "-k", "3")[1] == 0
    output, code = _eval("compare", k1, k3, "--html", page)
    assert code == 0, output
    html = page.read_text()
    assert 'data-id="low" data-cls="retrieved_low"' in html and 'data-changed="1"' in html
    assert "id=f-changed" in html and "p:" in html
    output, code = _eval("compare", k1, k3, "--html", tmp_path)
    assert code != 0 and "is a folder" in output


# Formats ------------------------------------------------------------------------------------------------------
def test_ragas_rows_round_trip_through_a_run(tmp_path: Path, fake_env: None) -> None:
    corpus, _ = _setup(tmp_path)
    ragas = tmp_path / "ragas.jsonl"
    rows = [{"question": "How many workers does the chip plant employ?", "ground_truth": "3,000 workers",
             "contexts": ["ignored"]},
            {"user_input": "When did the heavy rain fall?", "reference": "Tuesday", "retrieved_contexts": []},
            {"question": "Who won the 2022 World Cup?", "ground_truths": [], "answerable": False},
            {"question": "No gold here?", "contexts": ["x"]},                     # 4: nothing to score against
            {"question": "Bad gold?", "ground_truths": "Tuesday"}]              # 5: not a list
    ragas.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out, exported = tmp_path / "run", tmp_path / "back.jsonl"
    output, code = _eval(ragas, "--corpus", corpus, "--out", out)
    assert code == 0, output
    assert f"{ragas}:4: a RAGAS row needs" in output.replace("\n", "") and f"{ragas}:5:" in output
    output, code = _eval("export", out, "--format", "ragas", "--out", exported)
    assert code == 0, output
    back = [json.loads(x) for x in exported.read_text().splitlines()]
    assert [(b["question"], b["ground_truths"]) for b in back] == [
        (rows[0]["question"], ["3,000 workers"]), (rows[1]["user_input"], ["Tuesday"]), (rows[2]["question"], [])]
    assert back[0]["user_input"] == back[0]["question"] and back[0]["contexts"] and back[0]["answer"]
    assert back[0]["retrieved_contexts"] == back[0]["contexts"] and back[0]["reference"] == "3,000 workers"
    # and qa -> RAGAS -> qa keeps the questions, golds, ids and sources
    qs = load_questions(exported)
    assert [(q.id, q.question, q.answers, q.answerable) for q in qs.questions] == [
        ("line-1", rows[0]["question"], ["3,000 workers"], True), ("line-2", rows[1]["user_input"], ["Tuesday"], True),
        ("line-3", rows[2]["question"], [], False)] and not qs.problems


def test_promptfoo_export_grades_the_recorded_answers(tmp_path: Path, fake_env: None) -> None:
    import yaml

    corpus, questions = _setup(tmp_path)
    out = tmp_path / "run"
    assert _eval(questions, "--corpus", corpus, "--out", out)[1] == 0
    for name in ("pf.yaml", "pf.json"):
        output, code = _eval("export", out, "--format", "promptfoo", "--out", tmp_path / name)
        assert code == 0, output
        config = yaml.safe_load((tmp_path / name).read_text())
        assert config["providers"] == ["echo"] and config["prompts"] == ["{{answer}}"]
        tests = {t["description"]: t for t in config["tests"]}
        assert tests["ok"]["assert"] == [{"type": "icontains-any", "value": ["3,000 workers"]}]
        assert tests["cup"]["assert"][0]["type"] == "icontains" and tests["ok"]["vars"]["answer"]
    output, code = _eval("export", out, "--format", "csv", "--out", tmp_path / "x")
    assert code == 2 and "not a format" in output


def test_no_usable_question_names_every_rejected_line(tmp_path: Path) -> None:
    f = tmp_path / "qs.jsonl"
    f.write_text("".join(json.dumps({"question": f"Q{i}?", "contexts": ["c"]}) + "\n" for i in range(15)))
    result = runner.invoke(app, ["eval", str(f)])
    assert isinstance(result.exception, QAError) and "15 line(s) rejected" in result.exception.message
    assert all(f"{f}:{i}: a RAGAS row needs" in result.output.replace("\n", "") for i in range(1, 16))


def test_squad_json_questions(tmp_path: Path) -> None:
    f = tmp_path / "squad.json"
    f.write_text(json.dumps({"version": "v2.0", "data": [{"title": "T", "paragraphs": [{"context": "c", "qas": [
        {"id": "s1", "question": "Who?", "answers": [{"text": "Iran", "answer_start": 0},
                                                      {"text": "Iran", "answer_start": 5}], "is_impossible": False},
        {"id": "s2", "question": "Why?", "answers": [], "is_impossible": True},
        {"id": "s3", "question": "", "answers": [{"text": "x"}]}]}]}]}))
    qs = load_questions(f)
    assert [(q.id, q.answers, q.answerable) for q in qs.questions] == [("s1", ["Iran"], True), ("s2", [], False)]
    assert qs.problems == [f"{f}:3: `question` must be a non-empty string"]


def test_workers_give_the_results_of_a_sequential_run_in_question_order(tmp_path: Path, fake_env: None) -> None:
    corpus, questions = _setup(tmp_path)
    one, three = tmp_path / "one", tmp_path / "three"
    assert _eval(questions, "--corpus", corpus, "--out", one)[1] == 0
    output, code = _eval(questions, "--out", three, "--workers", "3")
    assert code == 0, output

    def rows(run: Path) -> list[dict]:
        return [{k: v for k, v in json.loads(x).items() if k != "timings"} | {
            "answer": {k: v for k, v in (json.loads(x)["answer"] or {}).items() if k != "timings"}}
            for x in (run / "results.jsonl").read_text().splitlines()]

    assert [r["id"] for r in rows(three)] == [q["id"] for q in QUESTIONS]
    assert rows(three) == rows(one)
    assert _eval(questions, "--out", tmp_path / "zero", "--workers", "0")[1] == 2
