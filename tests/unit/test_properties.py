"""Property tests (hypothesis): loading never crashes and decodes what it can, chunk offsets always point into the
article and the chunks cover it, question sets report every malformed line by its number."""

from __future__ import annotations

import itertools
import json
import unicodedata

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from qa.chunking import approximate_tokens, chunk_article, sentence_spans
from qa.errors import QAError
from qa.loading import SkipFile, decode, load_file, parse_html, parse_text
from qa.types import Article

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _printable(c: str) -> bool:
    return unicodedata.category(c) not in ("Cc", "Cs", "Co", "Cn") or c in "\t\n"


TEXT = st.text(st.characters(exclude_categories=("Cs",)).filter(_printable), max_size=400)


# Loading ------------------------------------------------------------------------------------------------------

@FAST
@given(TEXT)
def test_utf8_and_utf16_text_decodes_to_itself(text: str) -> None:
    assume(not text.startswith("\ufeff") and "\ufffd" not in text)
    assert decode(text.encode("utf-8")) == text
    assert decode(text.encode("utf-16")) == text  # Python writes the BOM


@FAST
@given(st.binary(max_size=3000), st.sampled_from([".md", ".txt", ".html"]))
def test_any_bytes_load_as_an_article_or_a_reason(tmp_path_factory: pytest.TempPathFactory, data: bytes,
                                                  suffix: str) -> None:
    path = tmp_path_factory.mktemp("b") / f"x{suffix}"
    path.write_bytes(data)
    try:
        a = load_file(path)
    except SkipFile as e:
        assert str(e) and "\n" not in str(e)
        return
    assert a.text and a.text == a.text.strip() and "\r" not in a.text and "\x00" not in a.text
    assert not a.text.startswith("\ufeff") and not a.title.startswith("\ufeff")
    assert load_file(path).content_hash == a.content_hash


FIELD = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1,
                max_size=40).map(str.strip).filter(bool)


@FAST
@given(st.fixed_dictionaries({"id": FIELD, "title": FIELD, "source": FIELD, "url": FIELD, "author": FIELD}),
       TEXT.map(str.strip).filter(bool))
def test_front_matter_fields_round_trip(meta: dict[str, str], body: str) -> None:
    assume(not body.startswith(("---", "\ufeff")))
    a = parse_text("---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\n" + body, "stem")
    assert {k: getattr(a, k) for k in meta} == meta
    assert a.text == body.replace("\r\n", "\n").replace("\r", "\n").strip()


@FAST
@given(TEXT)
def test_text_and_html_parsers_never_crash(raw: str) -> None:
    for parse in (parse_text, parse_html):
        try:
            a = parse(raw, "stem")
        except SkipFile:
            continue
        assert a.id and isinstance(a.text, str)


# Chunking -----------------------------------------------------------------------------------------------------

WORDS = st.sampled_from(["The", "U.S.", "Mr.", "Embassy", "said", "talks", "in", "Kyiv", "on", "3.5", "million",
                         "(AP)", "“quoted”", "e.g.", "…", "Dr.", "Sept.", "2022.", "—", "x" * 60, "Ω", "naïve"])
SEP = st.sampled_from([" ", " ", " ", ". ", "! ", "? ", "\n", "\n\n", ".\n", "  ", "\t"])
ARTICLE_TEXT = st.lists(st.tuples(WORDS, SEP), min_size=1, max_size=250).map(
    lambda ws: "".join(w + s for w, s in ws).strip())


@FAST
@given(st.one_of(ARTICLE_TEXT, TEXT.map(str.strip)), st.integers(min_value=12, max_value=200),
       st.integers(min_value=0, max_value=2))
