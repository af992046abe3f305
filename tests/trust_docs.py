"""Real corpus documents for the trust features (#7), beside the 6-document slice: the PDQ levels-of-evidence page
that the legend is read from, summaries whose passages carry level-of-evidence codes, one updated more than five
years ago, and two whose screening guidance differs by age and risk group. Long summaries are cut to the section
that matters (real text, its own front matter and heading path), so the test index stays small."""

from __future__ import annotations

from pathlib import Path

LEVELS_OF_EVIDENCE = "hp/publications-pdq-levels-evidence-treatment.md"
NHL_PREGNANCY = "hp/types-lymphoma-hp-non-hodgkin-lymphoma-treatment-during-pregnancy-pdq.md"
STALE_714X = "hp/about-cancer-treatment-cam-hp-714-x-pdq.md"  # updated 2018-08-22
# the same sentence on the age cervical cancer is diagnosed at, in two summaries updated two months apart
CERVICAL_PREGNANCY = "hp/types-cervical-hp-treatment-during-pregnancy-pdq.md"  # updated 2025-03-21
CERVICAL = "hp/types-cervical-hp-cervical-treatment-pdq.md"  # updated 2025-05-13
WHOLE = (LEVELS_OF_EVIDENCE, NHL_PREGNANCY, STALE_714X, CERVICAL_PREGNANCY)
# (file, heading path below the title, subsections too): only that section, with its ancestors' heading lines
EXCERPTS = (
    ("hp/publications-pdq-information-summaries-genetics-hereditary-diffuse-gastric-cancer-hp-pdq.md",
     ("Management", "Breast Cancer Risk Management"), True),
    ("hp/types-breast-hp-breast-screening-pdq.md",
     ("Description of the Evidence", "Special Populations",
      "Women at increased risk who may benefit more from screening"), True),
    (CERVICAL, ("General Information About Cervical Cancer",), False),
)


def excerpt(text: str, path: tuple[str, ...], subsections: bool = True) -> str:
    """Front matter, the title line, the ancestors' heading lines and the section under `path` (with its
    subsections, or its own text only), as in the source file."""
    front, sep, body = text.partition("\n---\n")
    lines = body.splitlines()
    out = [line for line in lines[:5] if line.startswith("# ")][:1]
    depth, keep = 0, False
    for line in lines:
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            title = line[level:].strip()
            if keep and (level <= len(path) + 1 or not subsections):
                keep = False
            if level >= 2 and depth == level - 2 and depth < len(path) and title == path[depth]:
                depth += 1
                out.append(line)
                keep = depth == len(path)
                continue
        if keep:
            out.append(line)
    if depth != len(path):
        raise ValueError(f"no section {' > '.join(path)}")
    return front + sep + "\n".join(out) + "\n"


def write_trust_docs(corpus: Path, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for relative in WHOLE:
        target = folder / Path(relative).name
        target.write_bytes((corpus / relative).read_bytes())
        written.append(target)
    for relative, path, subsections in EXCERPTS:
        target = folder / Path(relative).name
        text = excerpt((corpus / relative).read_text(encoding="utf-8"), path, subsections)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
