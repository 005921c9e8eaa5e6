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
    assert batches.count() == 6 and batches.filter(source="sponsor", sponsor__name="PT MMS").exists()
    people = Person.objects.count()
    assert people > 200
    assert Event.objects.filter(action="import.done").count() == 6
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

    call_command("demo", no_serve=True, scale=0.002)  # again: nothing changes
    assert "already imported" in capsys.readouterr().out
    assert ImportBatch.objects.count() == 6 and Person.objects.count() == people
    assert MatchRun.objects.count() == 1  # up to date: not run again
    assert AllocationRun.objects.count() == runs
