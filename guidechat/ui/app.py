"""Gradio chat page and API for guidechat (the only module that imports gradio)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import gradio as gr

from guidechat.chat.render import render_markdown
from guidechat.chat.render_trust import reference_marks
from guidechat.chat.safe_markdown import escape_text, inert, link
from guidechat.config import Settings
from guidechat.library import Library
from guidechat.types import AUDIENCES, Answer, Asker, Audience, Draft, Session, StreamingAsker
from guidechat.ui.answer_tools import (
    FEEDBACK_OPTIONS,
    after_answer,
    answer_tools,
    apply_scope,
    feedback_handler,
    reset_tools,
)
from guidechat.ui.library import library_tab, show_scope

log = logging.getLogger(__name__)

DEFAULT_EXAMPLES = [
    "What is the utility of MRI in stage IV breast cancer?",
    "And in men?",
    "How is stage III colon cancer treated after surgery?",
    "Can marijuana help with nausea from chemo?",
]
SOURCES_EMPTY = "*The passages cited by the latest answer appear here.*"
# A request body past this is refused while it arrives (a question is at most a few kB; a long chat's history,
# which the page sends with each question, some hundred kB). Uploads have max_file_bytes instead.
MAX_REQUEST_BYTES = 4_000_000
DRAFT_BANNER = "*Writing… this draft is not verified yet; the verified answer replaces it.*"

Message = dict[str, Any]


def _quote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.strip().splitlines())


def render_sources(answer: Answer) -> str:
    """The sources panel for one answer: cited passages, or the nearest sources when it abstained."""
    if answer.citations:
        parts = []
        for c in answer.citations:
            updated = (f" · updated {c.updated}" if c.updated else "") + reference_marks(c)
            head = f"**[{c.n}] {link(c.title, c.url)}**  \n*{escape_text(c.section)}*{updated}"
            parts.append(f"{head}\n\n{_quote(inert(c.text))}")
        return "\n\n---\n\n".join(parts)
    if answer.related:
        lines = ["**No answer in the sources. Nearest related sources:**", ""]
        lines += [f"- {link(s.title, s.url)} — *{escape_text(s.section)}*" for s in answer.related]
        return "\n".join(lines)
    return "*No sources for this answer.*"


def _audience(value: str | None) -> Audience:
    for a in AUDIENCES:
        if value == a:
            return a
    raise gr.Error(f"audience must be one of {', '.join(AUDIENCES)}, not {value!r}")


def _check_length(question: str, limit: int) -> None:
    """Before any work: a question over the limit is refused with a message saying so."""
    if len(question) > limit:
        raise gr.Error(f"The question is too long ({len(question):,} characters; the limit is {limit:,}).")


def _library_for(asker: Asker) -> Library | None:
    """The document library, when the asker is the chat pipeline over an index (tests may hand in other askers)."""
    from guidechat.chat.pipeline import ChatPipeline

    return Library(asker.home, asker.reload) if isinstance(asker, ChatPipeline) else None


def build_app(asker: Asker, examples: list[str] | None = None, settings: Settings | None = None) -> gr.Blocks:
    limits = settings or Settings()
    library = _library_for(asker)

    def add_question(question: str, history: list[Message]) -> tuple[list[Message], Any, Any]:
        question = (question or "").strip()
        if not question:  # leave a pending question alone (a double click must not erase it)
            return history, gr.skip(), gr.skip()
        _check_length(question, limits.max_question_chars)
        # the box stays locked until the answer is in, so one question is answered at a time
        shown = {"role": "user", "content": inert(question)}  # the reader's own text, never markup
        return [*history, shown], gr.update(value="", interactive=False), question

    def respond(
        question: str, history: list[Message], audience: str, session: Session | None
    ) -> tuple[list[Message], str, Session]:
        session = session if session is not None else Session()
        if not question:
            return history, gr.skip(), session
        try:
            answer = asker.ask(question, session, _audience(audience))
        except Exception as exc:  # shown to the reader instead of crashing the page
            log.exception("asking %r failed", question)
            msg = f"**Sorry, something went wrong while answering.**\n\n{inert(f'{type(exc).__name__}: {exc}')}"
            return [*history, {"role": "assistant", "content": msg}], gr.skip(), session
        reply = {"role": "assistant", "content": inert(render_markdown(answer))}
        return [*history, reply], render_sources(answer), session

    def respond_stream(
        question: str, history: list[Message], audience: str, session: Session | None
    ) -> Iterator[tuple[list[Message], Any, Session]]:
        """Like respond, showing a generated answer as it is written, then the verified answer in its place."""
        session = session if session is not None else Session()
        if not question:
            yield history, gr.skip(), session
            return
        assert isinstance(asker, StreamingAsker)
        try:
            for event in asker.ask_stream(question, session, _audience(audience)):
                if isinstance(event, Draft):
                    draft = {"role": "assistant", "content": f"{DRAFT_BANNER}\n\n{inert(event.text)}"}
                    yield [*history, draft], gr.skip(), session
                else:
                    reply = {"role": "assistant", "content": inert(render_markdown(event))}
                    yield [*history, reply], render_sources(event), session
        except Exception as exc:  # shown to the reader instead of crashing the page
            log.exception("asking %r failed", question)
            msg = f"**Sorry, something went wrong while answering.**\n\n{inert(f'{type(exc).__name__}: {exc}')}"
            yield [*history, {"role": "assistant", "content": msg}], gr.skip(), session

    def api_answer(
        question: str, audience: str, session: Session | None
    ) -> tuple[dict[str, object], Session]:
        session = session if session is not None else Session()
        if not (question or "").strip():
            raise gr.Error("question is empty")
        _check_length(question.strip(), limits.max_question_chars)
        try:
            answer = asker.ask(question.strip(), session, _audience(audience))
        except gr.Error:
            raise
        except Exception as exc:
            log.exception("asking %r failed", question)
            raise gr.Error(f"could not answer: {type(exc).__name__}: {exc}") from exc
        return answer.to_json(), session

    def new_conversation() -> tuple[list[Message], str, str, Session]:
        return [], SOURCES_EMPTY, "", Session()

    app = gr.Blocks(title="guidechat", analytics_enabled=False)
    with app:
        # Starts as None; each handler creates a Session on first use, so no instance is ever shared.
        # (A callable initial value would add a public load endpoint; the Session class itself breaks
        # Gradio's config code, which calls dataclasses.asdict on dataclass types.)
        session = gr.State(value=None)
        pending = gr.State(value="")
        gr.Markdown("# guidechat\nAnswers from clinical guideline documents, with citations.")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat-tab"):
                with gr.Row():
                    with gr.Column(scale=3):
                        # no autoscroll: a long answer is read from its bottom line down
                        chat = gr.Chatbot(label="Conversation", elem_id="chat", height=640,
                                          feedback_options=FEEDBACK_OPTIONS if library else None,
                                          autoscroll=False,
                                          buttons=["copy", "copy_all"])
                        tools = answer_tools()
                        scope = gr.Markdown(elem_id="scope-note")
                        with gr.Row():
                            question = gr.Textbox(
                                placeholder="Ask a question about the guidelines…", show_label=False,
                                elem_id="question", scale=5, lines=1, max_lines=4,
                                max_length=limits.max_question_chars,
                            )
                            ask = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
                        with gr.Row():
                            audience = gr.Radio(list(AUDIENCES), value="clinician", label="Audience",
                                                elem_id="audience")
                            new = gr.Button("New conversation", elem_id="new")
                        gr.Examples(examples=[[q] for q in (examples or DEFAULT_EXAMPLES)], inputs=[question],
                                    label="Example questions")
                    with gr.Column(scale=2):
                        gr.Markdown("### Sources")
                        sources = gr.Markdown(SOURCES_EMPTY, elem_id="sources")
            controls = library_tab(library) if library else None
        if controls is not None and library is not None:
            show_scope(controls, scope, library)

        # a follow-up button asks its own label, as the question box asks what was typed
        triggers = [(ask.click, question), (question.submit, question), *((b.click, b) for b in tools.followups)]
        for trigger, asked in triggers:
            step = trigger(add_question, [asked, chat], [chat, question, pending],
                           api_visibility="private", queue=False)
            if controls is not None:  # the library tab's restriction, on the session asked in
                step = step.then(apply_scope, [session, controls.only_documents, controls.only_audience], [session],
                                 api_visibility="private", queue=False)
            step.then(
                respond_stream if isinstance(asker, StreamingAsker) else respond,
                [pending, chat, audience, session], [chat, sources, session],
                api_visibility="private").then(
                after_answer, [chat, session, tools.shown], tools.outputs, api_visibility="private",
                queue=False).then(
                lambda: gr.update(interactive=True), None, [question], api_visibility="private", queue=False)
        for clear in (new.click, chat.clear):
            clear(new_conversation, None, [chat, sources, question, session], api_visibility="private").then(
                reset_tools, None, tools.outputs, api_visibility="private", queue=False)
        if library is not None:  # thumbs up / down, "wrong citation": eval cases in the home folder
            chat.like(feedback_handler(library.home.root), [tools.shown], None, api_visibility="private",
                      queue=False)

        # API for gradio_client: Client(url).predict(question, audience, api_name="/answer") -> Answer JSON.
        api_question = gr.Textbox(visible=False, label="question")
        api_audience = gr.Textbox(visible=False, label="audience", value="clinician")
        api_out = gr.JSON(visible=False, label="answer")
        api_trigger = gr.Button(visible=False)
        api_trigger.click(api_answer, [api_question, api_audience, session], [api_out, session],
                          api_name="answer", api_description="Answer a question (session kept per client).")
    # several answers at once: one slow answer (a long generation) does not hold up everyone else's
    app.queue(default_concurrency_limit=limits.concurrency_limit)
    return app


def launch_options(settings: Settings, logins: list[tuple[str, str]] | None) -> dict[str, Any]:
    """What every launch gets: the login (guidechat/ui/access.py decides), the upload and request size limits."""
    from starlette.middleware import Middleware

    from guidechat.ui.body_limit import BodyLimit

    limit = Middleware(BodyLimit, max_bytes=MAX_REQUEST_BYTES, max_upload_bytes=settings.max_file_bytes + 1_000_000)
    return {"share": False, "quiet": True, "ssr_mode": False, "auth": logins,
            "max_file_size": settings.max_file_bytes, "app_kwargs": {"middleware": [limit]}}


def serve(asker: Asker, host: str = "127.0.0.1", port: int = 7860, examples: list[str] | None = None,
          settings: Settings | None = None, logins: list[tuple[str, str]] | None = None) -> None:
    """Build the app and serve it until interrupted."""
    settings = settings or Settings()
    build_app(asker, examples, settings).launch(server_name=host, server_port=port,
                                                **launch_options(settings, logins))
