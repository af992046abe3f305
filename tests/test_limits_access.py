"""Input limits, uploads and access: a real Gradio server (launched as `guidechat serve` launches it) behind
gradio_client and plain HTTP; the asker is a stand-in where the test is about the server, not the answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guidechat.config import Settings
from guidechat.ingest.loaders import SUPPORTED_SUFFIXES
from guidechat.ingest.uploads import UploadError, safe_name, store_upload
from guidechat.types import Answer, Audience, Session
from guidechat.ui.access import AccessError, is_loopback, logins_for, parse_logins
from tests.security_counts import record
from tests.ui_helpers import running_app

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


class Recorder:
    """Answers at once, or after `slow_s` for a question containing "slow"; records what it was asked."""

    def __init__(self, slow_s: float = 0.0) -> None:
        self.asked: list[str] = []
        self.slow_s = slow_s

    def ask(self, question: str, session: Session, audience: Audience = "clinician") -> Answer:
        self.asked.append(question)
        if "slow" in question:
            time.sleep(self.slow_s)
        return Answer(question=question, query=question, markdown="An answer.", citations=(), abstained=True,
                      disclaimer="Verify against the primary sources.", audience=audience)  # fmt: skip


def _client(url: str, auth: tuple[str, str] | None = None):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(url, verbose=False, auth=auth)


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("127.8.9.1", True), ("localhost", True),
                                                ("::1", True), ("[::1]", True), ("0.0.0.0", False), ("::", False),
                                                ("192.168.1.5", False), ("example.org", False)])  # fmt: skip
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_login_policy() -> None:
    assert logins_for("127.0.0.1", "", allow_no_auth=False) is None
    assert logins_for("0.0.0.0", "", allow_no_auth=True) is None
    assert logins_for("0.0.0.0", "ana:pw1, ben:pw:2", allow_no_auth=False) == [("ana", "pw1"), ("ben", "pw:2")]
    assert logins_for("127.0.0.1", "ana:pw1", allow_no_auth=False) == [("ana", "pw1")], "a login set is used"
    with pytest.raises(AccessError, match="refusing to serve on 0.0.0.0 without a login.*GUIDECHAT_AUTH"):
        logins_for("0.0.0.0", "", allow_no_auth=False)
    with pytest.raises(AccessError, match="entry 2 is not user:password") as info:
        parse_logins("ana:secret-one,ben-secret-two")
    assert "secret" not in str(info.value), "an error never echoes a password"


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GUIDECHAT_")} | (env or {})
    command = [sys.executable, "-m", "guidechat.cli", "--home", "/nonexistent-guidechat", "serve", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=environment)


def test_serve_refuses_a_public_address_without_a_login() -> None:
    run = _serve("--host", "0.0.0.0")
    assert run.returncode != 0
    assert "refusing to serve on 0.0.0.0 without a login" in run.stderr and "--no-auth" in run.stderr
    bad = _serve("--host", "0.0.0.0", env={"GUIDECHAT_AUTH": "no-colon-secret"})
    assert bad.returncode != 0 and "entry 1 is not user:password" in bad.stderr
    assert "no-colon-secret" not in bad.stderr
    # with a login, or --no-auth, it gets past the check to loading the index (absent here)
    for extra, env in ((("--no-auth",), None), ((), {"GUIDECHAT_AUTH": "ana:pw"})):
        run = _serve("--host", "0.0.0.0", *extra, env=env)
        assert "refusing" not in run.stderr and "nothing is indexed" in run.stderr, run.stderr


@pytest.mark.slow
def test_a_login_is_required_when_set() -> None:
    with running_app(Recorder(), logins=[("ana", "s3cret")]) as url:
        with pytest.raises(Exception):  # noqa: B017  (gradio_client raises a plain Exception or ValueError)
            _client(url).predict("Q?", "clinician", api_name="/answer")
        with pytest.raises(Exception):  # noqa: B017
            _client(url, auth=("ana", "wrong")).predict("Q?", "clinician", api_name="/answer")
        answer = _client(url, auth=("ana", "s3cret")).predict("Q?", "clinician", api_name="/answer")
        assert answer["question"] == "Q?"
        with pytest.raises(urllib.error.HTTPError) as info:  # the API itself, not only the page, is closed
            urllib.request.urlopen(url + "gradio_api/info", timeout=30)
        assert info.value.code in (401, 403)


# --------------------------------------------------------------------------- limits


def _post_huge(url: str, declared: bool, total: int = 20_000_000) -> bytes:
    """POST a 20 MB body to the queue, as a client that keeps sending until the server answers; the reply."""
    host, port = url.split("//")[1].strip("/").split(":")
    head = ["POST /gradio_api/queue/join HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json"]
    head.append(f"Content-Length: {total}" if declared else "Transfer-Encoding: chunked")
    with socket.create_connection((host, int(port)), timeout=60) as conn:
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        block = b"x" * 65536
        sent = 0
        try:
            while sent < total:
                conn.sendall(block if declared else b"%x\r\n%s\r\n" % (len(block), block))
                sent += len(block)
        except OSError:
            pass  # the server stopped reading: what it said is waiting
        return conn.recv(4096)


@pytest.mark.slow
def test_limits_on_a_real_server() -> None:
    limits = Settings(max_question_chars=500, concurrency_limit=2)
    asker = Recorder(slow_s=8.0)
    with running_app(asker, settings=limits) as url:
        # a question over the limit is refused with a message, before the asker sees it
        with pytest.raises(Exception, match="too long .*501 characters; the limit is 500"):
            _client(url).predict("x" * 501, "clinician", api_name="/answer")
        assert asker.asked == []

        # a slow question does not hold up another user's
        slow_done: list[float] = []
        started = time.perf_counter()
        thread = threading.Thread(
            target=lambda: (_client(url).predict("a slow one", "clinician", api_name="/answer"),
                            slow_done.append(time.perf_counter() - started)))  # fmt: skip
        thread.start()
        time.sleep(1.0)
        fast = _client(url).predict("a quick one", "clinician", api_name="/answer")
        fast_s = time.perf_counter() - started
        thread.join(timeout=60)
        assert fast["question"] == "a quick one" and slow_done, "both were answered"
        assert fast_s < slow_done[0], f"the quick answer ({fast_s:.1f} s) waited for the slow ({slow_done[0]:.1f} s)"

        # a huge request body is refused while it arrives (declared, or streamed without a length), and the
        # server goes on answering
        for response in (_post_huge(url, declared=True), _post_huge(url, declared=False)):
            assert response.startswith(b"HTTP/1.1 413") and b"over the limit of 4,000,000 bytes" in response, response
        assert _client(url).predict("still there?", "clinician", api_name="/answer")["question"] == "still there?"
    record("limits", question_over_limit="refused", slow_request_blocks_others=False, huge_body="413")


def test_question_length_is_checked_in_the_chat_too() -> None:
    import gradio as gr

    from guidechat.ui.app import build_app

    app = build_app(Recorder(), settings=Settings(max_question_chars=10))
    add_question = next(fn.fn for fn in app.fns.values() if getattr(fn.fn, "__name__", "") == "add_question")
    with pytest.raises(gr.Error, match="too long"):
        add_question("x" * 11, [])
    history, _, pending = add_question("<b>hi</b>", [])
    assert history[-1]["content"] == "&lt;b>hi&lt;/b>" and pending == "<b>hi</b>"


# --------------------------------------------------------------------------- uploads


TRAVERSALS = ["../../etc/passwd.md", "..\\..\\windows\\x.md", "/etc/cron.d/job.txt", "C:\\temp\\a.pdf",
              "....//....//x.html", "%2e%2e%2fx.md", "report.pdf\u202egpj.exe.md", "x.md\x00.sh.txt", "\u2025/x.md",
              "a/../../b.md", "~/.ssh/authorized_keys.txt", "CON.md", " .md", "..md", ".hidden.md"]  # fmt: skip


def test_uploads_stay_in_their_folder(tmp_path: Path) -> None:
    folder = tmp_path / "home" / "uploads"
    source = tmp_path / "incoming.bin"
    source.write_text("# A guideline\n\nText.\n")
    stored = []
    for name in TRAVERSALS:
        try:
            path = store_upload(source, name, folder, max_bytes=1000)
        except UploadError as err:
            assert repr(name) in str(err), err
            continue
        assert path.parent == folder.resolve() and not path.name.startswith("."), path
        stored.append(path)
    assert len(stored) >= 10
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in stored), "nothing written elsewhere"
    assert not list((tmp_path / "home").glob("*.md")), "nothing next to the folder either"
    record("upload_traversal", names_tried=len(TRAVERSALS), stored_inside=len(stored), escaped=0)


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.text(min_size=0, max_size=60), st.sampled_from([*sorted(SUPPORTED_SUFFIXES), ".exe", ".PDF", ""]))
def test_any_name_is_made_safe_or_refused(name: str, suffix: str) -> None:
    try:
        safe = safe_name(name + suffix)
    except UploadError as err:
        assert err.name == name + suffix and err.reason
        return
    assert "/" not in safe and "\\" not in safe and not safe.startswith(".") and ".." not in safe.replace("...", "")
    assert Path(safe).suffix in SUPPORTED_SUFFIXES and len(safe) <= 120
    assert safe.isprintable()


def test_upload_type_size_and_content_checks(tmp_path: Path) -> None:
    folder = tmp_path / "uploads"

    def upload(content: bytes, name: str, max_bytes: int = 10_000) -> Path:
        source = tmp_path / "incoming"
        source.write_bytes(content)
        return store_upload(source, name, folder, max_bytes)

    for content, name, reason in [
        (b"text", "notes.exe", "file type '.exe' is not accepted"),
        (b"text", "noextension", "no file name with a type"),
        (b"x" * 20_000, "big.md", "too large (20,000 bytes; the limit is 10,000)"),
        (b"", "empty.md", "empty file"),
        (b"<html>not a pdf</html>", "fake.pdf", "not a PDF"),
        (b"MZ\x90\x00\x03binary", "program.txt", "binary content"),
    ]:
        with pytest.raises(UploadError, match=reason.replace("(", r"\(").replace(")", r"\)")):
            upload(content, name)
    link = tmp_path / "link.md"
    link.symlink_to("/etc/passwd")
    with pytest.raises(UploadError, match="not a regular file"):
        store_upload(link, "link.md", folder, 10_000)
    first, second = upload(b"# One\n", "Same Name.md"), upload(b"# Two\n", "same name.md".title())
    assert first.name == "Same Name.md" and second.name == "Same Name-1.md", "an existing file is never replaced"
    assert first.read_bytes() == b"# One\n"
    assert upload(b"%PDF-1.7 ...", "Guideline.PDF").name == "Guideline.pdf"
