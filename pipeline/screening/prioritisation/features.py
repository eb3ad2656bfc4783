"""What the ranker reads from a record: its text, turned into TF-IDF vectors once per review.

A record is anything with a `title` and an `abstract` (a `pipeline.models.Record`, whose abstract
joins its sections, or a `Document` built from a labelled CSV). Author keywords and MeSH headings
are added when the record carries them: they are the indexers' summary of what it is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer

_HASH_FEATURES = 2**20


@dataclass(frozen=True)
class Document:
    """The least a record needs for ranking: an id, a title and an abstract (either may be empty)."""

    record_id: str
    title: str = ""
    abstract: str = ""
    keywords: tuple[str, ...] = ()


def record_key(record: Any) -> str:
    """The id decisions are keyed by: `record_id` when the record has one, else `pmid`."""
    key = getattr(record, "record_id", "") or getattr(record, "pmid", "")
    if not key:
        raise ValueError(f"record has neither record_id nor pmid: {record!r:.80}")
    return str(key)


def record_text(record: Any, title_weight: int = 1) -> str:
    """Title, abstract, author keywords and MeSH descriptors as one text (empty parts skipped); the
    title `title_weight` times, so its terms count more than the abstract's."""
    title = getattr(record, "title", "") or ""
    parts = [title] * max(1, title_weight) + [getattr(record, "abstract", "") or ""]
    parts += list(getattr(record, "keywords", ()) or ())
    parts += [m.descriptor for m in getattr(record, "mesh_headings", ()) or ()]
    return " ".join(p for p in parts if p)


def tfidf_matrix(
    texts: Sequence[str],
    *,
    ngram_max: int = 2,
    min_df: int = 1,
    max_df: float = 0.95,
    sublinear_tf: bool = True,
    stop_words: str | None = None,
) -> sparse.csr_matrix:
    """TF-IDF rows (L2-normalised) for every text; word 1..ngram_max grams.

    Terms are hashed into 2**20 columns instead of being collected into a vocabulary: the same
    TF-IDF up to rare collisions, at less than half the cost (building and sorting the vocabulary
    of bigrams was most of the time of a simulation). Terms in fewer than `min_df` or more than
    `max_df` (a fraction) of the records are dropped, as a vocabulary would. The weights are learnt
    from the review's own records (no downloaded weights). A review whose records are all empty gets
    one constant column instead of an error, so ranking still works (by prior order).
    """
    hashed = (
        HashingVectorizer(
            ngram_range=(1, ngram_max),
            n_features=_HASH_FEATURES,
            alternate_sign=False,
            norm=None,
            stop_words=stop_words,
            dtype=np.float64,
        )
        .transform(list(texts))
        .tocsc()
    )
    df = np.diff(hashed.indptr)
    keep = (df >= min_df) & (df <= max_df * hashed.shape[0]) & (df > 0)
    if not keep.any():
        return sparse.csr_matrix(np.ones((len(texts), 1)))
    counts = hashed[:, np.flatnonzero(keep)].tocsr()
    return TfidfTransformer(sublinear_tf=sublinear_tf).fit_transform(counts).tocsr()


def texts_of(records: Iterable[Any], title_weight: int = 1) -> list[str]:
    return [record_text(r, title_weight) for r in records]


def with_lsa(matrix: sparse.csr_matrix, components: int, weight: float, *, seed: int = 0) -> sparse.csr_matrix:
    """TF-IDF rows with `components` latent semantic dimensions (truncated SVD) appended.

    The SVD dimensions let two records that share few exact words but many co-occurring ones look
    alike, which helps most early on, when only one or two includes are known. Both parts are
    L2-normalised, the latent part scaled by `weight`. Deterministic for a seed.
    """
    from sklearn.decomposition import TruncatedSVD

    k = min(components, matrix.shape[1] - 1, matrix.shape[0] - 1)
    if k < 2:
        return matrix
    latent = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=4, random_state=seed).fit_transform(matrix)
    norms = np.linalg.norm(latent, axis=1, keepdims=True)
    latent = np.divide(latent, norms, out=np.zeros_like(latent), where=norms > 0) * weight
    return sparse.hstack([matrix, sparse.csr_matrix(latent)], format="csr")


def with_char_ngrams(matrix: sparse.csr_matrix, texts: Sequence[str]) -> sparse.csr_matrix:
    """Word TF-IDF rows with character 3-5 gram TF-IDF (inside word boundaries) appended, each half
    L2-normalised and scaled by 1/sqrt(2): "antipsychotic" and "antipsychotics" then share most
    features, which word n-grams miss."""
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, max_df=0.95, sublinear_tf=True)
    try:
        extra = chars.fit_transform(list(texts)).tocsr()
    except ValueError:
        return matrix
    return (sparse.hstack([matrix, extra], format="csr") / np.sqrt(2)).tocsr()
