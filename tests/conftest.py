"""Real parts: the packaged embedding model, an embedded Chroma, a slice of the real PDQ corpus."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdq"

# Small real documents: breast cancer in pregnancy and in men (follow-ups), testicular cancer screening in
# both versions (audience preference).
SLICE = (
    "hp/types-breast-hp-pregnancy-breast-treatment-pdq.md",
    "hp/types-breast-hp-male-breast-treatment-pdq.md",
    "hp/types-testicular-hp-testicular-screening-pdq.md",
    "patient/types-testicular-patient-testicular-screening-pdq.md",
    # mention diabetes and insulin, so abstaining on an insulin question is not just an empty vocabulary
    "patient/types-uterine-patient-endometrial-prevention-pdq.md",
    "hp/types-liver-hp-liver-screening-pdq.md",
)
SMALL_DOC = "patient/types-testicular-patient-testicular-screening-pdq.md"


def corpus_file(relative: str) -> Path:
    path = CORPUS / relative
    if not path.exists():
        pytest.fail(f"the shared corpus is missing {path}: tests read it from ../shared beside the checkout")
    return path


@pytest.fixture(scope="session")
def slice_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The slice, copied so tests may not touch ../shared (it is read-only in CI)."""
    folder = tmp_path_factory.mktemp("slice")
    for relative in SLICE:
        shutil.copy2(corpus_file(relative), folder / Path(relative).name)
    return folder


@pytest.fixture(scope="session")
def slice_home(tmp_path_factory: pytest.TempPathFactory, slice_dir: Path) -> Path:
    from guidechat.config import Settings
    from guidechat.index.indexer import IndexHome, ingest

    home = tmp_path_factory.mktemp("home")
    report = ingest(IndexHome(Settings(home=home)), [slice_dir], progress=False)
    assert report.new == len(SLICE) and not report.failed, report.summary()
    return home


# the adult and childhood summaries of one disease (acute lymphoblastic leukemia): age groups, acronyms
ALL_PAIR = (
    "patient/types-leukemia-patient-adult-all-treatment-pdq.md",
    "patient/types-leukemia-patient-child-all-treatment-pdq.md",
)


@pytest.fixture(scope="session")
def all_pair_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from guidechat.config import Settings
    from guidechat.index.indexer import IndexHome, ingest

    docs = tmp_path_factory.mktemp("all-pair")
    for relative in ALL_PAIR:
        shutil.copy(corpus_file(relative), docs / Path(relative).name)
    home = tmp_path_factory.mktemp("all-pair-home")
    report = ingest(IndexHome(Settings(home=home)), [docs], progress=False)
    assert report.new == len(ALL_PAIR) and not report.failed, report.summary()
    return home


@pytest.fixture(scope="session")
def pipeline(slice_home: Path):  # type: ignore[no-untyped-def]
    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.config import Settings

    return ChatPipeline.from_settings(Settings(home=slice_home))


def copy_home(source: Path, target: Path) -> Path:
    """A copy of an index home, to change without touching the shared one (Chroma's files copy as they are)."""
    shutil.copytree(source, target)
    return target


@pytest.fixture(scope="session")
def trust_home(tmp_path_factory: pytest.TempPathFactory, slice_home: Path) -> Path:
    """The slice plus the documents of tests/trust_docs.py (#7): levels of evidence, an old summary, documents
    that differ and agree. Built on a copy of the slice's index, so only the new documents are embedded."""
    from guidechat.config import Settings
    from guidechat.index.indexer import IndexHome, ingest
    from tests.trust_docs import write_trust_docs

    docs = write_trust_docs(CORPUS, tmp_path_factory.mktemp("trust-docs"))
    home = copy_home(slice_home, tmp_path_factory.mktemp("trust") / "home")
    report = ingest(IndexHome(Settings(home=home)), docs, progress=False)
    assert report.new == len(docs) and not report.failed, report.summary()
    return home


@pytest.fixture(scope="session")
def trust_pipeline(trust_home: Path):  # type: ignore[no-untyped-def]
    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.config import Settings

    return ChatPipeline.from_settings(Settings(home=trust_home))
