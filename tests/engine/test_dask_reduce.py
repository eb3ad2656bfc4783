"""The Dask reduce: parts, whatever order their tasks completed in, applied in the files' order
exactly as the local source applies the files; and the map's submission order (largest first)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.engine.dask_engine import apply_parts, submission_order
from pipeline.engine.dask_tasks import MENTION_COLUMNS, LoadedPart
from pipeline.models import Mention, Quarantined, Record, SetAside
from pipeline.store.codec import content_hash, record_to_json


def version(pmid: str, title: str) -> tuple[str, str]:
    """(canonical JSON, content hash) of a record version."""
    text = record_to_json(Record(pmid=pmid, title=title))
    return text, content_hash(text)


def record(pmid: str, title: str, included: bool = True) -> tuple:
    text, digest = version(pmid, title)
    return ("record", pmid, f"pmid:{pmid}", True, included, digest, text, "", "")


def unmatched(pmid: str) -> tuple:
    return ("record", pmid, f"pmid:{pmid}", False, False, "", "", "", "")


def deleted(pmid: str) -> tuple:
    return ("deleted", pmid, f"pmid:{pmid}", False, False, "", "", "", "")


def quarantined(pmid: str, reason: str) -> tuple:
    return ("quarantined", pmid, "", False, False, "", "", reason, "update.xml")


def mention(pmid: str, text: str) -> Mention:
    return Mention(f"pmid:{pmid}", "title", 0, 0, len(text), text, "DRUG", text.lower())


def part(path: str, *items: tuple, mentions=None, set_aside=()) -> LoadedPart:
    return LoadedPart(path=path, items=list(items), mentions=dict(mentions or {}), set_aside=list(set_aside))


def key(pmid: str, title: str) -> tuple[str, str]:
    return (f"pmid:{pmid}", version(pmid, title)[1])


def test_a_later_files_version_replaces_the_earlier_one_with_its_mentions():
    base = part(
        "base.xml",
        record("1", "Ketamine v1"),
        record("2", "Esketamine"),
        mentions={key("1", "Ketamine v1"): [mention("1", "Ketamine")], key("2", "Esketamine"): [mention("2", "Esk")]},
    )
    update = part("update.xml", record("1", "Ketamine v2"), mentions={key("1", "Ketamine v2"): [mention("1", "K2")]})
    reduced = apply_parts([base, update])
    sel = reduced.selection
    assert {p: r.title for p, r in sel.records.items()} == {"1": "Ketamine v2", "2": "Esketamine"}
    assert sel.files == {"1": "update.xml", "2": "base.xml"} and sel.read == 3
    assert reduced.included == {key("1", "Ketamine v2"), key("2", "Esketamine")}
    # The replaced version's mentions are gone: only the kept versions' remain.
    assert reduced.mentions == {
        key("1", "Ketamine v2"): [mention("1", "K2")],
        key("2", "Esketamine"): [mention("2", "Esk")],
    }


def test_only_the_kept_versions_are_read_from_their_parts(tmp_path):
    """Parts read from their folders: the records' JSON is read for the versions the files' order
    keeps, never for those a later file replaces or deletes."""
    from pipeline.engine.dask_tasks import ITEM_COLUMNS, load_part
    from pipeline.outputs.files import parquet_bytes

    def written(name: str, *items: tuple):
        folder = tmp_path / name
        folder.mkdir()
        frame = pd.DataFrame(list(items), columns=ITEM_COLUMNS)
        (folder / "items.parquet").write_bytes(parquet_bytes(frame))
        pd.DataFrame(columns=MENTION_COLUMNS).to_parquet(folder / "mentions.parquet")
        (folder / "part.json").write_text("{}")
        return load_part(folder, f"{name}.xml")

    base = written("base", record("1", "Old"), record("2", "Kept"), record("3", "Deleted later"))
    update = written("update", record("1", "New"), deleted("3"))
    asked = []
    for loaded in (base, update):
        assert all(item[ITEM_COLUMNS.index("record_json")] == "" for item in loaded.items)
        read = loaded.record_texts
        loaded.record_texts = lambda rows, read=read, name=loaded.path: asked.append((name, rows)) or read(rows)
    reduced = apply_parts([base, update])
    assert {p: r.title for p, r in reduced.selection.records.items()} == {"1": "New", "2": "Kept"}
    assert sorted(asked) == [("base.xml", [1]), ("update.xml", [0])]


def test_the_files_order_decides_not_the_order_the_parts_came_in():
    first = part("a.xml", record("1", "Old"), mentions={key("1", "Old"): [mention("1", "Old")]})
    second = part("b.xml", record("1", "New"), mentions={key("1", "New"): [mention("1", "New")]})
    assert apply_parts([first, second]).selection.records["1"].title == "New"
    assert apply_parts([second, first]).selection.records["1"].title == "Old"


def test_a_delete_citation_removes_the_record_until_a_later_version_brings_it_back():
    base = part("base.xml", record("1", "A"), record("2", "B"), mentions={key("1", "A"): [mention("1", "A")]})
    deletions = part("u1.xml", deleted("1"), deleted("2"))
    revived = part("u2.xml", record("2", "B again"))
    reduced = apply_parts([base, deletions])
    assert reduced.selection.records == {} and reduced.selection.deleted == {"1", "2"}
    assert reduced.included == set() and reduced.mentions == {}
    reduced = apply_parts([base, deletions, revived])
    assert list(reduced.selection.records) == ["2"] and reduced.selection.deleted == {"1"}
    assert reduced.selection.files["2"] == "u2.xml"


def test_a_later_version_that_no_longer_matches_drops_the_record_without_deleting_it():
    reduced = apply_parts([part("base.xml", record("1", "Ketamine")), part("update.xml", unmatched("1"))])
    assert reduced.selection.records == {} and reduced.selection.deleted == set()
    assert reduced.selection.read == 2 and reduced.included == set()


def test_a_version_the_rules_excluded_is_kept_but_not_extracted():
    reduced = apply_parts([part("base.xml", record("1", "A comment", included=False))])
    assert list(reduced.selection.records) == ["1"] and reduced.included == set()


def test_within_a_file_the_items_apply_in_document_order():
    reduced = apply_parts([part("u.xml", deleted("1"), record("1", "Back"), record("2", "Gone"), deleted("2"))])
    assert list(reduced.selection.records) == ["1"] and reduced.selection.deleted == {"2"}


def test_quarantined_records_are_listed_in_file_order_and_counted_apart():
    reduced = apply_parts(
        [
            part("a.xml", quarantined("7", "no PMID"), record("1", "A")),
            part("b.xml", quarantined("8", "bad date")),
        ]
    )
    assert reduced.selection.quarantined == [
        Quarantined(pmid="7", reason="no PMID", source="update.xml"),
        Quarantined(pmid="8", reason="bad date", source="update.xml"),
    ]
    assert reduced.selection.read == 1


def test_set_asides_follow_the_kept_version():
    old, new = key("1", "Old"), key("1", "New")
    reduced = apply_parts(
        [
            part("a.xml", record("1", "Old"), set_aside=[(old[1], SetAside("pmid:1", "too long", "extraction"))]),
            part("b.xml", record("1", "New"), record("2", "Other")),
        ]
    )
    assert reduced.set_aside == {} and new in reduced.included
    reduced = apply_parts(
        [part("b.xml", record("1", "New"), set_aside=[(new[1], SetAside("pmid:1", "too long", "extraction"))])]
    )
    assert reduced.set_aside == {new: SetAside("pmid:1", "too long", "extraction")}


def test_the_same_version_in_two_files_keeps_one_copy_of_its_mentions():
    same = {key("1", "Same"): [mention("1", "Same")]}
    reduced = apply_parts(
        [part("a.xml", record("1", "Same"), mentions=same), part("b.xml", record("1", "Same"), mentions=same)]
    )
    assert reduced.mentions == same and reduced.selection.files["1"] == "b.xml" and reduced.selection.read == 2


def test_no_parts_give_an_empty_selection():
    reduced = apply_parts([])
    assert (reduced.selection.records, reduced.selection.read, reduced.included, reduced.mentions) == ({}, 0, set(), {})


@pytest.mark.parametrize(
    "sizes, expected",
    [
        ([10, 30, 20], [1, 2, 0]),
        ([5, 5, 9, 5], [2, 0, 1, 3]),  # ties keep the files' order
        ([], []),
    ],
)
def test_the_map_submits_the_largest_files_first(tmp_path, sizes, expected):
    files = []
    for i, size in enumerate(sizes):
        files.append(tmp_path / f"{i}.xml")
        files[-1].write_bytes(b"x" * size)
    assert submission_order(files) == expected


def test_a_file_that_cannot_be_read_goes_last_for_its_task_to_report_it(tmp_path):
    (tmp_path / "a.xml").write_bytes(b"x")
    assert submission_order([Path(tmp_path / "missing.xml"), tmp_path / "a.xml"]) == [1, 0]
