"""Loaders: real files written to tmp_path (and one real corpus file), no mocks."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from guidechat.ingest.loaders import SUPPORTED_SUFFIXES, LoadError, discover, load_document

CORPUS = Path(__file__).resolve().parents[2] / "shared/corpus/pdq"
BREAST_HP = CORPUS / "hp/types-breast-hp-breast-treatment-pdq.md"

FIXED_MTIME = dt.datetime(2021, 3, 4, 12, 0).timestamp()  # local noon: the same date in any timezone


def write(path: Path, content: str | bytes, mtime: float | None = FIXED_MTIME) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def make_pdf(path: Path, pages: list[list[str]], title: str | None = None) -> Path:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    if title is not None:
        pdf.setTitle(title)
    for lines in pages:
        y = 780
        for line in lines:
            pdf.drawString(72, y, line)
            y -= 14
        pdf.showPage()
    pdf.save()
    return path


def load_error(path: Path) -> LoadError:
    with pytest.raises(LoadError) as info:
        load_document(path)
    err = info.value
    assert err.path == path
    assert str(err) == f"{path}: {err.reason}"
    assert path.name in str(err)
    return err


# --------------------------------------------------------------------------- markdown


@pytest.mark.skipif(not BREAST_HP.exists(), reason=f"corpus not present at {CORPUS}")
def test_real_pdq_file_front_matter() -> None:
    doc = load_document(BREAST_HP)
    meta = doc.meta
    assert meta.title == "Breast Cancer Treatment (PDQ®)–Health Professional Version"
    assert meta.url == "https://www.cancer.gov/types/breast/hp/breast-treatment-pdq"
    assert meta.publisher == "National Cancer Institute (PDQ®)"
    assert meta.audience == "clinician"
    assert meta.updated == "2025-04-25"
    assert meta.source_path == str(BREAST_HP.resolve())
    assert doc.markdown.startswith("# Breast Cancer Treatment (PDQ®)–Health Professional Version\n")
    assert "license:" not in doc.markdown
    assert "[[1](#cit/section_1.1)]" in doc.markdown  # body unchanged, no cleaning here


def test_markdown_without_front_matter(tmp_path: Path) -> None:
    body = "Intro line before the title.\n\n# Sepsis Bundle #\n\n## Fluids\n\n- 30 mL/kg crystalloid\n"
    path = write(tmp_path / "sepsis-bundle_notes.md", body)
    doc = load_document(path)
    assert doc.meta.title == "Sepsis Bundle"
    assert doc.meta.url == path.resolve().as_uri()
    assert doc.meta.url.startswith("file://")
    assert doc.meta.updated == "2021-03-04"
    assert doc.meta.audience is None
    assert doc.meta.publisher == ""
    assert doc.markdown == body


def test_markdown_title_falls_back_to_stem_and_ignores_code_fences(tmp_path: Path) -> None:
    path = write(tmp_path / "sub" / "adult_asthma-care.markdown", "```\n# not a heading\n```\n\nText.\n")
    assert load_document(path).meta.title == "Adult asthma care"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("hp", "clinician"), ("Health Professional", "clinician"), ("health_professional", "clinician"),
     ("professional", "clinician"), ("Patient", "patient")],
)  # fmt: skip
def test_markdown_audience_aliases(tmp_path: Path, value: str, expected: str) -> None:
    path = write(tmp_path / "a.md", f"---\naudience: {value}\nupdated: '2024-01-02'\n---\nBody.\n")
    doc = load_document(path)
    assert doc.meta.audience == expected
    assert doc.meta.updated == "2024-01-02"
    assert doc.markdown == "Body.\n"


def test_markdown_bom_is_stripped(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.md", "\ufeff---\ntitle: With BOM\n---\n# H\n".encode())
    doc = load_document(path)
    assert doc.meta.title == "With BOM"
    assert doc.markdown == "# H\n"


def test_bad_audience(tmp_path: Path) -> None:
    path = write(tmp_path / "aud.md", "---\ntitle: X\naudience: caregivers\n---\nBody\n")
    err = load_error(path)
    assert "audience" in err.reason and "caregivers" in err.reason


def test_invalid_yaml_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "yaml.md", "---\ntitle: [unclosed\nurl: x\n---\nBody\n")
    err = load_error(path)
    assert "invalid YAML front matter" in err.reason


@pytest.mark.parametrize(
    ("front", "field"),
    [("title: [a, b]", "title"), ("updated: last week", "updated"), ("url: {a: 1}", "url")],
)
def test_front_matter_field_of_wrong_type(tmp_path: Path, front: str, field: str) -> None:
    err = load_error(write(tmp_path / "f.md", f"---\n{front}\n---\nBody\n"))
    assert field in err.reason


def test_front_matter_not_a_mapping(tmp_path: Path) -> None:
    err = load_error(write(tmp_path / "list.md", "---\n- a\n- b\n---\nBody\n"))
    assert "not a mapping" in err.reason


# --------------------------------------------------------------------------- HTML

HTML = """<!DOCTYPE html>
<html><head>
  <title>Hypertension  Guideline</title>
  <link rel="canonical" href="https://example.org/htn">
  <meta name="dcterms.modified" content="2024-06-30T08:00:00Z">
  <meta name="audience" content="patient">
  <style>body { color: red }</style>
