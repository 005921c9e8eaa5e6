"""Programs against the database: capacities from budgets, poorest first, what-if, quotas,
re-runs, reasons, and the no-double-funding constraint (also under concurrency on PostgreSQL)."""

import json
import threading
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from kelambu.programs import eligibility, services
from kelambu.programs.models import (
    AllocationRun,
    FundedMonth,
    Membership,
    Outcome,
    Program,
    ProgramSponsor,
    Sponsor,
)
from kelambu.registry.models import Person

VILLAGE = "16.06.01.2001"
COST_APBD_Q4 = 3 * 16_800  # Oct-Dec 2026, APBD: no PP 50/2025 discount


def make_people(specs):
    """specs: (decile, age, category, occupation, nik?)"""
    now = timezone.now()
    people = []
    for i, (decile, age, category, occupation, has_nik) in enumerate(specs, 1):
        people.append(Person(
            nik=f"16060115{i:08d}" if has_nik else None, name=f"Orang {i}", name_norm=f"orang {i}", sex="L",
            birth_date=date(2026 - age, 6, 1), village_id=VILLAGE, category=category, occupation=occupation,
            decile=decile, decile_scale="p3ke" if decile else None, created_at=now, updated_at=now))
    Person.objects.bulk_create(people)
    return list(Person.objects.order_by("pk"))


def program(name="PAKE", budget_people=3, start=date(2026, 10, 1), end=date(2026, 12, 1), **kw):
    sponsor, _ = Sponsor.objects.get_or_create(name="Pemkab Musi Banyuasin", defaults={"kind": "apbd",
                                                                                       "region_id": "16.06"})
    rules = {"decile_scale": "p3ke", "decile_min": 1, "decile_max": 3, "age_min": 15, "age_max": 65, **kw}
    p = Program.objects.create(name=name, region_id="16.06", start_month=start, end_month=end, **rules)
    ProgramSponsor.objects.create(program=p, sponsor=sponsor, year=start.year, budget=budget_people * COST_APBD_Q4,
                                  status="accepted")
    return p


@pytest.mark.django_db
def test_poorest_first_within_the_budget():
    make_people([(3, 30, "informal", None, True), (1, 40, "informal", None, True), (2, 50, "informal", None, True),
                 (1, 70, "informal", None, True), (None, 30, "informal", None, True), (2, 30, "informal", None, False),
                 (4, 30, "informal", None, True), (3, 31, "informal", None, True)])
    p = program(budget_people=3)
    result = services.allocate_program(p, "test")
    r = result.report
    assert r["eligible"] == 4 and r["funded"] == 3
    assert r["funded_by_decile"] == {"1": 1, "2": 1, "3": 1}
    assert r["unfunded_by_reason"] == {"capacity_exhausted": 1}
    assert r["ineligible_by_reason"] == {"age_above": 1, "no_decile": 1, "no_nik": 1, "decile_out_of_range": 1}
    assert r["cost_per_month"] == {"2026-10": 50_400, "2026-11": 50_400, "2026-12": 50_400}
    assert r["budget_left"] == {"Pemkab Musi Banyuasin": 0}
    assert Membership.objects.filter(program=p).count() == 3
    assert FundedMonth.objects.count() == 9
    # Each candidate's outcome is explained.
    older = Outcome.objects.get(run=result.run, person__decile=1, person__birth_date=date(1956, 6, 1))
    assert older.result == "ineligible" and older.reason == "age_above" and older.params == {"age": 70, "max": 65}
    last = Outcome.objects.get(run=result.run, result="unfunded")
    assert last.reason == "capacity_exhausted" and last.params["decile"] == 3


@pytest.mark.django_db
def test_what_if_changes_nothing_and_rerun_keeps_and_extends():
    make_people([(1, 30, "informal", None, True), (2, 30, "informal", None, True), (3, 30, "informal", None, True)])
    p = program(budget_people=1)
    what_if = services.allocate_program(p, "test", what_if=True)
    assert what_if.report["funded"] == 1 and not Membership.objects.exists() and not FundedMonth.objects.exists()
    services.allocate_program(p, "test")
    first = Membership.objects.get()
    assert first.person.decile == 1
    # More budget: the next in priority is added; the enrolled one stays.
    ProgramSponsor.objects.filter(program=p).update(budget=2 * COST_APBD_Q4)
    again = services.allocate_program(p, "test")
    assert again.report["memberships_new"] == 1
    assert set(Membership.objects.values_list("person__decile", flat=True)) == {1, 2}
    assert Membership.objects.filter(pk=first.pk).exists()


