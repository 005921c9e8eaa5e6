"""A list only ever reveals what its importer already knew, and only changes people the
importer may change (security issue, class 1). A row matching a person outside the
importer's scope changes nothing and is held for the region the person lives in; a
company's list never changes the registry nor tells the company who is registered; made-up
NIKs do not become people."""

import pytest
from django.core.exceptions import PermissionDenied

from kelambu.registry.decisions import decide_hold, decide_holds, holds_for
from kelambu.registry.models import (
    BatchStatus,
    DecisionStatus,
    Hold,
    ImportBatch,
    Person,
    SourceRecord,
)
from kelambu.registry.queries import batch_figures, visible_report
from kelambu.registry.services import ImportOptions, import_list

HEADER = "ID;NIK;Nama;JK;Tgl Lahir;Kode Desa;Desil;No HP\n"
MUBA = "1606011503850001;Muhammad Sholeh;L;15-03-1985;16.06.01.2001;1;081234567890"  # Sekayu village 2001
MUBA_OTHER = "1606015708900002;Siti Aminah;P;17-08-1990;16.06.01.2002;2;"  # Sekayu, another village
ENIM = "1603011001800003;Ahmad Fauzi;L;10-01-1980;16.03.01.2011;1;081300000003"  # Muara Enim
PALEMBANG = "1671015204950004;Nur Hasanah;P;12-04-1995;16.71.01.1001;3;"


def write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(f"R{i};{r}" for i, r in enumerate(rows, 1)) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def registry(personas, tmp_path):
    """Four people imported by the administrator: two in Musi Banyuasin, one in Muara Enim,
    one in Palembang."""
    import_list(write(tmp_path, "p3ke.csv", [MUBA, MUBA_OTHER, ENIM, PALEMBANG]), ImportOptions(source="p3ke"),
                personas["admin"])
    return personas


def person(nik):
    return Person.objects.get(nik=nik)


def visible(user):
    return set(Person.objects.visible_to(user).values_list("nik", flat=True))


def test_an_operator_cannot_take_over_another_regencys_person(registry, tmp_path, bulk_path):
    """The example: a one-row list by the Muba operator with a Muara Enim person's NIK and a
    Muba village renamed and moved them. Now it changes nothing and reveals nothing."""
    p = registry
    before = person("1603011001800003")
    row = "1603011001800003;Nama Palsu;L;10-01-1980;16.06.01.2001;1;"
    batch, _ran = import_list(write(tmp_path, "takeover.csv", [row]), ImportOptions(source="p3ke"), p["muba"])
    after = person("1603011001800003")
    assert (after.name, after.village_id, after.phone) == (before.name, before.village_id, before.phone)
    assert "1603011001800003" not in visible(p["muba"]) and "1603011001800003" in visible(p["muaraenim"])
    assert (batch.status, batch.accepted, batch.held, batch.people_updated, batch.people_new) == ("done", 0, 1, 0, 0)
    assert batch.report["issues"]["HELD_OTHER_REGION"] == 1
    example = next(e for e in batch.report["examples"] if e["code"] == "HELD_OTHER_REGION")
    assert example["code"] == "HELD_OTHER_REGION" and "Baris 2" in example["message_id"]
    assert "Ahmad Fauzi" not in str(batch.report)  # nothing of the person in the importer's report
    record = SourceRecord.objects.get(batch=batch)
    assert record.status == "held" and record.person_id is None
    hold = Hold.objects.get(record=record)
    assert (hold.reason, hold.person_id, hold.owner_region) == ("other_region", after.pk, "16.03.01.2011")
    # The region the person lives in decides; the importer's region does not.
    assert not holds_for(p["muba"]).exists() and holds_for(p["muaraenim"]).get() == hold
    with pytest.raises(PermissionDenied):
        decide_hold(hold, p["muba"], confirm=True)


