"""Answer -> markdown for a reader (CLI and chat)."""

from __future__ import annotations

from guidechat.chat.render_trust import decorate_body, legend_block, reference_marks, trust_blocks
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
    return (f" (updated {c.updated})" if c.updated else "") + reference_marks(c)


def render_markdown(answer: Answer) -> str:
    """The whole answer as a reader sees it: a note (generated answers), body with level-of-evidence badges,
    where sources differ or are old, references, the levels of evidence shown, disclaimer."""
    parts = [f"> **Note:** {answer.note}"] if answer.note else []
    parts.append(decorate_body(answer.markdown.strip(), answer))
    parts += trust_blocks(answer)
    refs = render_references(answer)
    if refs:
        parts.append(refs)
    legend = legend_block(answer)
    if legend:
        parts.append(legend)
    parts.append(f"*{answer.disclaimer}*")
    return "\n\n".join(parts)
