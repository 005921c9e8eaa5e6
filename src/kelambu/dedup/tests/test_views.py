"""Deduplication pages: runs, review queue, pair decisions, merges and their undo, scope."""

import csv
from pathlib import Path

import pytest
from django.urls import reverse

from kelambu.dedup.models import MatchRun, Merge, Pair, PairKind, PairStatus, RunStatus
from kelambu.registry.models import Person, SourceRecord
from kelambu.registry.services import ImportOptions, import_list

EVIDENCE = [
    {"comparison": "nik", "level": "different", "gamma": 0, "weight": -3.1},
    {"comparison": "name", "level": "very similar", "gamma": 5, "weight": 6.4},
    {"comparison": "birth_date", "level": "same", "gamma": 3, "weight": 8.2},
    {"comparison": "household", "level": "same village", "gamma": 3, "weight": 2.0},
]


def _import(tmp_path: Path, name: str, rows: list[dict]) -> None:
    path = tmp_path / name
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    batch, _ = import_list(path, ImportOptions(source="village"), "test")
    assert batch.status == "done", batch.report


def _row(nik, name, sex, dob, village="16.06.01.2001", row=None):
    return {"ID": row or nik, "NIK": nik, "Nama": name, "JK": sex, "Tanggal Lahir": dob, "Kode Desa": village,
            "No HP": ""}


@pytest.fixture
def pair(personas, tmp_path):
    """Two Muba people who are probably one (NIKs differ), as a pending pair."""
    _import(tmp_path, "a.csv", [
        _row("1606011503850001", "Muhammad Sholeh", "L", "15-03-1985"),
        _row("1606011503850091", "Muhamad Soleh", "L", "15-03-1985"),
    ])
    a, b = Person.objects.order_by("pk")
    return Pair.objects.create(kind=PairKind.MATCH, person_a=a, person_b=b, match_probability=0.93,
                               match_weight=13.5, evidence=EVIDENCE)


@pytest.fixture
def conflict(personas, tmp_path):
    """One NIK given by two lists to a man and a woman: a NIK conflict."""
    _import(tmp_path, "c1.csv", [_row("1606011203800001", "Bambang Irawan", "L", "12-03-1980", row="x1")])
    # A list without sex and birth date (one contradicting the NIK is rejected at import).
    _import(tmp_path, "c2.csv", [_row("1606011203800001", "Siti Aminah", "", "", row="x2")])
    person = Person.objects.get()
    r1, r2 = SourceRecord.objects.filter(person=person).order_by("pk")
    return Pair.objects.create(kind=PairKind.NIK_CONFLICT, person_a=person, person_b=person,
                               record_a=r1, record_b=r2)


def _messages(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


# --- access ------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["public", "csr", "bpjs"])
def test_roles_without_review_are_refused(client, personas, pair, who):
    client.force_login(personas[who])
    for url in (reverse("dedup_runs"), reverse("dedup_queue"), reverse("dedup_pair", args=[pair.pk]),
                reverse("dedup_merges")):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("dedup_pair", args=[pair.pk]), {"decision": "accept"}).status_code == 403
    assert Pair.objects.get().status == PairStatus.PENDING
    assert "/pemadanan/" not in client.get(reverse("home")).content.decode()


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("dedup_queue"))
    assert response.status_code == 302 and "/masuk/" in response["Location"]


def test_other_regency_cannot_see_the_pair(client, personas, pair):
    client.force_login(personas["muaraenim"])
    assert client.get(reverse("dedup_pair", args=[pair.pk])).status_code == 404
    page = client.get(reverse("dedup_queue")).content.decode()
    assert "Muhammad Sholeh" not in page
    response = client.post(reverse("dedup_pair", args=[pair.pk]), {"decision": "accept"}, follow=True)
    assert "tidak ada atau di luar wilayah" in _messages(response)
    assert Pair.objects.get().status == PairStatus.PENDING


