"""An answer as a markdown file a reader can keep or paste elsewhere: the question, the answer with its trust
notes, references (with their addresses) and the disclaimer."""

from __future__ import annotations

import datetime as dt

from guidechat.chat.render import render_markdown
from guidechat.chat.safe_markdown import escape_text
from guidechat.types import Answer


def export_markdown(answer: Answer, when: dt.date | None = None) -> str:
    day = (when or dt.date.today()).isoformat()
    return (f"# {escape_text(answer.question)}\n\n{render_markdown(answer)}\n\n"
            f"*Exported from guidechat on {day}; audience: {answer.audience}.*\n")


def export_name(answer: Answer) -> str:
    """A file name from the question's first words."""
    words = "".join(ch if ch.isalnum() else " " for ch in answer.question).split()[:8]
    return ("-".join(words).lower() or "answer") + ".md"