def test_the_owning_region_confirms_a_real_move(registry, tmp_path, bulk_path):
    p = registry
    row = "1603011001800003;Ahmad Fauzi Baru;L;10-01-1980;16.06.01.2001;1;"
    batch, _ = import_list(write(tmp_path, "moved.csv", [row]), ImportOptions(source="p3ke"), p["muba"])
    hold = Hold.objects.get(batch=batch)
    decide_hold(hold, p["muaraenim"], confirm=True, note="pindah ke Sekayu")
    moved = person("1603011001800003")
    assert (moved.name, moved.village_id, moved.last_batch_id) == ("Ahmad Fauzi Baru", "16.06.01.2001", batch.pk)
    assert "1603011001800003" in visible(p["muba"]) and "1603011001800003" not in visible(p["muaraenim"])
    record = SourceRecord.objects.get(batch=batch)
    assert (record.status, record.person_id) == ("accepted", moved.pk)
    hold.refresh_from_db()
    assert (hold.status, hold.decided_by, hold.note) == ("confirmed", p["muaraenim"], "pindah ke Sekayu")


def test_a_declined_row_changes_nothing(registry, tmp_path):
    p = registry
    row = "1603011001800003;Nama Palsu;L;10-01-1980;16.06.01.2001;1;"
    batch, _ = import_list(write(tmp_path, "takeover.csv", [row]), ImportOptions(source="p3ke"), p["muba"])
    decide_holds(Hold.objects.filter(batch=batch), p["muaraenim"], confirm=False)
    assert person("1603011001800003").name == "Ahmad Fauzi"
    assert Hold.objects.get(batch=batch).status == DecisionStatus.DECLINED
    assert SourceRecord.objects.get(batch=batch).status == "held"


def test_a_village_operator_cannot_move_people_between_villages(registry, tmp_path, bulk_path):
    p = registry  # desa.sekayu: village 16.06.01.2001 only
    own = "1606011503850001;Muhammad Sholeh Baru;L;15-03-1985;16.06.01.2001;1;"
    other = "1606015708900002;Siti Palsu;P;17-08-1990;16.06.01.2001;2;"  # lives in 2002
    batch, _ = import_list(write(tmp_path, "desa.csv", [own, other]), ImportOptions(source="village"), p["village"])
    assert person("1606011503850001").name == "Muhammad Sholeh Baru"  # their own villager: updated
    assert person("1606015708900002").name == "Siti Aminah"
    assert person("1606015708900002").village_id == "16.06.01.2002"
    assert (batch.people_updated, batch.held) == (1, 1)
    # The regency decides a move between its villages.
    assert holds_for(p["muba"]).filter(batch=batch).count() == 1 and not holds_for(p["village"]).exists()


def test_record_ids_cannot_reach_outside_the_scope(registry, tmp_path):
    """A person without a NIK is found again by the same source's record id: that match is
    scoped too."""
    p = registry
    no_nik = "ID;NIK;Nama;JK;Tgl Lahir;Kode Desa;Desil;No HP\nX9;;Paijo;L;1979-12-01;16.03.01.2011;3;\n"
    first = tmp_path / "enim.csv"
    first.write_text(no_nik)
    import_list(first, ImportOptions(source="p3ke"), p["muaraenim"])
    paijo = Person.objects.get(name="Paijo")
    again = tmp_path / "muba.csv"
    again.write_text(no_nik.replace("Paijo;L;1979-12-01;16.03.01.2011", "Paijo Palsu;L;1979-12-01;16.06.01.2001"))
    batch, _ = import_list(again, ImportOptions(source="p3ke"), p["muba"])
    paijo.refresh_from_db()
    assert (paijo.name, paijo.village_id, batch.held) == ("Paijo", "16.03.01.2011", 1)


