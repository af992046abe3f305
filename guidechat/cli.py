"""Command line: ingest, ask, serve. The only place Settings is built from argv."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from guidechat.baseline.llamaindex_defaults import PRESET as BASELINE_PRESET  # a system, not a Settings preset
from guidechat.config import Settings, configure_offline_environment

CHROMA_URL_HELP = "a Chroma server http://HOST:PORT shared by replicas (default: $GUIDECHAT_CHROMA_URL, else embedded)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guidechat", description="Cited answers from clinical guidelines.")
    parser.add_argument("--home", type=Path, help="where the index lives (default: $GUIDECHAT_HOME or ~/.guidechat)")
    parser.add_argument("--chroma-url", metavar="URL", help=CHROMA_URL_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="index guideline files or folders (incremental)")
    ingest.add_argument("paths", nargs="+", type=Path)
    ingest.add_argument("--prune", action="store_true", help="drop documents whose files are gone")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")

    ask = sub.add_parser("ask", help="answer one question")
    ask.add_argument("question")
    ask.add_argument("--audience", choices=["clinician", "patient"], default="clinician")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")

    serve = sub.add_parser("serve", help="the Gradio chat")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=7860)
    serve.add_argument("--no-auth", action="store_true",
                       help="serve beyond 127.0.0.1 without a login, on purpose (logins: GUIDECHAT_AUTH=user:password)")

    evaluate = sub.add_parser("eval", help="run evaluation suites through the chat pipeline")
    evaluate.add_argument("suites", nargs="*", type=Path, help="JSONL suites (schema: ../shared/eval/README.md)")
    evaluate.add_argument("--compare", nargs="+", type=Path, metavar="REPORT", help="report.json files side by side")
    evaluate.add_argument("--out", type=Path, default=Path("eval-out"), help="where report.json/.md/.html go")
    evaluate.add_argument("--k", type=int, default=5, help="passages counted for facts-in-top-k")
    evaluate.add_argument(
        "--preset", default="guidechat", help=f"guidechat, bm25-only, dense-only, or the {BASELINE_PRESET} baseline"
    )
    evaluate.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override one setting")

    status = sub.add_parser("status", help="what is indexed; exit 1 when the index is missing or stale")
    status.add_argument("paths", nargs="*", type=Path, help="check these files or folders for changes too")
    for command in (ingest, ask, serve, evaluate, status):  # before or after the command name
        command.add_argument("--chroma-url", metavar="URL", default=argparse.SUPPRESS, help=CHROMA_URL_HELP)
    for command in (ask, serve, evaluate):
        _add_llm_flags(command)
    return parser


def _add_llm_flags(command: argparse.ArgumentParser) -> None:
    group = command.add_argument_group("generated answers (default: extractive, no language model)")
    group.add_argument("--llm", choices=["none", "openai", "ollama", "local"],
                       help="write answers with a language model, verified against the sources")
    group.add_argument("--llm-base-url", metavar="URL", help="openai: http://HOST:PORT/v1; ollama: http://HOST:11434")
    group.add_argument("--llm-model", metavar="NAME", help="the server's model name")
    group.add_argument("--llm-model-path", metavar="FILE", help="a GGUF file for --llm local")


def _with_llm_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    """The --llm* flags over the settings; the API key comes only from GUIDECHAT_LLM_API_KEY."""
    names = ("llm", "llm_base_url", "llm_model", "llm_model_path")
    update = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    return settings.model_copy(update=update) if update else settings


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_offline_environment()
    overrides = {"home": args.home} if args.home else {}
    settings = Settings(**overrides)
    if args.chroma_url is not None:
        settings = settings.model_copy(update={"chroma_url": args.chroma_url})
    settings = _with_llm_flags(settings, args)
    try:
        if args.command == "ingest":
            code = _ingest(settings, args.paths, args.prune, not args.quiet)
            if argv is None:  # the `guidechat` process itself, not a caller's
                _exit_at_once(code)
            return code
        if args.command == "ask":
            return _ask(settings, args.question, args.audience, args.json)
        if args.command == "serve":
            return _serve(settings, args.host, args.port, args.no_auth)
        if args.command == "eval" and args.compare:
            return _compare(args.compare)
        if args.command == "eval":
            if not args.suites:
                raise SystemExit("guidechat: eval needs suites to run, or --compare REPORT...")
            if args.preset != BASELINE_PRESET:
                settings = _with_overrides(settings, args.preset, args.set)
            return _eval(settings, args.suites, args.out, args.k, baseline=args.preset == BASELINE_PRESET)
        if args.command == "status":
            return _status(settings, args.paths)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        from guidechat.index.store import IndexUnavailable

        if not isinstance(exc, IndexUnavailable):
            raise
        print(f"guidechat: {exc}", file=sys.stderr)
        return 1
    return 2


def _exit_at_once(code: int) -> None:
    """End the process without tearing down torch and transformers (~2 s). Nothing is left to write: every Chroma
    write is committed when it returns, and the manifest and BM25 are in place."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _ingest(settings: Settings, paths: list[Path], prune: bool, progress: bool) -> int:
    from guidechat.index.indexer import IndexHome, ingest

    report = ingest(IndexHome(settings), paths, prune=prune, progress=progress and sys.stderr.isatty())
    for failure in report.failed:
        print(f"skipped {failure}", file=sys.stderr)
    print(report.summary())
    return 0