def test_chunk_offsets_map_back_and_chunks_cover_the_text(text: str, budget: int, overlap: int) -> None:
    assume(text)
    article = Article(id="a", title="t", text=text)
    chunks = chunk_article(article, approximate_tokens, max_tokens=budget, overlap_sentences=overlap)
    covered = [False] * len(text)
    for i, c in enumerate(chunks):
        assert c.id == f"a::{i}" and c.index == i and c.article_id == "a"
        assert 0 <= c.start < c.end <= len(text) and text[c.start:c.end] == c.text
        for j in range(c.start, c.end):
            covered[j] = True
        assert approximate_tokens([c.text])[0] <= budget, c.text  # an over-long word is cut too
    assert all(covered[j] for j, ch in enumerate(text) if not ch.isspace()), "a character is in no chunk"
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)


@FAST
@given(st.one_of(ARTICLE_TEXT, TEXT))
def test_sentences_are_in_order_and_never_cross_a_line(text: str) -> None:
    spans = sentence_spans(text)
    for (s, e), (s2, _e2) in itertools.pairwise(spans):
        assert e <= s2
    for s, e in spans:
        assert text[s:e] == text[s:e].strip() and "\n" not in text[s:e]


# Question sets (qa/evaluation.py, owned by the evaluation work) --------------------------------------------------

evaluation = pytest.importorskip("qa.evaluation")

GOOD_Q = st.fixed_dictionaries({
    "id": FIELD, "question": FIELD, "answerable": st.booleans(),
    "answers": st.lists(FIELD, min_size=1, max_size=3), "sources": st.lists(FIELD, max_size=2)})
BAD_LINE = st.one_of(
    st.just("{not json"), st.just("[1, 2]"), st.just('{"id": "x"}'), st.just('{"id": 3, "question": "q", '
                                                                             '"answerable": true}'),
    st.just('{"id": "y", "question": "   ", "answerable": false}'),
    st.just('{"id": "z", "question": "q?", "answerable": "maybe"}'))


@FAST
@given(st.lists(st.one_of(GOOD_Q.map(lambda q: ("good", q)), BAD_LINE.map(lambda b: ("bad", b))), min_size=1,
                max_size=30))
def test_question_set_reports_each_bad_line_by_number_and_keeps_the_rest(
        tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, object]]) -> None:
    path = tmp_path_factory.mktemp("q") / "questions.jsonl"
    lines, bad, good = [], [], {}
    for n, (kind, value) in enumerate(rows, start=1):
        if kind == "good":
            q = dict(value)  # type: ignore[call-overload]
            q["id"] = f"{q['id']}-{n}"  # unique ids: duplicates are a separate rule
            lines.append(json.dumps(q))  # ASCII-escaped, like most tools write JSONL
            good[q["id"]] = q
        else:
            lines.append(str(value))
            bad.append(n)
    path.write_text("\n".join(lines) + "\n")
    try:
        qs = evaluation.load_questions(path)
    except QAError as e:
        assert not good and "No usable questions" in e.message
        return
    assert [int(p[len(str(path)) + 1:].split(":", 1)[0]) for p in qs.problems] == bad
    assert {q.id: q.question for q in qs.questions} == {i: q["question"].strip() for i, q in good.items()}


YAML_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40),
                        st.binary(max_size=10), st.dates(), st.datetimes())
YAML_VALUE = st.recursive(YAML_SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                               st.dictionaries(st.text(max_size=4), inner, max_size=3)),
                          max_leaves=6)


@FAST
@given(st.dictionaries(st.sampled_from(["id", "title", "date", "source", "url", "author", "published", "outlet"]),
                       YAML_VALUE), st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30))
def test_no_front_matter_value_of_any_type_raises(meta: dict, date_text: str) -> None:
    warnings: list[str] = []
    raw = "---\n" + yaml.safe_dump(meta, allow_unicode=True) + "---\nBody text. More."
    a = parse_text(raw, "stem", warnings)
    assert a.text == "Body text. More." and a.id
    assert all("\n" not in w for w in warnings)
    for value in (a.title, a.source, a.url, a.author, a.date):
        assert isinstance(value, str)
    from qa.loading import parse_date

    iso, why = parse_date(date_text)
    assert bool(iso) != bool(why) or (not iso and not why and not date_text.strip())
