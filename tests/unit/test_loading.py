from pathlib import Path

from qa.loading import Problem, load_articles, load_file
from tests.conftest import SEED


def test_seed_article_id_title_and_outlet_from_plain_text() -> None:
    a = load_file(SEED / "france24-blinken-iraq-militias.txt")
    assert a.id == "france24-blinken-iraq-militias"
    assert a.title.startswith("U.S. Secretary of State Antony Blinken urged Iraq")
    assert a.source == "www.france24.com"
    assert len(a.content_hash) == 64


def test_front_matter_fields_and_body(tmp_path: Path) -> None:
    (tmp_path / "x.md").write_text('---\nid: abc\ntitle: "A title"\ndate: 2022-03-14\nsource: Reuters\n'
                                   'url: https://e.com/a\nauthor: Jo\n---\nBody text here.\n')
    a = load_file(tmp_path / "x.md")
    assert (a.id, a.title, a.date, a.source, a.url, a.author) == ("abc", "A title", "2022-03-14", "Reuters",
                                                                  "https://e.com/a", "Jo")
    assert a.text == "Body text here."


def test_html_metadata_and_visible_text_only(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        '<html><head><title>T</title><meta property="og:site_name" content="The Outlet">'
        '<meta property="article:published_time" content="2022-05-01T10:00:00Z">'
        '<link rel="canonical" href="https://o.com/story"><script>var x = "SECRET";</script></head>'
        '<body><nav>Home | World</nav><article><h1>Headline</h1><p>First paragraph.</p><p>Second one.</p>'
        '</article><footer>Cookie banner</footer></body></html>')
    a = load_file(tmp_path / "page.html")
    assert (a.title, a.source, a.url) == ("T", "The Outlet", "https://o.com/story")
    assert a.date.startswith("2022-05-01T10:00:00")
    assert "First paragraph." in a.text and "Second one." in a.text
    assert "SECRET" not in a.text and "Cookie" not in a.text and "Home | World" not in a.text


def test_bad_files_are_reported_and_the_rest_loaded(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("A fine article about Iraq. It has two sentences.")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02PNG\x00" * 50)
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\nText.")
    (tmp_path / "latin1.txt").write_bytes("Café au lait in Bogotá.".encode("latin-1"))
    items = list(load_articles([tmp_path]))
    loaded = {i.id: i for i in items if not isinstance(i, Problem)}
    problems = {Path(p.path).name: p.reason for p in items if isinstance(p, Problem)}
    assert set(loaded) == {"good", "latin1"}
    assert loaded["latin1"].text == "Café au lait in Bogotá."
    assert set(problems) == {"empty.txt", "binary.md", "broken.md"}
    assert "YAML" in problems["broken.md"] and "binary" in problems["binary.md"]
