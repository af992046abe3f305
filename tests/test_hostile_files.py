"""Malformed and hostile files through the loaders and the chunker: hypothesis plus mutated real files.

Every input either loads into a Document that chunks, or raises LoadError naming the file with a reason;
nothing else escapes, and no small file takes long. Real files only (written to tmp), no mocks."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guidechat.config import Settings
from guidechat.ingest.chunk import _HEADING, _cut_on_words, approximate_tokens, chunk_document, heading_text
from guidechat.ingest.loaders import SUPPORTED_SUFFIXES, LoadError, discover, load_document
from tests.hostile_inputs import HOSTILE_YAML, encrypted, make_pdf, raw_pdf, seeds
from tests.security_counts import record

SUFFIXES = sorted(SUPPORTED_SUFFIXES)
MAX_BYTES = 1_000_000  # fuzzed files are small; the limit itself is tested with a 100 MB file below
SLOW_S = 10.0  # no small file may take this long to load and chunk, even on a busy machine
FUZZ_EXAMPLES = int(os.environ.get("GUIDECHAT_FUZZ_EXAMPLES", "1000"))
FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    derandomize="GUIDECHAT_FUZZ_EXAMPLES" not in os.environ,  # CI replays the same inputs; set it to explore
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


class Outcomes:
    """Loads files and checks the contract; counts what happened."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.counts: Counter[str] = Counter()

    def write(self, data: bytes, suffix: str) -> Path:
        path = self.root / f"case-{self.counts['tried']}{suffix}"
        path.write_bytes(data)
        return path

    def check(self, path: Path, max_bytes: int | None = MAX_BYTES) -> LoadError | None:
        started = time.perf_counter()
        self.counts["tried"] += 1
        try:
            doc = load_document(path, max_bytes)
        except LoadError as err:
            assert err.path == path and str(err).startswith(f"{path}: "), err
            assert err.reason.strip(), f"{path}: an empty reason"
            self.counts["rejected"] += 1
            return err
        finally:
            elapsed = time.perf_counter() - started
            assert elapsed < SLOW_S, f"{path.name} took {elapsed:.1f} s to load"
        assert doc.meta.title.strip() and isinstance(doc.markdown, str)
        assert all(isinstance(v, str) for v in (doc.meta.url, doc.meta.publisher, doc.meta.updated))
        chunks = chunk_document(doc, max_tokens=200)  # what ingest does next must not trip either
        assert all(len(c.text) <= 8000 for c in chunks)
        elapsed = time.perf_counter() - started
        assert elapsed < SLOW_S, f"{path.name} took {elapsed:.1f} s to load and chunk"
        self.counts["loaded"] += 1
        return None

    def rejected(self, data: bytes, suffix: str, *reason_parts: str) -> LoadError:
        path = self.write(data, suffix)
        err = self.check(path)
        assert err is not None, f"{path.name} loaded, but should have been refused"
        for part in reason_parts:
            assert part.lower() in err.reason.lower(), f"{err} (expected {part!r})"
        return err


# --------------------------------------------------------------------------- hypothesis strategies

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "shift_jis", "koi8-r")
# Tokens the cleaning regexes look for: long runs and mixes of them are what makes a regex backtrack.
SPECIAL = ("[", "]", "](", ")", "(", "*", "_", "**", " ", "\t", "#", ".", "a", "A", "|", "-", "!", "![",
           "[1](#cit/", "(Level of evidence ", "[Level of evidence [", '"', "1", ",", "---", "\n", "<", ">",
           "&", "&#", "\u00a0", "\u202e", "\ufeff", "\x0b", "\r")  # fmt: skip
