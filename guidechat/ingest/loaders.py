"""Read guideline files (markdown, HTML, PDF, plain text) into `Document`s whose body is markdown.

Every failure on a bad file is reported as a `LoadError` naming the file and a short reason.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import stat
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import yaml
from bs4 import BeautifulSoup, Tag
from bs4.element import Comment as HtmlComment
from bs4.element import Declaration, Doctype, NavigableString, ProcessingInstruction
from pypdf import PasswordType, PdfReader

from guidechat.types import Audience, DocMeta, Document

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".md", ".markdown", ".html", ".htm", ".pdf", ".txt"})


class LoadError(Exception):
    """A file that cannot be read into a Document; str() is "<path>: <reason>"."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


# --------------------------------------------------------------------------- public API


def load_document(path: Path, max_bytes: int | None = None) -> Document:
    """Load one file; raises LoadError (and nothing else) when it cannot be read."""
    suffix = path.suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise LoadError(path, _unsupported_reason(suffix))
    raw = read_file(path, max_bytes)
    try:
        return loader(path, raw)
    except LoadError:
        raise
    except RecursionError as exc:
        raise LoadError(path, f"could not parse {suffix[1:]} file: nested too deeply") from exc
    except Exception as exc:  # a parser failing on a bad file must not escape as anything else
        raise LoadError(path, f"could not parse {suffix[1:]} file: {_short(exc)}") from exc


def read_file(path: Path, max_bytes: int | None = None) -> bytes:
    """A regular file's bytes; LoadError when it is not one, cannot be read, or is over max_bytes."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it changes nothing for a regular file
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):  # a FIFO would block the read forever, /dev/zero never ends
                raise LoadError(path, "not a regular file")
            if max_bytes is not None and info.st_size > max_bytes:
                raise LoadError(path, _too_large(info.st_size, max_bytes))
            raw = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except OSError as exc:
        raise LoadError(path, exc.strerror or _short(exc)) from exc
    if max_bytes is not None and len(raw) > max_bytes:  # grew while we read it
        raise LoadError(path, _too_large(len(raw), max_bytes))
    return raw


def _too_large(size: int, max_bytes: int) -> str:
    return (
        f"file too large ({_size(size)}; the limit is {_size(max_bytes)}, "
        "setting max_file_bytes / GUIDECHAT_MAX_FILE_BYTES)"
    )


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1_000_000 else f"{n:,} bytes"


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[LoadError]]:
    """Expand files and folders into the supported files to load (resolved, de-duplicated).

    Folders are walked recursively in sorted order, skipping hidden entries and unsupported
    suffixes; a named file with an unsupported suffix, or a path that does not exist, is an error.
    """
    found: list[Path] = []
    errors: list[LoadError] = []
    for path in paths:
        try:
            resolved = _resolve(path)
        except LoadError as exc:
            errors.append(exc)
            continue
        if resolved.is_dir():
            found.extend(_walk(path, errors))
        elif resolved.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(resolved)
            else:
                errors.append(LoadError(path, _unsupported_reason(path.suffix.lower())))
        elif not resolved.exists():
            errors.append(LoadError(path, "no such file or directory"))
        else:
            errors.append(LoadError(path, "not a regular file or folder"))
    return list(dict.fromkeys(found)), errors


# --------------------------------------------------------------------------- shared helpers


def _unsupported_reason(suffix: str) -> str:
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    return f"unsupported file type {suffix or '(no suffix)'!r} (supported: {supported})"


def _walk(root: Path, errors: list[LoadError]) -> list[Path]:
    files: list[Path] = []

    def on_error(exc: OSError) -> None:
        errors.append(LoadError(Path(exc.filename or root), exc.strerror or str(exc)))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                path = Path(dirpath, name)
                try:
                    resolved = _resolve(path)
                except LoadError as exc:
                    errors.append(exc)
                    continue
                if resolved.is_file():
                    files.append(resolved)
                else:  # a FIFO would block the read forever, a device (/dev/zero) never ends
                    reason = "broken symbolic link" if not resolved.exists() else "not a regular file"
                    errors.append(LoadError(path, reason))
    return sorted(files)


def _resolve(path: Path) -> Path:
    """The real path; a symbolic link loop is a LoadError (pathlib raises RuntimeError for it)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError) as exc:
        raise LoadError(path, "symbolic link loop" if "loop" in str(exc).lower() else _short(exc)) from exc


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _decode_text(path: Path, raw: bytes) -> str:
    """UTF-8 text without BOM; empty, binary and undecodable files are LoadErrors."""
    if b"\x00" in raw:
        raise LoadError(path, "binary file, not text")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start]
        raise LoadError(path, f"not UTF-8 text (invalid byte 0x{bad:02x} at offset {exc.start})") from exc
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise LoadError(path, "empty file")
    return text


