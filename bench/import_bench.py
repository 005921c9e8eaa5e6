"""Import benchmark: a 1,000,000-row CSV end to end (read, validate, stage, promote) on
SQLite and PostgreSQL, a 200,000-row XLSX, and a naive Django ORM baseline (per-row
validation in Python, bulk_create in batches of 1,000) in the same run.

    .venv/bin/python bench/import_bench.py [--rows 1000000] [--naive-rows 100000] [--repeat 3] [--no-postgres]

Each measured import runs in its own process on a fresh database, so its peak memory
(ru_maxrss) is its own. Each is run --repeat times and the median run is reported, with
every run's time beside it: on this shared virtual machine the same import varies by 20-30%
from one minute to the next. Results go to stdout as JSON and into docs/PERFORMANCE.md.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from benchdoc import machine, write_section

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench"
PG_ADMIN_URL = os.environ.get("KELAMBU_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = "kelambu_bench"
MARK_BEGIN = "<!-- import-bench:begin -->"
MARK_END = "<!-- import-bench:end -->"


# --- child: one measured import ------------------------------------------------------------

def child(args):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kelambu.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("setup", verbosity=0, stdout=open(os.devnull, "w"))
    path = Path(args.path)
    started = time.perf_counter()
    if args.mode == "kelambu":
        from kelambu.registry.services import ImportOptions, import_list

        batch, _ = import_list(path, ImportOptions(source="p3ke"), "bench")
        rows, accepted = batch.rows, batch.accepted
    else:
        rows, accepted = naive_import(path)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "accepted": accepted, "seconds": seconds, "peak_mb": peak_mb}))


def naive_import(path: Path):
    """The obvious Django way: csv.DictReader, validate each row in Python, build model
    objects, bulk_create every 1,000. No staging, no provenance: it does less work than
    Kelambu's path and is still the baseline to beat."""
    import csv

    from django.db import transaction
    from django.utils import timezone

    from kelambu.lib.columns import field_for_header
    from kelambu.lib.nik import parse_nik
    from kelambu.regions.services import region_index
    from kelambu.registry.models import Person

    index = region_index()
    today = date.today()
    now = timezone.now()
    rows = accepted = 0
    seen = set()
    batch = []
    with open(path, newline="", encoding="utf-8-sig") as f, transaction.atomic():
        reader = csv.reader(f)
        header = [field_for_header(h) for h in next(reader)]
        for values in reader:
            rows += 1
            row = {k: v.strip() or None for k, v in zip(header, values, strict=False) if k}
            info = parse_nik(row.get("nik") or "", today)
            if info is None or info.nik in seen or not row.get("name"):
                continue
            if info.province not in index.region_codes or info.regency not in index.region_codes:
                continue
            village = row.get("village_code")
            if village and village not in index.village_codes:
                continue
            seen.add(info.nik)
            decile = row.get("decile")
            batch.append(Person(
                nik=info.nik, kk=row.get("kk"), name=row["name"], name_norm=row["name"].lower(), sex=info.sex,
                birth_date=info.birth_date, address=row.get("address"), village_id=village,
                decile=int(decile) if decile and decile.isdigit() else None, created_at=now, updated_at=now,
            ))
            accepted += 1
            if len(batch) == 1000:
                Person.objects.bulk_create(batch)
                batch = []
        Person.objects.bulk_create(batch)
    return rows, accepted


# --- parent: orchestration -------------------------------------------------------------------

def ensure_list(rows: int, suffix: str) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"p3ke-{rows}.{suffix}"
    if not path.exists():
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kelambu.settings")
        from kelambu.synth.generate import generate, write

        print(f"generating {path.name} ...", file=sys.stderr)
        write(generate(rows, 20261121, source="p3ke", errors=0.01), path)
    return path


def head_csv(path: Path, rows: int) -> Path:
    out = path.with_name(f"{path.stem}-head{rows}.csv")
    if not out.exists():
        with open(path) as src, open(out, "w") as dst:
            for i, line in enumerate(src):
                if i > rows:
                    break
                dst.write(line)
    return out