def test_queue_lists_pairs_with_probability(client, personas, pair):
    client.force_login(personas["muba"])
    page = client.get(reverse("dedup_queue")).content.decode()
    assert "Muhammad Sholeh" in page and "Muhamad Soleh" in page and "93,0%" in page
    assert reverse("dedup_pair", args=[pair.pk]) in page
    # Filters: a higher threshold hides it, another kind hides it, status all shows it.
    assert "Muhamad Soleh" not in client.get(reverse("dedup_queue") + "?min_probability=95").content.decode()
    assert "Muhamad Soleh" not in client.get(reverse("dedup_queue") + "?kind=nik_typo").content.decode()
    assert "Muhamad Soleh" in client.get(reverse("dedup_queue") + "?status=all&kind=match").content.decode()
    assert client.get(reverse("dedup_queue") + "?min_probability=abc").status_code == 200


def test_village_operator_reviews_in_the_village(client, personas, pair):
    client.force_login(personas["village"])
    assert client.get(reverse("dedup_pair", args=[pair.pk])).status_code == 200
    assert client.get(reverse("dedup_runs")).status_code == 200
    # May review, may not run.
    response = client.post(reverse("dedup_runs"), {"region": "16.06"}, follow=True)
    assert "tidak boleh" in _messages(response).lower()
    assert not MatchRun.objects.exists()


# --- the pair page and decisions ---------------------------------------------------------------

def test_pair_page_shows_fields_and_evidence(client, personas, pair):
    client.force_login(personas["muba"])
    page = client.get(reverse("dedup_pair", args=[pair.pk])).content.decode()
    assert "1606011503850001" in page and "1606011503850091" in page  # operators see NIKs
    assert "Muhammad Sholeh" in page and "15-03-1985" in page
    assert "sangat mirip" in page  # "very similar", translated
    assert "+8.20" in page or "+8,20" in page
    assert 'class="neg"' in page and 'class="pos"' in page
    assert 'value="accept"' in page and 'value="reject"' in page and 'value="defer"' in page
    assert 'value="reopen"' not in page
    assert "Pemadanan" in page  # the nav entry


def test_accept_merges_and_undo_restores(client, personas, pair):
    client.force_login(personas["muba"])
    a, b = pair.person_a, pair.person_b
    b_records = set(SourceRecord.objects.filter(person=b).values_list("pk", flat=True))
    response = client.post(reverse("dedup_pair", args=[pair.pk]), {"decision": "accept", "note": "sama"},
                           follow=True)
    assert response.status_code == 200
    pair.refresh_from_db()
    b.refresh_from_db()
    assert pair.status == PairStatus.ACCEPTED and pair.note == "sama"
    assert b.merged_into_id == a.pk
    assert set(SourceRecord.objects.filter(person=a).values_list("pk", flat=True)) >= b_records
    merge = Merge.objects.get(pair=pair)
    page = response.content.decode()
    assert "Batalkan penggabungan" in page and reverse("dedup_merge_undo", args=[merge.pk]) in page

    # The merged person's page says where it went.
    detail = client.get(reverse("person_detail", args=[b.pk])).content.decode()
    assert "digabungkan ke" in detail and reverse("person_detail", args=[a.pk]) in detail

    # The merges page lists it with its undo button.
    merges = client.get(reverse("dedup_merges")).content.decode()
    assert b.name in merges and reverse("dedup_merge_undo", args=[merge.pk]) in merges

    response = client.post(reverse("dedup_merge_undo", args=[merge.pk]),
                           {"note": "keliru", "next": reverse("dedup_pair", args=[pair.pk])})
    assert response.status_code == 302 and response["Location"] == reverse("dedup_pair", args=[pair.pk])
    b.refresh_from_db()
    pair.refresh_from_db()
    merge.refresh_from_db()
    assert b.merged_into_id is None and merge.undone_at is not None
    assert set(SourceRecord.objects.filter(person=b).values_list("pk", flat=True)) == b_records
    assert pair.status == PairStatus.PENDING

    # Undoing twice is a message, not an error page.
    again = client.post(reverse("dedup_merge_undo", args=[merge.pk]), follow=True)
    assert again.status_code == 200 and "sudah dibatalkan" in _messages(again)


