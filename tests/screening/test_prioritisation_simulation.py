"""Simulated screening: priors at random, every record once, reproducible for a seed."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pipeline.errors import DatasetError
from pipeline.screening.prioritisation import Document, Ranker, RankerSettings, read_dataset, simulate
from pipeline.screening.prioritisation.simulation import order_csv
from pipeline.screening.prioritisation.stopping import first_stop


def test_every_record_once_priors_first(labelled_csv):
    data = read_dataset(labelled_csv)
    sim = simulate(Ranker(data.documents), data.labels, seed=1, prior_included=2, prior_excluded=3)
    assert sorted(sim.order.tolist()) == list(range(48))
    assert sim.labels[:2].tolist() == [1, 1] and sim.labels[2:5].tolist() == [0, 0, 0]
    assert (sim.labels == data.labels[sim.order]).all()
    result = sim.result()
    assert set(result) == {
        "records",
        "includes",
        "wss@95",
        "wss@100",
        "recall@10%",
        "n95",
        "n100",
        "stop_position",
        "recall_at_stop",
        "seconds",
    }
    assert result["records"] == 48 and result["includes"] == 12
    assert 5 <= result["stop_position"] <= 48


def test_priors_are_random_not_the_top_of_the_file(labelled_csv):
    data = read_dataset(labelled_csv)  # includes are rows 0-11, sorted first
    first = {tuple(simulate(Ranker(data.documents), data.labels, seed=s).order[:2].tolist()) for s in range(8)}
    assert len(first) > 1 and any(include != 0 for include, _exclude in first)


def test_same_seed_same_order_and_other_seeds_differ(labelled_csv):
    data = read_dataset(labelled_csv)
    settings_ = RankerSettings(presumed_negatives=10, retrain_fraction=0.1)
    a = simulate(Ranker(data.documents, settings_, seed=4), data.labels, seed=4)
    b = simulate(Ranker(data.documents, settings_, seed=4), data.labels, seed=4)
    c = simulate(Ranker(data.documents, settings_, seed=5), data.labels, seed=5)
    assert a.order.tolist() == b.order.tolist() and a.stop_position == b.stop_position
    assert a.order.tolist() != c.order.tolist()


def test_the_ranker_beats_reading_top_down_on_a_shuffled_set(labelled_csv):
    data = read_dataset(labelled_csv)
    result = simulate(Ranker(data.documents), data.labels, seed=0).result()
    assert result["n100"] <= 20  # 12 includes among 48: found within 20 records


@pytest.mark.parametrize("rule", ["decay", "buscar"])
def test_the_stopping_point_is_the_rules_first_stop_fitted_after_the_priors(labelled_csv, rule):
    data = read_dataset(labelled_csv)
    sim = simulate(Ranker(data.documents), data.labels, seed=1, prior_included=2, stopping_rule=rule)
    assert (sim.stop_position, sim.stop) == first_stop(sim.labels, rule=rule, fit_from=3)
    assert sim.stop.rule == rule and sim.stop.stop


def test_order_csv_lists_position_row_label(labelled_csv):
    data = read_dataset(labelled_csv)
    sim = simulate(Ranker(data.documents), data.labels, seed=2)
    lines = order_csv(sim).splitlines()
    assert lines[0] == "position,row,label"
    assert lines[1] == f"1,{sim.order[0]},1" and lines[2] == f"2,{sim.order[1]},0"
    assert len(lines) == 49


def test_too_many_priors_is_a_dataset_error(labelled_csv):
    data = read_dataset(labelled_csv)
    with pytest.raises(DatasetError) as error:
        simulate(Ranker(data.documents), data.labels, prior_included=13)
    assert str(error.value) == "13 prior includes asked for, but the dataset has 12 includes"


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["ketamine depression", "hip fracture", "asthma", ""]), st.integers(0, 1)),
        min_size=2,
        max_size=40,
    ).filter(lambda rows: 0 < sum(y for _, y in rows) < len(rows)),
    st.integers(0, 3),
    st.sampled_from([0.0, 0.1]),
)
def test_any_small_dataset_is_screened_completely(rows, seed, fraction):
    docs = [Document(str(i), title) for i, (title, _) in enumerate(rows)]
    labels = np.array([y for _, y in rows])
    sim = simulate(Ranker(docs, RankerSettings(retrain_fraction=fraction)), labels, seed=seed)
    assert sorted(sim.order.tolist()) == list(range(len(rows)))
    assert labels[sim.order[0]] == 1 and labels[sim.order[1]] == 0
    result = sim.result()
    assert 0 <= result["recall@10%"] <= 1 and 0 <= result["recall_at_stop"] <= 1
    assert 2 <= result["stop_position"] <= len(rows)
