"""Writes the "## Speed (#5)" section of BENCHMARKS.md from the JSON files the bench_*.py scripts left in
out/bench/ (the other sections are kept as they are).

    .venv/bin/python benchmarks/bench_report.py [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from bench_common import OUT, ROOT

HEADING = "## Speed (#5)"


def _load(name: str) -> dict[str, Any] | None:
    path = OUT / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _x(ours: float, theirs: float) -> str:
    """How many times faster (or smaller) guidechat is: theirs / ours."""
    return f"{theirs / ours:.1f}×" if ours and theirs else "–"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"


def _ok(holds: bool) -> str:
    return "holds" if holds else "**does not hold**"


def _provenance(data: dict[str, Any]) -> str:
    return (f"`{data['command']}` — {data['date']}, commit {data['commit']}, load average (1/5/15 min) at start "
            f"{data['load_start']}, at end {data['load_end']}, {data['wall_s']:.0f} s")


def ingest_section(sub: dict[str, Any] | None, full: dict[str, Any] | None, targets: list[str],
                   newer: dict[str, Any] | None = None) -> list[str]:
    """`newer`: a later full-size re-ingest run; the full-corpus re-ingest rows then say they measure older code."""
    lines = ["### Ingest", ""]
    for label, data in (("subset", sub), ("full corpus", full)):
        if data is None:
            continue
        g = data["guidechat"]
        ceiling = {c["batch_size"]: c for c in data["ceiling"]}
        at_ours = ceiling.get(data["embed_batch_size"]) or max(data["ceiling"], key=lambda c: c["tokens_per_s"])
        best = max(data["ceiling"], key=lambda c: c["tokens_per_s"])
        share = g["tokens_per_s"] / best["tokens_per_s"]
        lines += [
            f"**{label.capitalize()}: {data['documents']} summaries, {data['chunks']:,} chunks, {data['tokens']:,} "
            f"word pieces.** {_provenance(data)}.",
            "",
            "| what | guidechat | llama-index defaults | guidechat faster by |",
            "| --- | --- | --- | --- |",
        ]
        li = data.get("llamaindex_defaults")
        li_s = li["seconds"] if li else 0.0
        lines.append(f"| ingest wall time, empty index (model loaded) | {g['seconds']:,.1f} s "
                     f"({g['chunks_per_s']:.1f} chunks/s, {g['tokens_per_s']:,.0f} word pieces/s) | "
                     + (f"{li_s:,.1f} s ({li['nodes']:,} nodes) | {_x(g['seconds'], li_s)} |" if li else "– | – |"))
        lines.append(f"| no-op re-ingest, in-process / `guidechat ingest` process | {data['noop_s']:.2f} s / "
                     f"{data['cli_noop']['seconds']:.2f} s | a rebuild: {li_s:,.0f} s | "
                     + (f"{_x(data['cli_noop']['seconds'], li_s)} |" if li else "– |"))
        one, cli_one = data["one_changed"], data["cli_one_changed"]
        lines.append(f"| one file changed (one sentence), in-process / `guidechat ingest` process | "
                     f"{one['seconds']:.2f} s / {cli_one['seconds']:.2f} s ({one['added']} chunk added, "
                     f"{one['removed']} removed) | a rebuild: {li_s:,.0f} s | "
                     + (f"{_x(cli_one['seconds'], li_s)} |" if li else "– |"))
        lines.append(f"| model load (once per process) | {data['model_load_s']:.1f} s | | |")
        if li and li.get("word_pieces"):
            read, held = li["word_pieces_read"], li["word_pieces"]
            lines += ["", (
                f"What each system's embeddings read: guidechat embeds every chunk whole ({data['tokens']:,} word "
                f"pieces, none cut off). llama-index defaults' {li['nodes']:,} nodes (SentenceSplitter, 1,024 "
                f"tokenizer tokens each) hold {held:,} word pieces, of which the model reads the first 256 of each "
                f"node: {read:,} ({read / held:.0%}); the rest of the text is never embedded. Per word piece read: "
                f"guidechat {data['tokens'] / g['seconds']:,.0f}/s, llama-index defaults {read / li_s:,.0f}/s.")]
        lines += [
            "",
            f"Embedding ceiling on {at_ours['chunks']:,} of these chunk texts (random sample), forward pass alone:",
            "",
            "| batch size | chunks/s | word pieces/s | padding |",
            "| --- | --- | --- | --- |",
        ]
        for c in data["ceiling"]:
            mark = " (guidechat's)" if c["batch_size"] == data["embed_batch_size"] else ""
            lines.append(f"| {c['batch_size']}{mark} | {c['chunks_per_s']:.1f} | {c['tokens_per_s']:,.0f} | "
                         f"{c['padded_tokens'] / c['tokens'] - 1:.0%} |")
        lines += ["", f"Ingest reads {g['tokens_per_s']:,.0f} word pieces/s: **{share:.0%} of the best ceiling** "
                      f"({best['tokens_per_s']:,.0f}/s at batch {best['batch_size']}), "
                      f"{g['tokens_per_s'] / at_ours['tokens_per_s']:.0%} of the ceiling at its own batch size.", ""]
        scope = f"({label})"
        targets.append(f"| ingest ≥ 85% of the embedding ceiling {scope} | {share:.0%} | {_ok(share >= 0.85)} |")
        if li:
            ratio = li_s / g["seconds"]
            targets.append(f"| ingest ≥ 2× faster than llama-index defaults {scope} | {ratio:.1f}× | "
                           f"{_ok(ratio >= 2)} |")
        targets.append(f"| no-op re-ingest ≤ 5 s {scope}, `guidechat ingest` process | "
                       f"{data['cli_noop']['seconds']:.1f} s | {_ok(data['cli_noop']['seconds'] <= 5)} |")
        older = newer is not None and label == "full corpus" and newer["date"] > data["date"]
        note = f" (at {data['commit']}; the full-size rows measure the code of {newer['commit']})" if older and newer \
            else ""
        verdict = _ok(cli_one["seconds"] <= 10)
        verdict = verdict.replace("does not", "did not") if note else verdict
        targets.append(f"| one changed file ≤ 10 s {scope}, `guidechat ingest` process | "
                       f"{cli_one['seconds']:.1f} s{note} | {verdict} |")
    return lines


def full_size_section(data: dict[str, Any], size: dict[str, Any], targets: list[str]) -> list[str]:
    one, cli_one = size["one_changed"], size["cli_one_changed"]
    lines = [
        f"**Re-ingest at full size** (copies of the full index and of the corpus, {size['documents']} summaries; "
        f"one sentence of the biggest summary, {one['file']}, edited): {_provenance(data)}.",
        "",
        "| what | in-process (model loaded) | `guidechat ingest` process |",
        "| --- | --- | --- |",
        f"| no-op re-ingest | {size['noop_s']:.2f} s | {size['cli_noop']['seconds']:.2f} s |",
        f"| one file changed | {one['seconds']:.2f} s ({one['added']} chunk added, {one['removed']} removed) | "
        f"{cli_one['seconds']:.2f} s |",
        "",
    ]
    targets.append(f"| no-op re-ingest ≤ 5 s (full size), `guidechat ingest` process | "
                   f"{size['cli_noop']['seconds']:.1f} s | {_ok(size['cli_noop']['seconds'] <= 5)} |")
    targets.append(f"| one changed file ≤ 10 s (full size), `guidechat ingest` process | "
                   f"{cli_one['seconds']:.1f} s | {_ok(cli_one['seconds'] <= 10)} |")
    return lines


def query_section(q: dict[str, Any], targets: list[str]) -> list[str]:
    g, first = q["guidechat_ms"], q["guidechat_first_turns_ms"]
    b = q.get("baseline_ms")
    names = {"condense": "condense (follow-up rewrite)", "retrieve_embed": "embed query",
             "retrieve_dense": "dense (one Chroma scan, both lists)", "retrieve_bm25": "BM25",
             "retrieve_fuse": "fusion",
             "retrieve": "retrieval (the four above)", "compose": "abstain checks + compose (+ newer-document check)",
             "trust": "trust annotations + suggested follow-ups",
             "total": "**end to end (`ask`)**"}
    lines = [
        "### Query latency, full index",
        "",
        f"{_provenance(q)}. Index: {q['index']['documents']} summaries, {q['index']['chunks']:,} chunks. "
        f"{q['turns']} turns (every turn of both dev suites, follow-ups in their session; {q['abstained']} "
        "abstained), extractive, in-process. Sentence vectors are cached by text: of "
        f"{q['sentence_cache']['hits'] + q['sentence_cache']['misses']:,} sentence look-ups, "
        f"{q['sentence_cache']['hits'] / max(1, q['sentence_cache']['hits'] + q['sentence_cache']['misses']):.0%} "
        "were found (a sentence quoted for an earlier question, or looked at twice in one answer).",
        "",
        "| stage | p50 | p95 | p99 |",
        "| --- | --- | --- | --- |",
    ]
    for stage, label in names.items():
        s = g[stage]
        lines.append(f"| {label} | {_ms(s['p50'])} | {_ms(s['p95'])} | {_ms(s['p99'])} |")
    if b:
        lines += [
            "",
            f"Beside llama-index defaults ({q.get('baseline_nodes', '?'):,} nodes, top 2, retrieved text as the "
            f"answer), first turns only ({b['total']['n']}), asked alternately with guidechat's:",
            "",
            "| what, p50 / p95 | guidechat | llama-index defaults | guidechat faster by (p50) |",
            "| --- | --- | --- | --- |",
            f"| retrieval | {_ms(first['retrieve']['p50'])} / {_ms(first['retrieve']['p95'])} | "
            f"{_ms(b['retrieve']['p50'])} / {_ms(b['retrieve']['p95'])} | "
            f"{_x(first['retrieve']['p50'], b['retrieve']['p50'])} |",
            f"| end to end | {_ms(first['total']['p50'])} / {_ms(first['total']['p95'])} | "
            f"{_ms(b['total']['p50'])} / {_ms(b['total']['p95'])} | {_x(first['total']['p50'], b['total']['p50'])} |",
        ]
        ratio = b["retrieve"]["p50"] / first["retrieve"]["p50"]
        targets.append(f"| retrieval ≥ 3× faster than llama-index defaults at p50 | {ratio:.1f}× | "
                       f"{_ok(ratio >= 3)} |")
    t = g["total"]
    targets.append(f"| `ask` p50 ≤ 150 ms, p95 ≤ 400 ms (full index) | {t['p50']:.0f} ms / {t['p95']:.0f} ms | "
                   f"{_ok(t['p50'] <= 150 and t['p95'] <= 400)} |")
    slow = _load("query-fp32")
    if slow:
        f, c = slow["guidechat_ms"]["total"], slow["guidechat_ms"]["compose"]
        lines += [
            "",
            f"With `sentence_vectors=fp32` (answer sentences ranked by the float model, the default before the int8 "
            f"graph; see the quality table): compose {_ms(c['p50'])} / {_ms(c['p95'])}, end to end "
            f"{_ms(f['p50'])} / {_ms(f['p95'])} (p50 / p95; {_provenance(slow)}).",
        ]
        targets.append(f"| the same with `sentence_vectors=fp32` (not the default) | {f['p50']:.0f} ms / "
                       f"{f['p95']:.0f} ms | {_ok(f['p50'] <= 150 and f['p95'] <= 400)} |")
    return lines + [""]


def _client_phrase(client: str) -> str:
    if client == "http":
        return ("each session a session hash speaking Gradio's HTTP API as the app's \"Use via API\" curl example "
                "does, `benchmarks/gradio_http.py`, 3 ms of client CPU per request")
    return "one gradio_client per session (57–77 ms of client CPU per request, on the server's 2 cores)"


def serve_section(s: dict[str, Any], targets: list[str]) -> list[str]:
    servers = s["server"]
    ours, theirs = servers["guidechat"], servers.get("llamaindex_defaults")
    cli = s["cli_cold_start_s"]
    help_ = s["help"]
    lines = [
        "### Cold start, memory, concurrency (full index)",
        "",
        f"{_provenance(s)}.",
        "",
        "| what | guidechat | llama-index defaults | guidechat better by |",
        "| --- | --- | --- | --- |",
    ]

    def row(label: str, a: float, b: float | None, unit: str, fmt: str = "{:.1f}") -> None:
        other = (fmt.format(b) + unit) if b is not None else "–"
        lines.append(f"| {label} | {fmt.format(a)}{unit} | {other} | {_x(a, b) if b else '–'} |")

    li_cli = cli.get("llamaindex_defaults")
    row("`guidechat --help`", help_["seconds"], None, " s", "{:.2f}")
    row("CLI: new process to first answer (median)", cli["guidechat"]["median"],
        li_cli["median"] if li_cli else None, " s")
    row("server: spawn to first `/answer`", ours["cold_start_s"], theirs["cold_start_s"] if theirs else None, " s")
    row("server peak RSS after all levels", ours["peak_rss_mb"]["VmHWM"],
        theirs["peak_rss_mb"]["VmHWM"] if theirs else None, " MB", "{:,.0f}")
    lines += [
        "",
        f"`guidechat --help` imports {help_['modules']} modules; torch, gradio, chromadb among them: "
        f"{', '.join(help_['heavy_imports']) or 'none'}.",
        "",
        "N chat sessions at once through the Gradio API (`/answer`, "
        + _client_phrase(ours["levels"][0].get("client", "gradio_client") if ours["levels"] else "gradio_client")
        + ", each session asking its own dev-suite questions one after another):",
        "",
        "| N | guidechat: answers/s, p50 / p95, errors | llama-index defaults: answers/s, p50 / p95, errors |",
        "| --- | --- | --- |",
    ]

    def cell(level: dict[str, Any]) -> str:
        lat = level["latency_ms"]
        return (f"{level['answers_per_s']:.1f}/s, {_ms(lat['p50'])} / {_ms(lat['p95'])}, "
                f"{level['errors']} of {level['requests']}")

    other = {lv["sessions"]: lv for lv in theirs["levels"]} if theirs else {}
    for level in ours["levels"]:
        n = level["sessions"]
        lines.append(f"| {n} | {cell(level)} | {cell(other[n]) if n in other else '–'} |")
    median = cli["guidechat"]["median"]
    targets.append(f"| cold start to first answer ≤ 6 s from the CLI | {median:.1f} s | {_ok(median <= 6)} |")
    heavy = ", ".join(help_["heavy_imports"]) or "none"
    targets.append(f"| `guidechat --help` imports no torch/gradio/chromadb | {heavy} | {_ok(heavy == 'none')} |")
    rss = ours["peak_rss_mb"]["VmHWM"]
    targets.append(f"| peak RSS serving ≤ 1.2 GB | {rss:,.0f} MB | {_ok(rss <= 1200)} |")
    twenty = next((lv for lv in ours["levels"] if lv["sessions"] == 20), None)
    if twenty:
        p95 = twenty["latency_ms"]["p95"]
        targets.append(f"| 20 concurrent sessions: no errors, p95 ≤ 2 s | {twenty['errors']} errors, p95 "
                       f"{p95:,.0f} ms | {_ok(twenty['errors'] == 0 and p95 <= 2000)} |")
    return lines + [""]


def quality_section(qa: dict[str, Any]) -> list[str]:
    lines = ["### Quality guard for the speed changes", "", f"{_provenance(qa)}.", "",
             "| figure | " + " | ".join(qa["labels"]) + " |", "| --- |" + " --- |" * len(qa["labels"])]
    for name in qa["figures"]:
        lines.append(f"| {name} | " + " | ".join(str(r.get(name, "–")) for r in qa["rows"]) + " |")
    return lines + [""]


def render() -> str:
    sub, full, size, q, s, qa = (_load(n) for n in ("ingest-subset", "ingest-full", "ingest-full-size", "query",
                                                     "serve", "quality"))
    size = next((d for d in (size, full, sub) if d and d.get("full_size")), None)
    any_data = next((d for d in (sub, full, q, s, qa) if d), None)
    if any_data is None:
        raise SystemExit(f"nothing measured yet in {OUT}; run the bench_*.py scripts (make bench)")
    targets: list[str] = []
    body: list[str] = []
    if sub or full:
        body += ingest_section(sub, full, targets, size)
    if size:
        body += full_size_section(size, size["full_size"], targets)
    if q and q.get("baseline_build_s"):
        body += [f"llama-index defaults' index of the full corpus was built in {q['baseline_build_s']:,.0f} s "
                 f"({q['baseline_nodes']:,} nodes; by `benchmarks/bench_query.py`, {q['date']}).", ""]
    if q:
        body += query_section(q, targets)
    if s:
        body += serve_section(s, targets)
    if qa:
        body += quality_section(qa)
    head = [
        HEADING,
        "",
        f"`make bench` (scripts in `benchmarks/bench_*.py`, figures in `out/bench/*.json`). Machine: "
        f"{any_data['machine']}. Other engineers' jobs shared these cores during some runs; each table gives the "
        "load average, and each comparison with llama-index defaults was measured in the same run, interleaved "
        "where the script says so. Where a figure is for a subset of the corpus rather than all of it, it says so.",
        "",
        "| #5 acceptance | measured | |",
        "| --- | --- | --- |",
        *targets,
        "",
    ]
    return "\n".join(head + body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    section = render()
    text = args.out.read_text(encoding="utf-8") if args.out.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(HEADING)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {HEADING} into {args.out}")


if __name__ == "__main__":
    main()