def test_unsafe_next_is_ignored(client, personas, pair):
    client.force_login(personas["muba"])
    client.post(reverse("dedup_pair", args=[pair.pk]), {"decision": "accept"})
    merge = Merge.objects.get()
    response = client.post(reverse("dedup_merge_undo", args=[merge.pk]), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("dedup_merges")


def test_reject_defer_reopen(client, personas, pair):
    client.force_login(personas["muba"])
    url = reverse("dedup_pair", args=[pair.pk])
    client.post(url, {"decision": "defer"})
    pair.refresh_from_db()
    assert pair.status == PairStatus.DEFERRED
    assert 'value="reopen"' in client.get(url).content.decode()
    client.post(url, {"decision": "reopen"})
    pair.refresh_from_db()
    assert pair.status == PairStatus.PENDING
    client.post(url, {"decision": "reject", "note": "beda ibu"})
    pair.refresh_from_db()
    assert pair.status == PairStatus.REJECTED and pair.decided_by == personas["muba"]
    assert Person.objects.filter(merged_into__isnull=False).count() == 0
    # A decided pair cannot be accepted: a message, no merge.
    response = client.post(url, {"decision": "accept"}, follow=True)
    assert "sudah diputuskan" in _messages(response)
    assert not Merge.objects.exists()
    client.post(url, {"decision": "reopen"})
    pair.refresh_from_db()
    assert pair.status == PairStatus.PENDING


def test_bad_posts_give_messages(client, personas, pair):
    client.force_login(personas["muba"])
    response = client.post(reverse("dedup_pair", args=[pair.pk]), {"decision": "merge-everything"}, follow=True)
    assert response.status_code == 200 and "Keputusan tidak dikenal" in _messages(response)
    response = client.post(reverse("dedup_pair", args=[999999]), {"decision": "accept"}, follow=True)
    assert response.status_code == 200 and "999999" in _messages(response)
    response = client.post(reverse("dedup_merge_undo", args=[999999]), follow=True)
    assert response.status_code == 200 and "999999" in _messages(response)
    assert client.get(reverse("dedup_pair", args=[999999])).status_code == 404
    assert client.get(reverse("dedup_merge_undo", args=[1])).status_code == 405
    pair.refresh_from_db()
    assert pair.status == PairStatus.PENDING


def test_nik_conflict_shows_the_two_records_and_splits(client, personas, conflict):
    client.force_login(personas["muba"])
    url = reverse("dedup_pair", args=[conflict.pk])
    page = client.get(url).content.decode()
    assert "Siti Aminah" in page and "Bambang Irawan" in page and "Rekaman A" in page
    client.post(url, {"decision": "reject"})
    conflict.refresh_from_db()
    assert conflict.status == PairStatus.REJECTED
    assert Person.objects.filter(merged_into__isnull=True).count() == 2
    client.post(url, {"decision": "reopen"})
    conflict.refresh_from_db()
    assert conflict.status == PairStatus.PENDING
    assert SourceRecord.objects.filter(person=conflict.person_a).count() == 2


def test_nik_masked_for_roles_without_nik(personas, pair):
    from kelambu.dedup.views import _compare, _side

    rows = _compare(_side(pair.person_a, False), _side(pair.person_b, False))
    nik = rows[0]
    assert nik["a"] == "1606**********01" and nik["state"] == "differ"
    shown = _compare(_side(pair.person_a, True), _side(pair.person_b, True))
    assert shown[0]["a"] == "1606011503850001"
    assert {r["label"]: r["state"] for r in shown}["Tanggal lahir"] == "agree"


# --- runs ------------------------------------------------------------------------------

@pytest.fixture
def muba_people(personas, tmp_path):
    from kelambu.synth.generate import generate, write

    result = generate(30, seed=7, regencies=("16.06",), duplicates=0.3)
    path = tmp_path / "p3ke.csv"
    write(result, path, truth=tmp_path / "truth.csv")
    batch, _ = import_list(path, ImportOptions(source="p3ke"), "test")
    assert batch.status == "done"


def test_run_form_starts_a_run_and_shows_its_report(client, personas, muba_people, settings):
    settings.KELAMBU_IMPORT_IN_BACKGROUND = False
    client.force_login(personas["muba"])
    page = client.get(reverse("dedup_runs")).content.decode()
    assert 'name="region"' in page and 'value="16.06"' in page and 'value="16.03"' not in page
    response = client.post(reverse("dedup_runs"), {"region": "16.06", "auto_merge": "on"}, follow=True)
    run = MatchRun.objects.get()
    assert run.status == RunStatus.DONE, run.error_message
    assert run.region == "16.06" and run.started_by == personas["muba"]
    assert response.redirect_chain[-1][0] == reverse("dedup_run", args=[run.pk])
    assert "Pemadanan" in response.content.decode() and str(run.people) in response.content.decode()
    runs = client.get(reverse("dedup_runs")).content.decode()
    assert reverse("dedup_run", args=[run.pk]) in runs
    # Another regency does not see the run.
    client.force_login(personas["muaraenim"])
    assert client.get(reverse("dedup_run", args=[run.pk])).status_code == 404


def test_run_outside_the_area_is_a_message(client, personas, settings):
    settings.KELAMBU_IMPORT_IN_BACKGROUND = False
    client.force_login(personas["muba"])
    response = client.post(reverse("dedup_runs"), {"region": "16.03"}, follow=True)
    assert response.status_code == 200 and "16.03" in response.content.decode()
    assert not MatchRun.objects.exists()


def test_admin_may_choose_any_regency(client, personas):
    client.force_login(personas["admin"])
    page = client.get(reverse("dedup_runs")).content.decode()
    assert 'value="16.03"' in page and 'value="16.06"' in page and 'value=""' in page


def test_progress_endpoint(client, personas):
    from django.core.cache import cache

    from kelambu.dedup.tasks import progress_key

    cache.set(progress_key("abc"), {"user": personas["muba"].pk, "step": "score", "done": 1, "total": 5,
                                     "run": None, "error": ""})
    client.force_login(personas["muba"])
    state = client.get(reverse("dedup_status", args=["abc"])).json()
    assert state["percent"] == 20 and not state["finished"] and state["label"]
    assert client.get(reverse("dedup_progress", args=["abc"])).status_code == 200
    client.force_login(personas["muaraenim"])  # another user's run
    assert client.get(reverse("dedup_status", args=["abc"])).status_code == 404


def test_double_funding_page(client, personas, tmp_path):
    import csv as _csv

    from kelambu.registry.services import ImportOptions, import_list, parse_months

    def listing(name, sponsor, rows):
        path = tmp_path / name
        with path.open("w", newline="") as f:
            w = _csv.writer(f)
            w.writerow(["ID", "NIK", "Nama", "JK", "Tanggal Lahir", "Kode Desa"])
            w.writerows(rows)
        from kelambu.programs.models import Sponsor

        entity, _ = Sponsor.objects.get_or_create(name=sponsor, defaults={"kind": "csr"})
        import_list(path, ImportOptions(source="sponsor", sponsor=entity,
                                        funded_months=parse_months("2026-01:2026-12")), "test")

    siti = ("A1", "1606014501900001", "Siti Aminah", "P", "05-01-1990", "16.06.01.2001")
    listing("a.csv", "PT Alpha", [siti])
    listing("b.csv", "PT Beta", [siti, ("B2", "1606011203800001", "Budi", "L", "12-03-1980", "16.06.01.2001")])
    client.force_login(personas["muba"])
    page = client.get("/pemadanan/pendanaan-ganda/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Siti Aminah" in body and "PT Alpha" in body and "PT Beta" in body
    from kelambu.audit.models import Event

    assert not Event.objects.filter(action="download.double_funding").exists()  # the page is no download
    csv_page = client.get("/pemadanan/pendanaan-ganda/?format=csv")
    assert csv_page["Content-Type"].startswith("text/csv") and b"confirmed" in csv_page.content
    assert csv_page["Content-Disposition"] == 'attachment; filename="pendanaan-ganda.csv"'
    assert "no-store" in csv_page["Cache-Control"]
    # A download of personal data: audited, with who downloaded it.
    event = Event.objects.get(action="download.double_funding")
    assert event.actor == personas["muba"] and (event.object_type, event.object_id) == ("report", "double_funding")
    # Another regency's operator sees none of it; the public not even the page.
    client.force_login(personas["muaraenim"])
    assert "Siti Aminah" not in client.get("/pemadanan/pendanaan-ganda/").content.decode()
    client.force_login(personas["public"])
    assert client.get("/pemadanan/pendanaan-ganda/").status_code == 403
