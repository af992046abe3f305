"""Launch the guidechat UI on a free localhost port for tests."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from guidechat.config import Settings
from guidechat.types import Asker

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(
    asker: Asker,
    examples: list[str] | None = None,
    settings: Settings | None = None,
    logins: list[tuple[str, str]] | None = None,
) -> Iterator[str]:
    """Serve build_app(asker) in a background thread, launched as `guidechat serve` launches it (queue, limits,
    logins); yield its base url ("http://127.0.0.1:PORT/")."""
    from guidechat.ui.app import build_app, launch_options

    settings = settings or Settings()
    app = build_app(asker, examples, settings)
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
               **launch_options(settings, logins))
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()
