"""Markdown that renders as text: documents and questions are untrusted, and what they carry (<script>, <img
onerror>, javascript: links, link tricks in a title) must reach the reader as words, never as markup or a link
to anything but an http(s) page."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]()])")  # what could start emphasis, code or a link mid-line
_CONTROL = re.compile(r"[\x00-\x20\x7f]")  # browsers drop these inside a URL scheme: "java\tscript:" runs
# [text](destination "title") and ![alt](destination), the destination up to the first blank or closing
# parenthesis; text without brackets, as cleaning leaves it. Bounded scans: hostile text cannot make them slow.
_LINK = re.compile(r"(!?)\[([^\[\]\n]{0,2000})\]\(\s*([^()\s]{0,4000})(?:\s+\"[^\"\n]{0,2000}\")?\s*\)")
_URL_LIKE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*://|www\.)", re.I)
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]{1,1000}\]:[ \t]*\S+.*$", re.M)
_DESTINATION = re.compile(r"\]\(\s*([^()\s]{0,4000})")  # any "](" left: nested brackets, <...> destinations


def safe_url(url: str) -> str | None:
    """The url, percent-encoded for a markdown link, when it is an http(s) url with a host; else None."""
    url = url.strip()
    if _CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return quote(url, safe="/:?#[]@!$&'*+,;=%~.-_")  # blanks, parentheses and angle brackets escaped


def _host(url: str) -> str:
    try:
        return (urlsplit(url.strip() if "://" in url else "http://" + url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def escape_text(text: str) -> str:
    """Text that markdown shows as it is: no emphasis, no link, no HTML."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(text.split())).replace("<", "&lt;")


def link(text: str, url: str) -> str:
    """[text](url) when the url is http(s); the text alone otherwise (a file:// or javascript: url is not a link)."""
    target = safe_url(url)
    return f"[{escape_text(text)}]({target})" if target else escape_text(text)


def inert(markdown: str) -> str:
    """Markdown (an answer, a quoted passage, a question) with raw HTML shown as text, images dropped to their alt
    text, and links kept only when they point to an http(s) url."""
    markdown = markdown.replace("<", "&lt;")  # tags, autolinks and comments become visible text

    def relink(match: re.Match[str]) -> str:
        bang, text, url = match.groups()
        if bang:
            return text  # no remote image is fetched for a reader
        target = safe_url(url)
        if target and _URL_LIKE.match(text) and _host(text) != _host(target):
            return f"{text} ({target})"  # [https://www.cancer.gov/](https://elsewhere): say where it goes
        return f"[{text}]({target})" if target else text

    markdown = _LINK.sub(relink, markdown)
    # what the pattern above could not read ([a [b]](javascript:x) is a link to a renderer) loses its "("
    markdown = _DESTINATION.sub(lambda m: m.group(0) if safe_url(m.group(1)) else "]\\" + m.group(0)[1:], markdown)
    return _REFERENCE_DEFINITION.sub(lambda m: escape_text(m.group(0)), markdown)
