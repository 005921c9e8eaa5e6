"""`kelambu dedup_eval`: scores an exported deduplication against a synth truth file."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

TRUTH = "record_id,person_key,corruptions\nR1,P1,none\nR2,P1,respell\nR3,P2,none\nR4,P2,moved\n"
CLUSTERS = ("source_batch,record_id,person_id,proposed_person_id,match_probability\n"
            "1,R1,1,,\n1,R2,1,,\n1,R3,3,,\n1,R4,4,3,0.7\n")


def run(*args) -> str:
    out = StringIO()
    call_command("dedup_eval", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.fixture
def files(tmp_path):
    truth, clusters = tmp_path / "truth.csv", tmp_path / "clusters.csv"
    truth.write_text(TRUTH)
    clusters.write_text(CLUSTERS)
    return clusters, truth


def test_prints_and_writes_the_report(files, tmp_path, capsys):
    clusters, truth = files
    report = tmp_path / "eval.json"
    run("--clusters", clusters, "--truth", truth, "--report", report)
    printed = capsys.readouterr().out
    assert "if accepted" in printed and "merged" in printed and "1.0000" in printed
    data = json.loads(report.read_text())
    assert data["if_accepted"]["pairwise"]["recall"] == 1.0
    assert data["merged"]["pairwise"]["recall"] == 0.5
    assert data["counts"]["pending_review"] == 1


@pytest.mark.parametrize("case, message", [
    ("missing", "clusters file not found"),
    ("columns", "lacks column"),
    ("no_overlap", "no record_id of"),
])
def test_bad_files_are_command_errors(files, tmp_path, case, message):
    clusters, truth = files
    if case == "missing":
        clusters = tmp_path / "nope.csv"
    elif case == "columns":
        clusters.write_text("id,person\n1,2\n")
    else:
        clusters.write_text("record_id,person_id\nX1,1\n")
    with pytest.raises(CommandError, match=message):
        run("--clusters", clusters, "--truth", truth)


def test_unwritable_report_is_a_command_error(files, tmp_path):
    clusters, truth = files
    with pytest.raises(CommandError, match="cannot write"):
        run("--clusters", clusters, "--truth", truth, "--report", tmp_path / "no" / "dir" / "r.json")
