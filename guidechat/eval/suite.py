"""Eval suites (JSON Lines, schema in ../shared/eval/README.md) -> EvalCase, with errors naming file, line and
field; a bad case is reported and skipped, the rest of the suite still runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guidechat.types import AUDIENCES, Audience

EXPECTS = ("answer", "abstain")


@dataclass(frozen=True)
class EvalTurn:
    question: str
    expect: str  # "answer" or "abstain"
    gold_urls: tuple[str, ...] = ()
    gold_sections: tuple[str, ...] = ()
    key_facts: tuple[str, ...] = ()
    gold_answer: str | None = None


@dataclass(frozen=True)
class EvalCase:
    id: str
    suite: str
    line: int
    audience: Audience
    turns: tuple[EvalTurn, ...]
    qtype: str | None = None


@dataclass(frozen=True)
class SuiteError:
    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f" field '{self.field}'" if self.field else ""
        return f"{self.path}:{self.line}:{where} {self.message}"


class _Invalid(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def load_suite(path: Path) -> tuple[list[EvalCase], list[SuiteError]]:
    cases: list[EvalCase] = []
    errors: list[SuiteError] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [], [SuiteError(str(path), 0, "", f"cannot read the suite: {exc}")]
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            cases.append(_case(json.loads(raw), path.stem, number))  # ids may repeat (MedQuAD's do): line tells
        except json.JSONDecodeError as exc:
            errors.append(SuiteError(str(path), number, "", f"not valid JSON ({exc.msg} at column {exc.colno})"))
        except _Invalid as exc:
            errors.append(SuiteError(str(path), number, exc.field, exc.message))
    return cases, errors


def _case(data: Any, suite: str, line: int) -> EvalCase:
    if not isinstance(data, dict):
        raise _Invalid("", "a case must be a JSON object")
    case_id = _text(data, "id")
    audience = data.get("audience", "clinician")
    if audience not in AUDIENCES:
        raise _Invalid("audience", f"must be one of {', '.join(AUDIENCES)}, not {audience!r}")
    if "turns" in data:
        raw_turns = data["turns"]
        if not isinstance(raw_turns, list) or not raw_turns:
            raise _Invalid("turns", "must be a non-empty list")
        turns = tuple(_turn(t, f"turns[{i}].") for i, t in enumerate(raw_turns))
    else:
        turns = (_turn(data, ""),)
    qtype = data.get("qtype")
    return EvalCase(case_id, suite, line, audience, turns, qtype if isinstance(qtype, str) else None)


def _turn(data: Any, prefix: str) -> EvalTurn:
    if not isinstance(data, dict):
        raise _Invalid(prefix.rstrip("."), "a turn must be a JSON object")
    expect = data.get("expect", "answer")
    if expect not in EXPECTS:
        raise _Invalid(prefix + "expect", f"must be 'answer' or 'abstain', not {expect!r}")
    gold_answer = data.get("gold_answer")
    if gold_answer is not None and not isinstance(gold_answer, str):
        raise _Invalid(prefix + "gold_answer", "must be a string")
    turn = EvalTurn(
        question=_text(data, "question", prefix),
        expect=expect,
        gold_urls=_strings(data, "gold_urls", prefix),
        gold_sections=_strings(data, "gold_sections", prefix),
        key_facts=_strings(data, "key_facts", prefix),
        gold_answer=gold_answer,
    )
    if expect == "answer" and not turn.gold_urls:
        raise _Invalid(prefix + "gold_urls", "an answerable question needs at least one gold url")
    return turn


def _text(data: dict[str, Any], field: str, prefix: str = "") -> str:
    value = data.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(prefix + field, "is missing or not a non-empty string")
    return value.strip()


def _strings(data: dict[str, Any], field: str, prefix: str) -> tuple[str, ...]:
    value = data.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(prefix + field, "must be a list of strings")
    return tuple(value)