def _mtime_date(path: Path) -> str:
    try:
        return dt.date.fromtimestamp(path.stat().st_mtime).isoformat()
    except (OSError, ValueError, OverflowError):
        return ""


def _stem_title(path: Path) -> str:
    words = " ".join(re.split(r"[\s_\-.]+", path.stem)).strip() or path.name
    return words[:1].upper() + words[1:]


def _collapse(text: str) -> str:
    return " ".join(text.split())


_AUDIENCE_ALIASES: dict[str, Audience] = {
    "clinician": "clinician",
    "hp": "clinician",
    "health professional": "clinician",
    "professional": "clinician",
    "patient": "patient",
}


def _normalise_audience(value: str) -> Audience | None:
    """Map an audience label to an Audience; None when it is not one we know."""
    key = " ".join(value.lower().replace("_", " ").replace("-", " ").split())
    return _AUDIENCE_ALIASES.get(key)


def _audience_or_error(path: Path, value: str, where: str) -> Audience:
    audience = _normalise_audience(value)
    if audience is None:
        raise LoadError(
            path, f"{where} 'audience' has unknown value {value!r} (expected 'clinician' or 'patient')"
        )
    return audience


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: str) -> str | None:
    """YYYY-MM-DD from an ISO date or datetime string; None when it is not one."""
    value = value.strip()
    if not _ISO_DATE.match(value):
        return None
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


# --------------------------------------------------------------------------- markdown

_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE
)


