"""kelambu worker: runs the jobs of the queue (imports, deduplication runs, allocations).

    kelambu worker [--interval 1] [--batch]

django-tasks-db's worker, with this process's runner id (host:pid:start) as its worker id, so
a task it leaves behind when killed can be told from one that still runs: at start and before
every task it takes, the worker fails the tasks of dead workers and the stages mark their
records interrupted (jobs.services.recover). `kelambu serve` starts one and restarts it.
"""

import logging

from django.core.management.base import BaseCommand
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME
from django_tasks_db.management.commands.db_worker import Worker

from kelambu.jobs.runners import runner_id
from kelambu.jobs.services import recover

log = logging.getLogger("kelambu.jobs")


class KelambuWorker(Worker):
    def run_task(self, db_task_result):
        recover()
        log.info("task %s: %s", db_task_result.pk, db_task_result.task_path)
        return super().run_task(db_task_result)


class Command(BaseCommand):
    help = "Run the jobs of the queue (imports, deduplication runs, allocations) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between looks at an empty queue")
        parser.add_argument("--batch", action="store_true", help="stop when the queue is empty")

    def handle(self, *args, **opts):
        marked = recover()
        if any(marked.values()):
            self.stdout.write("Ditandai gagal, prosesnya berakhir / marked failed, their process ended: "
                              + ", ".join(f"{k} {v}" for k, v in marked.items() if v))
        worker = KelambuWorker(
            queue_names=[DEFAULT_TASK_QUEUE_NAME], interval=opts["interval"], batch=opts["batch"],
            backend_name=DEFAULT_TASK_BACKEND_ALIAS, startup_delay=False, max_tasks=None,
            worker_id=runner_id(), excluded_queue_names=[],
        )
        self.stdout.write(f"Worker {runner_id()} waiting for jobs.")
        self.stdout.flush()
        worker.configure_signals()
        worker.run()