def measure(mode: str, path: Path, db: str) -> dict:
    env = {**os.environ, "KELAMBU_IMPORT_IN_BACKGROUND": "false"}
    env.pop("DATABASE_URL", None)
    if db == "sqlite":
        data = WORK / f"db-{mode}-{path.stem}"
        subprocess.run(["rm", "-rf", str(data)], check=True)
        env["KELAMBU_DATA_DIR"] = str(data)
        env.pop("KELAMBU_DATABASE_URL", None)
    else:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
            conn.execute(f"CREATE DATABASE {PG_DB}")
        env["KELAMBU_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_DB
        env["KELAMBU_DATA_DIR"] = str(WORK / "pg-data")
    out = subprocess.run([sys.executable, __file__, "child", mode, str(path)], env=env, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"{mode} on {db} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(mode=mode, db=db, file=path.name, rows_per_second=int(result["rows"] / result["seconds"]))
    print(json.dumps(result), file=sys.stderr)
    return result


def measure_median(mode: str, path: Path, db: str, repeat: int) -> dict:
    """The median of `repeat` runs (by time), with the times of all of them and the highest
    peak memory of any."""
    runs = sorted((measure(mode, path, db) for _ in range(repeat)), key=lambda r: r["seconds"])
    result = dict(runs[len(runs) // 2])
    result["runs"] = [round(r["seconds"], 2) for r in runs]
    result["peak_mb"] = max(r["peak_mb"] for r in runs)
    return result


def write_doc(results: list[dict], args) -> None:
    doc = ROOT / "docs" / "PERFORMANCE.md"
    rows = ["| what | database | rows | seconds (median) | rows/s (median) | all runs, seconds | peak memory |",
            "|---|---|---:|---:|---:|---|---:|"]
    for r in results:
        label = {"kelambu": "Kelambu import", "naive": "naive ORM baseline"}[r["mode"]] + f" ({r['file']})"
        runs = ", ".join(f"{t:.2f}" for t in r["runs"])
        rows.append(f"| {label} | {r['db']} | {r['rows']:,} | {r['seconds']:.2f} | {r['rows_per_second']:,} | {runs} "
                    f"| {r['peak_mb']:.0f} MB |")
    ratios = []
    by = {(r["mode"], r["db"], r["file"].endswith(".xlsx")): r for r in results}
    for db in ("sqlite", "postgresql"):
        k, n = by.get(("kelambu", db, False)), by.get(("naive", db, False))
        if k and n:
            ratios.append(f"- {db}: Kelambu {k['rows_per_second']:,} rows/s vs naive {n['rows_per_second']:,} rows/s (medians) = "
                          f"**{k['rows_per_second'] / n['rows_per_second']:.1f}x**")
    section = "\n".join([
        MARK_BEGIN,
        f"Run on {date.today().isoformat()}: `python bench/import_bench.py --rows {args.rows} --naive-rows {args.naive_rows} "
        f"--repeat {args.repeat}`",
        f"on {machine()}.", "", *rows, "", "Ratio against the naive path, same run (rows/s):", *ratios, MARK_END,
    ])
    write_section(doc, MARK_BEGIN, MARK_END, section)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        child(argparse.Namespace(mode=sys.argv[2], path=sys.argv[3]))
        return
    sys.path.insert(0, str(ROOT / "src"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=100_000,
                        help="the naive path runs on the first N rows (it is too slow for a million)")
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each import; the median is reported")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    big = ensure_list(args.rows, "csv")
    small = head_csv(big, args.naive_rows)
    n = args.repeat
    results = [measure_median("kelambu", big, "sqlite", n), measure_median("naive", small, "sqlite", n)]
    if not args.no_postgres:
        results += [measure_median("kelambu", big, "postgresql", n), measure_median("naive", small, "postgresql", n)]
    if args.xlsx_rows:
        results.append(measure_median("kelambu", ensure_list(args.xlsx_rows, "xlsx"), "sqlite", n))
    write_doc(results, args)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