def test_a_company_list_changes_and_reveals_nothing(registry, tmp_path, bulk_path):
    """The example: a CSR officer listing guessed NIKs revealed and renamed every real person
    among them and created fake ones. Now: no person changed, none created, none visible."""
    p = registry
    guessed = [f"16060115038500{n:02d};Tebakan {n};L;15-03-1985;16.06.01.2001;;" for n in range(2, 30)]
    real = ["1603011001800003;Nama Palsu;L;10-01-1980;16.06.01.2001;;",
            "1671015204950004;Nama Palsu Dua;P;12-04-1995;16.71.01.1001;;"]
    people_before = Person.objects.count()
    batch, _ = import_list(write(tmp_path, "csr.csv", real + guessed), ImportOptions(source="sponsor"), p["csr"])
    assert batch.status == BatchStatus.DONE and batch.sponsor.name == "PT MMS"
    assert Person.objects.count() == people_before  # no made-up person
    assert person("1603011001800003").name == "Ahmad Fauzi" and person("1671015204950004").name == "Nur Hasanah"
    assert visible(p["csr"]) == set()
    # The real people are linked (evidence for deduplication), the others held for the regency.
    linked = SourceRecord.objects.filter(batch=batch, status="accepted")
    assert {r.person.nik for r in linked} == {"1603011001800003", "1671015204950004"}
    assert batch.held == len(guessed) and batch.report["people_linked"] == 2
    # What the company reads of its list cannot tell the two apart.
    report = visible_report(batch, p["csr"])
    assert report["accepted"] == len(real) + len(guessed)
    assert not {"held", "people_new", "people_updated", "people_linked"} & set(report)
    assert not any(code.startswith("HELD") for code in report["issues"])
    assert not any(e["code"].startswith("HELD") for e in report["examples"])
    figures = batch_figures(batch, p["csr"])
    assert figures["accepted"] == 30 and figures["held"] is None and figures["people_new"] is None
    # The regency sees what was held (visible) and verifies; confirming adds the person.
    assert holds_for(p["muba"]).filter(batch=batch, reason="unverified").count() == len(guessed)
    hold = holds_for(p["muba"]).filter(batch=batch).order_by("record__row").first()
    decide_hold(hold, p["muba"], confirm=True)
    added = Person.objects.get(nik=hold.record.nik)
    assert added.name == hold.record.name and added.village_id == "16.06.01.2001"


def test_a_company_report_page_and_download_hide_matches(registry, tmp_path, client):
    from django.urls import reverse

    p = registry
    rows = ["1603011001800003;Ahmad Fauzi;L;10-01-1980;16.03.01.2011;;",
            "1606011503850009;Orang Baru;L;15-03-1985;16.06.01.2001;;"]
    batch, _ = import_list(write(tmp_path, "csr.csv", rows), ImportOptions(source="sponsor"), p["csr"])
    client.force_login(p["csr"])
    page = client.get(reverse("batch_detail", args=[batch.pk])).content.decode()
    assert "HELD" not in page and "ditahan" not in page.lower()
    report = client.get(reverse("batch_report", args=[batch.pk])).json()
    assert report["accepted"] == 2 and "held" not in report
    listing = client.get(reverse("batch_list")).content.decode()
    assert "+1" not in listing
    client.force_login(p["admin"])
    assert "HELD_UNVERIFIED" in client.get(reverse("batch_detail", args=[batch.pk])).content.decode()


def test_a_village_operator_adds_few_new_people(registry, tmp_path, settings, bulk_path):
    """Made-up NIKs must not become funded people by the thousand: a village operator's
    new people are limited per 30 days; the rest wait for the regency."""
    settings.KELAMBU_VILLAGE_NEW_PEOPLE_LIMIT = 3
    p = registry
    rows = [f"16060115038500{n:02d};Warga {n};L;15-03-1985;16.06.01.2001;;" for n in range(10, 15)]
    batch, _ = import_list(write(tmp_path, "desa.csv", rows), ImportOptions(source="village"), p["village"])
    assert (batch.people_new, batch.held) == (3, 2)
    assert set(Hold.objects.filter(batch=batch).values_list("reason", flat=True)) == {"new_limit"}
    more = [f"16060115038500{n:02d};Warga {n};L;15-03-1985;16.06.01.2001;;" for n in range(20, 22)]
    second, _ = import_list(write(tmp_path, "desa2.csv", more), ImportOptions(source="village"), p["village"])
    assert (second.people_new, second.held) == (0, 2)
    assert holds_for(p["muba"]).filter(reason="new_limit").count() == 4


