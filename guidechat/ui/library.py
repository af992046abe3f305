"""The Library tab (#7): the indexed documents (title, publisher, audience, updated, chunks), a search box, uploads
ingested with progress, removal, and the restriction of questions to chosen documents or to one audience."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from guidechat.chat.safe_markdown import escape_text
from guidechat.ingest.chunk import short_title
from guidechat.ingest.loaders import SUPPORTED_SUFFIXES
from guidechat.library import Library, LibraryDoc, UploadError

log = logging.getLogger(__name__)

HEADERS = ["Title", "Publisher", "Audience", "Updated", "Chunks"]
# Gradio hands each event its own tracker in place of this default; it follows ingest's tqdm bar
TRACK_TQDM = gr.Progress(track_tqdm=True)
ANY_AUDIENCE = "any"


@dataclass
class LibraryControls:
    only_documents: Any  # gr.Dropdown of manifest keys
    only_audience: Any  # gr.Radio


def _rows(docs: list[LibraryDoc]) -> list[list[object]]:
    return [[short_title(d.title), d.publisher, d.audience, d.updated, d.chunks] for d in docs]


def _count(docs: list[LibraryDoc], library: Library) -> str:
    return f"{len(docs)} of {len(library.documents())} documents"


def _choices(library: Library) -> list[tuple[str, str]]:
    return [(f"{d.title} ({d.audience}{', ' + d.updated if d.updated else ''})", d.key) for d in library.documents()]


def scope_note(documents: list[str] | None, audience: str | None, library: Library) -> str:
    titles = {d.key: d.title for d in library.documents()}
    parts = []
    if documents:
        parts.append("only from " + "; ".join(titles.get(k, Path(k).name) for k in documents))
    if audience and audience != ANY_AUDIENCE:
        parts.append(f"only from documents for {audience}s (and for anyone)")
    return f"*Answers come {', and '.join(parts)} (Library tab).*" if parts else ""


def library_tab(library: Library) -> LibraryControls:
    """The tab's components and events, in the current Blocks (inside gr.Tabs)."""
    with gr.Tab("Library", id="library", elem_id="library-tab"):
        with gr.Row():
            search = gr.Textbox(label="Search the library", placeholder="title, publisher, audience, date…",
                                elem_id="library-search", scale=3)
            count = gr.Markdown(_count(library.documents(), library), elem_id="library-count")
        table = gr.Dataframe(headers=HEADERS, value=_rows(library.documents()), interactive=False, wrap=True,
                             column_widths=["44%", "24%", "10%", "12%", "10%"], elem_id="library-table")
        with gr.Row():
            with gr.Column():
                kinds = sorted(SUPPORTED_SUFFIXES)
                files = gr.File(label=f"Add documents ({', '.join(kinds)})", file_count="multiple",
                                file_types=kinds, type="filepath", elem_id="library-upload")
                add = gr.Button("Add to the library", variant="primary", elem_id="library-add")
            with gr.Column():
                remove_docs = gr.Dropdown(label="Remove documents", multiselect=True, choices=_choices(library),
                                          elem_id="library-remove-docs")
                remove = gr.Button("Remove from the library", variant="stop", elem_id="library-remove")
        status = gr.Markdown(elem_id="library-status")
        gr.Markdown("### Restrict questions")
        with gr.Row():
            only_documents = gr.Dropdown(label="Answer only from these documents (none chosen: all)",
                                         multiselect=True, choices=_choices(library), elem_id="only-docs", scale=3)
            only_audience = gr.Radio([ANY_AUDIENCE, "clinician", "patient"], value=ANY_AUDIENCE,
                                     label="Answer only from documents for", elem_id="only-audience")

    def refreshed(text: str, message: str) -> list[Any]:
        docs = library.search(text or "")
        choices = _choices(library)
        return [_rows(docs), _count(docs, library), message,
                gr.update(choices=choices, value=[]), gr.update(choices=choices)]

    def on_search(text: str) -> list[Any]:
        docs = library.search(text or "")
        return [_rows(docs), _count(docs, library)]

    def on_add(paths: list[str] | None, text: str, progress: gr.Progress = TRACK_TQDM) -> list[Any]:
        if not paths:
            raise gr.Error("Choose one or more files to add first.")
        progress(0.0, desc="Checking and storing the files")
        try:
            report = library.add([(Path(p), Path(p).name) for p in paths], progress=True)
        except UploadError as exc:
            raise gr.Error(f"Not added: {exc}") from exc
        message = f"**Added.** {report.summary()}"
        if report.failed:
            # a file's name and what its parser said are the uploader's text: shown as words, never as markup
            message += "\n\n" + "\n".join(
                f"- not added: {escape_text(f.path.name)}: {escape_text(f.reason)}" for f in report.failed
            )
        return [*refreshed(text, message), None]

    def on_remove(keys: list[str] | None, text: str, progress: gr.Progress = TRACK_TQDM) -> list[Any]:
        if not keys:
            raise gr.Error("Choose the documents to remove first.")
        progress(0.0, desc="Removing")
        try:
            report = library.remove(keys)
        except ValueError as exc:
            raise gr.Error(str(exc)) from exc
        return refreshed(text, f"**Removed** {report.pruned} document(s), {report.chunks_removed} chunks; answers no "
                               "longer cite them.")

    listing = [table, count, status, remove_docs, only_documents]
    search.change(on_search, [search], [table, count], api_visibility="private", queue=False)
    add.click(on_add, [files, search], [*listing, files], api_visibility="private")
    remove.click(on_remove, [remove_docs, search], listing, api_visibility="private")
    return LibraryControls(only_documents, only_audience)


def show_scope(controls: LibraryControls, note: Any, library: Library) -> None:
    """Keep a note (in the chat tab) saying what questions are restricted to."""
    for control in (controls.only_documents, controls.only_audience):
        control.change(lambda docs, audience: scope_note(docs, audience, library),
                       [controls.only_documents, controls.only_audience], [note], api_visibility="private",
                       queue=False)
