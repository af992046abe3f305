"""The figures SECURITY.md quotes: each security test prints its counts (see them with `pytest -rA`) and appends
them as a JSON line to $GUIDECHAT_SECURITY_COUNTS when that is set."""

from __future__ import annotations

import json
import os


def record(test: str, **counts: object) -> None:
    line = json.dumps({"test": test, **counts}, sort_keys=True)
    print(f"SECURITY-COUNTS {line}")
    target = os.environ.get("GUIDECHAT_SECURITY_COUNTS")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(line + "\n")
