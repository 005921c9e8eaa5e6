"""The double-funding report: the same person paid for twice in the same months."""

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kelambu.dedup import funding
from kelambu.dedup.models import Pair, PairKind
from kelambu.registry.models import Person
from kelambu.registry.services import ImportOptions, import_list, parse_months

pytestmark = pytest.mark.django_db


def _list(tmp_path: Path, name: str, rows: list[tuple], sponsor: str, months: str | None, source="sponsor"):
    path = tmp_path / name
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ID", "NIK", "Nama", "JK", "Tanggal Lahir", "Kode Desa"])
        w.writerows(rows)
    from kelambu.programs.models import Sponsor

    entity = Sponsor.objects.get_or_create(name=sponsor, defaults={"kind": "csr"})[0] if source == "sponsor" else None
    options = ImportOptions(source=source, sponsor=entity,
                            funded_months=parse_months(months) if months else None)
    batch, _ = import_list(path, options, "test")
    assert batch.status == "done", batch.report
    return batch


SITI = ("A1", "1606014501900001", "Siti Aminah", "P", "05-01-1990", "16.06.01.2001")
BUDI = ("A2", "1606011203800001", "Budi Santoso", "L", "12-03-1980", "16.06.01.2001")


def test_parse_months():
    assert parse_months("2026-10:2026-12") == (date(2026, 10, 1), date(2026, 12, 1))
    assert parse_months("2026-10") == (date(2026, 10, 1), date(2026, 10, 1))
    for bad in ("2026-13", "10-2026", "2026-01:", "x"):
        with pytest.raises(ValueError):
            parse_months(bad)


def test_months_must_be_in_order(tmp_path):
    with pytest.raises(ValueError, match="before"):
        _list(tmp_path, "a.csv", [SITI], "PT A", "2026-12:2026-01")


def test_two_sponsors_same_person_same_months(tmp_path):
    a = _list(tmp_path, "a.csv", [SITI, BUDI], "PT Alpha", "2026-01:2026-06")
    b = _list(tmp_path, "b.csv", [SITI], "PT Beta", "2026-06:2026-12")
    # A third list, after the others' months: no overlap.
    _list(tmp_path, "c.csv", [BUDI], "PT Gamma", "2026-07:2026-12")
    cases = funding.double_funding()
    assert cases.height == 1
    case = cases.row(0, named=True)
    assert case["status"] == "confirmed"
    assert {case["funder"], case["other_funder"]} == {"PT Alpha", "PT Beta"}
    assert {case["batch_id"], case["other_batch_id"]} == {a.pk, b.pk}
    assert (case["overlap_from"], case["overlap_to"]) == (date(2026, 6, 1), date(2026, 6, 1))


def test_a_resent_list_is_not_double_funding(tmp_path):
    _list(tmp_path, "a.csv", [SITI], "PT Alpha", "2026-01:2026-12")
    _list(tmp_path, "b.csv", [SITI, BUDI], "PT Alpha", "2026-01:2026-12")
    assert funding.double_funding().is_empty()


def test_lists_without_months_are_not_funding(tmp_path):
    _list(tmp_path, "a.csv", [SITI], "PT Alpha", None)
    _list(tmp_path, "b.csv", [SITI, BUDI], "PT Beta", "2026-01:2026-12")
    assert funding.double_funding().is_empty()


def test_merged_and_suspected_records(tmp_path, personas):
    from kelambu.dedup import services

    _list(tmp_path, "a.csv", [SITI], "PT Alpha", "2026-01:2026-12")
    # The same woman without a NIK in a village roster paid by the village budget.
    _list(tmp_path, "b.csv", [("D1", "", "Sity Aminah", "P", "05-01-1990", "16.06.01.2001")], "",
          "2026-03:2026-05", source="village")
    siti = Person.objects.get(nik="1606014501900001")
    other = Person.objects.get(name="Sity Aminah")
    pair = Pair.objects.create(kind=PairKind.MATCH, person_a=siti, person_b=other, match_probability=0.95)
    cases = funding.double_funding()
    assert cases["status"].to_list() == ["suspected"]
    assert cases["match_probability"].to_list() == [0.95]
    services.decide(pair, "accept", personas["muba"])
    cases = funding.double_funding()
    assert cases["status"].to_list() == ["confirmed"]
    assert cases.row(0, named=True)["funder"] in ("PT Alpha", "village")
    # Outside the region asked for: nothing.
    assert funding.double_funding("16.03").is_empty()


