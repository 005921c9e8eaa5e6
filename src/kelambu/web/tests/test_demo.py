"""`kelambu demo` end to end at a small scale: setup, users, generated lists, imports,
and safe to run twice."""

from django.contrib.auth import get_user_model
from django.core.management import call_command

from kelambu.audit.models import Event
from kelambu.registry.models import ImportBatch, Person


def test_demo_prepares_users_and_lists_and_is_idempotent(db, settings, tmp_path, capsys):
    settings.DATA_DIR = tmp_path
    call_command("demo", no_serve=True, scale=0.002)
    out = capsys.readouterr().out
    assert "kelambu-demo" in out and "dinsos.muba" in out
    users = get_user_model().objects
    assert users.get(username="dinsos.muba").region_id == "16.06"
    assert users.get(username="csr.mms").sponsor.name == "PT MMS"
    assert users.get(username="desa.sekayu").region_id.startswith("16.06.01.2")
    batches = ImportBatch.objects.filter(status="done")
    assert batches.count() == 7 and batches.filter(source="sponsor", sponsor__name="PT MMS").exists()
    people = Person.objects.count()
    assert people > 200
    assert Event.objects.filter(action="import.done").count() == 7
    # Muba's list of people who moved from Muara Enim waits there, changing nothing.
    from kelambu.registry.models import Hold

    held = Hold.objects.filter(batch__file_name="pindahan-sekayu.csv")
    assert held.count() == 3 and {h.owner_region[:5] for h in held} == {"16.03"}
    assert not Person.objects.filter(village_id="16.06.01.2001", pk__in=held.values("person_id")).exists()
    # The registry was deduplicated, and the two companies' lists overlap.
    from kelambu.dedup.funding import double_funding
    from kelambu.dedup.models import MatchRun

    assert MatchRun.objects.filter(status="done").count() == 1
    assert double_funding().filter(status="confirmed").height > 0
    # The seed programs exist and were allocated from the registry.
    from kelambu.programs.models import AllocationRun, Membership, Program

    assert Program.objects.count() == 3
    # One run per program, and one more where rejected people were replaced.
    assert set(AllocationRun.objects.filter(status="done").values_list("program__name", flat=True)) == set(
        Program.objects.values_list("name", flat=True))
    runs = AllocationRun.objects.count()
    assert Membership.objects.filter(program__name="PAKE KELAMBU").exists()
    # ... and enrolled through the (simulated) branch: KPJ numbers came back.
    assert not Membership.objects.filter(status__in=("proposed", "submitted")).exists()
    assert Membership.objects.filter(status="registered").exclude(kpj="").count() == Membership.objects.filter(
        status="registered").count() > 0
    # PT MMS is asked to co-fund PAKE KELAMBU, and nothing of it is allocated before it answers.
    from kelambu.programs.models import ProgramSponsor

    request = ProgramSponsor.objects.get(program__name="PAKE KELAMBU", sponsor__name="PT MMS")
    assert request.status == "proposed" and request.requested_by.username == "dinsos.muba"
    assert not Membership.objects.filter(program__name="PAKE KELAMBU", sponsor__name="PT MMS").exists()

    call_command("demo", no_serve=True, scale=0.002)  # again: nothing changes
    assert "already imported" in capsys.readouterr().out
    assert ImportBatch.objects.count() == 7 and Person.objects.count() == people
    assert ProgramSponsor.objects.filter(sponsor__name="PT MMS", program__name="PAKE KELAMBU").count() == 1
    assert MatchRun.objects.count() == 1  # up to date: not run again
    assert AllocationRun.objects.count() == runs
