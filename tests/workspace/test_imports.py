"""`decisions import` of ASReview LAB project files (.asreview, every layout 1.x-3.x) and Rayyan RIS
exports: ASReview's record ids mapped back to our records, each Rayyan member's vote, unknown
identifiers reported (nothing stored), exact messages for broken files, the format told by content."""

from __future__ import annotations

import csv
import shutil
import zipfile

import pytest

from pipeline.config import load_config
from pipeline.outputs.ris import ris_entry
from pipeline.store.human import DecisionLog
from pipeline.workspace.service import Workspace
from tests.support.paths import FIXTURES

RAYYAN = FIXTURES / "decisions" / "rayyan.ris"
FOREIGN = (
    "TY  - JOUR\r\nTI  - Ketamine infusions in a veterinary clinic: an audit.\r\nPY  - 2020\r\n"
    "DO  - 10.5555/vet.2020.114\r\nAN  - 31234567\r\nER  - \r\n\r\n"
)


def stored(review):
    with DecisionLog.open(review.out) as log:
        return [(e.record_id, e.reviewer, e.decision, e.reason, e.note, e.role) for e in log.rows()]


def queue_ris(review) -> tuple[list[str], str]:
    """The queue as the RIS our `export` hands to ASReview, plus a record this review does not have:
    (our record ids in the file's order, the RIS text)."""
    ws = Workspace(load_config(review.config))
    try:
        queue = list(ws.queue().values())
    finally:
        ws.close()
    return [q.record_id for q in queue], "".join(ris_entry(q.record) for q in queue) + FOREIGN


def test_a_rayyan_ris_export_imports_each_members_vote(invoke, screening_review, tmp_path):
    f = shutil.copy(RAYYAN, tmp_path / "rayyan-export.txt")  # the name does not matter: the content does
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"{f}: 5 decisions imported (rayyan-ris format)."
    assert stored(screening_review) == [
        ("pmid:30000001", "ana", "include", "", "", "import"),
        ("pmid:30000001", "ben", "exclude", "wrong population", "adolescents only", "import"),
        ("pmid:30000009", "ana", "maybe", "", "", "import"),
        ("pmid:30000005", "ana", "exclude", "wrong design; wrong intervention", "", "import"),
        ("pmid:30000005", "ben", "exclude", "wrong design; wrong intervention", "", "import"),
    ]
    # the import brought the tables up to date: nobody ran publish
    with open(screening_review.out / "records.csv", encoding="utf-8-sig", newline="") as table:
        records = {r["record_id"]: r for r in csv.DictReader(table)}
    assert (records["pmid:30000005"]["human_decision"], records["pmid:30000005"]["screened_by"]) == ("exclude", "ben")


def test_rayyan_records_and_members_this_review_does_not_know_are_reported(invoke, screening_review, tmp_path):
    text = (
        RAYYAN.read_bytes()
        .decode("utf-8")
        .replace(
            "DO  - 10.5555/vet.2020.114\r\n",
            'DO  - 10.5555/vet.2020.114\r\nN1  - RAYYAN-INCLUSION: {"Ana"=>"Included"}\r\n',
        )
    )
    text = text.replace('{"Ana"=>"Maybe"}', '{"Cy"=>"Maybe"}')
    f = tmp_path / "rayyan.ris"
    f.write_text(text, encoding="utf-8", newline="")
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f)
    assert result.exit_code == 2
    assert result.stderr == (
        "  record 2 (line 13): reviewer 'Cy' is not in the config's reviewers (ana, ben); pass --reviewer NAME\n"
        "  record 4 (line 31): DOI 10.5555/vet.2020.114 / title 'Ketamine infusions in a veterinary clinic: an "
        "audit.' is not a record of this review's screening queue\n"
        f"Error: 2 records of {f} were not imported (listed above); fix them and import the file again (nothing "
        "from the file was imported).\n"
    )
    assert stored(screening_review) == []


def test_an_ris_file_without_rayyan_decisions_is_refused(invoke, screening_review, tmp_path):
    f = tmp_path / "plain.ris"
    f.write_text("TY  - JOUR\nTI  - Something\nER  - \n", encoding="utf-8")
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {f}: an RIS file without screening decisions (no RAYYAN-INCLUSION note in any record). Export "
        "from Rayyan with the decisions included, or import a CSV with a decision column.\n"
    )


