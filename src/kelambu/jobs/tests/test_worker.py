"""The job queue with a real worker process: a job runs in the worker, and a worker killed in
the middle of an import leaves the job failed with its reason and the import marked
interrupted (nothing of it in the registry), never "running".

These tests run Kelambu in child processes on a database of their own (a SQLite file, or a
PostgreSQL database made for the test when the suite runs on PostgreSQL).
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from django.db import connection

SCRIPT = textwrap.dedent('''
    import json, os, sys
    import django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kelambu.settings")
    django.setup()
    from pathlib import Path
    from django.contrib.auth import get_user_model
    from django_tasks_db.models import DBTaskResult
    from kelambu.accounts.models import Role
    from kelambu.jobs.runners import queued
    from kelambu.jobs.services import enqueue
    from kelambu.registry.models import ImportBatch, Person
    from kelambu.registry.services import ImportOptions, start_import
    from kelambu.registry.tasks import import_list_task, options_to_json

    what = sys.argv[1]
    if what == "enqueue":
        user, _ = get_user_model().objects.get_or_create(username="op", defaults={"role": Role.REGENCY_OPERATOR,
                                                                                  "region_id": "16.06"})
        path, options = Path(sys.argv[2]), ImportOptions(source="village")
        batch, _ = start_import(path, options, user)
        task = enqueue(import_list_task, batch.pk, str(path), options_to_json(options), user.pk)
        ImportBatch.objects.filter(pk=batch.pk, status="pending").update(runner=queued(task))
        print(json.dumps({"batch": batch.pk, "task": task}))
    elif what == "enqueue-dedup":
        from kelambu.dedup.tasks import run_dedup_task, update
        user = get_user_model().objects.get(username="op")
        update("tok", user=user.pk, step="start")
        print(json.dumps({"task": enqueue(run_dedup_task, "tok", user.pk, "16.06", True)}))
    elif what == "enqueue-allocation":
        from datetime import date
        from kelambu.programs.models import Program, ProgramSponsor, Sponsor
        from kelambu.programs.tasks import allocate_task
        user = get_user_model().objects.get(username="op")
        sponsor = Sponsor.objects.create(name="Pemkab Muba", kind="apbd", region_id="16.06")
        program = Program.objects.create(name="PAKE", region_id="16.06", start_month=date(2026, 10, 1),
                                         end_month=date(2026, 12, 1), decile_scale="p3ke", decile_min=1, decile_max=3)
        ProgramSponsor.objects.create(program=program, sponsor=sponsor, year=2026, budget=10**12, status="accepted")
        print(json.dumps({"task": enqueue(allocate_task, "tok", user.pk, program.pk, False)}))
    elif what == "runs":
        from kelambu.dedup.models import MatchRun
        from kelambu.programs.models import AllocationRun, Membership
        task = DBTaskResult.objects.get(pk=sys.argv[2])
        print(json.dumps({"task": task.status, "exception": task.exception_class_path,
                          "dedup": list(MatchRun.objects.values_list("status", "error_message")),
                          "allocations": list(AllocationRun.objects.values_list("status", "error_message")),
                          "memberships": Membership.objects.count()}))
    elif what == "state":
        batch = ImportBatch.objects.get(pk=int(sys.argv[2]))
        task = DBTaskResult.objects.get(pk=sys.argv[3])
        print(json.dumps({"batch": batch.status, "code": batch.error_code, "task": task.status,
                          "exception": task.exception_class_path, "people": Person.objects.count()}))
''')


@pytest.fixture
def child_env(tmp_path):
    """The environment of Kelambu processes on a database of their own, set up."""
    env = {**os.environ, "KELAMBU_DATA_DIR": str(tmp_path / "data"), "KELAMBU_IMPORT_IN_BACKGROUND": "true"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    made = None
    if connection.vendor == "postgresql":
        import psycopg

        made = f"kelambu_jobs_{uuid.uuid4().hex[:8]}"
        settings = connection.settings_dict
        admin_url = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/postgres"
        with psycopg.connect(admin_url, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{made}"')
        env["KELAMBU_DATABASE_URL"] = admin_url.rsplit("/", 1)[0] + "/" + made
    else:
        env.pop("KELAMBU_DATABASE_URL", None)
        env.pop("DATABASE_URL", None)
    (tmp_path / "data").mkdir()
    done = subprocess.run([sys.executable, "-m", "kelambu.cli", "setup"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    (tmp_path / "script.py").write_text(SCRIPT)
    yield env
    if made:
        with psycopg.connect(admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{made}" WITH (FORCE)')


def _script(env, tmp_path, *args) -> dict:
    import json

    done = subprocess.run([sys.executable, str(tmp_path / "script.py"), *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _big_list(path, rows: int) -> None:
    lines = ["NIK,Nama,JK,Tanggal Lahir,Kode Desa,Desil"]
    for n in range(rows):
        day, serial = 1 + n % 28, 1 + n // 28
        lines.append(f"160601{day:02d}0385{serial:04d},Orang Uji {n},L,{day:02d}-03-1985,16.06.01.2001,{1 + n % 3}")
    path.write_text("\n".join(lines) + "\n")


def _worker(env, *args):
    return subprocess.Popen([sys.executable, "-m", "kelambu.cli", "worker", "--interval", "0.2", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_the_worker_runs_a_queued_import(child_env, tmp_path):
    _big_list(tmp_path / "kecil.csv", 50)
    job = _script(child_env, tmp_path, "enqueue", str(tmp_path / "kecil.csv"))
    assert _script(child_env, tmp_path, "state", str(job["batch"]), job["task"])["batch"] == "pending"
    worker = _worker(child_env, "--batch")
    out, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, out
    state = _script(child_env, tmp_path, "state", str(job["batch"]), job["task"])
    assert (state["batch"], state["task"], state["people"]) == ("done", "SUCCESSFUL", 50)


def test_a_worker_killed_mid_import_leaves_the_job_failed_with_its_reason(child_env, tmp_path):
    # Big enough to be still running when the kill comes (about 5 s on the development machine).
    _big_list(tmp_path / "besar.csv", 600_000)
    job = _script(child_env, tmp_path, "enqueue", str(tmp_path / "besar.csv"))
    worker = _worker(child_env)
    try:
        deadline = time.monotonic() + 120
        while _script(child_env, tmp_path, "state", str(job["batch"]), job["task"])["batch"] != "running":
            assert worker.poll() is None and time.monotonic() < deadline, worker.stdout.read()
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGKILL)  # no chance to clean up, as when a machine dies
        worker.wait(timeout=30)
    # Killed: the task is left "running" by its dead worker, until a worker starts again.
    assert _script(child_env, tmp_path, "state", str(job["batch"]), job["task"])["task"] == "RUNNING"
    again = _worker(child_env, "--batch")
    out, _ = again.communicate(timeout=120)
    assert again.returncode == 0, out
    state = _script(child_env, tmp_path, "state", str(job["batch"]), job["task"])
    assert state["task"] == "FAILED" and state["exception"].endswith("WorkerDied")
    assert (state["batch"], state["code"]) == ("failed", "INTERRUPTED")
    assert state["people"] == 0  # its transaction rolled back: nothing of it in the registry


def _running(env, table: str) -> bool:
    """Whether a run of `table` is "running" in the children's database (read directly: a
    run can be short)."""
    if "KELAMBU_DATABASE_URL" in env:
        import psycopg

        with psycopg.connect(env["KELAMBU_DATABASE_URL"]) as c:
            return c.execute(f"SELECT count(*) FROM {table} WHERE status = 'running'").fetchone()[0] > 0
    import sqlite3

    with sqlite3.connect(f"{env['KELAMBU_DATA_DIR']}/kelambu.sqlite3", timeout=30) as c:
        return c.execute(f"SELECT count(*) FROM {table} WHERE status = 'running'").fetchone()[0] > 0


def _kill_when_running(env, table: str) -> None:
    worker = _worker(env)
    try:
        deadline = time.monotonic() + 120
        while not _running(env, table):
            assert worker.poll() is None and time.monotonic() < deadline, worker.stdout.read()
            time.sleep(0.02)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    again = _worker(env, "--batch")
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 0, out


@pytest.mark.parametrize("job, table", [("dedup", "dedup_matchrun"), ("allocation", "programs_allocationrun")])
def test_a_worker_killed_mid_run_leaves_the_run_failed_with_its_reason(child_env, tmp_path, job, table):
    _big_list(tmp_path / "orang.csv", 60_000)
    _script(child_env, tmp_path, "enqueue", str(tmp_path / "orang.csv"))
    first = _worker(child_env, "--batch")  # the import, to the end
    first.communicate(timeout=300)
    task = _script(child_env, tmp_path, f"enqueue-{job}")["task"]
    _kill_when_running(child_env, table)
    state = _script(child_env, tmp_path, "runs", task)
    assert state["task"] == "FAILED" and state["exception"].endswith("WorkerDied")
    runs = state["dedup" if job == "dedup" else "allocations"]
    assert len(runs) == 1 and runs[0][0] == "failed" and "process ended" in runs[0][1]
    assert state["memberships"] == 0  # nothing of the allocation was kept
