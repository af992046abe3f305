"""Do two recommendations differ? Kept simple enough to check by eye:

- a sentence *recommends* when it says "recommend(s/ed)", "is advised", "should be offered/screened/considered",
  "is indicated", ...; it *advises against* when it says "recommends against", "not recommended", "cannot be
  recommended", "should not", "is not indicated", "discouraged", ...; any other sentence makes no recommendation
  and never differs from anything,
- the ages a sentence names: "aged 50 to 74", "at age 40 years", "between the ages of 35 and 40", "men 25 years
  or older", "younger than 25",
- two recommendations on the same point (the caller decides that: sentences close in meaning) differ when one
  recommends and the other advises against, or when both recommend for different ages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_AGAINST = re.compile(
    r"\b(?:recommend(?:s|ed)? against|(?:is|are|was|were|be) not (?:routinely )?(?:recommended|advised|indicated)|"
    r"(?:cannot|can ?not|should not) be (?:recommended|advised|used|offered)|not recommended|should not|"
    r"do(?:es)? not recommend|discourage[sd]?|no longer recommended|not indicated)\b",
    re.I,
)
_RECOMMENDS = re.compile(
    r"\b(?:recommend(?:s|ed|ation)?|is advised|are advised|advocated|is indicated|are indicated|"
    r"should (?:be )?(?:offered|screened|considered|performed|started|begun|initiated|undergo|receive|begin|"
    r"start|have))\b",
    re.I,
)
_AGE_RANGE = re.compile(
    r"\b(?:aged?|ages?(?: of)?|between the ages of)\s+(\d{1,2})"
    r"(?:\s*(?:years?)?\s*(?:to|and|through|-|–)\s*(\d{1,2}))?",
    re.I,
)
_AGE_BOUND = re.compile(
    r"\b(\d{1,2}) years? (?:of age|old|and older|or older|and younger|or younger)\b|"
    r"\b(?:older|younger) than (\d{1,2})\b",
    re.I,
)

RECOMMENDS = "recommends"
AGAINST = "advises against"


@dataclass(frozen=True)
class Recommendation:
    stance: str  # RECOMMENDS or AGAINST
    ages: frozenset[int]

    def label(self) -> str:
        if self.stance == RECOMMENDS and self.ages:
            return "recommends, ages " + ", ".join(str(a) for a in sorted(self.ages))
        return self.stance


def recommendation(sentence: str) -> Recommendation | None:
    """What the sentence recommends, or None when it recommends nothing."""
    if _AGAINST.search(sentence):
        stance = AGAINST
    elif _RECOMMENDS.search(sentence):
        stance = RECOMMENDS
    else:
        return None
    return Recommendation(stance, ages_named(sentence))


def ages_named(sentence: str) -> frozenset[int]:
    ages: set[int] = set()
    for match in _AGE_RANGE.finditer(sentence):
        ages.update(int(g) for g in match.groups() if g)
    for match in _AGE_BOUND.finditer(sentence):
        ages.update(int(g) for g in match.groups() if g)
    return frozenset(ages)


def difference(a: Recommendation, b: Recommendation) -> str | None:
    """Why two recommendations on the same point differ, or None when they do not."""
    if a.stance != b.stance:
        return "one recommends, the other advises against"
    if a.stance == RECOMMENDS and a.ages and b.ages and a.ages != b.ages:
        return "they recommend it for different ages"
    return None
