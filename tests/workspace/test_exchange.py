"""`decisions import` (our CSV, ASReview and Rayyan exports) and `decisions export` (CSV, RIS)."""

from __future__ import annotations

import csv

from pipeline.store.human import DecisionLog


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def stored(review):
    with DecisionLog.open(review.out) as log:
        return [(e.record_id, e.reviewer, e.decision, e.reason, e.note, e.role) for e in log.rows()]


def test_import_our_csv_by_record_id_pmid_and_doi(invoke, screening_review, tmp_path):
    f = write(
        tmp_path / "d.csv",
        "record_id,pmid,doi,decision,reason,reviewer,note\n"
        "pmid:30000001,,,include,,ana,clear RCT\n"
        ",30000005,,exclude,wrong design,ben,\n"
        ",,https://doi.org/10.1176/APPI.AJP.2017.17040472,include,,ben,\n",
    )
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"{f}: 3 decisions imported (csv format).\n"
        "Tables updated: outputs rebuilt: 1 records included by people in the evidence table, 5 awaiting screening.\n"
    )
    assert stored(screening_review) == [
        ("pmid:30000001", "ana", "include", "", "clear RCT", "import"),
        ("pmid:30000005", "ben", "exclude", "wrong design", "", "import"),
        ("pmid:30000001", "ben", "include", "", "", "import"),
    ]


def test_unknown_identifiers_are_reported_and_nothing_is_imported(invoke, screening_review, tmp_path):
    f = write(
        tmp_path / "d.csv", "pmid,decision\n30000001,include\n99999999,exclude\n30000002,include\n30000009,perhaps\n"
    )
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f, "--reviewer", "ana")
    assert result.exit_code == 2
    assert result.stderr == (
        "  line 3: PMID 99999999 is not a record of this review's screening queue\n"
        "  line 4: PMID 30000002 is not a record of this review's screening queue\n"
        "  line 5: decision 'perhaps' is not include or exclude\n"
        f"Error: 3 rows of {f} were not imported (listed above); fix them and import the file again "
        "(nothing from the file was imported).\n"
    )
    assert stored(screening_review) == []


def test_import_needs_a_reviewer_from_the_config(invoke, screening_review, tmp_path):
    f = write(tmp_path / "d.csv", "pmid,decision\n30000001,include\n")
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f)
    assert result.exit_code == 2
    assert "line 2: reviewer '' is not in the config's reviewers (ana, ben); pass --reviewer NAME" in result.stderr


def test_import_an_asreview_export(invoke, screening_review, tmp_path):
    # ASReview LAB's export: its own record_id (a row number), title, abstract, doi, label column.
    f = write(
        tmp_path / "asreview.csv",
        "record_id,title,abstract,doi,pmid,asreview_label\n"
        "0,Efficacy...,x,10.1176/appi.ajp.2017.17040472,,1\n"
        "1,Synaptogenesis...,x,,30000005,0\n"
        "2,Unscreened,x,,30000009,\n",
    )
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f, "--reviewer", "ana")
    assert result.stdout.splitlines()[0] == f"{f}: 2 decisions imported (asreview format)."
    assert stored(screening_review) == [
        ("pmid:30000001", "ana", "include", "", "", "import"),
        ("pmid:30000005", "ana", "exclude", "", "", "import"),
    ]


def test_import_a_rayyan_export_with_each_members_vote(invoke, screening_review, tmp_path):
    rows = [
        ["key", "title", "url", "doi", "notes"],
        [
            "r1",
            "Efficacy",
            "https://www.ncbi.nlm.nih.gov/pubmed/30000001",
            "",
            'RAYYAN-INCLUSION: {"ana"=>"Included", "ben"=>"Excluded"} | RAYYAN-EXCLUSION-REASONS: wrong population',
        ],
        ["r2", "Spravato", "", "", 'RAYYAN-INCLUSION: {"ana"=>"Maybe"}'],
        ["r3", "Not decided", "https://pubmed.ncbi.nlm.nih.gov/30000010/", "", ""],
    ]
    with open(tmp_path / "rayyan.csv", "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    f = tmp_path / "rayyan.csv"
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f)
    assert result.exit_code == 2  # r2 names no record this review knows
    assert "line 3: title 'Spravato' is not a record of this review's screening queue" in result.stderr
    rows[2][2] = "https://pubmed.ncbi.nlm.nih.gov/30000009/"
    with open(f, "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    result = invoke("decisions", "import", "--config", screening_review.config, "--file", f)
    assert result.stdout.splitlines()[0] == f"{f}: 3 decisions imported (rayyan format)."
    assert stored(screening_review) == [
        ("pmid:30000001", "ana", "include", "", "", "import"),
        ("pmid:30000001", "ben", "exclude", "wrong population", "", "import"),
        ("pmid:30000009", "ana", "maybe", "", "", "import"),
    ]


def test_export_csv_and_ris(invoke, screening_review, tmp_path):
    f = write(tmp_path / "d.csv", "pmid,decision,reason\n30000001,include,\n30000005,exclude,wrong design\n")
    assert (
        invoke("decisions", "import", "--config", screening_review.config, "--file", f, "--reviewer", "ana").exit_code
        == 0
    )
    result = invoke("decisions", "export", "--config", screening_review.config, "--format", "csv")
    assert result.stdout == f"2 decisions written to {screening_review.out / 'decisions.csv'}\n"
    with open(screening_review.out / "decisions.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [
        (r["seq"], r["pmid"], r["reviewer"], r["decision"], r["reason"], r["role"], r["in_force"]) for r in rows
    ] == [
        ("1", "30000001", "ana", "include", "", "import", "True"),
        ("2", "30000005", "ana", "exclude", "wrong design", "import", "True"),
    ]
    target = tmp_path / "d.ris"
    result = invoke("decisions", "export", "--config", screening_review.config, "--format", "ris", "--file", target)
    assert result.stdout == f"2 decisions written to {target}\n"
    ris = target.read_bytes().decode()
    assert ris.count("ER  - ") == 2
    assert "N1  - screening: include by ana\r\nER  - " in ris
    assert "N1  - screening: exclude (wrong design) by ana\r\nER  - " in ris
