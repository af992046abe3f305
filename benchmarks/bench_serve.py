"""Serving (#5): cold start to the first answer (CLI and server), peak RSS while serving the full index, and N
simultaneous chat sessions through the Gradio API (N = 1, 5, 20), for guidechat and for llama-index defaults
served by the same Gradio app in the same run.

    .venv/bin/python benchmarks/bench_serve.py [--home .guidechat] [--repeat 3] [--levels 1,5,20]

- `guidechat --help`: wall time, and whether torch, gradio or chromadb were imported (they must not be).
- CLI cold start: `guidechat ask QUESTION --json` as a new process, wall time from spawn to exit (median of
  --repeat); llama-index defaults: a new process that loads its persisted index and answers the same question.
- Server cold start: `guidechat serve` spawned, then polled with gradio_client until /answer answers; the same for
  the llama-index defaults asker behind guidechat's Gradio app.
- Concurrency: N clients (one chat session each) ask their own questions one after another (dev-suite first turns,
  none asked before in this run); throughput is answers per second over the level's wall time, latency is per
  request at the client. Errors are counted, not retried. `--client http` (the default) speaks Gradio's HTTP API
  directly (gradio_http.py: the app's "Use via API" curl protocol, with a session hash per session);
  `--client gradio_client` uses gradio_client, which spends ~77 ms of CPU per request on this machine's cores.
- Peak RSS: VmHWM of the server process after every level has run.
The index is only read.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_common import BIN, ROOT, Results, default_home, first_turns, log, offline_env, summary

QUESTION = "What is the utility of MRI in stage IV breast cancer?"
HEAVY = ("torch", "gradio", "chromadb")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def help_check() -> dict[str, Any]:
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "guidechat.cli", "--help"], capture_output=True,
                         text=True, env=offline_env(), cwd=ROOT)
    seconds = time.perf_counter() - started
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if "|" in line}
    heavy = sorted(m for m in imported if m.split(".")[0] in HEAVY)
    return {"seconds": seconds, "heavy_imports": heavy, "modules": len(imported)}


def cold_ask(command: list[str]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, env=offline_env(), cwd=ROOT, check=True)
    return time.perf_counter() - started, json.loads(run.stdout)


def peak_rss_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


class Server:
    """A server process, timed from spawn to its first answer through the API."""

    def __init__(self, command: list[str], port: int) -> None:
        from gradio_client import Client  # imported before the clock starts

        self.url = f"http://127.0.0.1:{port}/"
        started = time.perf_counter()
        self.process = subprocess.Popen(command, env=offline_env(), cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        client = None
        while client is None:
            if self.process.poll() is not None:
                raise SystemExit(f"{command} exited: {self.process.stderr.read() if self.process.stderr else ''}")
            try:
                client = Client(self.url, verbose=False)
            except Exception:  # not listening yet
                time.sleep(0.2)
        client.predict(QUESTION, "clinician", api_name="/answer")
        self.cold_start_s = time.perf_counter() - started
        self.rss_after_first = peak_rss_mb(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def sessions(url: str, n: int, kind: str) -> list[Any]:
    """n chat sessions of the server at url, each with .predict(*data, api_name=...) and .close()."""
    if kind == "gradio_client":
        from gradio_client import Client

        return [Client(url, verbose=False) for _ in range(n)]
    from gradio_http import HttpSession

    return [HttpSession(url) for _ in range(n)]


def concurrency(url: str, n: int, questions: list[tuple[str, str]], per_session: int,
                client: str = "http") -> dict[str, Any]:
    clients = sessions(url, n, client)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def session(i: int) -> None:
        barrier.wait()
        for j in range(per_session):
            question, audience = questions[(i * per_session + j) % len(questions)]
            started = time.perf_counter()
            try:
                clients[i].predict(question, audience, api_name="/answer")
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
            except Exception as exc:
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])

    threads = [threading.Thread(target=session, args=(i,)) for i in range(n)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    for c in clients:
        c.close()
    return {"sessions": n, "client": client, "requests": n * per_session, "answered": len(latencies),
            "errors": len(errors), "error_samples": errors[:3], "wall_s": wall, "answers_per_s": len(latencies) / wall,
            "latency_ms": summary(latencies)}


def measure_server(command: list[str], port: int, levels: list[int], per_session: int,
                   pool: list[tuple[str, str]], client: str) -> dict[str, Any]:
    server = Server(command, port)
    out: dict[str, Any] = {"cold_start_s": server.cold_start_s, "rss_after_first_mb": server.rss_after_first,
                           "levels": []}
    try:
        offset = 0
        for n in levels:
            questions = pool[offset : offset + n * per_session]
            offset += n * per_session
            level = concurrency(server.url, n, questions, per_session, client)
            log(f"  N={n}: {level['answers_per_s']:.2f} answers/s, p95 {level['latency_ms']['p95']:.0f} ms, "
                f"errors {level['errors']}")
            out["levels"].append(level)
        out["peak_rss_mb"] = peak_rss_mb(server.process.pid)
    finally:
        server.stop()
    return out


def child_baseline(home: Path, what: str, port: int, folder: Path | None) -> None:
    """Runs in its own process: llama-index defaults answering once (CLI-like), or served by the Gradio app."""
    from guidechat.baseline.llamaindex_defaults import PRESET, LlamaIndexDefaults
    from guidechat.config import Settings, configure_offline_environment
    from guidechat.index.manifest import Manifest
    from guidechat.types import Session

    configure_offline_environment()
    settings = Settings(home=home)
    manifest = Manifest.load(home / "manifest.json")
    folder = folder or home / "baselines" / PRESET
    asker = LlamaIndexDefaults.build_or_load(manifest, folder, settings.resolved_embed_model())
    if what == "ask":
        print(json.dumps(asker.ask(QUESTION, Session()).to_json()))
        return
    from guidechat.ui.app import serve

    serve(asker, host="127.0.0.1", port=port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=default_home())
    parser.add_argument("--repeat", type=int, default=3, help="CLI cold starts per system")
    parser.add_argument("--levels", default="1,5,20", help="simultaneous sessions")
    parser.add_argument("--per-session", type=int, default=3, help="questions each session asks")
    parser.add_argument("--client", choices=["http", "gradio_client"], default="http",
                        help="how the sessions reach the Gradio API (see the module's docstring)")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--baseline-dir", type=Path, help="llama-index defaults' index (default: HOME/baselines/...)")
    parser.add_argument("--child", choices=["ask", "serve"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    home = args.home.resolve()
    if args.child:
        child_baseline(home, args.child, args.port, args.baseline_dir)
        return

    results = Results("serve")
    levels = [int(n) for n in args.levels.split(",")]
    pool = first_turns()[1:]  # the first is asked by the cold starts
    need = sum(levels) * args.per_session
    if need > len(pool):
        raise SystemExit(f"{need} questions wanted, the dev suites have {len(pool)}")
    results["help"] = help_check()
    log(f"--help: {results.data['help']}")

    guidechat = [str(BIN / "guidechat"), "--home", str(home)]
    baseline = [sys.executable, str(Path(__file__).resolve()), "--home", str(home)]
    if args.baseline_dir:
        baseline += ["--baseline-dir", str(args.baseline_dir.resolve())]
    systems: dict[str, tuple[list[str], Callable[[int], list[str]]]] = {
        "guidechat": (guidechat + ["ask", QUESTION, "--json"], lambda p: guidechat + ["serve", "--port", str(p)])
    }
    if not args.skip_baseline:
        systems["llamaindex_defaults"] = (baseline + ["--child", "ask"],
                                          lambda p: baseline + ["--child", "serve", "--port", str(p)])
    cold: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(args.repeat):  # alternating, so load falls on both alike
        for name, (ask, _serve) in systems.items():
            seconds, answer = cold_ask(ask)
            cold[name].append(seconds)
            log(f"{name} CLI cold start {seconds:.2f} s (answer total {answer['timings_ms'].get('total')} ms)")
    results["cli_cold_start_s"] = {name: {"runs": runs, "median": sorted(runs)[len(runs) // 2]}
                                   for name, runs in cold.items()}
    served: dict[str, Any] = {}
    for name, (_ask, serve) in systems.items():
        port = free_port()
        log(f"{name} server")
        served[name] = measure_server(serve(port), port, levels, args.per_session, pool, args.client)
        results["server"] = served
    print(results.save())


if __name__ == "__main__":
    main()
