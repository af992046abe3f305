"""Cache the raw candidate lists (dense per audience, BM25) for every turn of the dev suites, so fusion
settings can be swept offline in seconds (benchmarks/tune_fusion.py). Follow-up turns use the condensed
query recorded in an earlier eval report."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

from guidechat.config import Settings, configure_offline_environment
from guidechat.eval.suite import load_suite
from guidechat.index.indexer import IndexHome


def main() -> None:
    configure_offline_environment()
    report_path, out_path, *suites = sys.argv[1:]
    queries = {}
    for case in json.loads(Path(report_path).read_text())["cases"]:
        queries[(case["id"], case["turn"])] = case["query"]
    home = IndexHome(Settings())
    bm25 = home.load_bm25()
    rows = []
    for suite in suites:
        cases, errors = load_suite(Path(suite))
        assert not errors, errors
        for case in cases:
            for number, turn in enumerate(case.turns, start=1):
                query = queries.get((case.id, number), turn.question) if number > 1 else turn.question
                vector = home.embedder.embed_query(query)
                dense_all = home.store.query(vector, 150)
                dense_pref = home.store.query(vector, 150, case.audience)
                lexical = bm25.search(query, 600)
                chunks = {c.id: c for c, _ in dense_all + dense_pref}
                chunks.update(home.store.get([cid for cid, _ in lexical if cid not in chunks]))
                meta = {cid: (c.doc.url, c.doc.audience, c.doc.title, c.section) for cid, c in chunks.items()}
                rows.append(
                    {
                        "id": case.id,
                        "turn": number,
                        "suite": case.suite,
                        "audience": case.audience,
                        "expect": turn.expect,
                        "gold": list(turn.gold_urls),
                        "question": turn.question,
                        "query": query,
                        "dense_all": [(c.id, s) for c, s in dense_all],
                        "dense_pref": [(c.id, s) for c, s in dense_pref],
                        "bm25": [(cid, s) for cid, s in lexical if cid in chunks],
                        "meta": meta,
                    }
                )
    Path(out_path).write_bytes(pickle.dumps(rows))
    print(len(rows), "turns cached")


if __name__ == "__main__":
    main()
