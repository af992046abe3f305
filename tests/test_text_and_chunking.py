"""Fast pure unit tests: cleaning PDQ markdown, sentence splitting, section-aware chunking, answer checks.

No model and no index: token counts use approximate_tokens (or a plain word counter)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from guidechat.chat.verify import Claim, claims, unresolved_markers, unsupported_claims
from guidechat.config import DEFAULT_SKIPPED_SECTIONS
from guidechat.ingest.chunk import (
    approximate_tokens,
    chunk_document,
    iter_sections,
    pack_blocks,
    passage_heading,
)
from guidechat.ingest.clean import clean_line, evidence_codes, is_dropped_line, plain_text
from guidechat.ingest.loaders import load_document
from guidechat.text import split_sentences
from guidechat.types import Answer, Citation, DocMeta, Document

URL = "https://www.cancer.gov/types/breast/hp/breast-treatment-pdq"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "pdq"


def word_count(text: str) -> int:
    return len(text.split())


# --------------------------------------------------------------------------------------------- clean_line


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Deaths fell.[[3](#cit/section_2.3)] Next.", "Deaths fell. Next."),
        ("Risk rose [[3](#cit/section_2.3)].", "Risk rose."),
        ("Estrogen (endogenous).[[11](#cit/section_1.11)-[13](#cit/section_1.13)]", "Estrogen (endogenous)."),
        (
            "increase risk of ovarian cancer [[26](#cit/section_1.26),[27](#cit/section_1.27)] and other",
            "increase risk of ovarian cancer and other",
        ),
        ("other cancers [[26](#cit/section_1.26),[27](#cit/section_1.27)].", "other cancers."),
        ("a range [[28](#cit/section_1.28)-[31](#cit/section_1.31)], then more", "a range, then more"),
        ("[[1](#cit/section_1.1)]", ""),
    ],
)
def test_clean_line_removes_citation_anchors(line: str, expected: str) -> None:
    assert clean_line(line, URL) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Survival improved.[[2](#cit/section_6.2)][[Level of evidence B1](/Common/PopUps/popDef.aspx"
            "?id=810025&version=HealthProfessional&language=English)] Next.",
            "Survival improved. (Level of evidence B1) Next.",
        ),
        (
            "Anxiety fell.[[7](#cit/section_5.7)][[Level of evidence: III](/Common/PopUps/popDefinition.aspx"
            "?id=663087)] Then.",
            "Anxiety fell. (Level of evidence III) Then.",
        ),
        ("Anxiety fell.[Level of evidence: I](/Common/PopUps/x)", "Anxiety fell. (Level of evidence I)"),
        (
            "Fatigue fell.[[3](#cit/section_3.43)][[Level of evidence: II]](/Common/PopUps/popDefinition.aspx"
            "?id=663072&version=HealthProfessional&language=English) Often, it did not.",
            "Fatigue fell. (Level of evidence II) Often, it did not.",
        ),
        (
            "Survival.[[6](#cit/section_7.6)][Level of evidence [A1](/Common/PopUps/popDef.aspx?id=1) and "
            "[A3](/Common/PopUps/popDef.aspx?id=2)] Although organ preservation",
            "Survival. (Level of evidence A1, A3) Although organ preservation",
        ),
        ("Fewer.[Level of evidence B3](/Common/PopUps/x)] Patients", "Fewer. (Level of evidence B3) Patients"),
        ("very low [Level of evidence C3](/Common/PopUps/x). More", "very low (Level of evidence C3). More"),
        (
            "Survival improved.[[4](#cit/section_6.4)][Level of evidence [A1](/Common/PopUps/popDef.aspx"
            "?id=810017&version=HealthProfessional&language=English)] Next.",
            "Survival improved. (Level of evidence A1) Next.",
        ),
    ],
)
def test_clean_line_makes_evidence_links_readable(line: str, expected: str) -> None:
    assert clean_line(line, URL) == expected


def test_clean_line_removes_bare_citation_anchors() -> None:
    line = "In 2 of the studies[2](#cit/il.2), patients gained weight.[5](#cit/citation.5)"
    assert clean_line(line, URL) == "In 2 of the studies, patients gained weight."


def test_clean_line_link_text_with_brackets() -> None:
    line = "cytokines (e.g., [tumor necrosis factor [TNF]](/Common/PopUps/popDefinition.aspx?id=45290))."
    assert clean_line(line, URL) == (
        "cytokines (e.g., [tumor necrosis factor [TNF]](https://www.cancer.gov/Common/PopUps/popDefinition.aspx?id=45290))."
    )
    assert plain_text(clean_line(line, URL)) == "cytokines (e.g., tumor necrosis factor [TNF])."


def test_clean_line_drops_images() -> None:
    assert clean_line("See ![Anatomy of the breast](/images/breast.jpg) here.", URL) == "See here."


def test_clean_line_resolves_site_relative_links_and_drops_titles() -> None:
    assert clean_line("See the [Special Populations](/types/breast/hp/screening-pdq#_123) section.", URL) == (
        "See the [Special Populations](https://www.cancer.gov/types/breast/hp/screening-pdq#_123) section."
    )
    assert clean_line('The [Gail model](https://bcrisktool.cancer.gov/ "https://bcrisktool.cancer.gov/")', URL) == (
        "The [Gail model](https://bcrisktool.cancer.gov/)"
    )
    assert clean_line('A [term](/publications/dictionaries/x "Definition of term") here.', URL) == (
        "A [term](https://www.cancer.gov/publications/dictionaries/x) here."
    )
    assert clean_line("Kept: [NCCN](https://www.nccn.org/guidelines) and [mail](mailto:a@b.org).", URL) == (
        "Kept: [NCCN](https://www.nccn.org/guidelines) and [mail](mailto:a@b.org)."
    )


def test_clean_line_relative_links_in_a_local_file_become_text() -> None:
    local = "file:///tmp/notes/guide.md"
    assert clean_line("See [screening](/types/breast/x) and [b](other.md).", local) == "See screening and b."
    assert clean_line("See [NCCN](https://www.nccn.org/).", local) == "See [NCCN](https://www.nccn.org/)."


@pytest.mark.parametrize(
    "line",
    [
        "[Go to Patient Version](/types/breast/patient/breast-treatment-pdq)",
        "[Go to Health Professional Version](/types/breast/hp/breast-treatment-pdq)",
        "  [Go to Patient Version](/types/x)  ",
        "[Table omitted: AJCC staging table for breast cancer (reprinted with permission).]",
        "[Figure omitted: Stage IIA breast cancer.]",
    ],
)
def test_is_dropped_line(line: str) -> None:
    assert is_dropped_line(line)


@pytest.mark.parametrize(
    "line",
    ["Go to Patient Version", "See [Go to Patient Version](/x) for more.", "A table omitted here.", ""],
)
def test_is_not_dropped_line(line: str) -> None:
    assert not is_dropped_line(line)


def test_evidence_codes_in_order_once_each() -> None:
    text = "A. (Level of evidence B1) B. (Level of evidence A1, B1) C. (Level of evidence C2) (Level of evidence A1)"
    assert evidence_codes(text) == ("B1", "A1", "C2")
    assert evidence_codes("No evidence tag here.") == ()
    assert evidence_codes(clean_line("X.[Level of evidence: III](/Common/PopUps/x)", URL)) == ("III",)
    nested = "X.[Level of evidence [A1](/Common/PopUps/a) and [A3](/Common/PopUps/b)]"
    assert evidence_codes(clean_line(nested, URL)) == ("A1", "A3")


def test_plain_text_strips_markup() -> None:
    markdown = (
        "- **Tamoxifen** for *5 years* [see here](https://www.cancer.gov/x).\n"
        "1. Second __item__\n"
        "| Drug | Dose |\n"
        "| --- | --- |\n"
        "| A | 10 mg |"
    )
    assert plain_text(markdown) == "Tamoxifen for 5 years see here.\nSecond item\n Drug Dose \n\n A 10 mg"
    assert word_count(plain_text(markdown)) == 13


# ------------------------------------------------------------------------------------------ split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Survival was 83.3% vs. 79.1% in the trial. The next one is 5.5 mg.",
            ["Survival was 83.3% vs. 79.1% in the trial.", "The next one is 5.5 mg."],
        ),
        ("Smith et al. reported this. Then more came.", ["Smith et al. reported this.", "Then more came."]),
        (
            "Some drugs (e.g. Tamoxifen) work. Others (i.e. Placebo) do not.",
            ["Some drugs (e.g. Tamoxifen) work.", "Others (i.e. Placebo) do not."],
        ),
        ("J. Smith and A. B. Jones wrote it. Later work agreed.", ["J. Smith and A. B. Jones wrote it.",
                                                                  "Later work agreed."]),
        ("Is it safe? Yes! It is.", ["Is it safe?", "Yes!", "It is."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        (
            "It was done. (For more information, see the Staging section.) Then it ended.",
            ["It was done.", "(For more information, see the Staging section.)", "Then it ended."],
        ),
        ("Hazard ratio (HR, 0.81) Fewer words follow.", ["Hazard ratio (HR, 0.81) Fewer words follow."]),
        ("The dose was lowered. 5 patients stopped.", ["The dose was lowered.", "5 patients stopped."]),
        ("", []),
        ("   no terminal punctuation  ", ["no terminal punctuation"]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Fewer courses were given. (Level of evidence B1) The next trial agreed.",
        "Fewer courses were given. (Level of evidence B1) The next trial agreed.",
        "Fewer courses were given. (Level of evidence A1) (Level of evidence B2) The next trial agreed.",
    ],
)
def test_split_sentences_keeps_an_evidence_tag_with_its_sentence(text: str) -> None:
    first, second = split_sentences(text)
    assert first.startswith("Fewer courses were given.") and first.endswith(")")
    assert second == "The next trial agreed."


def test_split_sentences_loses_no_text() -> None:
    text = 'A "quoted." B (parenthetical.) C [bracketed.] D et al. E 1.5 F? G! H. (Level of evidence A1) I.'
    assert " ".join(split_sentences(text)) == text


# ------------------------------------------------------------------------------------------------ chunking

TITLE = "Test Cancer Treatment (PDQ®)–Health Professional Version"
META = DocMeta(title=TITLE, url="https://www.cancer.gov/x")

SAMPLE = f"""# {TITLE}

