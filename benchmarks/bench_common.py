"""What the speed benchmarks (#5) share: where things are, the machine and commit a figure was measured on,
percentiles, the eval questions, a corpus subset, and one JSON file of results per script under out/bench/."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus" / "pdq"
SUITES = [ROOT.parent / "shared" / "eval" / name for name in ("clinician-dev.jsonl", "medquad-cancergov-dev.jsonl")]
OUT = ROOT / "out" / "bench"
BIN = Path(sys.executable).parent  # the venv's bin: guidechat lives beside this python


def offline_env() -> dict[str, str]:
    """The environment every benchmark process runs with: nothing reaches the network."""
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
               ANONYMIZED_TELEMETRY="False", TOKENIZERS_PARALLELISM="false")
    return env


def default_home() -> Path:
    return Path(os.environ.get("GUIDECHAT_HOME") or ROOT / ".guidechat")


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "guidechat")
    return f"{head}+uncommitted changes" if dirty else head


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    import chromadb
    import llama_index.core
    import sentence_transformers
    import torch

    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb / 2**20:.0f} GiB, no GPU used; Python {platform.python_version()}, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), sentence-transformers "
        f"{sentence_transformers.__version__}, chromadb {chromadb.__version__}, llama-index-core "
        f"{llama_index.core.__version__}"
    )


def pct(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (q = 0.5, 0.95, 0.99)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": pct(values, 0.5), "p95": pct(values, 0.95), "p99": pct(values, 0.99),
            "mean": sum(values) / len(values) if values else float("nan")}


def cases() -> list[Any]:
    """Every case of the dev suites (multi-turn ones turn by turn)."""
    from guidechat.eval.suite import load_suite

    out = []
    for suite in SUITES:
        loaded, errors = load_suite(suite)
        if errors:
            raise SystemExit(f"{suite}: {errors[0]}")
        out.extend(loaded)
    return out


def first_turns() -> list[tuple[str, str]]:
    """(question, audience) of every case's first turn, in suite order."""
    return [(c.turns[0].question, c.audience) for c in cases()]


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*/*.md"))


def subset(n: int | None) -> list[Path]:
    """n summaries spread evenly over the sorted corpus (clinician and patient versions alike); None = all."""
    files = corpus_files()
    if n is None or n >= len(files):
        return files
    step = len(files) / n
    return [files[int(i * step)] for i in range(n)]


class Results:
    """One benchmark's figures, saved with the command, date, commit, machine and load beside them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.time()
        self.data: dict[str, Any] = {
            "command": "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], ROOT),
                                                                         *sys.argv[1:]]),
            "date": datetime.datetime.now().isoformat(timespec="minutes"),
            "commit": commit(),
            "load_start": load(),
        }

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()  # as it goes: a run cut short keeps what it measured

    def save(self) -> Path:
        self.data["load_end"] = load()
        self.data["wall_s"] = round(time.time() - self.started, 1)
        if "machine" not in self.data:
            self.data["machine"] = machine()
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{self.name}.json"
        path.write_text(json.dumps(self.data, indent=2, default=str))
        return path


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