def _load_markdown(path: Path, raw: bytes) -> Document:
    text = _decode_text(path, raw)
    fields, body = _split_front_matter(path, text)
    title = _fm_text(path, fields, "title") or _first_h1(body) or _stem_title(path)
    url = _fm_text(path, fields, "url") or path.resolve().as_uri()
    publisher = _fm_text(path, fields, "publisher") or ""
    audience_text = _fm_text(path, fields, "audience")
    audience = _audience_or_error(path, audience_text, "front matter field") if audience_text else None
    # A curated file whose front matter gives no date has no known update date: the file's mtime is only when
    # it was copied, and a citation must not present that as the guideline's date.
    updated = _fm_date(path, fields) or ("" if fields else _mtime_date(path))
    meta = DocMeta(
        title=title,
        url=url,
        publisher=publisher,
        audience=audience,
        updated=updated,
        source_path=str(path.resolve()),
    )
    return Document(meta=meta, markdown=body)


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if match is None:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise LoadError(path, f"invalid YAML front matter: {_yaml_reason(exc)}") from exc
    except ValueError as exc:  # a date YAML recognises but the calendar does not (2024-02-30)
        raise LoadError(path, f"invalid YAML front matter: {_short(exc)}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise LoadError(path, f"front matter is not a mapping of fields (got {type(data).__name__})")
    return {str(k): v for k, v in data.items()}, text[match.end() :]


def _yaml_reason(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        line = exc.problem_mark.line + 2  # +1 for 1-based, +1 for the opening '---'
        return f"{exc.problem or 'syntax error'} (line {line})"
    return _short(exc)


def _fm_text(path: Path, fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise LoadError(path, f"front matter field {name!r} must be text, got {type(value).__name__}")
    return str(value).strip() or None


def _fm_date(path: Path, fields: dict[str, Any]) -> str | None:
    value = fields.get("updated")
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    iso = _iso_date(value) if isinstance(value, str) else None
    if iso is None:
        raise LoadError(path, f"front matter field 'updated' must be a date (YYYY-MM-DD), got {value!r}")
    return iso


def _first_h1(body: str) -> str | None:
    in_fence = False
    for line in body.splitlines():
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence and (match := re.match(r"#[ \t]+(.+)$", stripped)):
            return _without_closing_hashes(match.group(1))
    return None


def _without_closing_hashes(text: str) -> str:
    """"Title ##" -> "Title" ("C#" stays): str methods, as a regex for it backtracks on long runs of blanks."""
    trimmed = text.rstrip("#")
    if trimmed != text and trimmed[-1:] in (" ", "\t"):
        text = trimmed
    return text.strip()


# --------------------------------------------------------------------------- plain text


def _load_text(path: Path, raw: bytes) -> Document:
    text = _decode_text(path, raw)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first if len(first) < 120 else _stem_title(path)
    meta = DocMeta(
        title=title,
        url=path.resolve().as_uri(),
        updated=_mtime_date(path),
        source_path=str(path.resolve()),
    )
    return Document(meta=meta, markdown=text)


# --------------------------------------------------------------------------- HTML

_DROP_TAGS = ("script", "style", "nav", "header", "footer", "noscript", "template", "head")
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "center", "dd", "details", "div", "dl",
        "dt", "fieldset", "figcaption", "figure", "form", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
        "html", "li", "main", "ol", "p", "pre", "section", "summary", "table", "ul",
    }
)  # fmt: skip
_DATE_METAS = ("dcterms.modified", "last-modified", "date", "article:modified_time")
_SKIPPED_STRINGS = (HtmlComment, Declaration, Doctype, ProcessingInstruction)


def _load_html(path: Path, raw: bytes) -> Document:
    text = _decode_text(path, raw)
    soup = BeautifulSoup(text, "html.parser")
    metas = _html_metas(soup)
    title = _html_title(soup) or _stem_title(path)
    audience_text = metas.get("audience", "").strip()
    audience = _audience_or_error(path, audience_text, "<meta name>") if audience_text else None
    meta = DocMeta(
        title=title,
        url=_html_url(soup, metas) or path.resolve().as_uri(),
        publisher=metas.get("publisher") or metas.get("og:site_name") or "",
        audience=audience,
        updated=_html_updated(metas) or _mtime_date(path),
        source_path=str(path.resolve()),
    )
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    root = soup.body or soup
    markdown = "\n\n".join(_blocks(root))
    if not markdown.strip():
        raise LoadError(path, "HTML has no text content")
    return Document(meta=meta, markdown=markdown + "\n")


def _attr(tag: Tag, name: str) -> str:
    value = tag.get(name)
    if value is None:
        return ""
    return value if isinstance(value, str) else " ".join(value)


def _html_metas(soup: BeautifulSoup) -> dict[str, str]:
    """<meta name|property|http-equiv=... content=...>, keys lower-cased, first one wins."""
    metas: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        key = (_attr(tag, "name") or _attr(tag, "property") or _attr(tag, "http-equiv")).strip().lower()
        content = _attr(tag, "content").strip()
        if key and content:
            metas.setdefault(key, content)
    return metas


def _html_title(soup: BeautifulSoup) -> str | None:
    for tag in (soup.title, soup.find("h1")):
        if tag is not None and (text := _collapse(tag.get_text(" "))):
            return text
    return None


def _html_url(soup: BeautifulSoup, metas: dict[str, str]) -> str | None:
    canonical = soup.find("link", rel="canonical")
    if canonical is not None and (href := _attr(canonical, "href").strip()):
        return href
    return metas.get("og:url")


def _html_updated(metas: dict[str, str]) -> str | None:
    for key in _DATE_METAS:
        value = metas.get(key)
        if value and (date := _iso_date(value) or _http_date(value)):
            return date
    return None


def _http_date(value: str) -> str | None:
    try:
        return parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError):
        return None