@pytest.mark.django_db
def test_quotas_by_decile():
    make_people([(1, 30, "informal", None, True)] * 3 + [(2, 30, "informal", None, True)] * 3
                + [(3, 30, "informal", None, True)] * 3)
    p = program(budget_people=5, quotas=[{"field": "decile", "value": 1, "limit": 2},
                                         {"field": "decile", "value": 2, "limit": 2}])
    r = services.allocate_program(p, "test").report
    assert r["funded_by_decile"] == {"1": 2, "2": 2, "3": 1}
    assert r["unfunded_by_reason"] == {"quota_full": 2, "capacity_exhausted": 2}


@pytest.mark.django_db
def test_no_one_is_funded_twice_for_a_month():
    make_people([(1, 30, "informal", None, True), (2, 30, "informal", None, True)])
    a = program("A", budget_people=2)
    services.allocate_program(a, "test")
    # A second program over overlapping months leaves them out, with the reason.
    b = program("B", budget_people=2, start=date(2026, 12, 1), end=date(2027, 2, 1))
    ProgramSponsor.objects.filter(program=b).update(year=2026)
    r = services.allocate_program(b, "test").report
    assert r["funded"] == 0 and r["ineligible_by_reason"] == {"already_funded": 2}
    # And the database refuses it even when code does not check.
    m = Membership.objects.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        FundedMonth.objects.create(membership=m, person_id=m.person_id, month=date(2026, 11, 1))


@pytest.mark.django_db
def test_programs_and_allocate_commands(tmp_path, capsys):
    make_people([(1, 30, "informal", None, True), (2, 30, "informal", None, True)])
    p = program("PAKE KELAMBU", budget_people=1)
    call_command("programs", "--json")
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == "PAKE KELAMBU" and listed[0]["sponsors"] == ["Pemkab Musi Banyuasin"]
    assert listed[0]["months"] == ["2026-10", "2026-12"]
    report = tmp_path / "r.json"
    call_command("allocate", "PAKE KELAMBU", "--what-if", "--report", str(report))
    data = json.loads(report.read_text())
    for key in ("eligible", "funded", "funded_by_decile", "unfunded_by_reason", "cost_per_month", "budget_left"):
        assert key in data
    assert not Membership.objects.exists()
    call_command("allocate", str(p.pk))
    assert Membership.objects.count() == 1
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no such program"):
        call_command("allocate", "Nope")


@pytest.mark.django_db
def test_village_workers_or_oil_palm_farmers():
    make_people([(None, 40, "kepala_desa", None, True), (None, 40, "informal", "petani_sawit", True),
                 (None, 40, "informal", "nelayan", True)])
    p = program("Muara Enim", budget_people=5, categories=["kepala_desa"], occupations=["petani_sawit"],
                decile_min=None, decile_max=None, decile_scale="")
    r = services.allocate_program(p, "test").report
    assert r["funded"] == 2 and r["ineligible_by_reason"] == {"category": 1}


@pytest.mark.django_db(transaction=True)
def test_two_allocations_at_once_never_fund_twice(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serializes writers)")
    make_people([(1, 30, "informal", None, True)] * 6)
    a, b = program("A", budget_people=6), program("B", budget_people=6)
    original = eligibility.eligibility
    barrier = threading.Barrier(2, timeout=30)

    def eligibility_then_wait(program, people=None):
        out = original(program, people)
        barrier.wait()  # both have read who is free before either writes
        return out

    monkeypatch.setattr(services.elig, "eligibility", eligibility_then_wait)
    outcomes = {}

    def run(p):
        try:
            outcomes[p.name] = services.allocate_program(p, "test").report["funded"]
        except ValidationError as exc:
            outcomes[p.name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(p,)) for p in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    months = list(FundedMonth.objects.values_list("person_id", "month"))
    assert len(months) == len(set(months)) == 18  # six people, three months, once each
    assert sorted(type(v).__name__ for v in outcomes.values()) == ["ValidationError", "int"]
    assert AllocationRun.objects.filter(status="failed").count() == 1