def test_a_company_files_a_limited_number_of_rows(registry, tmp_path, settings):
    settings.KELAMBU_SPONSOR_ROWS_LIMIT = 3
    p = registry
    rows = [f"16060115038500{n:02d};Tebakan {n};L;15-03-1985;16.06.01.2001;;" for n in range(2, 4)]
    first, _ = import_list(write(tmp_path, "a.csv", rows), ImportOptions(source="sponsor"), p["csr"])
    assert first.status == BatchStatus.DONE
    second, _ = import_list(write(tmp_path, "b.csv", rows[::-1]), ImportOptions(source="sponsor"), p["csr"])
    assert second.status == BatchStatus.REFUSED and second.error_code == "SPONSOR_ROWS_LIMIT"
    assert "30" in second.error_message


def test_the_limits_are_counted_under_the_import_lock(registry, tmp_path, settings, monkeypatch):
    """Two uploads at once must not share one allowance: the count is taken again inside the
    import's transaction, where every import that finished first is counted."""
    from django.db import connection

    from kelambu.accounts import access

    settings.KELAMBU_SPONSOR_ROWS_LIMIT = 3
    p = registry
    calls = []
    real = access.sponsor_rows_recently

    def counted(sponsor_id):
        # pytest-django runs each test in a transaction: the import's own is a savepoint in it.
        calls.append(bool(connection.savepoint_ids))
        # The first look (before validating) sees room; by the time this import holds the
        # lock, a parallel one has filed its rows.
        return real(sponsor_id) if len(calls) == 1 else 3

    monkeypatch.setattr(access, "sponsor_rows_recently", counted)
    rows = [f"16060115038500{n:02d};Tebakan {n};L;15-03-1985;16.06.01.2001;;" for n in range(2, 4)]
    batch, _ = import_list(write(tmp_path, "a.csv", rows), ImportOptions(source="sponsor"), p["csr"])
    assert batch.status == BatchStatus.REFUSED and batch.error_code == "SPONSOR_ROWS_LIMIT"
    assert calls == [False, True]
    assert not SourceRecord.objects.filter(batch=batch).exists()

    # The village operator's allowance of new people is read under the lock as well.
    seen = []
    real_policy = access.import_policy

    def policy(actor, source):
        seen.append(bool(connection.savepoint_ids))
        return real_policy(actor, source)

    monkeypatch.setattr(access, "import_policy", policy)
    village, _ = import_list(write(tmp_path, "v.csv", ["1606016108000001;Orang Baru;P;21-08-2000;16.06.01.2001;;"]),
                             ImportOptions(source="village"), p["village"])
    assert village.status == BatchStatus.DONE and seen == [True]


def test_only_a_sponsors_officers_or_an_admin_file_its_list(registry, tmp_path):
    from kelambu.programs.models import Sponsor

    p = registry
    path = write(tmp_path, "mms.csv", [ENIM])
    with pytest.raises(PermissionDenied):
        import_list(path, ImportOptions(source="sponsor", sponsor="PT MMS"), p["muba"])
    with pytest.raises(PermissionDenied):
        import_list(path, ImportOptions(source="p3ke"), p["csr"])
    with pytest.raises(ValueError, match="no sponsor is named"):
        import_list(path, ImportOptions(source="sponsor", sponsor="PT Tidak Ada"), p["admin"])
    assert not Sponsor.objects.filter(name="PT Tidak Ada").exists()  # never made from a typed name
    # A CSR officer files for its own sponsor, whatever it names.
    other = Sponsor.objects.create(name="PT Lain", kind="csr")
    batch, _ = import_list(path, ImportOptions(source="sponsor", sponsor=other), p["csr"])
    assert batch.sponsor.name == "PT MMS"
    admin_batch, _ = import_list(write(tmp_path, "lain.csv", [MUBA]), ImportOptions(source="sponsor", sponsor="PT Lain"),
                                 p["admin"])
    assert admin_batch.sponsor == other
    assert ImportBatch.objects.filter(sponsor=other).count() == 1


def test_an_admin_import_still_updates_anyone(registry, tmp_path, bulk_path):
    row = "1603011001800003;Ahmad Fauzi Koreksi;L;10-01-1980;16.03.01.2011;1;"
    batch, _ = import_list(write(tmp_path, "admin.csv", [row]), ImportOptions(source="dtsen"), registry["admin"])
    assert (batch.people_updated, batch.held) == (1, 0)
    assert person("1603011001800003").name == "Ahmad Fauzi Koreksi"
