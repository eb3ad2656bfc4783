"""Screening prioritisation: active learning over titles and abstracts, simulation, a stopping rule.

For the screening workspace (and anything else that shows records to a reviewer):

    from pipeline.screening.prioritisation import Ranker, stopping_estimate

    ranker = Ranker(records)          # once per review: pipeline.models.Record objects (title, the
                                      # abstract joined from its sections, keywords, MeSH), or
                                      # Document(record_id, title, abstract) for other sources
    decisions = {"pmid:123": True, "doi:10.1/x": False}   # record id -> include?, IN SCREENING ORDER
    ranker.next_batch(decisions, 10)  # the 10 unscreened record ids to show next
    ranker.rank(decisions)            # every unscreened id, most likely relevant first
    ranker.fit(decisions)             # {record id: score} for every record, higher = more relevant
    est = stopping_estimate(decisions, total=len(ranker), recall_target=0.95, confidence=0.95)
                                      # rule="decay" (default: a model of the include rate along the
                                      # ranking) or "buscar" (hypergeometric test); see stopping.py
    est.stop, est.p_value, est.expected_remaining, est.estimated_recall

Records are keyed by `record.record_id` (the core contract) or, for records without one, `pmid`.
Every call is pure given (records, decisions, seed): retraining is cheap (tens of milliseconds for
10,000 records), so the workspace can call `next_batch` after each decision. `stopping_estimate`
needs the decisions in the order they were made (a dict keeps insertion order).

`simulate(ranker, labels, seed=...)` replays a labelled dataset; `read_dataset` reads one (CSV/RIS);
`metrics` holds WSS@95, WSS@100, recall@10%. `python -m pipeline simulate` is the command line.
"""

from pipeline.screening.prioritisation.dataset import LabelledDataset, read_dataset
from pipeline.screening.prioritisation.features import Document, record_key, record_text
from pipeline.screening.prioritisation.ranker import ASREVIEW_DEFAULT, Ranker, RankerSettings
from pipeline.screening.prioritisation.simulation import Simulation, simulate
from pipeline.screening.prioritisation.stopping import StoppingEstimate, stopping_estimate, stopping_from_labels

__all__ = [
    "ASREVIEW_DEFAULT",
    "Document",
    "LabelledDataset",
    "Ranker",
    "RankerSettings",
    "Simulation",
    "StoppingEstimate",
    "read_dataset",
    "record_key",
    "record_text",
    "simulate",
    "stopping_estimate",
    "stopping_from_labels",
]
