"""The whole pipeline with fake embeddings and the fake generator, through the same factories users use."""

import json
from pathlib import Path

from typer.testing import CliRunner

from qa.chain import make_assistant
from qa.config import Settings
from qa.embedding import make_embeddings
from qa.ingest import ingest
from qa.store import open_store
from tests.conftest import SEED

runner = CliRunner()


def _articles(tmp_path: Path) -> Path:
    d = tmp_path / "news"
    d.mkdir()
    (d / "a.md").write_text("---\nid: wheat\ntitle: Wheat exports\ndate: 2022-03-01\nsource: Wire\n---\n"
                            "Ukraine exported record wheat volumes through Odesa. Prices fell in March.\n")
    (d / "b.md").write_text("---\nid: chips\ntitle: Chip plant\ndate: 2022-04-02\nsource: Daily\n---\n"
                            "A new semiconductor plant opened in Arizona. It employs 3,000 workers.\n")
    (d / "c.md").write_text("---\nid: rain\ntitle: Monsoon\ndate: 2022-06-03\nsource: Wire\n---\n"
                            "Heavy monsoon rains flooded parts of Dhaka. Schools were closed.\n")
    return d


def test_ingest_is_incremental_and_never_duplicates(tmp_path: Path, fake_env: None) -> None:
    s = Settings()
    d = _articles(tmp_path)
    store = open_store(s, make_embeddings(s))
    first = ingest([d], store, s)
    assert (first.added, first.unchanged, store.count_chunks()) == (3, 0, 3)
    again = ingest([d], store, s)
    assert (again.added, again.updated, again.unchanged, again.chunks) == (0, 0, 3, 0)
    (d / "b.md").write_text("---\nid: chips\ntitle: Chip plant\n---\nThe plant closed. Workers left. "
                            + "More text follows here. " * 60)
    changed = ingest([d], store, s)
    assert (changed.updated, changed.unchanged) == (1, 2)
    ids = store.chunk_texts().keys()
    assert len(ids) == len(set(ids)) == store.count_chunks()
    assert all("semiconductor" not in t for t, _m in store.chunk_texts().values())
    (d / "c.md").unlink()
    pruned = ingest([d], store, s, prune=True)
    assert pruned.pruned == 1 and {a["id"] for a in store.list_articles()} == {"wheat", "chips"}


def test_answer_cites_the_passage_and_quote_is_an_exact_span(tmp_path: Path, fake_env: None) -> None:
    s = Settings()
    ingest([_articles(tmp_path)], open_store(s, make_embeddings(s)), s)
    answer = make_assistant(s).ask("How many workers does the chip plant employ?")
    assert not answer.refused
    assert answer.citations and answer.citations[0].article_id == "chips"
    text = open_store(s).get_article("chips").text  # type: ignore[union-attr]
    for c in answer.citations:
        assert text[c.start:c.end] == c.quote
    assert "3,000" in answer.answer


def test_cli_ask_json_contract_and_autoingest(fake_env: None) -> None:
    result = runner.invoke(__import__("qa.cli", fromlist=["app"]).app, ["ask", "What did Blinken ask Sudani?",
                                                                        "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(d) >= {"question", "standalone_question", "answer", "short_answer", "refused", "citations",
                      "passages", "timings", "draft"}
    assert set(d["timings"]) >= {"retrieve_s", "generate_s", "total_s"}
    assert d["citations"] and set(d["citations"][0]) >= {"n", "article_id", "title", "source", "date", "url",
                                                         "quote", "start", "end", "verified"}
    assert set(d["passages"][0]) == {"n", "article_id", "chunk_id", "score", "text"}
    assert d["citations"][0]["article_id"] == "france24-blinken-iraq-militias"
    shown = runner.invoke(__import__("qa.cli", fromlist=["app"]).app,
                          ["show", "france24-blinken-iraq-militias", "--json"])
    text = json.loads(shown.stdout)["text"]
    assert all(text[c["start"]:c["end"]] == c["quote"] for c in d["citations"])
    assert text == (SEED / "france24-blinken-iraq-militias.txt").read_text().strip()