@st.composite
def mutated_seed(draw: st.DrawFn) -> tuple[bytes, str]:
    """A real file with a few byte-level mutations, sometimes saved under another format's suffix."""
    all_seeds = seeds()
    suffix = draw(st.sampled_from(SUFFIXES))
    base = {".markdown": ".md", ".htm": ".html"}.get(suffix, suffix)
    data = bytearray(all_seeds[base])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("truncate", "flip", "insert", "delete", "duplicate", "splice", "nul")))
        at = draw(st.integers(0, len(data)))
        if op == "truncate":
            del data[at:]
        elif op == "flip" and data:
            data[min(at, len(data) - 1)] ^= draw(st.integers(1, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 4096))]
        elif op == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 4096))]
        elif op == "splice":
            other = all_seeds[draw(st.sampled_from(sorted(all_seeds)))]
            start = draw(st.integers(0, len(other)))
            data[at:at] = other[start : start + draw(st.integers(1, 2048))]
        else:
            data[at:at] = b"\x00"
    if draw(st.integers(0, 4)) == 0:
        suffix = draw(st.sampled_from(SUFFIXES))  # content and suffix disagree
    return bytes(data), suffix


@st.composite
def pathological_text(draw: st.DrawFn) -> tuple[bytes, str]:
    """Long runs and mixes of the characters the cleaning and heading regexes look for."""
    prefix = draw(st.sampled_from(("", "# ", "## a", "- ", "| ", "1. ", "> ", "---\n")))
    parts = draw(st.lists(st.tuples(st.sampled_from(SPECIAL), st.integers(1, 4000)), min_size=1, max_size=4))
    line = prefix + "".join(token * count for token, count in parts) + draw(st.sampled_from(("", "x", " end.")))
    return f"Intro.\n\n{line}\n".encode(), draw(st.sampled_from((".md", ".txt", ".md", ".html")))


@st.composite
def front_matter(draw: st.DrawFn) -> tuple[bytes, str]:
    if draw(st.booleans()):
        block = draw(st.sampled_from(HOSTILE_YAML))
    else:
        fields = draw(st.dictionaries(
            st.sampled_from(("title", "url", "audience", "updated", "publisher", "other")),
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=40),
                      st.lists(st.text(max_size=5), max_size=3), st.dates().map(str)),
            max_size=5,
        ))  # fmt: skip
        block = "\n".join(f"{k}: {v!r}" for k, v in fields.items())
    body = draw(st.sampled_from(("# Title\n\nBody text.\n", "", "no heading, just text\n", "---\n")))
    closing = draw(st.sampled_from(("---", "...", "", "--")))
    return f"---\n{block}\n{closing}\n{body}".encode(), draw(st.sampled_from((".md", ".markdown")))


HTML_TAGS = ("div", "p", "span", "table", "tr", "td", "th", "ul", "ol", "li", "a", "b", "i", "h1", "h3", "pre",
             "blockquote", "script", "style", "img", "br", "title", "meta", "body", "html", "caption")  # fmt: skip
HTML_ATTRS = ('href="javascript:alert(1)"', 'colspan="999999999"', 'colspan="-3"', 'colspan="1e9"', 'start="-5"',
              'start="99999999999999999999"', 'onerror="alert(1)"', 'src=x', 'name="audience" content="nobody"',
              'rel="canonical" href=""', "")  # fmt: skip


