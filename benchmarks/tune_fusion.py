"""Sweep fusion settings offline over the cached candidate lists (benchmarks/tune_cache.py): doc hit@5 and
MRR per suite, computed the way the eval does (distinct documents among the top 10 fused passages)."""

from __future__ import annotations

import itertools
import pickle
import sys
from collections import defaultdict
from typing import Any


def fuse(row: dict[str, Any], n: int, k: int, b: float, w: float, margin: float, mode: str = "hybrid") -> list[str]:
    meta = row["meta"]
    aud = row["audience"]
    dense_all = row["dense_all"][:n]
    dense_pref = row["dense_pref"][:n]
    lexical = row["bm25"][: n * 4]
    bm25_all = [cid for cid, _ in lexical][:n]
    bm25_pref = [cid for cid, _ in lexical if meta[cid][1] in (None, aud)][:n]
    best_pref = max((s for _, s in dense_pref), default=-1.0)
    best_all = max((s for _, s in dense_all), default=-1.0)
    dense_ids = [c for c, _ in dense_all]
    lists = [(dense_ids, 1.0, "dense"), (bm25_all, b, "bm25")]
    if best_pref >= best_all - margin:
        lists = [
            ([c for c, _ in dense_pref], 1.0, "dense"),
            (bm25_pref, b, "bm25"),
            (dense_ids, w, "dense"),
            (bm25_all, w * b, "bm25"),
        ]
    fused: dict[str, float] = defaultdict(float)
    for ids, weight, kind in lists:
        if mode not in ("hybrid", kind):
            continue
        for rank, cid in enumerate(ids, start=1):
            fused[cid] += weight / (k + rank)
    return sorted(fused, key=fused.__getitem__, reverse=True)


def doc_rank(row: dict[str, Any], ranked: list[str], depth: int = 10) -> int | None:
    seen: list[str] = []
    for cid in ranked[:depth]:
        url = row["meta"][cid][0]
        if url in seen:
            continue
        seen.append(url)
        if url in row["gold"]:
            return len(seen)
    return None


def score(rows: list[dict[str, Any]], ranker: Any, depth: int = 10) -> dict[str, tuple[float, float]]:
    by: dict[str, list[int | None]] = defaultdict(list)
    for row in rows:
        if row["expect"] != "answer":
            continue
        r = doc_rank(row, ranker(row), depth)
        by[row["suite"]].append(r)
        by["overall"].append(r)
    return {
        s: (sum(1 for r in rs if r and r <= 5) / len(rs), sum(1 / r for r in rs if r) / len(rs))
        for s, rs in by.items()
    }


def fmt(res: dict[str, tuple[float, float]]) -> str:
    return "  ".join(f"{s[:8]} {h:.3f}/{m:.3f}" for s, (h, m) in sorted(res.items()))


def ranker(n: int, k: int, b: float, w: float, m: float, mode: str = "hybrid") -> Any:
    return lambda row: fuse(row, n, k, b, w, m, mode)


def main() -> None:
    """python benchmarks/tune_fusion.py CACHE.pkl: baselines, then a grid over RRF k, BM25 weight, the
    all-audience weight and the audience fallback margin, at ranking depths 10 and 30."""
    rows = pickle.loads(open(sys.argv[1], "rb").read())
    for depth in (10, 30):
        for mode in ("dense", "bm25"):
            print(f"depth={depth} {mode}-only", fmt(score(rows, ranker(40, 60, 1.0, 0.35, 0.08, mode), depth)))
        for k, b, w, m in itertools.product([30, 60], [0.5, 0.8, 1.0], [0.35, 0.75, 1.0], [0.0, 0.04, 0.08]):
            print(f"depth={depth} n=40 k={k} b={b} w={w} m={m}", fmt(score(rows, ranker(40, k, b, w, m), depth)))


if __name__ == "__main__":
    main()
