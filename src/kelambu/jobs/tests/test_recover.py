"""Recovering from dead workers and processes, in this process: tasks, imports, deduplication
runs and allocations left "running" by a process that no longer exists are failed with their
reason; those of live processes, and jobs still waiting in the queue, are left alone."""

import os
import socket
import subprocess
import sys
from datetime import date

import pytest
from django.urls import reverse
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kelambu.dedup import tasks as dedup_tasks
from kelambu.dedup.models import MatchRun, RunStatus
from kelambu.jobs.runners import queued, runner_id
from kelambu.jobs.services import enqueue, recover, task_failure
from kelambu.programs.models import AllocationRun, Program
from kelambu.registry.models import BatchStatus, ImportBatch
from kelambu.registry.tasks import import_list_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_runner():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()[:30]}:{child.pid}:12345"


def _task(status=TaskResultStatus.READY, worker=None) -> DBTaskResult:
    task_id = enqueue(dedup_tasks.run_dedup_task, "t", 1, "16.06", True)
    DBTaskResult.objects.filter(pk=task_id).update(status=status, worker_ids=[worker] if worker else [])
    return DBTaskResult.objects.get(pk=task_id)


def test_a_dead_workers_task_is_failed_with_its_reason_and_a_live_ones_is_not(dead_runner):
    dead = _task(TaskResultStatus.RUNNING, dead_runner)
    live = _task(TaskResultStatus.RUNNING, runner_id())
    waiting = _task()
    assert recover()["tasks"] == 1
    dead.refresh_from_db()
    assert dead.status == TaskResultStatus.FAILED and dead.exception_class_path.endswith("WorkerDied")
    assert dead_runner in dead.traceback
    assert DBTaskResult.objects.get(pk=live.pk).status == TaskResultStatus.RUNNING
    assert DBTaskResult.objects.get(pk=waiting.pk).status == TaskResultStatus.READY
    assert recover()["tasks"] == 0  # once


def test_runs_of_dead_processes_are_marked_failed(personas, dead_runner):
    program = Program.objects.create(name="P", region_id="16.06", start_month=date(2026, 10, 1),
                                     end_month=date(2026, 12, 1))
    dead_run = MatchRun.objects.create(region="16.06", runner=dead_runner)
    live_run = MatchRun.objects.create(region="16.06", runner=runner_id())
    dead_alloc = AllocationRun.objects.create(program=program, runner=dead_runner)
    live_alloc = AllocationRun.objects.create(program=program, runner=runner_id())
    marked = recover()
    assert (marked["dedup_runs"], marked["allocations"]) == (1, 1)
    dead_run.refresh_from_db()
    dead_alloc.refresh_from_db()
    assert dead_run.status == RunStatus.FAILED and "process ended" in dead_run.error_message
    assert dead_alloc.status == "failed" and "process ended" in dead_alloc.error_message
    assert MatchRun.objects.get(pk=live_run.pk).status == RunStatus.RUNNING
    assert AllocationRun.objects.get(pk=live_alloc.pk).status == "running"
    from kelambu.audit.models import Event

    assert Event.objects.filter(action__in=["dedup.interrupted", "allocation.interrupted"]).count() == 2


def test_a_queued_import_lives_while_its_task_waits(personas, tmp_path):
    def batch(runner):
        return ImportBatch.objects.create(file_name="a.csv", file_sha256=os.urandom(8).hex(), source="village",
                                          created_by=personas["muba"], runner=runner)

    waiting = enqueue(import_list_task, 1, "/nonexistent", {"source": "village"}, personas["muba"].pk)
    failed = enqueue(import_list_task, 2, "/nonexistent", {"source": "village"}, personas["muba"].pk)
    DBTaskResult.objects.filter(pk=failed).update(status=TaskResultStatus.FAILED)
    kept, lost = batch(queued(waiting)), batch(queued(failed))
    assert recover()["imports"] == 1
    assert ImportBatch.objects.get(pk=kept.pk).status == BatchStatus.PENDING
    lost.refresh_from_db()
    assert (lost.status, lost.error_code) == (BatchStatus.FAILED, "INTERRUPTED")


def test_what_a_page_following_a_job_is_told(dead_runner):
    assert task_failure(None) is None
    assert task_failure(str(_task().pk)) is None
    assert "sudah tidak ada di antrean" in task_failure("00000000-0000-0000-0000-000000000000")
    died = _task(TaskResultStatus.RUNNING, dead_runner)
    assert "proses pekerjanya berakhir" in task_failure(str(died.pk))
    assert DBTaskResult.objects.get(pk=died.pk).status == TaskResultStatus.FAILED  # recovered on the way


def test_the_progress_page_of_a_run_whose_worker_died_says_so(client, personas, dead_runner):
    died = _task(TaskResultStatus.RUNNING, dead_runner)
    dedup_tasks.update("tok", user=personas["muba"].pk, step="scoring", done=2, total=5, task=str(died.pk))
    client.force_login(personas["muba"])
    state = client.get(reverse("dedup_status", args=["tok"])).json()
    assert state["finished"] and state["error"].startswith("Pekerjaan berhenti karena proses pekerjanya berakhir")


def test_a_deduplication_run_through_the_queue(client, personas, settings):
    settings.KELAMBU_IMPORT_IN_BACKGROUND = True
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client.force_login(personas["muba"])
    response = client.post(reverse("dedup_runs"), {"region": "16.06", "auto_merge": "on"})
    assert response.status_code == 302 and "/pemadanan/proses/" in response["Location"]
    token = response["Location"].rstrip("/").split("/")[-1]
    state = client.get(reverse("dedup_status", args=[token])).json()
    run = MatchRun.objects.get()
    assert state["finished"] and not state["error"] and run.status == RunStatus.DONE
    assert run.runner == runner_id()
