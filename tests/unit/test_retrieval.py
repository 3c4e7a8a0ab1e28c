"""Hybrid retrieval with fake embeddings: fusion, filters, as_of, diversity, duplicates and the BM25 index on disk."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from qa.config import Settings
from qa.embedding import make_embeddings
from qa.ingest import ingest
from qa.keyword import KeywordIndex
from qa.retrieval import (
    Candidate,
    Filters,
    Retriever,
    keyword_mask,
    mmr,
    rrf,
    time_intent,
    undated_after_matches,
)
from qa.store import Store, open_store


def write(d: Path, name: str, title: str, body: str, date_: str = "", source: str = "Wire") -> Path:
    d.mkdir(exist_ok=True)
    front = f"---\nid: {name}\ntitle: {title}\nsource: {source}\n" + (f"date: {date_}\n" if date_ else "") + "---\n"
    (d / f"{name}.md").write_text(front + body + "\n")
    return d / f"{name}.md"


@pytest.fixture
def news(tmp_path: Path) -> Path:
    d = tmp_path / "news"
    write(d, "grain", "Grain corridor reopens", "Ships carrying wheat left Odesa under the Black Sea grain deal.",
          "2022-08-01", "Wire")
    write(d, "aid-may", "Aid package for Ukraine", "The United States announced a humanitarian aid package for "
          "Ukraine worth 100 million dollars.", "2022-05-10", "Daily")
    write(d, "aid-july", "Aid package for Ukraine", "The United States announced another humanitarian aid "
          "package for Ukraine worth 368 million dollars.", "2022-07-09", "Daily")
    write(d, "zelmanov", "Visa restrictions", "Officials named Vasily Zelmanov among those facing visa "
          "restrictions for abuses.", "2022-06-28", "Wire")
    write(d, "undated", "Background note", "A note about humanitarian aid logistics for Ukraine, without a date.")
    return d


def setup(fake_env: None, news: Path, **overrides: object) -> tuple[Settings, Store]:
    s = Settings(**overrides)  # type: ignore[arg-type]
    store = open_store(s, make_embeddings(s))
    ingest([news], store, s)
    return s, store


def ids(passages: list) -> list[str]:  # type: ignore[type-arg]
    return [p.article_id for p in passages]


def test_rrf_rewards_agreement_and_respects_weights() -> None:
    fused = rrf({"dense": ["a", "b", "c"], "bm25": ["b", "d"]}, {"dense": 1.0, "bm25": 1.0}, k=60)
    assert max(fused, key=fused.__getitem__) == "b"  # second in one list and first in the other beats first in one
    heavy = rrf({"dense": ["a", "b"], "bm25": ["b", "a"]}, {"dense": 3.0, "bm25": 1.0}, k=60)
    assert heavy["a"] > heavy["b"]


def test_relative_time_is_read_from_the_as_of_date() -> None:
    t = time_intent("Which leader did forces kill this week?", date(2022, 2, 5))
    assert (t.since, t.until) == (date(2022, 1, 30), date(2022, 2, 5))
    t = time_intent("What happened in March 2022 in Kyiv?", date(2022, 8, 1))
    assert (t.since, t.until, t.recent) == (date(2022, 3, 1), date(2022, 3, 31), False)
    t = time_intent("What did they agree last month?", date(2022, 8, 15))
    assert t.since == date(2022, 7, 1) and t.until == date(2022, 8, 15)
    assert time_intent("What is the latest aid package?", date(2022, 8, 1)).recent
    plain = time_intent("Who leads the Lebanese army?", date(2022, 8, 1))
    assert not plain.bound and plain.since is None


def test_bm25_finds_a_rare_name_and_titles_count(fake_env: None, news: Path) -> None:
    _s, store = setup(fake_env, news, retrieval="bm25")
    r = Retriever(store)
    assert ids(r.search("Who is Zelmanov?", 1)) == ["zelmanov"]
    assert ids(r.search("corridor", 1)) == ["grain"]  # the word is only in the title
    assert r.search("xylophone", 3) == []


def test_filters_source_dates_and_as_of(fake_env: None, news: Path) -> None:
    _s, store = setup(fake_env, news)
    r = Retriever(store)
    q = "humanitarian aid package for Ukraine"
    assert set(ids(r.search(q, 5, Filters(source="Daily")))) == {"aid-may", "aid-july"}
    ranged = r.search(q, 5, Filters(since="2022-06-01", until="2022-07-31"))
    assert ids(ranged)[0] == "aid-july" and all("2022-06-01" <= p.date <= "2022-07-31" for p in ranged)
    as_of = ids(r.search(q, 5, Filters(as_of="2022-06-01")))
    assert "aid-may" in as_of and "undated" in as_of  # undated articles stay eligible
    assert "aid-july" not in as_of and "grain" not in as_of  # nothing dated after the as-of day
    assert "aid-july" in ids(r.search(q, 5, Filters(as_of="2022-07-09")))  # the as-of day itself counts


def test_latest_prefers_the_newest_matching_article(fake_env: None, news: Path) -> None:
    _s, store = setup(fake_env, news)
    r = Retriever(store)
    assert ids(r.search("What is the latest humanitarian aid package for Ukraine?", 3))[0] == "aid-july"
    first = ids(r.search("What is the latest humanitarian aid package for Ukraine?", 3, Filters(as_of="2022-06-30")))
    assert first[0] == "aid-may"


def test_undated_articles_rank_after_the_dated_matches_of_a_time_bound_question(fake_env: None, news: Path) -> None:
    _s, store = setup(fake_env, news)
    r = Retriever(store)
    # without a time in it, the undated note ranks between the two aid packages (MMR keeps them apart)
    assert ids(r.search("humanitarian aid package for Ukraine", 5))[:3] == ["aid-may", "undated", "aid-july"]
    latest = ids(r.search("What is the latest humanitarian aid package for Ukraine?", 5))
    assert latest[:3] == ["aid-july", "aid-may", "undated"]  # still shown, after both dated matches
    assert ids(r.search("Which aid package did the United States announce this week?", 5,
                        Filters(as_of="2022-05-12")))[:2] == ["aid-may", "undated"]
    # only undated passages move: dated ones keep the order MMR gave them, a weak one included
    pick = [Candidate(f"{name}#0", "", {"date_ts": ts}, score) for name, ts, score in
            [("strong", 9, 0.9), ("undated", -1, 0.8), ("weak", 5, 0.1), ("match", 7, 0.7), ("late", 3, 0.05)]]
    moved = undated_after_matches(pick, 0.6 * 0.9)
    assert [c.chunk_id.split("#")[0] for c in moved] == ["strong", "weak", "match", "undated", "late"]


def test_this_week_with_as_of_finds_that_weeks_article(fake_env: None, news: Path) -> None:
    _s, store = setup(fake_env, news)
    got = Retriever(store).search("Which aid package did the United States announce this week?", 3,
                                  Filters(as_of="2022-05-12"))
    assert got[0].article_id == "aid-may"
    assert all(p.date[:10] <= "2022-05-12" for p in got if p.date)


def test_mmr_skips_near_copies() -> None:
    same = "the minister announced sanctions on three banks and two oil firms today"
    ranked = [Candidate("a::0", same, {}, 0.03), Candidate("b::0", same + " again", {}, 0.029),
              Candidate("c::0", "wheat ships left the port of odesa under the grain deal", {}, 0.02)]
    assert [c.chunk_id for c in mmr(ranked, 2)] == ["a::0", "c::0"]


def test_reposted_article_is_grouped_and_only_the_canonical_is_cited(fake_env: None, news: Path) -> None:
    body = (news / "zelmanov.md").read_text().split("---\n", 2)[2]
    write(news, "zelmanov-repost", "Visa restrictions (updated)", body.strip(), "2022-06-29", "Mirror")
    _s, store = setup(fake_env, news)
    rows = {r["id"]: r for r in store.list_articles()}
    assert rows["zelmanov-repost"]["duplicate_of"] == "zelmanov" and rows["zelmanov"]["duplicate_of"] == ""
    r = Retriever(store)
    assert ids(r.search("Zelmanov visa restrictions", 3)).count("zelmanov") == 1
    assert "zelmanov-repost" not in ids(r.search("Zelmanov visa restrictions", 3))
    # asked only about the outlet that carried the copy, the copy is what there is
    assert ids(r.search("Zelmanov visa restrictions", 3, Filters(source="Mirror"))) == ["zelmanov-repost"]


def test_adjacent_chunks_merge_into_one_exact_passage(fake_env: None, tmp_path: Path) -> None:
    d = tmp_path / "long"
    sentences = [f"Sentence {i} says the harbour of Mariupol had {i} cranes." for i in range(12)]
    write(d, "long", "Harbour report", " ".join(sentences), "2022-04-01")
    s = Settings(chunk_tokens=40, chunk_overlap_sentences=0)
    store = open_store(s, make_embeddings(s))
    ingest([d], store, s)
    assert store.count_chunks() > 3
    got = Retriever(store).search("harbour Mariupol cranes", 4)
    text = store.get_article("long").text  # type: ignore[union-attr]
    assert len(got) < 4 and any("+" in p.chunk_id for p in got)  # some chunks were next to each other
    for p in got:
        assert text[p.start:p.end] == p.text


def test_bm25_index_persists_and_follows_replace_and_prune(fake_env: None, news: Path) -> None:
    s, store = setup(fake_env, news, retrieval="bm25")
    on_disk = KeywordIndex(s.bm25_dir)  # loaded from disk, not rebuilt
    assert sorted(on_disk.chunk_ids) == sorted(store.chunk_texts())
    write(news, "zelmanov", "Visa restrictions", "Officials named Pavel Ostrovsky instead.", "2022-06-28")
    (news / "grain.md").unlink()
    report = ingest([news], store, s, prune=True)
    assert (report.updated, report.pruned) == (1, 1)
    kw = KeywordIndex(s.bm25_dir)
    assert sorted(kw.chunk_ids) == sorted(store.chunk_texts())  # no orphans either way
    assert kw.search("Zelmanov", 5) == [] and kw.search("Odesa wheat", 5) == []
    assert [c.split("::")[0] for c, _ in kw.search("Ostrovsky", 5)] == ["zelmanov"]


def test_bm25_catches_up_after_a_crash_between_chroma_and_bm25(fake_env: None, news: Path) -> None:
    s, store = setup(fake_env, news, retrieval="bm25")
    from qa.chunking import approximate_tokens, chunk_article
    from qa.types import Article

    # what a crash leaves behind: the article is in Chroma, the BM25 write never happened
    article = Article(id="late", title="Late news", text="Quartermaster Brankovic resigned.", date="2022-08-02",
                      source="Wire", content_hash="h1")
    chunks = chunk_article(article, approximate_tokens, 200, 0)
    store.write_article(article, chunks, store.embeddings.embed_documents([c.text for c in chunks]))  # type: ignore
    assert KeywordIndex(s.bm25_dir).search("Brankovic", 3) == []
    assert ids(Retriever(store).search("Brankovic", 3)) == ["late"]
    assert "late::0" in KeywordIndex(s.bm25_dir).chunk_ids  # the repaired index was saved


def test_bm25_matrix_scores_like_bm25s_itself(tmp_path: Path) -> None:
    import bm25s
    import numpy as np
    from bm25s.tokenization import Tokenized

    from qa.keyword import tokenize

    texts = ["the cat sat on the mat", "dogs and cats living together", "a mat for a dog dog dog",
             "Zelmanov visa restrictions", "sanctions sanctions russia", ""]
    kw = KeywordIndex(tmp_path / "bm25")
    kw._append({f"a{i}::0": (t, {"article_id": f"a{i}", "date_ts": -1}) for i, t in enumerate(texts)})
    kw._index()
    ref = bm25s.BM25()
    docs = [kw.tokens[kw.offsets[i]:kw.offsets[i + 1]].tolist() for i in range(len(texts))]
    ref.index(Tokenized(ids=docs, vocab=dict(kw.vocab)), show_progress=False)
    for q in ("cat mat", "dog", "sanctions russia", "zelmanov"):
        ids_ = [kw.vocab[w] for w in tokenize([q])[0]]
        assert np.allclose(kw.bm25.get_scores_from_ids(ids_), ref.get_scores_from_ids(ids_), atol=1e-5)


@pytest.mark.parametrize("filters", [Filters(as_of="2022-06-01"), Filters(source="Daily"),
                                     Filters(since="2022-06-01", until="2022-07-31"), Filters(until="2022-07-01")])
def test_filtering_the_nearest_chunks_in_python_equals_chromas_filter(fake_env: None, news: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      filters: Filters) -> None:
    _s, store = setup(fake_env, news)
    r = Retriever(store)
    vector = store.embeddings.embed_query("humanitarian aid package for Ukraine")  # type: ignore[union-attr]
    by_chroma = [c.chunk_id for c in r._query(vector, 3, filters.where())]
    assert by_chroma, "the filter admits something"
    assert [c.chunk_id for c in r._dense(vector, 3, filters, frozenset())] == by_chroma
    monkeypatch.setattr("qa.retrieval.OVERFETCH", 1)  # too few nearest chunks pass: Chroma filters after all
    assert [c.chunk_id for c in r._dense(vector, 3, filters, frozenset())] == by_chroma
    nearest_passing = [c.chunk_id for c in r._query(vector, 3, None) if filters.admits(c.meta)]
    assert [c.chunk_id for c in r._dense(vector, 3, filters, frozenset(), complete=False)] == nearest_passing


@pytest.mark.parametrize("filters", [Filters(as_of="2022-06-01"), Filters(since="2022-06-01", until="2022-07-31"),
                                     Filters(source="Daily")])
def test_hybrid_filters_the_nearest_ids_with_the_bm25_copy_of_the_metadata(fake_env: None, news: Path,
                                                                            filters: Filters) -> None:
    _s, store = setup(fake_env, news)
    r = Retriever(store)
    kw = r.keyword()
    vector = store.embeddings.embed_query("humanitarian aid package for Ukraine")  # type: ignore[union-attr]
    by_chroma = [c.chunk_id for c in r._query(vector, 3, filters.where())]
    mask = keyword_mask(kw, filters)
    assert r._dense(vector, 3, filters, frozenset(), complete=True, kw=kw, mask=mask) == by_chroma
    assert kw.admitted(["no-such-chunk", *by_chroma], mask) == by_chroma  # unknown ids are left out, order kept


def test_the_vector_index_is_searched_broadly_enough_to_give_the_same_neighbours_every_run(fake_env: None,
                                                                                        tmp_path: Path) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from qa.store import EF_SEARCH

    s = Settings()
    assert open_store(s, make_embeddings(s)).chunks.configuration_json["hnsw"]["ef_search"] == EF_SEARCH
    old = Settings(home=tmp_path / "old")  # an index made with Chroma's default breadth (100)
    chromadb.PersistentClient(path=str(old.chroma_dir), settings=ChromaSettings(anonymized_telemetry=False)) \
        .get_or_create_collection(
        old.collection, metadata={"hnsw:space": "cosine"})
    assert open_store(old, make_embeddings(old)).chunks.configuration_json["hnsw"]["ef_search"] == EF_SEARCH