def _blocks(node: Tag) -> list[str]:
    """Markdown blocks for a container element: block children in order, loose inline runs as paragraphs."""
    name = node.name
    if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
        text = _inline(node)
        return [f"{'#' * int(name[1])} {text}"] if text else []
    if name in ("ul", "ol"):
        lines = _list_lines(node, "")
        return ["\n".join(lines)] if lines else []
    if name == "table":
        return _table_blocks(node)
    if name == "pre":
        code = node.get_text().strip("\n")
        return [f"```\n{code}\n```"] if code.strip() else []
    if name == "blockquote":
        quoted = _container_blocks(node)
        return ["\n".join(f"> {line}" if line else ">" for line in b.splitlines()) for b in quoted]
    if name == "hr":
        return []
    return _container_blocks(node)


def _container_blocks(node: Tag) -> list[str]:
    blocks: list[str] = []
    run: list[str] = []

    def flush() -> None:
        text = _collapse("".join(run))
        if text:
            blocks.append(text)
        run.clear()

    for child in node.children:
        if isinstance(child, Tag) and child.name in _BLOCK_TAGS:
            flush()
            blocks.extend(_blocks(child))
        else:
            run.append(_inline_piece(child))
    flush()
    return blocks


def _inline(node: Tag, skip_lists: bool = False) -> str:
    return _collapse("".join(_inline_piece(child, skip_lists) for child in node.children))


def _inline_piece(node: object, skip_lists: bool = False) -> str:
    if isinstance(node, _SKIPPED_STRINGS):
        return ""
    if isinstance(node, NavigableString):
        return str(node)
    if not isinstance(node, Tag):
        return ""
    if node.name == "br":
        return " "
    if skip_lists and node.name in ("ul", "ol"):
        return ""
    if node.name == "img":
        return _attr(node, "alt")
    text = _inline(node, skip_lists)
    if node.name == "a" and (href := _attr(node, "href").strip()) and text:
        return f"[{text}]({href})"
    spaced = node.name in _BLOCK_TAGS or node.name in ("td", "th", "tr")
    return f" {text} " if spaced else text


def _list_lines(lst: Tag, indent: str) -> list[str]:
    ordered = lst.name == "ol"
    start = _attr(lst, "start")
    number = int(start) if start.isdigit() else 1
    lines: list[str] = []
    for item in lst.find_all("li", recursive=False):
        marker = f"{number}." if ordered else "-"
        number += 1
        text = _inline(item, skip_lists=True)
        if text:
            lines.append(f"{indent}{marker} {text}")
        nested = [sub for sub in item.find_all(("ul", "ol")) if sub.find_parent("li") is item]
        for sub in nested:
            lines.extend(_list_lines(sub, indent + " " * (len(marker) + 1)))
    return lines


# Spans only pad empty cells: without caps a 60-byte colspan="300000000" grows into gigabytes of pipes.
_MAX_COLSPAN = 1000  # what browsers clamp colspan to
_MAX_TABLE_CELLS = 1_000_000  # rows x columns, spans included


def _table_blocks(table: Tag) -> list[str]:
    blocks: list[str] = []
    caption = table.find("caption")
    if caption is not None and (text := _inline(caption)):
        blocks.append(text)
    rows = [_table_row(tr) for tr in table.find_all("tr") if tr.find_parent("table") is table]
    rows = [row for row in rows if any(row)]
    if not rows:
        return blocks
    width = max(len(row) for row in rows)
    if width * len(rows) > _MAX_TABLE_CELLS:
        raise ValueError(f"a table of {len(rows)} rows by {width} columns is too large")
    lines = [_pipe_row(row + [""] * (width - len(row))) for row in rows]
    lines.insert(1, _pipe_row(["---"] * width))
    blocks.append("\n".join(lines))
    return blocks


def _table_row(tr: Tag) -> list[str]:
    cells: list[str] = []
    for cell in tr.find_all(("th", "td"), recursive=False):
        cells.append(_inline(cell).replace("|", "\\|"))
        span = _attr(cell, "colspan").strip()
        cells.extend([""] * (min(int(span), _MAX_COLSPAN) - 1 if span.isdigit() and int(span) > 1 else 0))
    return cells


