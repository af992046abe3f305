"""Files a user hands the app: checked (name, type, size, content) and stored under the app's own folder.

Whatever the name says ("../../etc/cron.d/x.md", "C:\\\\x.md", "report.pdf\\u202egpj.exe"), the file lands in
`folder` under a plain name of its own, never outside it and never over another file."""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path

from guidechat.ingest.loaders import SUPPORTED_SUFFIXES

_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._ -]+")
MAX_NAME_CHARS = 120


class UploadError(ValueError):
    """An upload that is refused; str() names the file as the user gave it and says why."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name!r}: {reason}")
        self.name = name
        self.reason = reason


def safe_name(name: str) -> str:
    """A plain file name from whatever the client sent: its last path part, letters, digits, ". _ -" and
    blanks only, no leading dot, at most MAX_NAME_CHARS; an allowed suffix (lower-cased) or an UploadError."""
    base = re.split(r"[\\/]", name)[-1]  # a path from any OS: only its last part
    base = unicodedata.normalize("NFKC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")  # controls, bidi overrides, NULs
    base = _SAFE_CHARS.sub("_", base).strip(" .")
    stem, dot, suffix = base.rpartition(".")
    if not dot or not stem.strip(" ._"):
        raise UploadError(name, f"no file name with a type ({_allowed()})")
    suffix = "." + suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UploadError(name, f"file type {suffix!r} is not accepted ({_allowed()})")
    return stem[: MAX_NAME_CHARS - len(suffix)].rstrip(" .") + suffix


def store_upload(source: Path, name: str, folder: Path, max_bytes: int) -> Path:
    """Copy an uploaded file (`source`, where the web server left it) into `folder` under safe_name(name).

    Refused: a source that is not a regular file (a link, a device), more than max_bytes, a PDF without a PDF
    header, a text type holding NUL bytes. An existing file is never overwritten: "x.md" becomes "x-1.md"."""
    target_name = safe_name(name)
    try:
        info = os.lstat(source)
    except OSError as exc:
        raise UploadError(name, f"cannot read the upload: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise UploadError(name, "not a regular file")
    if info.st_size > max_bytes:
        raise UploadError(name, f"too large ({info.st_size:,} bytes; the limit is {max_bytes:,})")
    if info.st_size == 0:
        raise UploadError(name, "empty file")
    with open(source, "rb") as handle:
        head = handle.read(8192)
    if target_name.endswith(".pdf") and b"%PDF-" not in head[:1024]:
        raise UploadError(name, "not a PDF (no %PDF header)")
    if not target_name.endswith(".pdf") and b"\x00" in head:
        raise UploadError(name, "binary content in a text file type")

    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    stem, suffix = target_name[: -len(Path(target_name).suffix)], Path(target_name).suffix
    for n in range(1000):
        target = root / (target_name if n == 0 else f"{stem}-{n}{suffix}")
        if target.parent != root:  # cannot happen with a safe name; checked anyway, as it is the whole point
            raise UploadError(name, "would be stored outside the upload folder")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never follows or replaces a file
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            copied = 0
            while block := src.read(1 << 20):  # bounded even if the file grows after the size check
                copied += len(block)
                if copied > max_bytes:
                    break
                out.write(block)
        if copied > max_bytes:
            target.unlink()
            raise UploadError(name, f"too large (over the limit of {max_bytes:,} bytes)")
        return target
    raise UploadError(name, "too many files of that name already")


def _allowed() -> str:
    return "allowed: " + ", ".join(sorted(SUPPORTED_SUFFIXES))
