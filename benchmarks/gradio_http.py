"""A chat session through Gradio's HTTP API, without gradio_client: one POST to /gradio_api/call/<api>, then its
result read from the event stream, with the session hash that keeps the server's per-session state (the
conversation) between questions. The same protocol as the `curl` example on the app's "Use via API" page.

gradio_client does the same through the queue and costs ~77 ms of CPU per request (serve_cpu.py); on a 2-core
machine that runs clients and server together, that CPU is taken from the server being measured."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx


class ApiError(RuntimeError):
    """The server answered the event with an error (a gr.Error or a failure), or not at all."""


class HttpSession:
    def __init__(self, url: str, timeout_s: float = 120.0) -> None:
        self.base = url.rstrip("/") + "/gradio_api/call"
        self.session_hash = uuid.uuid4().hex[:11]
        self._http = httpx.Client(timeout=timeout_s)

    def predict(self, *data: Any, api_name: str) -> Any:
        """The endpoint's first output, as gradio_client's predict gives it for guidechat's /answer."""
        api = api_name.strip("/")
        posted = self._http.post(f"{self.base}/{api}", json={"data": list(data), "session_hash": self.session_hash})
        posted.raise_for_status()
        event_id = posted.json()["event_id"]
        event = ""
        with self._http.stream("GET", f"{self.base}/{api}/{event_id}") as stream:
            stream.raise_for_status()
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.partition(":")[2].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    payload = json.loads(line.partition(":")[2])
                    if event == "error":
                        raise ApiError(f"{api_name}: {payload}")
                    return payload[0]  # the endpoint's first output; a gr.State output comes back as null
        raise ApiError(f"{api_name}: the event stream ended without a result")

    def close(self) -> None:
        self._http.close()
