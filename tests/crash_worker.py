"""A fork server for kill trials: imports guidechat's heavy libraries once, then forks one child per command, so a
trial does not pay ~15 s of imports before `guidechat ingest` starts. Each child is a real process running the
real CLI (`guidechat.cli.main(argv)`, what the `guidechat` script runs), which the test kills with SIGKILL.

Commands on stdin, one JSON object a line; one JSON reply a line on stdout:
  {"run": [argv...]}               -> {"pid": N}          (the child's output goes to /dev/null)
  {"wait": N}                      -> {"exit": code} or {"signal": number}
  {"state": HOME, "files": [...]}  -> tests.index_check.index_state(HOME, files), computed in a child
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from guidechat.config import configure_offline_environment

configure_offline_environment()
# What ingest imports; nothing may start a thread before the fork (a forked child keeps only the forking thread).
import chromadb  # noqa: E402,F401
import llama_index.core  # noqa: E402,F401
import sentence_transformers  # noqa: E402,F401

import guidechat.cli  # noqa: E402
import guidechat.index.indexer  # noqa: E402,F401
from tests.index_check import index_state  # noqa: E402


def _fork(run: Callable[[], int], quiet: bool) -> int:
    pid = os.fork()
    if pid == 0:  # the child: run, then leave without unwinding the parent's state (no atexit, no flushes)
        code = 1
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)  # stdout carries the replies
            if quiet:
                os.dup2(devnull, 2)
            code = run()
        finally:
            os._exit(code)
    return pid


def _wait(pid: int) -> dict[str, int]:
    _, status = os.waitpid(pid, 0)
    return {"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status) else {"exit": os.WEXITSTATUS(status)}


def _write_state(home: Path, files: list[Path], out: Path) -> int:
    out.write_text(json.dumps(index_state(home, files)))
    return 0


def main() -> None:
    for line in sys.stdin:
        command = json.loads(line)
        reply: dict[str, Any]
        if "run" in command:
            reply = {"pid": _fork(partial(guidechat.cli.main, command["run"]), quiet=True)}
        elif "wait" in command:
            reply = _wait(command["wait"])
        else:
            out = Path(command["out"])
            out.unlink(missing_ok=True)
            files = [Path(p) for p in command["files"]]
            reply = _wait(_fork(partial(_write_state, Path(command["state"]), files, out), quiet=False))
            reply["state"] = json.loads(out.read_text()) if out.exists() else None
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
