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

from qa.terminal import clean, one_line
from qa.types import Article

TEXT_SUFFIXES = {".md", ".markdown", ".txt"}
HTML_SUFFIXES = {".html", ".htm"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES
NO_SUCH_ROOT = "no such file or folder"
MAX_BYTES = 20_000_000  # larger files are skipped: no news article is 20 MB of text
FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
ORIGINAL_SOURCE = re.compile(r"^\s*Original Source:\s*(.+?)\s*$", re.MULTILINE | re.IGNORECASE)


@dataclass
class Problem:
    """A file that could not be loaded, and why; `skipped=False`: a warning, the article was still ingested."""

    path: str
    reason: str
    skipped: bool = True

    def __post_init__(self) -> None:
        self.path = shown_path(self.path)

    def __str__(self) -> str:
        return f"{one_line(self.path)}: {one_line(self.reason)}"


class SkipFile(Exception):
    """Raised for a file that is skipped; the message is the reason shown to the user."""


def shown_path(path: str | os.PathLike[str]) -> str:
    """A path as text that can be stored and printed: bytes of a file name that are not UTF-8 become `\\xNN`."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return os.fsencode(text).decode("utf-8", "backslashreplace")


def _typeable(text: str) -> str:
    """`text` without control characters or escape sequences, line breaks as spaces; other characters kept."""
    return clean(text).replace("\n", " ").replace("\t", " ").strip()


def safe_id(stem: str) -> str:
    """The article id of a file without an `id:`: its name without suffix; a name that is not valid UTF-8 gets
    its undecodable bytes written as `\\xNN` (deterministic, so re-ingesting finds the same article)."""
    return shown_path(stem)


def inside(real: str, roots: list[str]) -> bool:
    """The real path `real` is one of `roots` (real paths) or under one."""
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def find_files(paths: Iterable[Path], follow_symlinks: bool = False) -> Iterator[Path | Problem]:
    """Article files under `paths` (recursively, sorted, symlink loops avoided); problems for bad paths.

    Files stay inside what the user named: a symlinked file or folder whose real path is outside every root is
    skipped with a problem (unless `follow_symlinks`); whether a file is an article is decided by its target's
    suffix, so `notes.md -> /etc/passwd` is not read. A folder that cannot be listed is a problem too."""
    paths = list(paths)
    roots = [os.path.realpath(p) for p in paths]
    seen: set[str] = set()

    def outside(link: str, target: str) -> Problem:
        return Problem(link, f"links to {shown_path(target)}, outside the folders given to `qa ingest`; not "
                       "followed (--follow-symlinks follows links)")

    for root in paths:
        if not os.path.lexists(root):
            yield Problem(str(root), NO_SUCH_ROOT)
            continue
        if not root.is_dir():
            yield root  # named by the user: read whatever it is (load_file says why not)
            continue
        errors: list[OSError] = []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=errors.append):
            while errors:
                e = errors.pop()
                yield Problem(e.filename or dirpath, f"cannot read this folder ({e.strerror or e}); its files were "
                              "not ingested and --prune keeps their articles")
            real = os.path.realpath(dirpath)
            if real in seen:
                dirnames[:] = []
                yield Problem(dirpath, "symlink loop or folder seen twice; not followed again")
                continue
            seen.add(real)
            keep = []
            for d in sorted(dirnames):
                full = os.path.join(dirpath, d)
                if d.startswith("."):
                    continue
                if not follow_symlinks and os.path.islink(full) and not inside(os.path.realpath(full), roots):
                    yield outside(full, os.path.realpath(full))
                    continue
                keep.append(d)
            dirnames[:] = keep
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                p = os.path.join(dirpath, name)
                article_name = os.path.splitext(name)[1].lower() in SUFFIXES
                if os.path.islink(p):
                    target = os.path.realpath(p)
                    article_target = os.path.splitext(target)[1].lower() in SUFFIXES
                    if not (article_name or article_target):
                        continue
                    if not follow_symlinks and not inside(target, roots):
                        yield outside(p, target)
                        continue
                    if not article_target:
                        yield Problem(p, f"links to {shown_path(target)}, which is not an article file "
                                      f"({', '.join(sorted(SUFFIXES))})")
                        continue
                elif not article_name:
                    continue
                yield Path(p)
        while errors:
            e = errors.pop()
            yield Problem(e.filename or str(root), f"cannot read this folder ({e.strerror or e}); its files were "
                          "not ingested and --prune keeps their articles")


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
            lenient = data.decode("utf-8-sig", errors="replace")
            bad = lenient.count("\ufffd")
            # UTF-8 with a few stray bytes (a cut copy-paste) still has more valid multi-byte characters than bad
            # bytes; Windows-1252 text almost never forms a valid UTF-8 sequence. Read each as what it mostly is.
            if sum(1 for c in lenient if ord(c) > 127) - bad > bad:
                return _not_binary(lenient)
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    return _not_binary(text)


def _not_binary(text: str) -> str:
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


TITLE_CHARS = 300  # a stored title longer than this is cut at a word (a 6,000-word "title" is not a title)
FIELD_CHARS = 2_000  # any other metadata value
# The schema: each Article field and the front matter keys / HTML meta names it is read from, first match wins.
SCHEMA: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "title": ("title", "headline", "og:title"),
    "date": ("date", "published", "published_at", "pubdate", "date_published", "article:published_time",
             "datePublished", "dc.date", "created"),
    "source": ("source", "outlet", "publisher", "og:site_name", "application-name"),
    "url": ("url", "link", "canonical", "og:url"),
    "author": ("author", "authors", "byline", "article:author"),
}


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut) + "…"


def _as_text(value: object, limit: int) -> str | None:
    """A metadata value as one string (None: a structure that is not text). Lists of plain values are joined
    with commas, lazily, so a YAML alias bomb never expands past `limit` characters."""
    from datetime import date

    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, date):  # a datetime is a date too
        return value.isoformat()
    if isinstance(value, (str, int, float)):  # bool is an int
        return _cap(str(value).strip(), limit)
    if isinstance(value, (list, tuple)):
        parts: list[str] = []
        size = 0
        for v in value:
            if isinstance(v, (list, tuple, dict)):
                return None
            t = _as_text(v, limit)
            if t:
                parts.append(t)
                size += len(t) + 2
                if size > limit:
                    break
        return _cap(", ".join(parts), limit)
    return None


def article_from_metadata(meta: dict[object, object], text: str, stem: str, where: str,
                          warnings: list[str] | None = None) -> Article:
    """The one schema from front matter / HTML metadata to an Article: every value of every type is accepted.
    A value that cannot be used (a nested structure, a date that is not one) is dropped with a warning in
    `warnings`; the article is still made. `where` names the file in the warnings."""
    warnings = warnings if warnings is not None else []
    keys = {str(k).strip().lower(): k for k in meta}
    fields: dict[str, str] = {}
    for name, aliases in SCHEMA.items():
        fields[name] = ""
        for alias in aliases:
            key = keys.get(alias.lower())
            if key is None:
                continue
            value = _as_text(meta[key], TITLE_CHARS if name == "title" else FIELD_CHARS)
            if value is None:
                warnings.append(f"`{key}` is a nested list or mapping; ignored (give it plain text)")
                continue
            if value:
                fields[name] = value
                break
    date = ""
    if fields["date"]:
        date, problem = parse_date(fields["date"])
        if problem:
            warnings.append(f"`date` {one_line(fields['date'])[:80]!r} {problem}; ingested without a date")
    if not fields["source"]:
        src = ORIGINAL_SOURCE.search(text[:100_000])
        if src:
            fields["source"] = _cap(src.group(1), FIELD_CHARS)
    if not fields["title"]:
        fields["title"] = _first_line_title(text)
    # An id is typed back by users (`qa show ID`, `qa rm ID`): no control characters, one line.
    article_id = _typeable(fields["id"]) or _typeable(safe_id(stem)) or "untitled"
    return Article(id=article_id, title=fields["title"], text=text, source=fields["source"],
                   date=date, url=fields["url"], author=fields["author"])


def _first_line_title(text: str, limit: int = 160) -> str:
    line = next((m.group().strip() for m in re.finditer(r"[^\n]+", text) if m.group().strip()), "")
    line = line.lstrip("# ").strip()[:2_000]  # the title is in the first sentence; never scan a 1 MB line
    m = re.search(r"^(.{20,}?[.!?])(\s|$)", line)
    title = m.group(1) if m else line
    return title if len(title) <= limit else title[: limit - 1].rsplit(" ", 1)[0] + "…"


# Dates ------------------------------------------------------------------------------------------------------
YEARS = (1700, 2200)  # a date outside these years is a typo, not a news article's date
TZINFOS = {"UTC": 0, "GMT": 0, "Z": 0, "EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
           "MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600, "BST": 3600, "CET": 3600,
           "CEST": 7200, "EET": 7200, "EEST": 10800, "MSK": 10800, "JST": 9 * 3600, "KST": 9 * 3600,
           "AEST": 10 * 3600, "AEDT": 11 * 3600}


def parse_date(value: str) -> tuple[str, str]:
    """(ISO 8601 date or datetime, "") for any date format news uses; ("", why not) when it is no date.

    ISO 8601 with or without time and zone, RFC 2822 ("Thu, 03 Mar 2022 10:00:00 +0000"), and written dates
    ("Mar. 3, 2022", "March 3rd, 2022", "3 March 2022", "2022-03-01 10:00 EST") read by python-dateutil. The
    time is kept when given. A date missing its year, month or day, or outside YEARS, is refused."""
    import warnings
    from datetime import datetime

    v = value.strip()
    if not v:
        return "", ""
    if len(v) > 80:
        return "", "is not a date"
    has_time = bool(re.search(r"\d:\d\d", v))
    d: datetime | None = None
    why = "is not a date"
    try:
        d = datetime.fromisoformat(v[:-1] + "+00:00" if v.endswith(("Z", "z")) else v)
    except ValueError as e:
        if re.fullmatch(r"\d{4}-\d\d?-\d\d?(?:[T ][\d:.]*(?:[+-][\d:]+|[Zz])?)?", v):  # ISO-shaped but impossible (2024-02-30, month 13, hour 25)
            return "", f"is not a real date ({e})"
    if d is None and re.search(r"[+-]\d{4}\s*$|\b(?:GMT|UT)\s*$", v):
        from email.utils import parsedate_to_datetime

        try:
            d = parsedate_to_datetime(v)
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    if d is None:
        from dateutil import parser

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a = parser.parse(v, default=datetime(2000, 1, 1), tzinfos=TZINFOS)
                b = parser.parse(v, default=datetime(2001, 2, 2), tzinfos=TZINFOS)
            if (a.year, a.month, a.day) != (b.year, b.month, b.day):
                return "", "is not a full date (year, month and day are needed)"
            d = a
        except parser.ParserError as e:
            why = "is not a real date" if "out of range" in str(e) or "must be in" in str(e) else why
        except (ValueError, OverflowError, TypeError, IndexError) as e:
            why = f"is not a real date ({e})" if "range" in str(e) else why
    if d is None:
        return "", why
    if not YEARS[0] <= d.year <= YEARS[1]:
        return "", f"is outside the years {YEARS[0]}-{YEARS[1]}"
    return (d.isoformat() if has_time else d.date().isoformat()), ""


def _iso_date(value: str) -> str:
    """Normalise a date to ISO 8601 (keeps the time when given); "" when it cannot be read."""
    return parse_date(value)[0]


class _FrontMatterLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML where timestamps stay text: `date: 2024-02-30` must be a warning, not a ValueError."""


_FrontMatterLoader.add_constructor("tag:yaml.org,2002:timestamp",
                                   lambda loader, node: loader.construct_scalar(node))


def parse_text(raw: str, stem: str, warnings: list[str] | None = None) -> Article:
    """A .md/.txt article: optional YAML front matter, else title from the first line."""
    meta: dict[object, object] = {}
    body = raw
    m = FRONT_MATTER.match(raw.lstrip("\ufeff"))
    if m:
        try:
            loaded = yaml.load(m.group(1), Loader=_FrontMatterLoader)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise SkipFile(f"front matter is not valid YAML{where}; fix it or remove the --- block") from None
        except (ValueError, TypeError, OverflowError, RecursionError):  # a tagged value (!!int x) that is not one
            raise SkipFile("front matter has a value YAML cannot read; fix it or remove the --- block") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise SkipFile("front matter is not a mapping of `key: value` lines; fix it or remove the --- block")
        meta = loaded or {}
        body = raw.lstrip("\ufeff")[m.end():]
    return article_from_metadata(meta, _clean(body), stem, stem, warnings)


def parse_html(raw: str, stem: str, warnings: list[str] | None = None) -> Article:
    """An .html article: title, article:published_time, og:site_name, canonical URL, visible text only."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "lxml")
    meta: dict[object, object] = {}
    for tag in soup.find_all("meta"):
        name = tag.get("property") or tag.get("name") or tag.get("itemprop")
        content = tag.get("content")
        if isinstance(name, str) and isinstance(content, str) and content.strip():
            meta.setdefault(name.strip().lower(), content.strip())
    if soup.title and "og:title" not in meta:
        meta["og:title"] = soup.title.get_text(" ", strip=True)
    canonical = soup.find("link", rel="canonical")
    if canonical and canonical.get("href"):
        meta["canonical"] = str(canonical["href"]).strip()
    meta.pop("id", None)  # an HTML page's id is its file name
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
    # og:title first, then <title>; the other names as before (article:published_time before datePublished …)
    return article_from_metadata(meta, text, stem, stem, warnings)


def load_file(path: Path, warnings: list[str] | None = None) -> Article:
    """Load one article file; raises SkipFile with a reason a person can act on. Problems with single fields
    (a date that is not one) are added to `warnings`, and the article is loaded without that field."""
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
    stem = Path(os.path.basename(path)).stem
    target = os.path.realpath(path) if os.path.islink(path) else str(path)
    if os.path.splitext(target)[1].lower() in HTML_SUFFIXES:
        article = parse_html(raw, stem, warnings)
    else:
        article = parse_text(raw, stem, warnings)
    if not article.text.strip():
        raise SkipFile("no text in the file")
    article.path = shown_path(os.path.abspath(path))
    article.content_hash = content_hash(article)
    return article


def load_articles(paths: Iterable[Path], follow_symlinks: bool = False) -> Iterator[Article | Problem]:
    """Articles under `paths`, each once; problems (unreadable, empty, binary, duplicate id) as they come, and
    warnings (Problem with skipped=False) before the article they concern."""
    first_path: dict[str, str] = {}
    for item in find_files(paths, follow_symlinks):
        if isinstance(item, Problem):
            yield item
            continue
        warnings: list[str] = []
        try:
            article = load_file(item, warnings)
        except SkipFile as e:
            yield Problem(str(item), str(e))
            continue
        except RecursionError:
            yield Problem(str(item), "nested too deeply to read (HTML or YAML); not an article")
            continue
        if article.id in first_path and article.id == _typeable(safe_id(item.stem)):
            # The id comes from the file name, and another folder has a file of that name (every page of a saved
            # site is index.html): the folder's name tells them apart, deterministically.
            qualified = _typeable(f"{safe_id(item.parent.name)}-{safe_id(item.stem)}")
            if qualified in first_path:
                qualified += "-" + hashlib.sha1(os.fsencode(os.path.abspath(item))).hexdigest()[:8]
            warnings.append(f"another file is named like this one ({first_path[article.id]}); stored as "
                            f"{qualified!r} (an `id:` in front matter or a <meta name=\"id\"> chooses the id)")
            article.id = qualified
        if article.id in first_path:
            yield Problem(str(item), f"article id {article.id!r} is already used by {first_path[article.id]}; "
                          "give one of them another `id:` in its front matter")
            continue
        first_path[article.id] = shown_path(item)
        for w in warnings:
            yield Problem(str(item), w, skipped=False)
        yield article
