"""Where the CPU goes when N sessions ask at once (#5): the server process against the client sessions
(gradio_http.py's, or gradio_client's with --client gradio_client) that run on the same machine, over the window
in which the questions are answered.

    .venv/bin/python benchmarks/serve_cpu.py [--home .guidechat] [--sessions 20] [--per-session 3] [--skip 18]

`--skip` starts the question pool further in (bench_serve.py's N=20 level starts after the N=1 and N=5 levels'
18 questions). Prints answers/s, p95, and CPU-seconds of the server and of this process (the clients).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from pathlib import Path

from bench_common import cases, default_home
from bench_serve import Server, free_port, sessions


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=default_home())
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--per-session", type=int, default=3)
    parser.add_argument("--skip", type=int, default=18)
    parser.add_argument("--client", choices=["http", "gradio_client"], default="http")
    args = parser.parse_args()

    port = free_port()
    server = Server([sys.executable, "-m", "guidechat.cli", "--home", str(args.home), "serve", "--port", str(port)],
                    port)
    pool = [(c.turns[0].question, c.audience) for c in cases()][args.skip :]
    clients = sessions(server.url, args.sessions, args.client)
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(args.sessions + 1)

    def session(i: int) -> None:
        start.wait()
        for j in range(args.per_session):
            question, audience = pool[i * args.per_session + j]
            began = time.perf_counter()
            clients[i].predict(question, audience, api_name="/answer")
            with lock:
                latencies.append((time.perf_counter() - began) * 1000)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(args.sessions)]
    for t in threads:
        t.start()
    server_before, clients_before, began = cpu_seconds(server.process.pid), own_cpu_seconds(), time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    server_cpu = cpu_seconds(server.process.pid) - server_before
    clients_cpu = own_cpu_seconds() - clients_before
    server.stop()
    for c in clients:
        c.close()
    ordered = sorted(latencies)
    answers = len(ordered)
    p95 = ordered[int(0.95 * answers) - 1]
    print(f"{args.client}: {answers} answers in {wall:.1f} s ({answers / wall:.2f}/s), p95 {p95:.0f} ms; "
          f"CPU-seconds: server {server_cpu:.1f} ({server_cpu / answers * 1000:.0f} ms per answer), "
          f"clients {clients_cpu:.1f} ({clients_cpu / answers * 1000:.0f} ms per request), "
          f"of {os.cpu_count() or 1} cores × {wall:.1f} s = {(os.cpu_count() or 1) * wall:.1f}")


if __name__ == "__main__":
    main()