## General Information

[Go to Patient Version](/types/x/patient/y)

Intro line one is hard
wrapped here.[[1](#cit/section_1.1)]

### Incidence

- First item.[[2](#cit/section_1.2)]
- Second item
  continued.

Trial text.[[3](#cit/section_1.3)][[Level of evidence B1](/Common/PopUps/a)] See [more](/types/x/hp/z).

#### Deep Detail

Deep text.

### Risk

Risk text.

###### References

1. Smith J: A paper. J Clin Oncol 1: 1-2, 2020. [PUBMED Abstract](https://pubmed.ncbi.nlm.nih.gov/1)

## Treatment

Treatment text.

| Drug | Dose |
| --- | --- |
| A | 10 mg |

|  |  |
| --- | --- |
|  |  |

[Table omitted: AJCC table.]

[Figure omitted: Stage I.]

## *In vitro* Studies

Lab text.

## Latest Updates to This Summary (04/07/2025)

Update text.

## About This PDQ Summary

### Purpose of This Summary

Purpose text.
"""


def sample_doc(markdown: str = SAMPLE) -> Document:
    return Document(META, markdown)


def test_iter_sections_paths_and_blocks() -> None:
    sections = [(s.path, s.blocks) for s in iter_sections(sample_doc(), DEFAULT_SKIPPED_SECTIONS)]
    assert sections == [
        (("General Information",), ["Intro line one is hard wrapped here."]),
        (
            ("General Information", "Incidence"),
            [
                "- First item.",
                "- Second item continued.",
                "Trial text. (Level of evidence B1) See [more](https://www.cancer.gov/types/x/hp/z).",
            ],
        ),
        (("General Information", "Incidence", "Deep Detail"), ["Deep text."]),
        (("General Information", "Risk"), ["Risk text."]),
        (("Treatment",), ["Treatment text.", "| Drug | Dose |\n| --- | --- |\n| A | 10 mg |"]),
        (("In vitro Studies",), ["Lab text."]),
    ]


def test_iter_sections_without_skips_keeps_everything_and_pops_headings() -> None:
    paths = [s.path for s in iter_sections(sample_doc())]
    assert paths == [
        ("General Information",),
        ("General Information", "Incidence"),
        ("General Information", "Incidence", "Deep Detail"),
        ("General Information", "Risk"),
        ("General Information", "Risk", "References"),
        ("Treatment",),
        ("In vitro Studies",),
        ("Latest Updates to This Summary (04/07/2025)",),
        ("About This PDQ Summary", "Purpose of This Summary"),
    ]


def test_h1_other_than_the_title_is_part_of_the_path() -> None:
    doc = Document(META, "# Some Other Heading\n\nText.\n\n## Sub\n\nMore.\n")
    assert [s.path for s in iter_sections(doc)] == [("Some Other Heading",), ("Some Other Heading", "Sub")]


def test_text_before_any_heading_has_an_empty_path() -> None:
    doc = Document(META, f"Preamble.\n\n# {TITLE}\n\nBody.\n")
    assert [(s.path, s.blocks) for s in iter_sections(doc)] == [((), ["Preamble."]), ((), ["Body."])]


def test_chunk_document_sample() -> None:
    chunks = chunk_document(sample_doc(), skipped_sections=DEFAULT_SKIPPED_SECTIONS)
    assert [(c.section, c.text, c.evidence) for c in chunks] == [
        (("General Information",), "Intro line one is hard wrapped here.", ()),
        (
            ("General Information", "Incidence"),
            "- First item.\n- Second item continued.\n"
            "Trial text. (Level of evidence B1) See [more](https://www.cancer.gov/types/x/hp/z).",
            ("B1",),
        ),
        (("General Information", "Incidence", "Deep Detail"), "Deep text.", ()),
        (("General Information", "Risk"), "Risk text.", ()),
        (("Treatment",), "Treatment text.\n\n| Drug | Dose |\n| --- | --- |\n| A | 10 mg |", ()),
        (("In vitro Studies",), "Lab text.", ()),
    ]
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(c.doc == META and c.doc_id == chunks[0].doc_id for c in chunks)
    assert not any("References" in c.section or "PUBMED" in c.text for c in chunks)


def test_hard_wrapped_link_and_citation_are_cleaned_once_joined() -> None:
    markdown = (
        "## A\n\nA number of [anecdotal\nreports](/Common/PopUps/x?id=1) exist.[[1](#cit/section_1.1),\n"
        "[2](#cit/section_1.2)] More came.[[Level of evidence\nB1](/Common/PopUps/y)]\n"
    )
    [chunk] = chunk_document(Document(META, markdown))
    assert chunk.text == (
        "A number of [anecdotal reports](https://www.cancer.gov/Common/PopUps/x?id=1) exist. "
        "More came. (Level of evidence B1)"
    )
    assert chunk.evidence == ("B1",)


def test_references_at_any_level_are_not_indexed() -> None:
    for level in range(2, 7):
        markdown = f"## A\n\nKept.\n\n{'#' * level} References\n\n1. Ref one. [PUBMED Abstract](https://x.org/1)\n"
        chunks = chunk_document(Document(META, markdown), skipped_sections=DEFAULT_SKIPPED_SECTIONS)
        assert [(c.section, c.text) for c in chunks] == [(("A",), "Kept.")], level


def test_skipped_sections_match_by_prefix_case_insensitively() -> None:
    markdown = "## Latest updates to this summary (04/07/2025)\n\nX.\n\n## Changes to This Summary (2024)\n\nY.\n"
    assert chunk_document(Document(META, markdown), skipped_sections=DEFAULT_SKIPPED_SECTIONS) == []
    kept = chunk_document(Document(META, markdown), skipped_sections=("Changes",))
    assert [c.section for c in kept] == [("Latest updates to this summary (04/07/2025)",)]


def test_table_kept_whole_when_it_fits() -> None:
    rows = "\n".join(f"| Drug {i} | {i} mg |" for i in range(5))
    markdown = f"## T\n\nBefore the table.\n\n| Drug | Dose |\n| --- | --- |\n{rows}\n\nAfter the table.\n"
    chunks = chunk_document(Document(META, markdown), max_tokens=200)
    table = "| Drug | Dose |\n| --- | --- |\n" + rows
    assert [c.text for c in chunks] == [f"Before the table.\n\n{table}\nAfter the table."]


def test_long_table_split_with_header_repeated() -> None:
    header = "| Regimen | Outcome |\n| --- | --- |"
    rows = [f"| Regimen number {i} | five year survival was {i}% |" for i in range(40)]
    markdown = f"## Results\n\n{header}\n" + "\n".join(rows) + "\n"
    budget = 64
    chunks = chunk_document(Document(META, markdown), max_tokens=budget)
    assert len(chunks) > 1
    body: list[str] = []
    for c in chunks:
        assert c.text.startswith(header + "\n")
        assert approximate_tokens(plain_text(c.text)) <= budget
        body += c.text.splitlines()[2:]
    assert body == rows


def test_long_paragraph_split_at_sentences_within_budget() -> None:
    sentences = [f"Sentence number {i} has exactly seven words." for i in range(30)]
    markdown = "## S\n\n" + " ".join(sentences) + "\n"
    chunks = chunk_document(Document(META, markdown), max_tokens=64)
    # 7 words -> int(7 * 1.35) + 1 = 10 tokens a sentence, so six sentences to a 64-token chunk
    assert [c.text for c in chunks] == [" ".join(sentences[i : i + 6]) for i in range(0, 30, 6)]
    assert all(approximate_tokens(plain_text(c.text)) <= 64 for c in chunks)


def test_giant_sentence_cut_on_words() -> None:
    giant = " ".join(f"w{i}" for i in range(100)) + "."
    pieces = pack_blocks([giant], word_count, 30)
    assert all(word_count(p) <= 30 for p in pieces)
    assert " ".join(pieces) == giant


def test_pack_blocks_with_a_word_counter() -> None:
    blocks = ["one two three", "- four five", "six seven eight nine", "ten"]
    # the word counter sees the list marker: "- four five" is three words
    assert pack_blocks(blocks, word_count, 5) == ["one two three", "- four five", "six seven eight nine\nten"]
    assert pack_blocks(blocks, word_count, 6) == ["one two three\n- four five", "six seven eight nine\nten"]
    assert pack_blocks(blocks, word_count, 100) == ["one two three\n- four five\nsix seven eight nine\nten"]


def test_chunks_never_cross_a_section() -> None:
    markdown = "## A\n\nAlpha one.\n\n## B\n\nBeta two.\n\n### C\n\nGamma three.\n"
    chunks = chunk_document(Document(META, markdown), max_tokens=200)
    assert [(c.section, c.text) for c in chunks] == [
        (("A",), "Alpha one."),
        (("B",), "Beta two."),
        (("B", "C"), "Gamma three."),
    ]


def test_budget_leaves_room_for_the_heading() -> None:
    long_heading = " ".join(["Heading"] * 150)
    paragraph = " ".join(f"Word{i} and more text here." for i in range(60))
    chunks = chunk_document(Document(META, f"## {long_heading}\n\n{paragraph}\n"), max_tokens=200)
    heading_tokens = approximate_tokens(passage_heading(TITLE, (long_heading,)))
    budget = max(64, 200 - heading_tokens - 3)  # not more than the model window, never under 64
    assert budget < 200
    assert all(approximate_tokens(plain_text(c.text)) <= budget for c in chunks)
    assert " ".join(c.text for c in chunks) == paragraph


def test_chunk_ids_are_stable_and_follow_the_text() -> None:
    first = chunk_document(sample_doc(), skipped_sections=DEFAULT_SKIPPED_SECTIONS)
    again = chunk_document(sample_doc(), skipped_sections=DEFAULT_SKIPPED_SECTIONS)
    assert [c.id for c in first] == [c.id for c in again]
    assert len({c.id for c in first}) == len(first)

    revised = sample_doc(SAMPLE.replace("Deep text.", "Deep text, revised."))
    changed = chunk_document(revised, skipped_sections=DEFAULT_SKIPPED_SECTIONS)
    diff = [(a.section, a.id != b.id) for a, b in zip(first, changed, strict=True)]
    assert [section for section, differs in diff if differs] == [
        ("General Information", "Incidence", "Deep Detail")
    ]

    moved = Document(DocMeta(title=TITLE, url="https://www.cancer.gov/y"), SAMPLE)
    moved_ids = {c.id for c in chunk_document(moved, skipped_sections=DEFAULT_SKIPPED_SECTIONS)}
    assert not {c.id for c in first} & moved_ids


def test_empty_tables_and_placeholders_dropped() -> None:
    markdown = "## T\n\n|  |  |\n| --- | --- |\n|  |  |\n\n[Table omitted: AJCC.]\n\n[Figure omitted: X.]\n"
    assert chunk_document(Document(META, markdown)) == []


# ---------------------------------------------------------------------------------------------------- verify


def citation(n: int, text: str) -> Citation:
    return Citation(n=n, title="T", url="https://www.cancer.gov/x", section="S", updated="", text=text)


PASSAGE_1 = "- Tamoxifen for 5 years reduces recurrence.\nAromatase inhibitors are preferred after menopause."
PASSAGE_2 = "Radiation therapy after breast-conserving surgery lowers local recurrence. (Level of evidence A1)"


def answer(markdown: str, citations: tuple[Citation, ...]) -> Answer:
    return Answer(
        question="q", query="q", markdown=markdown, citations=citations, abstained=False, disclaimer="d"
    )


GROUNDED = (
    "**Bottom line:** Tamoxifen for 5 years reduces recurrence. [1]\n\n"
    "**What the guidance recommends**\n\n"
    "- Aromatase inhibitors are preferred after menopause. [1]\n\n"
    "**Evidence**\n\n"
    "- Radiation therapy after breast-conserving surgery lowers local recurrence. (Level of evidence A1) [2]"
)


def test_claims_skip_group_headings() -> None:
    assert claims(GROUNDED) == [
        Claim("Tamoxifen for 5 years reduces recurrence.", (1,)),
        Claim("Aromatase inhibitors are preferred after menopause.", (1,)),
        Claim(
            "Radiation therapy after breast-conserving surgery lowers local recurrence. (Level of evidence A1)",
            (2,),
        ),
    ]
    assert claims("**In short** Sentence here. [2] [3]") == [Claim("Sentence here.", (2, 3))]


def test_grounded_answer_passes() -> None:
    a = answer(GROUNDED, (citation(1, PASSAGE_1), citation(2, PASSAGE_2)))
    assert unresolved_markers(a) == []
    assert unsupported_claims(a) == []


def test_sentence_not_in_its_cited_passage_is_caught() -> None:
    markdown = GROUNDED.replace("- Aromatase inhibitors are preferred after menopause. [1]",
                                "- Aromatase inhibitors are preferred after menopause. [2]")
    a = answer(markdown, (citation(1, PASSAGE_1), citation(2, PASSAGE_2)))
    assert unresolved_markers(a) == []
    assert unsupported_claims(a) == [Claim("Aromatase inhibitors are preferred after menopause.", (2,))]


def test_altered_sentence_is_caught() -> None:
    a = answer("**Bottom line:** Tamoxifen for 10 years reduces recurrence. [1]", (citation(1, PASSAGE_1),))
    assert unsupported_claims(a) == [Claim("Tamoxifen for 10 years reduces recurrence.", (1,))]


def test_marker_without_a_citation_is_caught() -> None:
    markdown = GROUNDED + "\n- Tamoxifen for 5 years reduces recurrence. [3]"
    a = answer(markdown, (citation(1, PASSAGE_1), citation(2, PASSAGE_2)))
    assert unresolved_markers(a) == [3]
    assert unsupported_claims(a) == [Claim("Tamoxifen for 5 years reduces recurrence.", (3,))]


def test_uncited_sentence_is_caught() -> None:
    markdown = GROUNDED + "\n\nTamoxifen for 5 years reduces recurrence."
    a = answer(markdown, (citation(1, PASSAGE_1), citation(2, PASSAGE_2)))
    assert unresolved_markers(a) == []
    assert unsupported_claims(a) == [Claim("Tamoxifen for 5 years reduces recurrence.", ())]


def test_whitespace_and_case_are_normalised_but_words_and_negations_are_not() -> None:
    # one support rule for quoted and generated sentences (guidechat/chat/verify.py): same words, same numbers,
    # same negations; the tests for paraphrases are in test_generate.py
    spaced = answer("**Bottom line:** Tamoxifen  for 5 years\treduces recurrence. [1]", (citation(1, PASSAGE_1),))
    assert unsupported_claims(spaced) == []
    shouted = answer("**Bottom line:** tamoxifen for 5 years reduces RECURRENCE. [1]", (citation(1, PASSAGE_1),))
    assert unsupported_claims(shouted) == []
    negated = answer("**Bottom line:** Tamoxifen for 5 years does not reduce recurrence. [1]",
                     (citation(1, PASSAGE_1),))
    assert len(unsupported_claims(negated)) == 1
    changed = answer("**Bottom line:** Tamoxifen for 5 years increases recurrence. [1]", (citation(1, PASSAGE_1),))
    assert len(unsupported_claims(changed)) == 1


def test_an_unknown_bold_line_is_a_claim_too() -> None:
    a = answer("**Stop all treatment now.**", (citation(1, PASSAGE_1),))
    assert unsupported_claims(a) == [Claim("**Stop all treatment now.**", ())]


# ------------------------------------------------------------------------------------ real corpus properties

REAL_FILES = (
    "hp/types-breast-hp-breast-treatment-pdq.md",
    "hp/types-head-and-neck-hp-adult-hypopharyngeal-treatment-pdq.md",  # [Level of evidence [A1](...)]
    "hp/about-cancer-coping-feelings-depression-hp-pdq.md",  # [Level of evidence: I](...)
    "hp/types-testicular-hp-testicular-treatment-pdq.md",  # [Table omitted: ...]
    "patient/types-testicular-patient-testicular-screening-pdq.md",
)


@pytest.mark.parametrize("relative", REAL_FILES)
def test_real_corpus_chunks_are_clean_and_fit(relative: str) -> None:
    path = CORPUS / relative
    if not path.exists():
        pytest.fail(f"the shared corpus is missing {path}")
    doc = load_document(path)
    max_tokens = 200
    chunks = chunk_document(doc, approximate_tokens, max_tokens, skipped_sections=DEFAULT_SKIPPED_SECTIONS)
    assert len(chunks) > 3
    assert len({c.id for c in chunks}) == len(chunks)
    for c in chunks:
        assert "#cit/" not in c.text, c.text
        assert "](/" not in c.text, c.text
        assert "![" not in c.text, c.text
        assert "Go to Patient Version" not in c.text and "Go to Health Professional Version" not in c.text
        assert "omitted:" not in c.text, c.text
        assert "Level of evidence [" not in c.text and "[Level of evidence" not in c.text, c.text
        tags = re.findall(r"\(Level of evidence [A-Za-z0-9]+(?:, [A-Za-z0-9]+)*\)", c.text)
        assert len(tags) == c.text.count("Level of evidence"), c.text
        assert not any(part.lower().startswith("references") for part in c.section), c.section
        assert not any("*" in part for part in c.section), c.section
        assert c.section, "every PDQ chunk sits under a heading"
        assert c.text == c.text.strip() and c.text
        assert evidence_codes(c.text) == c.evidence
        tokens = approximate_tokens(plain_text(c.text))
        if tokens > max_tokens:
            # only a single sentence longer than the window may exceed it (it is cut on words)
            assert len(split_sentences(plain_text(c.text))) == 1, (tokens, c.text)


def test_a_numbered_link_in_a_quoted_sentence_is_not_a_marker() -> None:
    passage = "Tumors here are cholangiocarcinomas (Figure [2](https://www.cancer.gov/x#_254))."
    a = answer(f"**Bottom line:** {passage} [1]", (citation(1, passage),))
    assert claims(a.markdown)[0].cites == (1,)
    assert unresolved_markers(a) == [] and unsupported_claims(a) == []


def test_unknown_names_allow_a_dropped_modifier() -> None:
    from guidechat.chat.abstain import unknown_names

    corpus = "chronic myeloid leukemia and myeloproliferative neoplasms are treated; tumor cells; treating fields"
    known_words = set(corpus.replace(";", "").split())

    def in_corpus(phrase: str) -> bool:
        return phrase.lower() in corpus

    question = "What are the stages of Chronic Myeloproliferative Neoplasms in adults?"
    assert unknown_names(question, in_corpus, lambda t: t in known_words) == []
    novel = "Does adding Tumor Treating Fields to maintenance therapy help?"
    assert unknown_names(novel, lambda p: False, lambda t: True) == ["Tumor Treating Fields"]
