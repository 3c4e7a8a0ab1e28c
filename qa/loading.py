"""Files -> Article: YAML front matter, HTML metadata, "Original Source:" lines, a content hash."""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from qa.types import Article

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
HTML_SUFFIXES = {".html", ".htm"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
MAX_BYTES = 20_000_000  # larger files are skipped: no news article is 20 MB of text
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
ORIGINAL_SOURCE = re.compile(r"^\s*Original Source:\s*(.+?)\s*$", re.M | re.I)
FIELDS = ("id", "title", "date", "source", "url", "author")


@dataclass
class Problem:
    """A file that could not be loaded, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class SkipFile(Exception):
    """Raised for a file that is skipped; the message is the reason shown to the user."""


def find_files(paths: Iterable[Path]) -> Iterator[Path | Problem]:
    """Article files under `paths` (recursively, sorted, symlink loops avoided); problems for bad paths."""
    seen: set[str] = set()
    for root in paths:
        if not root.exists():
            yield Problem(str(root), "no such file or folder")
            continue
        if root.is_file():
            yield root
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            real = os.path.realpath(dirpath)
            if real in seen:
                dirnames[:] = []
                yield Problem(dirpath, "symlink loop or folder seen twice; not followed again")
                continue
            seen.add(real)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if p.suffix.lower() in SUFFIXES and not name.startswith("."):
                    yield p


CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")


def decode(data: bytes) -> str:
    """Bytes -> text: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252/Latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")  # a cut-off last byte or lone surrogate: U+FFFD
    elif b"\x00" in data[:8192]:
        raise SkipFile("looks binary (NUL bytes); not a text article")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    head = text[:8192]
    if head and len(CONTROL.findall(head)) > len(head) // 10:  # binary without NULs (or garbage "UTF-16")
        raise SkipFile("looks binary (control characters); not a text article")
    return text


def content_hash(article: Article) -> str:
    """Hash of everything stored for an article: a change to text or metadata re-indexes it."""
    h = hashlib.sha256()
    for value in (article.id, article.title, article.source, article.date, article.url, article.author, article.text):
        h.update(value.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return text.lstrip("\ufeff").strip()


def _first_line_title(text: str, limit: int = 160) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = line.lstrip("# ").strip()
    m = re.search(r"^(.{20,}?[.!?])(\s|$)", line)
    title = m.group(1) if m else line
    return title if len(title) <= limit else title[: limit - 1].rsplit(" ", 1)[0] + "…"


def parse_text(raw: str, stem: str) -> Article:
    """A .md/.txt article: optional YAML front matter, else title from the first line."""
    meta: dict[str, object] = {}
    body = raw
    m = FRONT_MATTER.match(raw.lstrip("\ufeff"))
    if m:
        try:
            loaded = yaml.load(m.group(1), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise SkipFile(f"front matter is not valid YAML{where}; fix it or remove the --- block") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise SkipFile("front matter is not a mapping of `key: value` lines; fix it or remove the --- block")
        meta = loaded or {}
        body = raw.lstrip("\ufeff")[m.end():]
    text = _clean(body)
    fields = {k: _field(k, meta.get(k)) for k in FIELDS}
    if not fields["source"]:
        src = ORIGINAL_SOURCE.search(text)
        if src:
            fields["source"] = src.group(1)
    if not fields["title"]:
        fields["title"] = _first_line_title(text)
    return Article(
        id=fields["id"] or stem, title=fields["title"], text=text, source=fields["source"],
        date=_iso_date(fields["date"]), url=fields["url"], author=fields["author"],
    )


def _field(name: str, value: object) -> str:
    """A front matter value as text; a list of plain values (`author: [A, B]`) is joined with commas."""
    if value is None:
        return ""
    if isinstance(value, list) and all(not isinstance(v, (list, dict)) for v in value):
        return ", ".join(str(v).strip() for v in value if v is not None)
    if isinstance(value, (list, dict)):
        raise SkipFile(f"front matter `{name}` is a nested list or mapping; give it plain text")
    return str(value).strip()


def _iso_date(value: str) -> str:
    """Normalise a date to ISO 8601 (keeps the time when given); "" when it cannot be read."""
    if not value:
        return ""
    from datetime import datetime

    v = value.strip().replace("Z", "+00:00")
    for parse in (datetime.fromisoformat,):
        try:
            return parse(v).isoformat() if "T" in v or " " in v.strip() else parse(v).date().isoformat()
        except ValueError:
            pass
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError):
        pass
    for fmt in ("%B %d, %Y", "%d %B %Y", "%b %d, %Y", "%d %b %Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(value.strip(), fmt).date().isoformat()
        except ValueError:
            pass
    return ""


def parse_html(raw: str, stem: str) -> Article:
    """An .html article: title, article:published_time, og:site_name, canonical URL, visible text only."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "lxml")

    def meta(*names: str) -> str:
        for name in names:
            tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
            if tag and tag.get("content"):
                return str(tag["content"]).strip()
        return ""

    og_title = meta("og:title")
    title = og_title or (soup.title.get_text(" ", strip=True) if soup.title else "")
    canonical = soup.find("link", rel="canonical")
    url = str(canonical["href"]).strip() if canonical and canonical.get("href") else meta("og:url")
    date = meta("article:published_time", "datePublished", "pubdate", "date", "dc.date")
    source = meta("og:site_name", "application-name")
    author = meta("author", "article:author")
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
                     "iframe", "svg", "button", "select"]):
        tag.decompose()
    root = soup.find("article") or soup.find("main") or soup.body or soup
    blocks = []
    for el in root.find_all(["h1", "h2", "h3", "h4", "p", "li", "blockquote", "pre", "td"]):
        if el.find(["p", "li", "blockquote"]):  # the inner blocks carry the text
            continue
        t = " ".join(el.get_text(" ", strip=True).split())
        if t:
            blocks.append(t)
    if not blocks:
        blocks = [" ".join(root.get_text(" ", strip=True).split())]
    text = _clean("\n\n".join(blocks))
    if not title:
        title = _first_line_title(text)
    return Article(id=stem, title=title, text=text, source=source, date=_iso_date(date), url=url, author=author)


def load_file(path: Path) -> Article:
    """Load one article file; raises SkipFile with a reason a person can act on."""
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block the read forever, a device never ends
            raise SkipFile("not a regular file (a pipe, socket or device)")
        if st.st_size > MAX_BYTES:
            raise SkipFile(f"{st.st_size / 1e6:.0f} MB is too large for an article (limit {MAX_BYTES / 1e6:.0f} MB)")
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise SkipFile(f"more than {MAX_BYTES / 1e6:.0f} MB; too large for an article")
    except PermissionError:
        raise SkipFile("permission denied; make the file readable") from None
    except OSError as e:
        raise SkipFile(f"cannot read: {e.strerror or e}") from None
    raw = decode(data)
    if path.suffix.lower() in HTML_SUFFIXES:
        article = parse_html(raw, path.stem)
    else:
        article = parse_text(raw, path.stem)
    if not article.text.strip():
        raise SkipFile("no text in the file")
    article.path = str(path)
    article.content_hash = content_hash(article)
    return article


def load_articles(paths: Iterable[Path]) -> Iterator[Article | Problem]:
    """Articles under `paths`, each once; problems (unreadable, empty, binary, duplicate id) as they come."""
    first_path: dict[str, str] = {}
    for item in find_files(paths):
        if isinstance(item, Problem):
            yield item
            continue
        try:
            article = load_file(item)
        except SkipFile as e:
            yield Problem(str(item), str(e))
            continue
        if article.id in first_path:
            yield Problem(str(item), f"article id {article.id!r} is already used by {first_path[article.id]}; "
                          "give one of them another `id:` in its front matter")
            continue
        first_path[article.id] = str(item)
        yield article