def test_cli_reports_double_funding(tmp_path):
    _list(tmp_path, "a.csv", [SITI], "PT Alpha", "2026-01:2026-06")
    _list(tmp_path, "b.csv", [BUDI, SITI], "PT Beta", "2026-01:2026-06")
    report, out = tmp_path / "r.json", tmp_path / "df.csv"
    call_command("dedup", "--report", str(report), "--double-funding", str(out), "--export-clusters",
                 str(tmp_path / "c.csv"))
    data = json.loads(report.read_text())
    assert data["double_funding"] == {"confirmed": 1, "suspected": 0}
    assert {"records", "pairs_scored", "clusters", "auto_merged", "for_review"} <= set(data)
    assert out.read_bytes().startswith(b'\xef\xbb\xbf"status","person_id"')
    # Files of personal data written by the command are in the audit trail, like downloads.
    from kelambu.audit.models import Event

    written = {e.action: e.data["path"] for e in Event.objects.filter(action__in=[
        "download.double_funding", "download.clusters"])}
    assert written == {"download.double_funding": str(out), "download.clusters": str(tmp_path / "c.csv")}
    with pytest.raises(CommandError, match="unknown region"):
        call_command("dedup", "--region", "99.99")


def test_one_list_naming_a_person_twice(tmp_path, personas):
    from kelambu.dedup import services

    _list(tmp_path, "a.csv", [SITI, ("A9", "", "Sity Aminah", "P", "05-01-1990", "16.06.01.2001")], "PT Alpha",
          "2026-01:2026-03")
    siti = Person.objects.get(nik="1606014501900001")
    other = Person.objects.get(name="Sity Aminah")
    pair = Pair.objects.create(kind=PairKind.MATCH, person_a=siti, person_b=other, match_probability=0.97)
    assert funding.double_funding()["status"].to_list() == ["suspected"]
    services.decide(pair, "accept", personas["muba"])
    cases = funding.double_funding()
    assert cases["status"].to_list() == ["confirmed"]
    assert cases["funder"].to_list() == ["PT Alpha"] and cases["other_funder"].to_list() == ["PT Alpha"]


def test_cli_runs_as_a_user_in_their_scope(tmp_path, personas):
    _list(tmp_path, "a.csv", [SITI, BUDI], "PT Alpha", "2026-01:2026-06")
    with pytest.raises(CommandError, match="No such user"):
        call_command("dedup", "--user", "nobody")
    with pytest.raises(CommandError, match="16.03"):
        call_command("dedup", "--user", "dinsos.muba", "--region", "16.03")
    call_command("dedup", "--user", "dinsos.muba", "--report", str(tmp_path / "r.json"))
    assert json.loads((tmp_path / "r.json").read_text())["region"] == "16.06"


def test_a_program_and_a_funded_list_for_one_human(tmp_path, personas):
    """One human, two records: a program funds one, a company's list names the other."""
    from kelambu.dedup import services
    from kelambu.programs.models import Membership, Program, Sponsor

    _list(tmp_path, "a.csv", [SITI], "PT Alpha", "2026-01:2026-12")
    _list(tmp_path, "b.csv", [("D1", "", "Sity Aminah", "P", "05-01-1990", "16.06.01.2001")], "", None,
          source="village")
    siti = Person.objects.get(nik="1606014501900001")
    other = Person.objects.get(name="Sity Aminah")
    program = Program.objects.create(name="PAKE", start_month=date(2026, 1, 1), end_month=date(2026, 12, 1))
    sponsor = Sponsor.objects.create(name="Pemkab Muba", kind="apbd")
    Membership.objects.create(person=other, program=program, sponsor=sponsor, start_month=date(2026, 1, 1),
                              end_month=date(2026, 12, 1))
    pair = Pair.objects.create(kind=PairKind.MATCH, person_a=siti, person_b=other, match_probability=0.96)
    cases = funding.double_funding()
    assert cases["status"].to_list() == ["suspected"]
    assert set(cases.row(0, named=True)[k] for k in ("funder", "other_funder")) == {"PT Alpha", "Pemkab Muba"}
    services.decide(pair, "accept", personas["muba"])
    assert funding.double_funding()["status"].to_list() == ["confirmed"]
