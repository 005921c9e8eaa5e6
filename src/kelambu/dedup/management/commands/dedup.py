"""kelambu dedup [--region CODE] [--report FILE.json] [--export-clusters FILE.csv]"""

import json
from pathlib import Path

import polars as pl
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kelambu.accounts.cli import command_actor
from kelambu.audit.services import record as audit
from kelambu.dedup import funding, services
from kelambu.dedup.engine import MatchSettings
from kelambu.lib.export import write_csv
from kelambu.regions.models import Region

STEPS = {"read": "membaca / reading", "score": "menilai pasangan / scoring pairs",
         "write": "menyimpan / writing", "done": "selesai / done"}


class Command(BaseCommand):
    help = "Find the same person across and within lists: merge the certain, queue the rest for review."

    def add_arguments(self, parser):
        parser.add_argument("--region", help="only people living in this region (code, e.g. 16.06)")
        parser.add_argument("--report", type=Path, help="write the run's report as JSON here")
        parser.add_argument("--export-clusters", type=Path,
                            help="write one line per source record with its person (and proposed person) here")
        parser.add_argument("--double-funding", type=Path,
                            help="write the people funded twice for the same months here (CSV)")
        parser.add_argument("--no-auto-merge", action="store_true", help="queue every pair for review")
        parser.add_argument("--review-threshold", type=float, help="keep pairs at or above this probability")
        parser.add_argument("--auto-threshold", type=float, help="merge automatically at or above this probability")
        parser.add_argument("--variants", help="CSV of extra name variants (variant,canonical)")
        parser.add_argument("--user", help="run as this Kelambu user (scope and audit); default: the system")

    def handle(self, *args, **opts):
        console = Console()
        actor = command_actor(opts["user"])
        region = (opts["region"] or "").strip()
        if region and not Region.objects.filter(code=region).exists():
            raise CommandError(f"Wilayah tidak dikenal / unknown region: {region}")
        settings = MatchSettings()
        changes = {}
        if opts["no_auto_merge"]:
            changes["auto_merge"] = False
        for key in ("review_threshold", "auto_threshold"):
            if opts[key] is not None:
                if not 0 <= opts[key] <= 1:
                    raise CommandError(f"--{key.replace('_', '-')} must be between 0 and 1")
                changes[key] = opts[key]
        if opts["variants"]:
            if not Path(opts["variants"]).is_file():
                raise CommandError(f"File not found / berkas tidak ada: {opts['variants']}")
            from kelambu.lib.matchnames import load_variants

            try:
                load_variants(opts["variants"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            changes["variants_file"] = opts["variants"]
        if changes:
            from dataclasses import replace

            settings = replace(settings, **changes)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("dedup", total=5)

            def progress(step, done, total):
                bar.update(task, description=STEPS.get(step, step), completed=done, total=total)

            try:
                run = services.run_dedup(actor, region, settings, progress)
            except PermissionDenied as exc:
                raise CommandError(str(exc)) from None
        report = run.report
        table = Table(title=f"Pemadanan / deduplication run #{run.pk}" + (f" ({region})" if region else ""))
        table.add_column("")
        table.add_column("", justify="right")
        for key, label in [("records", "Rekaman / records"), ("people", "Orang / people"),
                           ("pairs_scored", "Pasangan dinilai / pairs scored"), ("clusters", "Klaster / clusters"),
                           ("auto_merged", "Digabung otomatis / merged automatically"),
                           ("for_review", "Perlu diperiksa / for review"),
                           ("nik_conflicts", "NIK sama, orang beda? / NIK conflicts")]:
            table.add_row(label, f"{report.get(key, 0):,}")
        console.print(table)
        console.print(f"{report['seconds'].get('total', 0)} s")
        cases = funding.double_funding(region, settings)
        report["double_funding"] = {
            "confirmed": cases.filter(pl.col("status") == "confirmed").height,
            "suspected": cases.filter(pl.col("status") == "suspected").height,
        }
        console.print(f"Pendanaan ganda / double funding: {report['double_funding']['confirmed']:,} pasti / confirmed, "
                      f"{report['double_funding']['suspected']:,} dugaan / suspected")
        if opts["double_funding"]:
            write_csv(cases, opts["double_funding"])
            audit(actor, "download.double_funding", object_type="report", object_id="double_funding",
                  data={"path": str(opts["double_funding"])},
                  summary=f"double-funding cases written to {opts['double_funding']} ({cases.height})")
        if opts["report"]:
            opts["report"].write_text(json.dumps(report, indent=2, ensure_ascii=False))
        if opts["export_clusters"]:
            rows = services.export_clusters(opts["export_clusters"], region)
            audit(actor, "download.clusters", object_type="report", object_id="clusters",
                  data={"path": str(opts["export_clusters"])},
                  summary=f"clusters of {region or 'every region'} written to {opts['export_clusters']} ({rows} records)")
            console.print(f"{rows:,} rekaman / records -> {opts['export_clusters']}")