@pytest.mark.parametrize("layout", ["1.x", "2.x", "3.x"])
def test_an_asreview_project_file_maps_asreview_ids_back_to_records(
    invoke, screening_review, tmp_path, asreview_project, layout
):
    ids, dataset = queue_ris(screening_review)
    labels = [(2, 1, "clear mechanism paper"), (0, 0, None), (4, 1, ""), (5, None, None), (0, 1, "")]
    f = asreview_project(tmp_path / "ketamine.zip", layout, dataset, labels)
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f, "--reviewer", "ben")
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout.splitlines()[0] == f"{f}: 3 decisions imported (asreview-project (ASReview LAB {layout}) format)."
    )
    # record 0 was relabelled: its latest label counts; record 5 is still pending in ASReview
    assert stored(screening_review) == [
        (ids[2], "ben", "include", "", "clear mechanism paper", "import"),
        (ids[4], "ben", "include", "", "", "import"),
        (ids[0], "ben", "include", "", "", "import"),
    ]


def test_asreview_1x_ids_are_the_datasets_record_id_column(invoke, screening_review, tmp_path, asreview_project):
    dataset = (
        "record_id,title,abstract,doi,pmid\n"
        "17,Clinical applications of ketamine in depression.,x,,30000004\n"
        "23,Esketamine nasal spray,x,10.4088/jcp.19m12891,\n"
    )
    f = asreview_project(tmp_path / "p.asreview", "1.x", dataset, [(23, 0, ""), (17, 1, "")], "ketamine.csv")
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f, "--reviewer", "ana")
    assert result.exit_code == 0, result.stderr
    assert stored(screening_review) == [
        ("pmid:30000009", "ana", "exclude", "", "", "import"),
        ("pmid:30000004", "ana", "include", "", "", "import"),
    ]


@pytest.mark.parametrize("layout", ["1.x", "3.x"])
def test_asreview_records_this_review_does_not_have_are_reported(
    invoke, screening_review, tmp_path, asreview_project, layout
):
    ids, dataset = queue_ris(screening_review)
    f = asreview_project(tmp_path / "p.asreview", layout, dataset, [(1, 1, ""), (len(ids), 1, "")])
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f, "--reviewer", "ana")
    assert result.exit_code == 2
    assert result.stderr == (
        f"  ASReview record {len(ids)}: PMID 31234567 / DOI 10.5555/vet.2020.114 / title 'Ketamine infusions in a "
        "veterinary clinic: an audit.' is not a record of this review's screening queue\n"
        f"Error: 1 record of {f} was not imported (listed above); fix them and import the file again (nothing "
        "from the file was imported).\n"
    )
    assert stored(screening_review) == []


def test_an_asreview_project_needs_the_reviewer(invoke, screening_review, tmp_path, asreview_project):
    _, dataset = queue_ris(screening_review)
    f = asreview_project(tmp_path / "p.asreview", "2.x", dataset, [(1, 1, "")])
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {f}: an ASReview project does not record who screened; pass --reviewer NAME (one of: ana, ben).\n"
    )


def broken(tmp_path, kind: str, asreview_project, dataset: str):
    layout = "1.x" if kind == "no data" else "3.x"
    f = asreview_project(tmp_path / "good.asreview", layout, dataset, [(1, 1, "")])
    target = tmp_path / "broken.asreview"
    with zipfile.ZipFile(f) as z:
        members = {n: z.read(n) for n in z.namelist()}
    if kind == "truncated":
        target.write_bytes(f.read_bytes()[:200])
        return target
    if kind == "no project.json":
        members.pop("project.json")
    elif kind == "bad json":
        members["project.json"] = b'{"version": "1.6.2",'
    elif kind == "no results":
        members = {n: b for n, b in members.items() if "results" not in n}
    elif kind == "not sqlite":
        members["results.db"] = b"this is not a database, just text padded out " * 4
    elif kind == "no data":
        members = {n: b for n, b in members.items() if not n.startswith("data/")}
    with zipfile.ZipFile(target, "w") as z:
        for name, body in members.items():
            z.writestr(name, body)
    return target


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (
            "truncated",
            "not a readable ASReview project file (.asreview files are zip archives): File is not a zip file.",
        ),
        (
            "no project.json",
            "no project.json inside, so not an ASReview project file; export the project from ASReview LAB "
            "(Projects > Export project) and import that file.",
        ),
        (
            "bad json",
            "project.json is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 21 (char 20)).",
        ),
        (
            "no results",
            "no screening results inside (looked for results.db, reviews/<id>/results.db and "
            "reviews/<id>/results.sql); export the project again from ASReview LAB after screening.",
        ),
        ("not sqlite", "results.db is not an ASReview results database (file is not a database)."),
        (
            "no data",
            "the dataset data/records.ris that project.json names is missing, so ASReview's record ids cannot "
            "be matched to records.",
        ),
    ],
)
def test_broken_asreview_project_files_get_exact_messages(
    invoke, screening_review, tmp_path, asreview_project, kind, message
):
    _, dataset = queue_ris(screening_review)
    f = broken(tmp_path, kind, asreview_project, dataset)
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f, "--reviewer", "ana")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {f}: {message}\n"
    assert stored(screening_review) == []