def html_tree() -> st.SearchStrategy[str]:
    leaf = st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
        st.sampled_from(("<!--", "-->", "<![CDATA[", "]]>", "<!DOCTYPE x>", "&#xFFFFFF;", "&#0;", "&amp", "<?xml?>")),
    )

    def wrap(children: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
        return st.tuples(st.sampled_from(HTML_TAGS), st.sampled_from(HTML_ATTRS), children, st.booleans()).map(
            lambda t: f"<{t[0]} {t[1]}>{''.join(t[2])}" + (f"</{t[0]}>" if t[3] else "")
        )

    return st.recursive(leaf, lambda inner: wrap(st.lists(inner, max_size=4)), max_leaves=40)


@st.composite
def html_document(draw: st.DrawFn) -> tuple[bytes, str]:
    depth = draw(st.sampled_from((0, 0, 0, 50, 3000)))  # sometimes very deeply nested
    html = "<div>" * depth + draw(html_tree()) + "</div>" * draw(st.integers(0, depth))
    return html.encode(), draw(st.sampled_from((".html", ".htm")))


@st.composite
def encoded_text(draw: st.DrawFn) -> tuple[bytes, str]:
    text = draw(st.text(min_size=0, max_size=400))
    data = text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    return data, draw(st.sampled_from(SUFFIXES))


ANY_MALFORMED = st.one_of(
    mutated_seed(),
    mutated_seed(),
    pathological_text(),
    front_matter(),
    html_document(),
    encoded_text(),
    st.tuples(st.binary(max_size=4096), st.sampled_from(SUFFIXES)),
)


# --------------------------------------------------------------------------- the bulk: >= 1000 fuzzed inputs


def test_fuzzed_files_load_or_fail_by_name(tmp_path_factory: pytest.TempPathFactory) -> None:
    outcomes = Outcomes(tmp_path_factory.mktemp("fuzz"))
    started = time.perf_counter()

    @FUZZ
    @given(ANY_MALFORMED)
    def check(case: tuple[bytes, str]) -> None:
        data, suffix = case
        outcomes.check(outcomes.write(data, suffix))

    check()  # any exception other than LoadError fails here, with the smallest input that raised it
    counts = outcomes.counts
    record("fuzz_loaders", tried=counts["tried"], rejected=counts["rejected"], loaded=counts["loaded"], crashes=0,
           seconds=round(time.perf_counter() - started, 1))  # fmt: skip
    assert counts["tried"] >= FUZZ_EXAMPLES >= 1000 or "GUIDECHAT_FUZZ_EXAMPLES" in os.environ
    assert counts["rejected"] > 100 and counts["loaded"] > 100, counts  # both paths were exercised
    assert not Path("/tmp/guidechat-pwned").exists(), "a YAML tag ran a command"


# --------------------------------------------------------------------------- targeted cases, each by name


@pytest.fixture
def outcomes(tmp_path: Path) -> Outcomes:
    return Outcomes(tmp_path)


def test_truncated_pdfs(outcomes: Outcomes) -> None:
    pdf = seeds()[".pdf"]
    cuts = sorted({len(pdf) * k // 60 for k in range(60)} | {len(pdf) - 10, 8, 5, 1})
    reasons = Counter()
    for cut in cuts:
        err = outcomes.check(outcomes.write(pdf[:cut], ".pdf"))
        reasons["loaded" if err is None else "rejected"] += 1
        if err is not None:
            assert "PDF" in err.reason or "empty" in err.reason, err
    assert reasons["rejected"] >= len(cuts) - 3, reasons  # only a cut in the last bytes may still read
    record("truncated_pdfs", tried=len(cuts), **reasons)


def test_encrypted_pdfs(outcomes: Outcomes) -> None:
    pdf = seeds()[".pdf"]
    outcomes.rejected(encrypted(pdf, "secret"), ".pdf", "encrypted (password required)")
    assert outcomes.check(outcomes.write(encrypted(pdf, ""), ".pdf")) is None, "an empty user password opens"


def test_hostile_pdf_structures(outcomes: Outcomes) -> None:
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"  # noqa: E501
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    bomb = zlib.compress(b"BT /F1 12 Tf 72 712 Td (bomb) Tj ET\n" + b" " * 300_000_000, 9)  # 300 MB from 300 kB
    stream = f"<< /Length {len(bomb)} /Filter /FlateDecode >>\nstream\n".encode() + bomb + b"\nendstream"
    outcomes.rejected(raw_pdf([catalog, b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"]), ".pdf", "cyclic")
    outcomes.rejected(raw_pdf([catalog, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", page, stream, font]), ".pdf",
                      "limit reached while decompressing")  # fmt: skip
    outcomes.rejected(raw_pdf([catalog, b"<< /Type /Pages /Kids [] /Count 1000000000 >>"]), ".pdf")
    outcomes.rejected(make_pdf([]), ".pdf", "no text layer")
    outcomes.rejected(b"%PDF-1.7\n" + os.urandom(2000), ".pdf", "not a readable PDF")
    outcomes.rejected(b"<html>not a pdf</html>", ".pdf", "no %PDF header")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_zero_byte_and_binary_files(outcomes: Outcomes, suffix: str) -> None:
    outcomes.rejected(b"", suffix, "empty")
    outcomes.rejected(b" \n\t\n", suffix, "empty" if suffix != ".pdf" else "")
    outcomes.rejected(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8, suffix)


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252", "utf-16", "utf-32", "shift_jis", "koi8-r"])
@pytest.mark.parametrize("suffix", [".md", ".txt", ".html"])
def test_wrong_encodings(outcomes: Outcomes, encoding: str, suffix: str) -> None:
    data = "Tumeur maligne: dépistage précoce — 癌の検診 — рак".encode(encoding, errors="replace")
    err = outcomes.rejected(data, suffix)
    assert "not UTF-8" in err.reason or "binary file" in err.reason, err


@pytest.mark.parametrize("block", HOSTILE_YAML, ids=lambda b: re.sub(r"\W+", "-", b[:24]))
def test_hostile_front_matter(outcomes: Outcomes, block: str) -> None:
    err = outcomes.check(outcomes.write(f"---\n{block}\n---\n# Title\n\nBody.\n".encode(), ".md"))
    if err is not None:
        assert "front matter" in err.reason or "YAML" in err.reason or "nested too deeply" in err.reason, err
    assert not Path("/tmp/guidechat-pwned").exists(), "a YAML tag ran a command"


def test_front_matter_of_the_wrong_types_names_the_field(outcomes: Outcomes) -> None:
    for block, field in [("title: [a, b]", "title"), ("audience: [patient]", "audience"), ("url: {a: 1}", "url"),
                         ("updated: 2024", "updated"), ("audience: yes", "audience")]:  # fmt: skip
        err = outcomes.rejected(f"---\n{block}\n---\nBody.\n".encode(), ".md")
        assert repr(field) in err.reason, err


def test_deep_and_malformed_html(outcomes: Outcomes) -> None:
    for page, reason in [("<div>" * 100_000 + "deep" + "</div>" * 100_000, "nested too deeply"),
                         ("<b><i>" * 50_000 + "x", "nested too deeply"),
                         ("<table>" + '<tr><td colspan="1000">x</td></tr>' * 2000 + "</table>", "too large")]:
        err = outcomes.check(outcomes.write(page.encode(), ".html"), max_bytes=None)
        assert err is not None and reason in err.reason, err
    outcomes.rejected(b"<html><script>alert(1)</script><style>p{}</style></html>", ".html", "no text content")
    for page in (b'<table><tr><td colspan="300000000">x</td></tr></table>', b"<p>unclosed <b>bold <i>it",
                 b"</p></div></body>text after closers", b"<a href='javascript:alert(1)'>x</a>",
                 b'<ol start="99999999999999999999"><li>x</li></ol>', b"<!--unterminated comment <p>x</p>",
                 b"<p>&#xFFFFFF; &#0; &bogus; \xe2\x80\xae</p>", b"<![CDATA[ x ]]><p>y</p>"):  # fmt: skip
        assert outcomes.check(outcomes.write(page, ".html")) is None, page
    doc = load_document(outcomes.root / f"case-{outcomes.counts['tried'] - 8}.html")
    assert len(doc.markdown) < 10_000, "a huge colspan does not grow the text"


def test_huge_single_lines_load_and_chunk_quickly(outcomes: Outcomes) -> None:
    """Linear time: each of these took minutes or hours before (a regex backtracking, or a count per word)."""
    words = " ".join(["screening", "tumor", "risk", "of", "the", "patients"] * 10_000)  # 370 kB, one line
    for line in (words, "a" * 2_000_000, "# a" + " " * 100_000 + "b", "[1](#cit/" * 50_000, " *a" * 100_000,
                 "![" * 200_000, "Intro. " + "\t" * 500_000 + "x"):  # fmt: skip
        assert outcomes.check(outcomes.write(line.encode(), ".md"), max_bytes=None) is None
    record("huge_lines", tried=7, crashes=0)


def test_file_over_the_size_limit_is_refused_before_reading(outcomes: Outcomes) -> None:
    limit = Settings().max_file_bytes
    assert limit < 100_000_000
    for suffix in SUFFIXES:
        path = outcomes.root / f"huge{suffix}"
        with open(path, "wb") as out:
            out.truncate(100 * 1024 * 1024)  # sparse: 100 MB that takes no disk and no time
        started = time.perf_counter()
        err = outcomes.check(path, max_bytes=limit)
        assert err is not None and "file too large (104.9 MB; the limit is 50.0 MB" in err.reason, err
        assert "GUIDECHAT_MAX_FILE_BYTES" in err.reason
        assert time.perf_counter() - started < 1.0, "the size is checked before the file is read"


def test_symlink_loops_fifos_devices_and_folders_named_like_files(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "good.md").write_text("# Good\n\nFine text.\n")
    (docs / "loop1.md").symlink_to(docs / "loop2.md")
    (docs / "loop2.md").symlink_to(docs / "loop1.md")
    (docs / "sub" / "self").symlink_to(docs / "sub")  # a folder loop: never followed
    (docs / "dangling.md").symlink_to(tmp_path / "missing.md")
    (docs / "zero.txt").symlink_to("/dev/zero")
    os.mkfifo(docs / "pipe.md")
    (docs / "folder.md").mkdir()
    started = time.perf_counter()
    files, errors = discover([docs, docs / "loop1.md", tmp_path / "absent.md"])
    assert time.perf_counter() - started < 5.0
    assert files == [(docs / "good.md").resolve()]
    reasons = {err.path.name: err.reason for err in errors}
    assert reasons == {
        "loop1.md": "symbolic link loop",
        "loop2.md": "symbolic link loop",
        "dangling.md": "broken symbolic link",
        "zero.txt": "not a regular file",
        "pipe.md": "not a regular file",
        "absent.md": "no such file or directory",
    }, reasons
    for name in ("pipe.md", "zero.txt"):  # loaded directly, neither blocks nor reads forever
        with pytest.raises(LoadError, match="not a regular file"):
            load_document(docs / name)
    record("links_fifos_devices", tried=len(reasons) + 2, crashes=0)


def _as_root_without_file_permission_override() -> list[str] | None:
    """Root reads any file whatever its mode; with CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH dropped it is
    held to the mode bits like anyone. setpriv (util-linux) drops them for one child process."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"] if setpriv else None


def test_unreadable_file_is_reported_by_name(tmp_path: Path) -> None:
    prefix = _as_root_without_file_permission_override()
    if prefix is None:
        pytest.skip("running as root without setpriv: chmod 000 cannot stop root, so there is nothing to test")
    locked = tmp_path / "locked.md"
    locked.write_text("# Locked\n\nText.\n")
    locked.chmod(0)
    script = (
        "import sys; from pathlib import Path; from guidechat.ingest.loaders import load_document, LoadError\n"
        "try:\n    load_document(Path(sys.argv[1]))\nexcept LoadError as e:\n    print(e)\n"
    )
    run = subprocess.run([*prefix, sys.executable, "-c", script, str(locked)], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"{locked}: Permission denied"


# --------------------------------------------------------------------------- the chunker's rewrites hold


def _greedy_cut(words: list[str], count: Callable[[str], int], limit: int) -> list[str]:
    """The word-by-word cut _cut_on_words replaced: one count per word, over an ever longer run."""
    out: list[str] = []
    piece: list[str] = []
    for word in words:
        if piece and count(" ".join([*piece, word])) > limit:
            out.append(" ".join(piece))
            piece = []
        piece.append(word)
    return [*out, " ".join(piece)] if piece else out


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(
    st.lists(st.text("abcxyz", min_size=1, max_size=12), max_size=150),
    st.integers(1, 60),
    st.sampled_from([approximate_tokens, len, lambda t: len(t.split())]),
)
def test_cut_on_words_matches_the_greedy_cut(words: list[str], limit: int, count: Callable[[str], int]) -> None:
    assert _cut_on_words(words, count, limit) == _greedy_cut(words, count, limit)


_OLD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")  # backtracks for minutes on a long run of blanks


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(st.text(alphabet="#a \t\u00a0b", max_size=16))
def test_heading_parse_matches_the_old_regex(line: str) -> None:
    old, new = _OLD_HEADING.match(line), _HEADING.match(line)
    assert (old is None) == (new is None)
    if old and new:
        assert (old.group(1), old.group(2)) == (new.group(1), heading_text(new.group(2)))
