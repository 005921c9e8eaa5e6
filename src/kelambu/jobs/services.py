"""The job queue around django-tasks (database backend): putting long work on it, and
recovering from workers that died.

Long work (an import, a deduplication run, an allocation) is a task in the database queue
(`TASKS` in settings.py), run by `kelambu worker` (which `kelambu serve` starts). A worker
killed mid-task leaves its task "running" in django-tasks-db; `recover()` fails it with the
reason, and each stage marks its own record (batch, run) interrupted, so nothing stays
"running" for ever. It runs when a worker starts, before each task it takes, and when the
pages that list those records are opened.
"""

import logging

from django.db import transaction
from django.utils import timezone

from .runners import runner_alive

log = logging.getLogger(__name__)


class WorkerDied(RuntimeError):
    """Why a task failed when the worker running it ended (killed, or the machine restarted)."""


class Cancelled(Exception):
    """Raised inside a job whose cancellation was asked (its transaction then rolls back)."""


def _cancel_key(key: str) -> str:
    return f"cancel:{key}"


def request_cancel(key: str) -> None:
    """Asks the job known as `key` (e.g. "import:12") to stop at its next step."""
    from django.core.cache import cache

    cache.set(_cancel_key(key), True, 6 * 3600)


def check_cancel(key: str) -> None:
    """Raises Cancelled when the job's cancellation was asked (called at each of its steps)."""
    from django.core.cache import cache

    if cache.get(_cancel_key(key)):
        cache.delete(_cancel_key(key))
        raise Cancelled(key)


def cancel_queued(task_id: str) -> bool:
    """Takes a task off the queue if no worker has taken it yet; whether it did."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    with transaction.atomic():
        task = DBTaskResult.objects.select_for_update().filter(pk=task_id, status=TaskResultStatus.READY).first()
        if task is None:
            return False
        task.set_failed(Cancelled("cancelled before a worker took it"))
    return True


def recover() -> dict[str, int]:
    """Fails every running task whose worker is gone, then lets each stage mark its records
    whose process is gone. Returns how many of each were marked."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    tasks = 0
    for task in DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).only("id", "worker_ids", "task_path"):
        if task.worker_ids and runner_alive(task.worker_ids[-1]):
            continue
        with transaction.atomic():
            fresh = DBTaskResult.objects.select_for_update().filter(pk=task.pk, status=TaskResultStatus.RUNNING).first()
            if fresh is None:
                continue
            fresh.set_failed(WorkerDied(f"the worker {fresh.worker_ids[-1] if fresh.worker_ids else '?'} ended "
                                        f"while running {fresh.task_path}; marked at {timezone.now():%Y-%m-%d %H:%M:%S}"))
            tasks += 1
            log.warning("task %s failed: its worker ended", fresh.pk)
    from kelambu.dedup.services import fail_interrupted as dedup_interrupted
    from kelambu.programs.services import fail_interrupted as allocation_interrupted
    from kelambu.registry.services import fail_interrupted as imports_interrupted

    return {"tasks": tasks, "imports": imports_interrupted(), "dedup_runs": dedup_interrupted(),
            "allocations": allocation_interrupted()}


def enqueue(task, *args) -> str:
    """Puts `task` on the queue with JSON-serializable arguments; returns the task id."""
    return str(task.enqueue(*args).id)


def task_failure(task_id: str | None) -> str | None:
    """Why a queued task will never report back (it failed, its worker died, or it is gone),
    for the page following its progress; None while it waits, runs or has succeeded."""
    from django.utils.translation import gettext as _
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    if not task_id:
        return None
    task = DBTaskResult.objects.filter(pk=task_id).only("status", "worker_ids", "exception_class_path").first()
    if task is None:
        return _("The job is no longer in the queue; start it again.")
    if task.status == TaskResultStatus.RUNNING and task.worker_ids and not runner_alive(task.worker_ids[-1]):
        recover()
        return _("The job stopped because its worker ended; nothing changed. Start it again.")
    if task.status == TaskResultStatus.FAILED:
        if task.exception_class_path.endswith("WorkerDied"):
            return _("The job stopped because its worker ended; nothing changed. Start it again.")
        return _("The job failed and its error was recorded; tell the administrator.")
    return None
