"""Hostile inputs shared by the fuzz suite and the ingest tests: real content in each format, and YAML that
attacks its parser."""

from __future__ import annotations

import io
from functools import cache

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from tests.conftest import SMALL_DOC, corpus_file


@cache
def seeds() -> dict[str, bytes]:
    """A real PDQ summary as markdown, plain text, HTML and PDF."""
    md = corpus_file(SMALL_DOC).read_bytes()
    text = md.decode("utf-8")
    body = text.split("\n---\n", 1)[-1] if text.startswith("---") else text
    lines = [line for line in body.splitlines() if line.strip()][:80]
    html = ["<html><head><title>Testicular Cancer Screening</title>",
            '<meta name="audience" content="patient"><link rel="canonical" href="https://example.org/t">',
            "</head><body><nav>menu</nav>"]  # fmt: skip
    for line in lines:
        if line.startswith("#"):
            level = min(6, len(line) - len(line.lstrip("#")))
            html.append(f"<h{level}>{line.lstrip('# ')}</h{level}>")
        elif line.startswith("- "):
            html.append(f"<ul><li>{line[2:]}</li></ul>")
        else:
            html.append(f"<p>{line}</p>")
    html.append("<table><tr><th>a</th><th>b</th></tr><tr><td colspan='2'>c</td></tr></table></body></html>")
    return {
        ".md": md,
        ".txt": body.encode(),
        ".html": "\n".join(html).encode(),
        ".pdf": make_pdf(lines[:60]),
    }


def make_pdf(lines: list[str], title: str = "Testicular Cancer Screening") -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(title)
    for start in range(0, len(lines), 30):
        y = 800
        for line in lines[start : start + 30]:
            pdf.drawString(40, y, line[:110])
            y -= 14
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def encrypted(pdf: bytes, user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def raw_pdf(objects: list[bytes]) -> bytes:
    """A hand-made PDF (with a valid xref table) for structures reportlab will not write."""
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    return out + f"trailer << /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()


HOSTILE_YAML = (
    'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\ntitle: *g",
    'title: !!python/object/apply:os.system ["echo pwned > /tmp/guidechat-pwned"]',
    "title: !!python/name:os.system",
    "title: !!python/object/new:type [x, [], {}]",
    "title: !!binary aGVsbG8=",
    "url: !!set {a, b}",
    "title: [a, b]",
    "title: {nested: map}",
    "audience: [patient]",
    "audience: yes",
    "updated: 2024",
    "updated: 2024-02-30",
    "updated: 99999-01-01",
    "updated: !!timestamp 2001-12-14t21:59:43.10-05:00",
    "url: 12",
    "title: .nan",
    "title: ~",
    "title: 'unterminated",
    "\ttitle: tab indented",
    "- a list\n- not a mapping",
    "just a string",
    "? [complex, key]\n: value",
    "a: &a [*a]\ntitle: x",
    "title: " + "[" * 5000 + "]" * 5000,
    "<<: *undefined",
    "title: x\ntitle: duplicate",
    "%YAML 9.9\n---\ntitle: x",
    "title: " + "x" * 100_000,
)

