"""Answer -> markdown for a reader (CLI and chat)."""

from __future__ import annotations

from guidechat.chat.safe_markdown import escape_text, link
from guidechat.types import Answer, Citation


def reference_line(c: Citation) -> str:
    updated = f", updated {c.updated}" if c.updated else ""
    return f"[{c.n}] {c.title} — {c.section}{updated}. {c.url}"


def render_references(answer: Answer) -> str:
    if answer.citations:
        lines = ["**References**", ""]
        lines += [f"{c.n}. {link(c.title, c.url)} — *{escape_text(c.section)}*" + _updated(c) for c in answer.citations]
        return "\n".join(lines)
    if answer.related:
        lines = ["**Nearest related sources**", ""]
        lines += [f"- {link(s.title, s.url)} — *{escape_text(s.section)}*" for s in answer.related]
        return "\n".join(lines)
    return ""


def _updated(c: Citation) -> str:
    return f" (updated {c.updated})" if c.updated else ""


def render_markdown(answer: Answer) -> str:
    """The whole answer as a reader sees it: a note (generated answers), body, references, disclaimer."""
    parts = [f"> **Note:** {answer.note}"] if answer.note else []
    parts.append(answer.markdown.strip())
    refs = render_references(answer)
    if refs:
        parts.append(refs)
    parts.append(f"*{answer.disclaimer}*")
    return "\n\n".join(parts)
