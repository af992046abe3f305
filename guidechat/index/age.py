"""Age groups: a question about adults or about children, and guidelines written for one of them.

Many cancers have a childhood summary beside the adult one, with the same disease words throughout; a question
that names its age group is answered from the other summary only when nothing else fits."""

from __future__ import annotations

import re
from typing import Literal

AgeGroup = Literal["child", "adult"]

_CHILD_WORDS = re.compile(r"\b(?:child|children|childhood|pediatric|paediatric|kids?|infants?|toddlers?)\b", re.I)
_ADULT_WORDS = re.compile(r"\badults?\b", re.I)
_YOUNG_ADULT = re.compile(r"\byoung adults?\b", re.I)  # the adolescent and young adult summaries: either group
_AGE = re.compile(r"\b(\d{1,3})[- ](?:years?|yrs?|months?)[- ]old\b", re.I)
_MONTHS = re.compile(r"months?", re.I)


def question_age_group(question: str) -> AgeGroup | None:
    """The group a question names ("childhood", "adult", "my 6-year-old"); None for none, or for both."""
    named: set[AgeGroup] = set()
    if _CHILD_WORDS.search(question):
        named.add("child")
    if _ADULT_WORDS.search(_YOUNG_ADULT.sub(" ", question)):
        named.add("adult")
    for match in _AGE.finditer(question):
        months = _MONTHS.search(match.group(0)) is not None
        named.add("child" if months or int(match.group(1)) < 18 else "adult")
    return named.pop() if len(named) == 1 else None


def title_age_group(title: str) -> AgeGroup | None:
    """The group a document's title says it is written for; None when it names none, or both."""
    child = _CHILD_WORDS.search(title) is not None
    adult = _ADULT_WORDS.search(title) is not None
    if child == adult:
        return None
    return "child" if child else "adult"


def other_group(group: AgeGroup) -> AgeGroup:
    return "adult" if group == "child" else "child"
