"""Which process runs a long job, and whether it still lives.

A runner id is `host:pid:start-time`: a pid the system has reused for another process does
not pass for the one that died. A job queued and not yet taken by a worker is
`queue:<task id>`: it lives while its task waits or runs.
"""

import os
import socket

QUEUED = "queue:"


def process_start(pid: int) -> str | None:
    """The start time of a process on this machine (Linux), so a reused pid is not taken for
    the process that died; None where /proc does not say."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat.rsplit(b")", 1)[1].split()[19].decode()


def runner_id() -> str:
    """This process, as a runner (at most 64 characters: the task queue's worker-id limit)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{process_start(os.getpid()) or ''}"[:64]


def queued(task_id: str) -> str:
    return f"{QUEUED}{task_id}"


def runner_alive(runner: str) -> bool:
    if runner.startswith(QUEUED):
        return _task_alive(runner[len(QUEUED):])
    host, _sep, rest = runner.partition(":")
    pid, _sep, started = rest.partition(":")
    if host != socket.gethostname()[:30] or not pid.isdigit():
        return True  # another machine's run: it is that machine's to judge
    now_started = process_start(int(pid))
    if now_started is not None or started:
        return now_started is not None and now_started == started
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _task_alive(task_id: str) -> bool:
    """A queued job lives while its task waits, or runs in a live worker."""
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.filter(pk=task_id).only("status", "worker_ids").first()
    if task is None or task.status in (TaskResultStatus.FAILED, TaskResultStatus.SUCCESSFUL):
        return False
    if task.status == TaskResultStatus.RUNNING:
        return bool(task.worker_ids) and runner_alive(task.worker_ids[-1])
    return True
