"""A BM25 index over the same chunks (bm25s, the engine under llama-index's BM25Retriever, tokenized the same way:
English stop words dropped, Snowball stems; and acronyms also kept in capitals), persisted beside Chroma.

It keeps each chunk's tokens, so a new index after an ingest tokenizes only the chunks that are new to it and never
reads the others back from Chroma: a chunk id hashes the text and metadata the tokens come from."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from guidechat.index.records import embedding_text
from guidechat.types import Chunk

FORMAT = 3  # 1: llama-index's BM25Retriever.persist (no tokens kept); 2: tokens without acronyms
_TOKEN_PATTERN = r"(?u)\b\w\w+\b"  # BM25Retriever's
_STOPWORDS = "english"
# A word in capitals with two or more capital letters (ALL, AML, HER2, BRCA1) is also indexed as itself, case kept.
# A question's acronym is searched that way only where its lower-cased word mostly means something else
# (Bm25Index.reads_as_another_word): "ALL" (acute lymphoblastic leukemia) is in 1,009
# PDQ chunks, "all" in 3,741. Elsewhere (AML, HER2) the lower-cased word already is the acronym.
ACRONYM = re.compile(r"\b(?=(?:[0-9]*[A-Z]){2})[A-Z0-9]+\b")
_OTHER_SENSE = 2

Fetch = Callable[[list[str]], dict[str, Chunk]]


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def _tokenize(texts: list[str], stemmer: Any) -> list[list[str]]:
    import bm25s

    if not texts:
        return []
    tokens: list[list[str]] = bm25s.tokenize(
        texts, stopwords=_STOPWORDS, stemmer=stemmer, token_pattern=_TOKEN_PATTERN, return_ids=False,
        show_progress=False,
    )
    return [words + ACRONYM.findall(text) for words, text in zip(tokens, texts, strict=True)]


class _Tokens:
    """Every indexed chunk's tokens: one flat array of vocabulary ids, cut by `offsets` (chunk i owns
    flat[offsets[i]:offsets[i + 1]])."""

    def __init__(self, vocab: list[str], flat: NDArray[np.int32], offsets: NDArray[np.int64]) -> None:
        self.vocab = vocab
        self.flat = flat
        self.offsets = offsets

    @classmethod
    def empty(cls) -> _Tokens:
        return cls([], np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64))


class Bm25Index:
    def __init__(self, bm25: Any | None, chunk_ids: list[str], tokens: _Tokens | None = None,
                 source: Path | None = None) -> None:
        self._bm25 = bm25
        self._ids = chunk_ids
        self._tokens = tokens  # None when loaded: read from `source` only if an update needs them
        self._source = source
        self._stemmer_: Any = None

    @classmethod
    def build(cls, chunks: Iterable[Chunk]) -> Bm25Index:
        known = {c.id: c for c in chunks}
        return cls(None, []).updated(list(known), lambda ids: {cid: known[cid] for cid in ids})

    def updated(self, chunk_ids: list[str], fetch: Fetch) -> Bm25Index:
        """A new index over exactly `chunk_ids`, in that order: tokens this index holds are reused; the chunks new
        to it are fetched (ids `fetch` does not return are left out) and tokenized."""
        import bm25s

        wanted = list(dict.fromkeys(chunk_ids))
        old = self._held_tokens()
        position = {cid: i for i, cid in enumerate(self._ids)} if old is not None else {}
        missing = [cid for cid in wanted if cid not in position]
        fetched = fetch(missing) if missing else {}
        new_ids = [cid for cid in missing if cid in fetched]
        new_tokens = _tokenize([embedding_text(fetched[cid]) for cid in new_ids], self._stemmer())

        # both in one id space: the old vocabulary, then the words only new chunks use
        vocab = list(old.vocab) if old is not None else []
        word_id = {w: i for i, w in enumerate(vocab)}
        for doc in new_tokens:
            for w in doc:
                if w not in word_id:
                    word_id[w] = len(vocab)
                    vocab.append(w)
        new_at = {cid: i for i, cid in enumerate(new_ids)}
        ids = [cid for cid in wanted if cid in position or cid in new_at]
        parts: list[NDArray[np.int32]] = []
        for cid in ids:
            if cid in position and old is not None:
                i = position[cid]
                parts.append(old.flat[old.offsets[i] : old.offsets[i + 1]])
            else:
                parts.append(np.fromiter((word_id[w] for w in new_tokens[new_at[cid]]), dtype=np.int32))
        lengths = np.array([len(p) for p in parts], dtype=np.int64)
        offsets = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(lengths)])
        flat = np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, dtype=np.int32)
        if not ids:
            return Bm25Index(None, [], _Tokens.empty())

        # a compact vocabulary in word order, whatever the history: the same chunks give the same index
        used = np.unique(flat)
        words = np.array([vocab[i] for i in used.tolist()], dtype=object)
        order = np.argsort(words.astype(str), kind="stable")
        remap = np.zeros(len(vocab) + 1, dtype=np.int32)
        remap[used[order]] = np.arange(len(used), dtype=np.int32)
        flat = remap[flat]
        compact = [str(w) for w in words[order]]
        bm25 = bm25s.BM25()
        _index(bm25, compact, flat, lengths)
        return Bm25Index(bm25, ids, _Tokens(compact, flat, offsets))

    def _held_tokens(self) -> _Tokens | None:
        if self._tokens is None and self._source is not None:
            self._tokens = _load_tokens(self._source, self._ids)
        return self._tokens

    def _stemmer(self) -> Any:
        if self._stemmer_ is None:
            self._stemmer_ = _stemmer()
        return self._stemmer_

    def save(self, path: Path, fingerprint: str) -> None:
        tokens = self._held_tokens()
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(json.dumps(self._ids))
        if tokens is not None:
            np.save(tmp / "tokens.npy", tokens.flat)
            np.save(tmp / "offsets.npy", tokens.offsets)
            (tmp / "words.json").write_text(json.dumps(tokens.vocab))
        (tmp / "guidechat.json").write_text(json.dumps({"fingerprint": fingerprint, "format": FORMAT}))
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)

    @staticmethod
    def is_fresh(path: Path, fingerprint: str) -> bool:
        saved = _saved(path)
        return saved.get("format") == FORMAT and saved.get("fingerprint") == fingerprint

    @classmethod
    def load(cls, path: Path, fingerprint: str | None) -> Bm25Index | None:
        """The saved index, or None when it is missing or was built from other chunks (fingerprint None: whatever
        chunks it was built from, as a source of tokens for the next one). One saved in another format was
        tokenized another way: nothing in it is reused."""
        if fingerprint is not None and not cls.is_fresh(path, fingerprint):
            return None
        if _saved(path).get("format") != FORMAT:
            return None
        try:
            return cls._read(path)
        except (OSError, ValueError, KeyError):
            if fingerprint is None:
                return None
            raise

    @classmethod
    def _read(cls, path: Path) -> Bm25Index:
        import bm25s

        ids = json.loads((path / "ids.json").read_text())
        if not (path / "params.index.json").exists():
            return cls(None, [], _Tokens.empty())  # saved empty
        return cls(bm25s.BM25.load(str(path), show_progress=False), ids, source=path)

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, n: int) -> list[tuple[str, float]]:
        """(chunk id, score) best first."""
        import bm25s

        if self._bm25 is None or not self._ids:
            return []
        words = bm25s.tokenize(
            query, stemmer=self._stemmer(), token_pattern=_TOKEN_PATTERN, return_ids=False, show_progress=False
        )[0]
        acronyms = [a for a in ACRONYM.findall(query) if self.reads_as_another_word(a)]
        found, scores = self._bm25.retrieve([words + acronyms], k=min(n, len(self._ids)), show_progress=False)
        return [(self._ids[int(i)], float(s)) for i, s in zip(found[0], scores[0], strict=True) if s > 0]

    def reads_as_another_word(self, acronym: str) -> bool:
        """Whether an acronym lower-cased is mostly another word ("ALL" and "all"; not "AML" and "aml"): a stop
        word, or a word that at least _OTHER_SENSE times as many chunks use as use the acronym."""
        from bm25s.stopwords import STOPWORDS_EN

        from guidechat.text import STOPWORDS

        lowered = acronym.lower()
        if lowered in STOPWORDS_EN or lowered in STOPWORDS:
            return True
        return self._frequency(self._stem(acronym)) >= _OTHER_SENSE * self._frequency(acronym) > 0

    def chunks_with(self, token: str, n: int) -> list[str]:
        """Ids of up to n chunks that hold this exact token (an acronym in capitals), the most weighted first."""
        if self._bm25 is None or not self._frequency(token):
            return []
        found, scores = self._bm25.retrieve([[token]], k=min(n, len(self._ids)), show_progress=False)
        return [self._ids[int(i)] for i, s in zip(found[0], scores[0], strict=True) if s > 0]

    def document_frequency(self, term: str) -> int:
        """How many chunks contain a (stemmed) term; 0 when the corpus never uses it."""
        return self._frequency(self._stem(term))

    def _stem(self, term: str) -> str:
        return str(self._stemmer().stemWord(term.lower()))

    def _frequency(self, token: str) -> int:
        if self._bm25 is None:
            return 0
        idx = self._bm25.vocab_dict.get(token)
        if idx is None:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[idx + 1] - indptr[idx])


def _index(bm25: Any, vocab: list[str], flat: NDArray[np.int32], lengths: NDArray[np.int64]) -> None:
    """What bm25s' BM25.index((token ids, vocab)) computes, with its own scoring functions, but over whole arrays
    instead of one document at a time (~1 s less for the PDQ corpus), and without counting capitals tokens in a
    chunk's length. tests/test_bm25.py holds the two equal."""
    from bm25s.scoring import _select_idf_scorer, _select_tfc_scorer

    n_docs, n_vocab = len(lengths), len(vocab)
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    # an acronym's capitals token is a second reading of a word already counted: not part of the chunk's length
    capitals = np.array([w != w.lower() for w in vocab], dtype=bool)
    lengths = lengths - np.bincount(doc_of[capitals[flat]], minlength=n_docs) if capitals.any() else lengths
    pairs, tf = np.unique(doc_of * n_vocab + flat, return_counts=True)  # each (document, term) once
    docs, terms = pairs // n_vocab, pairs % n_vocab
    df = np.bincount(terms, minlength=n_vocab)
    idf_of = _select_idf_scorer(bm25.idf_method)
    idf = np.array([idf_of(int(d), N=n_docs) if d else 0.0 for d in df], dtype=bm25.dtype)
    tfc = _select_tfc_scorer(bm25.method)(
        tf_array=tf.astype(bm25.dtype), l_d=lengths[docs], l_avg=lengths.mean(), k1=bm25.k1, b=bm25.b, delta=bm25.delta
    )
    scores = idf[terms] * tfc
    by_term = np.lexsort((docs, terms))  # column-major (bm25s keeps a document x term matrix in CSC)
    indptr = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(df)])
    bm25.scores = {
        "data": scores[by_term].astype(bm25.dtype),
        "indices": docs[by_term].astype(bm25.int_dtype),
        "indptr": indptr,
        "num_docs": n_docs,
    }
    bm25.nonoccurrence_array = None  # only BM25L and BM25+ have one; the default (Lucene) does not
    bm25.vocab_dict = {w: i for i, w in enumerate(vocab)}
    bm25.vocab_dict[""] = n_vocab  # index(create_empty_token=True) adds it: a query of no known words
    bm25.unique_token_ids_set = set(bm25.vocab_dict.values())


def _saved(path: Path) -> dict[str, Any]:
    try:
        saved = json.loads((path / "guidechat.json").read_text())
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def _load_tokens(path: Path, ids: list[str]) -> _Tokens | None:
    """The tokens saved with the index of these chunk ids; None when they are missing or the folder now holds
    another index."""
    try:
        flat = np.load(path / "tokens.npy")
        offsets = np.load(path / "offsets.npy")
        vocab = json.loads((path / "words.json").read_text())
        saved_ids = json.loads((path / "ids.json").read_text())
    except (OSError, ValueError):
        return None
    if saved_ids != ids or len(offsets) != len(ids) + 1 or int(offsets[-1]) != len(flat):
        return None
    return _Tokens(vocab, flat.astype(np.int32), offsets.astype(np.int64))
