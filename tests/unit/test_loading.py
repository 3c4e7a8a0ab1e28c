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


def test_news_date_formats_and_impossible_dates() -> None:
    from qa.loading import parse_date

    assert parse_date("2022-03-14") == ("2022-03-14", "")
    assert parse_date("2022-03-14T10:00:00Z") == ("2022-03-14T10:00:00+00:00", "")
    assert parse_date("2022-03-01 10:00 EST") == ("2022-03-01T10:00:00-05:00", "")
    assert parse_date("Mar. 3, 2022")[0] == parse_date("March 3rd, 2022")[0] == parse_date("3 March 2022")[0] \
        == "2022-03-03"
    assert parse_date("Thu, 03 Mar 2022 10:00:00 +0000") == ("2022-03-03T10:00:00+00:00", "")
    for bad in ("2024-02-30", "2022-13-01", "2022-03-01T25:00", "March 2022", "soon", "0001-01-01", "12"):
        iso, why = parse_date(bad)
        assert iso == "" and why, bad


def test_an_impossible_front_matter_date_is_a_warning_and_the_article_is_kept(tmp_path: Path) -> None:
    (tmp_path / "bad.md").write_text("---\ndate: 2024-02-30\ntitle: T\n---\nBody.\n")
    (tmp_path / "ok.md").write_text("---\ndate: 2022-03-01\n---\nBody two.\n")
    items = list(load_articles([tmp_path]))
    (warning,) = [i for i in items if isinstance(i, Problem)]
    assert not warning.skipped and warning.path.endswith("bad.md")
    assert "`date` '2024-02-30' is not a real date" in warning.reason
    dates = {i.id: i.date for i in items if not isinstance(i, Problem)}
    assert dates == {"bad": "", "ok": "2022-03-01"}


def test_a_file_name_that_is_not_utf8_gets_a_safe_id(tmp_path: Path) -> None:
    import os

    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt"), "wb") as f:
        f.write(b"Cafe talks. They went on.")
    (article,) = load_articles([tmp_path])
    assert not isinstance(article, Problem)
    assert article.id == "caf\\xe9" and article.path.endswith("caf\\xe9.txt")
    article.path.encode("utf-8")


def test_links_outside_the_roots_are_problems_and_suffixes_are_the_targets(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("Secret. Text.")
    (outside / "real.md").write_text("Outside article. Text.")
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.md").symlink_to(outside / "secret")
    (root / "b.txt").symlink_to(outside / "real.md")
    (root / "inside").symlink_to(root / "c.md")
    (root / "c.md").write_text("Inside article. Text.")
    items = list(load_articles([root]))
    problems = {Path(p.path).name: p.reason for p in items if isinstance(p, Problem)}
    assert set(problems) == {"a.md", "b.txt"} and all("outside the folders" in r for r in problems.values())
    assert sorted(a.id for a in items if not isinstance(a, Problem)) == ["c", "inside"]
    followed = list(load_articles([root], follow_symlinks=True))
    assert {Path(p.path).name for p in followed if isinstance(p, Problem)} == {"a.md"}  # not an article file