def _pipe_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


# --------------------------------------------------------------------------- PDF

_PLACEHOLDER_TITLES = frozenset({"", "untitled", "untitled document", "title", "document"})
_BULLET = re.compile(r"^\s*[•●▪■◦‣∙]\s*")


def _load_pdf(path: Path, raw: bytes) -> Document:
    if not raw.strip():
        raise LoadError(path, "empty file")
    reader = _open_pdf(path, raw)
    pages = _pdf_page_texts(path, reader)
    if not any(text.strip() for text in pages):
        raise LoadError(path, "PDF has no text layer (scanned?)")
    title = _pdf_meta_title(reader) or _first_line_title(pages[0]) or _stem_title(path)
    sections = [
        f"## Page {number}\n\n{_reflow(text)}" for number, text in enumerate(pages, 1) if text.strip()
    ]
    meta = DocMeta(
        title=title,
        url=path.resolve().as_uri(),
        publisher="",
        updated=_pdf_date(reader) or _mtime_date(path),
        source_path=str(path.resolve()),
    )
    return Document(meta=meta, markdown="\n\n".join(sections) + "\n")


def _open_pdf(path: Path, raw: bytes) -> PdfReader:
    if b"%PDF-" not in raw[:1024]:
        raise LoadError(path, "not a readable PDF: no %PDF header")
    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise LoadError(path, "not a readable PDF: encrypted (password required)")
        len(reader.pages)  # forces the page tree to be read
    except LoadError:
        raise
    except Exception as exc:
        truncated = b"%%EOF" not in raw[-2048:]
        reason = "truncated (no %%EOF marker)" if truncated else _short(exc)
        raise LoadError(path, f"not a readable PDF: {reason}") from exc
    return reader


def _pdf_page_texts(path: Path, reader: PdfReader) -> list[str]:
    texts: list[str] = []
    for number, page in enumerate(reader.pages, 1):
        try:
            texts.append(page.extract_text() or "")
        except Exception as exc:
            raise LoadError(path, f"not a readable PDF: page {number}: {_short(exc)}") from exc
    return texts


def _pdf_meta_title(reader: PdfReader) -> str | None:
    try:
        info = reader.metadata
        title = info.title if info is not None else None
    except Exception:
        return None
    if not isinstance(title, str) or _collapse(title).lower() in _PLACEHOLDER_TITLES:
        return None
    return _collapse(title)


def _pdf_date(reader: PdfReader) -> str | None:
    try:
        info = reader.metadata
    except Exception:
        return None
    if info is None:
        return None
    getters: tuple[Callable[[], dt.datetime | None], ...] = (
        lambda: info.modification_date,
        lambda: info.creation_date,
    )
    for get in getters:
        try:
            when = get()
        except Exception:  # malformed date strings raise from pypdf's parser
            continue
        if when is not None:
            return when.date().isoformat()
    return None


def _first_line_title(text: str) -> str | None:
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return _collapse(first) if first and len(first) < 150 else None


def _reflow(text: str) -> str:
    """Join a page's hard-wrapped lines into paragraphs; bullet lines become `- ` items."""
    paragraphs: list[str] = []
    for chunk in re.split(r"\n[ \t\f]*\n", text.replace("\r\n", "\n").replace("\f", "\n")):
        current: list[str] = []
        for line in chunk.split("\n"):
            if _BULLET.match(line) and current:
                paragraphs.append(_join_lines(current))
                current = []
            current.append(_BULLET.sub("- ", line) if _BULLET.match(line) else line)
        if current:
            paragraphs.append(_join_lines(current))
    return "\n\n".join(p for p in paragraphs if p)


def _join_lines(lines: list[str]) -> str:
    text = "\n".join(line.strip() for line in lines)
    text = re.sub(r"(\w)-\n(?=[a-z])", r"\1", text)
    return _collapse(text)


_LOADERS: dict[str, Callable[[Path, bytes], Document]] = {
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".txt": _load_text,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
}