</head><body>
  <header>Site header</header><nav><a href="/">Main menu</a></nav>
  <script>var tracking = 1;</script>
  <h1>High blood pressure</h1>
  <p>Measure twice,<br>see <a href="/bp/measure">how to measure</a>.</p>
  <h2>Targets</h2>
  <ul><li>Under 130/80</li><li>Home readings<ul><li>Morning</li></ul></li></ul>
  <ol><li>Lifestyle</li><li>Drugs</li></ol>
  <table>
    <tr><th>Drug</th><th>Dose</th></tr>
    <tr><td>Amlodipine</td><td>5 mg</td></tr>
  </table>
  <footer>Copyright</footer>
</body></html>
"""


def test_html_document(tmp_path: Path) -> None:
    path = write(tmp_path / "htn.html", HTML)
    doc = load_document(path)
    assert doc.meta.title == "Hypertension Guideline"
    assert doc.meta.url == "https://example.org/htn"
    assert doc.meta.updated == "2024-06-30"
    assert doc.meta.audience == "patient"
    assert doc.meta.source_path == str(path.resolve())
    md = doc.markdown
    assert "# High blood pressure\n\nMeasure twice, see [how to measure](/bp/measure).\n\n## Targets" in md
    assert "- Under 130/80\n- Home readings\n  - Morning" in md
    assert "1. Lifestyle\n2. Drugs" in md
    assert "| Drug | Dose |\n| --- | --- |\n| Amlodipine | 5 mg |" in md
    for dropped in ("Site header", "Main menu", "tracking", "Copyright", "color: red"):
        assert dropped not in md


def test_html_fallbacks(tmp_path: Path) -> None:
    html = '<html><head><meta property="og:url" content="https://example.org/og"></head>'
    html += "<body><h1>Only H1</h1><p>Text</p></body></html>"
    doc = load_document(write(tmp_path / "page.htm", html))
    assert doc.meta.title == "Only H1"
    assert doc.meta.url == "https://example.org/og"
    assert doc.meta.updated == "2021-03-04"
    assert doc.meta.audience is None


def test_html_bad_audience(tmp_path: Path) -> None:
    html = '<html><head><meta name="audience" content="robots"></head><body><p>x</p></body></html>'
    err = load_error(write(tmp_path / "aud.html", html))
    assert "audience" in err.reason and "robots" in err.reason


# --------------------------------------------------------------------------- PDF


def test_pdf_with_metadata_title(tmp_path: Path) -> None:
    path = make_pdf(
        tmp_path / "copd.pdf",
        [["COPD exacerbations", "Start bronchodilators and consider well-", "established steroids."],
         ["Second page: follow-up in six weeks."]],
        title="COPD Pocket Guide",
    )  # fmt: skip
    doc = load_document(path)
    assert doc.meta.title == "COPD Pocket Guide"
    assert doc.meta.url == path.resolve().as_uri()
    assert doc.meta.updated == dt.date.today().isoformat()  # reportlab stamps creation/modification now
    md = doc.markdown
    assert md.startswith("## Page 1\n\n")
    assert "\n\n## Page 2\n\n" in md
    assert md.index("## Page 1") < md.index("COPD exacerbations") < md.index("## Page 2")
    assert "wellestablished steroids." in md  # de-hyphenated line join
    assert "Second page: follow-up in six weeks." in md


def test_pdf_without_metadata_title(tmp_path: Path) -> None:
    # reportlab writes /Title (untitled) when none is set: a placeholder, not a title
    path = make_pdf(tmp_path / "untitled.pdf", [["Anaphylaxis Algorithm", "Give adrenaline IM."]])
    doc = load_document(path)
    assert doc.meta.title == "Anaphylaxis Algorithm"
    assert "## Page 1" in doc.markdown and "## Page 2" not in doc.markdown


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "scan.pdf", [[]])
    err = load_error(path)
    assert err.reason == "PDF has no text layer (scanned?)"


def test_pdf_random_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "random.pdf", bytes(range(1, 256)) * 8)
    err = load_error(path)
    assert err.reason.startswith("not a readable PDF")


def test_pdf_truncated(tmp_path: Path) -> None:
    full = make_pdf(tmp_path / "full.pdf", [["Some text"], ["More text"]]).read_bytes()
    path = write(tmp_path / "truncated.pdf", full[: len(full) // 2])
    err = load_error(path)
    assert err.reason.startswith("not a readable PDF")


def test_pdf_zero_bytes(tmp_path: Path) -> None:
    assert load_error(write(tmp_path / "zero.pdf", b"")).reason == "empty file"


# --------------------------------------------------------------------------- plain text


def test_plain_text(tmp_path: Path) -> None:
    text = "\n  Stroke thrombolysis checklist  \n\nDoor to needle under 60 minutes.\n"
    doc = load_document(write(tmp_path / "stroke.txt", text))
    assert doc.meta.title == "Stroke thrombolysis checklist"
    assert doc.meta.updated == "2021-03-04"
    assert doc.markdown == text


def test_plain_text_long_first_line_uses_stem(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "long_first-line.txt", "x" * 130 + "\nmore\n"))
    assert doc.meta.title == "Long first line"


# --------------------------------------------------------------------------- bad text input


@pytest.mark.parametrize("name", ["empty.md", "empty.txt", "empty.html"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    assert load_error(write(tmp_path / name, b"")).reason == "empty file"


@pytest.mark.parametrize("name", ["blank.md", "blank.txt", "blank.htm"])
def test_whitespace_only_file(tmp_path: Path, name: str) -> None:
    assert load_error(write(tmp_path / name, " \n\t\r\n  \n")).reason == "empty file"


def test_binary_markdown(tmp_path: Path) -> None:
    path = write(tmp_path / "image.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert load_error(path).reason == "binary file, not text"


def test_latin1_text(tmp_path: Path) -> None:
    path = write(tmp_path / "latin1.txt", "Caf\u00e9 guidance\n".encode("latin-1"))
    err = load_error(path)
    assert err.reason == "not UTF-8 text (invalid byte 0xe9 at offset 3)"


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    docx = write(tmp_path / "notes.docx", "x")
    assert "unsupported file type '.docx'" in load_error(docx).reason
    missing = tmp_path / "missing.md"
    err = load_error(missing)
    assert "No such file" in err.reason


def test_directory_named_as_markdown(tmp_path: Path) -> None:
    folder = tmp_path / "folder.md"
    folder.mkdir()
    assert load_error(folder).reason  # an OSError (is a directory) surfaces as LoadError


# --------------------------------------------------------------------------- discover


def test_discover_recurses_sorted_and_skips(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    expected = [
        write(root / "a.md", "# A"),
        write(root / "b" / "c.html", "<p>c</p>"),
        write(root / "b" / "d" / "e.PDF", b"%PDF-"),
        write(root / "z.txt", "z"),
    ]
    write(root / "ignored.docx", "x")
    write(root / "notes.json", "{}")
    write(root / ".hidden.md", "# hidden")
    write(root / ".git" / "inside.md", "# hidden dir")
    paths, errors = discover([root])
    assert errors == []
    assert paths == sorted(p.resolve() for p in expected)
    assert all(p.is_absolute() for p in paths)


def test_discover_reports_explicit_unsupported_and_missing(tmp_path: Path) -> None:
    good = write(tmp_path / "good.md", "# Good")
    bad = write(tmp_path / "slides.pptx", "x")
    missing = tmp_path / "nope.md"
    folder = tmp_path / "dir"
    write(folder / "one.txt", "one")
    paths, errors = discover([good, bad, missing, folder, good])
    assert paths == [good.resolve(), (folder / "one.txt").resolve()]  # de-duplicated, in given order
    assert [e.path for e in errors] == [bad, missing]
    assert "unsupported file type '.pptx'" in errors[0].reason and "slides.pptx" in str(errors[0])
    assert errors[1].reason == "no such file or directory" and "nope.md" in str(errors[1])


def test_supported_suffixes() -> None:
    assert frozenset({".md", ".markdown", ".html", ".htm", ".pdf", ".txt"}) == SUPPORTED_SUFFIXES


def test_front_matter_without_a_date_has_no_update_date(tmp_path: Path) -> None:
    path = write(tmp_path / "p.md", "---\ntitle: A patient summary\naudience: patient\n---\n# A\n\nText.\n")
    assert load_document(path).meta.updated == "", "a copy's mtime is not the guideline's date"
