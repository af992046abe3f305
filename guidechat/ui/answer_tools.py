"""What sits under each answer in the chat (#7): suggested follow-up questions (buttons that ask them), the answer
as a markdown file, and feedback (thumbs up / down, "wrong citation") written as eval cases."""

from __future__ import annotations

import logging
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from guidechat.chat.export import export_markdown, export_name
from guidechat.feedback import Vote, record_feedback
from guidechat.library import scope_for
from guidechat.types import Answer, Session

log = logging.getLogger(__name__)

MAX_FOLLOWUPS = 3
WRONG_CITATION = "Wrong citation"
FEEDBACK_OPTIONS = ("Like", "Dislike", WRONG_CITATION)
Shown = dict[int, Answer]  # chat message index -> the answer shown there


@dataclass
class AnswerTools:
    followups: list[Any]  # gr.Button, hidden until an answer offers questions
    export: Any  # gr.DownloadButton
    shown: Any  # gr.State holding Shown

    @property
    def outputs(self) -> list[Any]:
        return [*self.followups, self.export, self.shown]


def answer_tools() -> AnswerTools:
    """The components, in the current layout context."""
    shown = gr.State(value=None)
    with gr.Row(elem_id="followups"):
        buttons = [gr.Button(visible=False, size="sm", elem_id=f"followup-{i}", elem_classes=["followup"])
                   for i in range(MAX_FOLLOWUPS)]
    export = gr.DownloadButton("Download answer (.md)", visible=False, size="sm", elem_id="export")
    return AnswerTools(buttons, export, shown)


def _export_file(answer: Answer) -> str:
    folder = Path(tempfile.mkdtemp(prefix="guidechat-export-"))
    path = folder / export_name(answer)
    path.write_text(export_markdown(answer), encoding="utf-8")
    return str(path)


def after_answer(history: list[dict[str, Any]], session: Session | None, shown: Shown | None) -> list[Any]:
    """Once an answer is in: remember which message shows it, offer its follow-ups, make its export."""
    shown = dict(shown or {})
    answered = len(shown)
    hide = [gr.update(visible=False) for _ in range(MAX_FOLLOWUPS)]
    if session is None or len(session.turns) <= answered or not history or history[-1].get("role") != "assistant":
        return [*hide, gr.update(visible=False), shown]  # no new answer (an error was shown instead)
    answer = session.turns[-1].answer
    shown[len(history) - 1] = answer
    questions = list(answer.followups[:MAX_FOLLOWUPS])
    buttons = [gr.update(value=q, visible=True) for q in questions] + hide[len(questions):]
    return [*buttons, gr.update(value=_export_file(answer), visible=True), shown]


def reset_tools() -> list[Any]:
    """A new conversation: nothing shown, nothing to follow up."""
    return [*(gr.update(visible=False) for _ in range(MAX_FOLLOWUPS)), gr.update(visible=False), None]


def apply_scope(session: Session | None, documents: list[str] | None, audience: str | None) -> Session:
    """The library tab's restriction, on the session the next question is asked in."""
    session = session if session is not None else Session()
    session.scope = scope_for(documents or [], audience)
    return session


def vote_for(liked: bool | str) -> Vote | None:
    if liked is True or liked == "Like":
        return "up"
    if liked is False or liked == "Dislike":
        return "down"
    if liked == WRONG_CITATION:
        return "wrong_citation"
    return None  # a vote taken back


def feedback_handler(home: Path) -> Any:
    # The page may report one click twice (Gradio sends an extra option's event again): a vote is written only
    # when it differs from the one last written for that message; taking a vote back clears it.
    last: dict[tuple[int, str, str], Vote | None] = {}
    lock = threading.Lock()

    def on_feedback(shown: Shown | None, data: gr.LikeData) -> None:
        index = data.index if isinstance(data.index, int) else data.index[0]
        answer = (shown or {}).get(index)
        if answer is None:
            return
        vote = vote_for(data.liked)
        key = (index, answer.question, answer.markdown)
        with lock:
            if last.get(key) == vote:
                return
            last[key] = vote
            if vote is not None:
                record_feedback(home, answer, vote)
        if vote is not None:
            gr.Info("Thank you: your feedback is saved as an evaluation case.")

    return on_feedback
