import itertools

from qa.chunking import chunk_article, sentence_spans
from qa.embedding import token_counter
from qa.loading import load_file
from qa.types import Article
from tests.conftest import SEED


def test_chunks_map_back_to_the_text_and_fit_minilm() -> None:
    a = load_file(SEED / "france24-blinken-iraq-militias.txt")
    count = token_counter()
    chunks = chunk_article(a, count, max_tokens=200)
    assert len(chunks) >= 3
    for c in chunks:
        assert a.text[c.start:c.end] == c.text
        assert count([c.text])[0] <= 200
    assert chunks[0].start == 0 and chunks[-1].end == len(a.text)
    # neighbours overlap a little but never repeat a whole chunk
    assert any(nxt.start < cur.end for cur, nxt in itertools.pairwise(chunks))


def test_sentences_respect_abbreviations() -> None:
    text = "The U.S. Embassy said Mr. Price met officials. They discussed Iran."
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "The U.S. Embassy said Mr. Price met officials.", "They discussed Iran."]


def test_a_sentence_longer_than_the_budget_is_split_at_words() -> None:
    text = " ".join(f"word{i}" for i in range(400)) + "."
    chunks = chunk_article(Article(id="x", title="t", text=text), token_counter(), max_tokens=50)
    assert len(chunks) > 5
    assert all(token_counter()([c.text])[0] <= 50 for c in chunks)
    assert all(text[c.start:c.end] == c.text for c in chunks)


def test_text_without_spaces_is_chunked_by_tokens_within_the_budget() -> None:
    count = token_counter()
    for text in ("中华人民共和国外交部发言人表示双方将继续就粮食出口问题进行磋商。" * 300,
                 "ประเทศไทยมีความสัมพันธ์ที่ดีกับประเทศเพื่อนบ้าน" * 300, "x" * 20_000):
        chunks = chunk_article(Article(id="x", title="t", text=text), count, max_tokens=200)
        assert len(chunks) > 1
        assert all(count([c.text])[0] <= 200 and len(c.text) <= 2_400 for c in chunks)
        assert all(text[c.start:c.end] == c.text for c in chunks)
        assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_a_huge_title_is_capped_at_a_word() -> None:
    from qa.ingest import TITLE_TOKENS, _capped_title

    title = " ".join(f"word{i}" for i in range(6_000))
    capped = _capped_title(Article(id="x", title=title, text="t"))
    assert title.startswith(capped) and title[len(capped)] == " "
    assert 0 < token_counter()([capped])[0] <= TITLE_TOKENS
