"""Imports whose process died: fail_interrupted() marks their batches failed (INTERRUPTED)
and leaves live runs alone; clean_scratch() removes the staging folders of dead processes
only; the batch pages run it, so an importer sees why the import stopped."""

import os
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kelambu.audit.models import Event
from kelambu.jobs import runners
from kelambu.jobs.runners import runner_id
from kelambu.registry import bulk, services
from kelambu.registry.models import BatchStatus, ImportBatch
from kelambu.registry.services import fail_interrupted

pytestmark = pytest.mark.django_db

# The message the batch page shows (the Indonesian of the template's msgid).
INTERRUPTED_ID = "Impor berhenti karena prosesnya berakhir"


@pytest.fixture
def dead_pid():
    """The pid of a process that ran and was reaped: it no longer exists."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not os.path.exists(f"/proc/{child.pid}")
    return child.pid


@pytest.fixture
def live_child():
    """Another process that is running for the test's length."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child
    child.kill()
    child.wait()


def runner_of(pid: int, started: str | None = None) -> str:
    if started is None:
        started = runners.process_start(pid) or "12345"
    return f"{socket.gethostname()}:{pid}:{started}"


def batch(name: str, status=BatchStatus.RUNNING, runner: str = "", **extra) -> ImportBatch:
    return ImportBatch.objects.create(
        source="p3ke", file_name=name, file_sha256=name.ljust(64, "0")[:64], file_size=10, decile_scale="p3ke",
        status=status, runner=runner, **extra)


# --- runner ids ----------------------------------------------------------------------------

def test_runner_id_names_this_host_pid_and_start_time():
    host, pid, started = runner_id().split(":")
    assert host == socket.gethostname() and int(pid) == os.getpid()
    assert started and started == runners.process_start(os.getpid())


def test_runner_alive(dead_pid, live_child):
    assert runners.runner_alive(runner_id())
    assert runners.runner_alive(runner_of(live_child.pid))
    assert not runners.runner_alive(runner_of(dead_pid, "99"))
    # The pid was reused by another process: a different start time is not the same runner.
    assert not runners.runner_alive(runner_of(os.getpid(), "1"))
    # Another machine's run is that machine's to judge.
    assert runners.runner_alive(f"some-other-host-{socket.gethostname()}:{dead_pid}:99")


def test_a_new_batch_records_its_runner(tmp_path, personas):
    path = tmp_path / "list.csv"
    path.write_text("NIK;Nama;JK;Tanggal Lahir;Kode Desa\n", encoding="utf-8")
    new, created = services.start_import(path, services.ImportOptions(source="p3ke"), personas["muba"])
    assert created and new.runner == runner_id()


# --- fail_interrupted -----------------------------------------------------------------------

def test_runs_of_dead_processes_are_marked_failed_and_live_ones_left(dead_pid, live_child):
    dead_running = batch("dead-running.csv", runner=runner_of(dead_pid, "99"))
    dead_pending = batch("dead-pending.csv", BatchStatus.PENDING, runner=runner_of(dead_pid, "99"))
    reused_pid = batch("reused-pid.csv", runner=runner_of(os.getpid(), "1"))
    mine = batch("mine.csv", runner=runner_id())
    other_process = batch("other-process.csv", runner=runner_of(live_child.pid))
    other_host = batch("other-host.csv", runner=f"elsewhere.invalid:{dead_pid}:99")
    finished = batch("finished.csv", BatchStatus.DONE, runner=runner_of(dead_pid, "99"))

    assert fail_interrupted() == 3

    for b in (dead_running, dead_pending, reused_pid):
        b.refresh_from_db()
        assert (b.status, b.error_code) == (BatchStatus.FAILED, "INTERRUPTED"), b.file_name
        assert b.finished_at is not None
        assert "The import stopped because its process ended" in b.error_message
        assert "Impor terhenti karena prosesnya berhenti" in b.error_message
        event = Event.objects.get(action="import.interrupted", object_id=str(b.pk))
        assert event.actor is None and event.actor_name == "system" and event.object_type == "registry.importbatch"
    for b, status in ((mine, BatchStatus.RUNNING), (other_process, BatchStatus.RUNNING),
                      (other_host, BatchStatus.RUNNING), (finished, BatchStatus.DONE)):
        b.refresh_from_db()
        assert (b.status, b.error_code, b.finished_at) == (status, "", None), b.file_name
    assert Event.objects.filter(action="import.interrupted").count() == 3

    # Run again: nothing more to mark, no second event.
    assert fail_interrupted() == 0
    assert Event.objects.filter(action="import.interrupted").count() == 3


