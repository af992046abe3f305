"""Do the index (Chroma), BM25 and the manifest of a home agree? Read in a process of its own, so that no Chroma
client of the test process caches what another process wrote."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any


def index_state(home: Path, files: list[Path]) -> dict[str, Any]:
    """What is stored, and (for `files`) what a complete ingest of them now would store."""
    from guidechat.config import Settings
    from guidechat.index.bm25 import Bm25Index
    from guidechat.index.indexer import IndexHome, _file_digest
    from guidechat.index.manifest import Manifest
    from guidechat.ingest.chunk import chunk_document
    from guidechat.ingest.loaders import load_document

    settings = Settings(home=home)
    state: dict[str, Any] = {"manifest_error": None, "manifest": {}, "bm25_fresh": False, "bm25_ids": None}
    try:
        manifest = Manifest.load(home / "manifest.json")
    except RuntimeError as exc:
        state["manifest_error"] = str(exc)
        manifest = Manifest()
    state["manifest"] = {k: {"sha256": v.sha256, "chunk_ids": v.chunk_ids} for k, v in manifest.documents.items()}
    home_ = IndexHome(settings)
    chunks = home_.store.all_chunks()
    state["store_ids"] = [c.id for c in chunks]
    state["store_keys"] = {c.id: json.dumps([c.doc.source_path, *c.section, c.text]) for c in chunks}
    state["bm25_fresh"] = Bm25Index.is_fresh(home / "bm25", manifest.digest())
    if state["bm25_fresh"]:
        bm25 = Bm25Index.load(home / "bm25", manifest.digest())
        state["bm25_ids"] = list(bm25._ids) if bm25 is not None else None
    expected: dict[str, dict[str, Any]] = {}
    fingerprint = settings.index_fingerprint()
    for path in files:
        doc = load_document(path)
        ids = [c.id for c in chunk_document(doc, count_tokens=home_.embedder.count_tokens,
                                             max_tokens=settings.chunk_max_tokens,
                                             skipped_sections=settings.skipped_sections)]  # fmt: skip
        expected[str(path.resolve())] = {"sha256": _file_digest(path.read_bytes(), fingerprint), "chunk_ids": ids}
    state["expected"] = expected
    return state


def problems(state: dict[str, Any], complete: bool) -> list[str]:
    """Disagreements. Always: the manifest reads, nothing it lists is missing, no chunk is stored twice, and a
    BM25 marked fresh holds exactly the manifest's chunks. After a complete ingest (`complete`), also: no
    orphans, BM25 fresh, and the manifest is exactly the files as they are now, each with all its chunks."""
    found: list[str] = []
    if state["manifest_error"]:
        found.append(f"manifest unreadable: {state['manifest_error']}")
    listed = [cid for entry in state["manifest"].values() for cid in entry["chunk_ids"]]
    stored = state["store_ids"]
    if dup := [cid for cid, n in Counter(stored).items() if n > 1]:
        found.append(f"{len(dup)} chunk ids stored twice")
    keys = state["store_keys"]
    served = [keys[cid] for cid in set(listed) if cid in keys] if not complete else list(keys.values())
    if dup := [key for key, n in Counter(served).items() if n > 1]:
        found.append(f"{len(dup)} passages stored twice under different ids")
    if dup := [cid for cid, n in Counter(listed).items() if n > 1]:
        found.append(f"{len(dup)} chunk ids listed by two manifest entries")
    if lost := set(listed) - set(stored):
        found.append(f"{len(lost)} chunks listed in the manifest are not stored")
    if state["bm25_fresh"] and sorted(state["bm25_ids"] or []) != sorted(set(listed)):
        found.append("BM25 is marked fresh but holds other chunks than the manifest lists")
    if complete:
        if orphans := set(stored) - set(listed):
            found.append(f"{len(orphans)} stored chunks belong to no manifest entry")
        if not state["bm25_fresh"]:
            found.append("BM25 is stale after a complete ingest")
        if state["manifest"] != state["expected"]:
            wrong = sorted(set(state["manifest"]).symmetric_difference(state["expected"])) or [
                k for k in state["expected"] if state["manifest"].get(k) != state["expected"][k]
            ]
            found.append(f"the manifest does not match the files as they are: {wrong}")
    return found


if __name__ == "__main__":
    import sys

    print(json.dumps(index_state(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])))