def _pipeline(settings: Settings):  # type: ignore[no-untyped-def]
    from guidechat.chat.pipeline import ChatPipeline
    from guidechat.index.indexer import IndexHome

    home = IndexHome(settings)
    if not home.manifest().documents:
        raise SystemExit(f"guidechat: nothing is indexed in {home.location}; run `guidechat ingest PATH` first")
    from guidechat.llm import LLMConfigError, LLMUnavailable

    try:
        pipeline = ChatPipeline(home)
    except LLMConfigError as exc:
        raise SystemExit(f"guidechat: {exc}") from exc
    if pipeline.model is not None:
        try:
            pipeline.model.check()
        except LLMUnavailable as exc:
            print(f"guidechat: warning: {exc}; answers fall back to quoting the sources", file=sys.stderr)
    return pipeline


def _ask(settings: Settings, question: str, audience: str, as_json: bool) -> int:
    from guidechat.chat.render import render_markdown
    from guidechat.types import Session

    pipeline = _pipeline(settings)
    answer = pipeline.ask(question, Session(), audience)
    if as_json:
        print(json.dumps(answer.to_json(), indent=2, ensure_ascii=False))
    else:
        print(render_markdown(answer))
    return 0


def _serve(settings: Settings, host: str, port: int, no_auth: bool) -> int:
    from guidechat.ui.access import AccessError, logins_for
    from guidechat.ui.app import serve

    try:  # before anything loads: a server that may not start says so at once
        logins = logins_for(host, settings.auth.get_secret_value(), settings.allow_no_auth or no_auth)
    except AccessError as exc:
        raise SystemExit(str(exc)) from exc
    serve(_pipeline(settings), host=host, port=port, settings=settings, logins=logins)
    return 0


def _compare(paths: list[Path]) -> int:
    from guidechat.eval.report import compare

    reports = []
    for path in paths:
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise SystemExit(f"guidechat: cannot read report {path}: {exc}") from exc
    labels = [str(r.get("preset") or p.parent.name) for r, p in zip(reports, paths, strict=True)]
    print(compare(reports, labels), end="")
    return 0


def _with_overrides(settings: Settings, preset: str, pairs: list[str]) -> Settings:
    from guidechat.config import PRESETS

    if preset not in PRESETS:
        raise SystemExit(f"guidechat: unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    values = {**settings.model_dump(), **PRESETS[preset]}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in Settings.model_fields:
            raise SystemExit(f"guidechat: --set expects NAME=VALUE with a setting name, got {pair!r}")
        values[name] = value
    return Settings.model_validate(values)


def _eval(settings: Settings, suites: list[Path], out: Path, k: int, baseline: bool = False) -> int:
    import time

    from tqdm import tqdm

    from guidechat.eval.report import build_report, write_reports
    from guidechat.eval.runner import run_cases
    from guidechat.eval.suite import load_suite

    cases = []
    for suite in suites:
        loaded, errors = load_suite(suite)
        for error in errors:
            print(f"skipped {error}", file=sys.stderr)
        cases.extend(loaded)
    pipeline = _pipeline(settings)
    asker: Any = pipeline
    preset, extra = preset_name(settings), dict[str, object]()
    if baseline:
        asker, extra = _baseline(pipeline.home)
        preset = BASELINE_PRESET
    started = time.perf_counter()
    with tqdm(total=sum(len(c.turns) for c in cases), unit="turn", desc="eval", disable=not sys.stderr.isatty()) as bar:
        results = run_cases(asker, cases, k, on_turn=lambda: bar.update(1), embed=pipeline.home.embedder.embed_texts)
    meta = {
        "suites": [str(s) for s in suites],
        "preset": preset,
        "settings": settings.model_dump(mode="json", exclude={"home"}),
        **extra,
        "settings_hash": settings.settings_hash(),
        "index_digest": pipeline.home.manifest().digest(),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    report = build_report(results, meta)
    write_reports(report, out)
    overall = report["overall"]
    print(
        f"{overall['turns']} turns in {meta['wall_s']} s: doc hit@5 {overall.get('doc_hit@5')}, "
        f"MRR {overall.get('mrr')}, gold cited {overall.get('gold_cited')}, abstention {overall['abstention']}; "
        f"reports in {out}"
    )
    return 0


def _baseline(home: Any) -> tuple[Any, dict[str, object]]:
    """llama-index defaults over the files this index holds; built once per index content, then loaded."""
    from guidechat.baseline.llamaindex_defaults import LlamaIndexDefaults

    folder = home.root / "baselines" / BASELINE_PRESET
    print(f"guidechat: loading or building the {BASELINE_PRESET} index in {folder}", file=sys.stderr)
    asker = LlamaIndexDefaults.build_or_load(
        home.manifest(), folder, home.settings.resolved_embed_model(), progress=sys.stderr.isatty()
    )
    return asker, ({"baseline_build_s": round(asker.build_s, 1)} if asker.build_s is not None else {})


def preset_name(settings: Settings) -> str:
    name = "guidechat" if settings.retrieval_mode == "hybrid" else f"{settings.retrieval_mode}-only"
    return name if settings.llm == "none" else f"{name}+llm-{settings.llm}"


def _status(settings: Settings, paths: list[Path]) -> int:
    from guidechat.index.indexer import IndexHome, stale_files

    home = IndexHome(settings)
    manifest = home.manifest()
    print(f"{len(manifest.documents)} documents, {len(manifest.chunk_ids())} chunks in {home.location}")
    if not manifest.documents:
        return 1
    stale = stale_files(home, paths) if paths else []
    for path in stale:
        print(f"stale: {path}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