def test_a_batch_without_runner_is_failed_only_after_an_hour():
    recent = batch("recent.csv")
    old = batch("old.csv")
    ImportBatch.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    assert fail_interrupted() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.status, old.error_code) == (BatchStatus.FAILED, "INTERRUPTED")
    assert (recent.status, recent.error_code) == (BatchStatus.RUNNING, "")


# --- scratch folders --------------------------------------------------------------------

def test_scratch_of_dead_processes_is_removed_and_live_kept(tmp_path, monkeypatch, dead_pid, live_child):
    monkeypatch.setattr(bulk, "_scratch_dir", lambda: str(tmp_path))

    def scratch(name):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "stage.sqlite3").write_bytes(b"x" * 100)
        return folder

    dead = scratch(f"{bulk.SCRATCH_PREFIX}{dead_pid}-abc123")
    mine = scratch(f"{bulk.SCRATCH_PREFIX}{os.getpid()}-def456")
    other_live = scratch(f"{bulk.SCRATCH_PREFIX}{live_child.pid}-ghi789")
    not_a_pid = scratch(f"{bulk.SCRATCH_PREFIX}x8d7f_q2")
    unrelated = scratch(f"other-{dead_pid}-abc")

    assert bulk.clean_scratch() == 1
    assert not dead.exists()
    assert mine.exists() and other_live.exists() and not_a_pid.exists() and unrelated.exists()
    assert (mine / "stage.sqlite3").read_bytes() == b"x" * 100


def test_fail_interrupted_cleans_the_scratch_too(tmp_path, monkeypatch, dead_pid):
    monkeypatch.setattr(bulk, "_scratch_dir", lambda: str(tmp_path))
    dead = tmp_path / f"{bulk.SCRATCH_PREFIX}{dead_pid}-abc123"
    dead.mkdir()
    fail_interrupted()
    assert not dead.exists()


def test_the_staging_image_folder_carries_this_pid(tmp_path, monkeypatch):
    """The real staging folder is named so clean_scratch() can tell whose it is."""
    import polars as pl

    monkeypatch.setattr(bulk, "_scratch_dir", lambda: str(tmp_path))
    image = bulk._Image(pl.DataFrame({"a": [1, 2, 3]}))
    try:
        folders = list(tmp_path.glob(f"{bulk.SCRATCH_PREFIX}*"))
        assert len(folders) == 1 and folders[0].name.startswith(f"{bulk.SCRATCH_PREFIX}{os.getpid()}-")
        assert bulk.clean_scratch() == 0 and folders[0].exists()  # this process's own: kept
    finally:
        image.release()
    assert not folders[0].exists()


# --- the batch pages ------------------------------------------------------------------------

def test_batch_detail_shows_the_interrupted_message_to_its_importer(client, personas, dead_pid):
    stuck = batch("stuck.csv", runner=runner_of(dead_pid, "99"), created_by=personas["muba"])
    client.force_login(personas["muba"])
    page = client.get(reverse("batch_detail", args=[stuck.pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert INTERRUPTED_ID in body
    assert 'id="progress"' not in body  # no progress bar polling for ever
    stuck.refresh_from_db()
    assert (stuck.status, stuck.error_code) == (BatchStatus.FAILED, "INTERRUPTED")


def test_batch_detail_of_a_live_run_shows_progress(client, personas):
    running = batch("running.csv", runner=runner_id(), created_by=personas["muba"])
    client.force_login(personas["muba"])
    body = client.get(reverse("batch_detail", args=[running.pk])).content.decode()
    assert 'id="progress"' in body and INTERRUPTED_ID not in body
    running.refresh_from_db()
    assert running.status == BatchStatus.RUNNING


def test_batch_list_marks_the_interrupted_run_failed(client, personas, dead_pid):
    stuck = batch("stuck-list.csv", runner=runner_of(dead_pid, "99"), created_by=personas["muba"])
    client.force_login(personas["muba"])
    page = client.get(reverse("batch_list"))
    assert page.status_code == 200
    stuck.refresh_from_db()
    assert stuck.status == BatchStatus.FAILED
    body = page.content.decode()
    assert '<span class="status failed">Gagal</span>' in body
    # Then its page explains why.
    assert INTERRUPTED_ID in client.get(reverse("batch_detail", args=[stuck.pk])).content.decode()
