"""kelambu import PATH --source {p3ke,dtsen,village,sponsor,other} [...]"""

import json
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kelambu.accounts.cli import command_actor
from kelambu.lib import issues as catalogue
from kelambu.lib.export import to_csv_bytes, to_xlsx_bytes
from kelambu.registry.exports import rejected_rows
from kelambu.registry.models import BatchStatus, DecileScale, Source
from kelambu.registry.queries import visible_report
from kelambu.registry.reader import ImportRefused, load_mapping
from kelambu.registry.services import ImportOptions, fail_interrupted, import_list, parse_months


class Command(BaseCommand):
    help = "Import a beneficiary list (CSV or XLSX) into the registry."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--source", required=True, choices=Source.values)
        parser.add_argument("--sheet", help="XLSX sheet name (default: the first sheet)")
        parser.add_argument("--mapping", type=Path, help="JSON or CSV file mapping fields to this file's headers")
        parser.add_argument("--dry-run", action="store_true", help="validate and report without writing people")
        parser.add_argument("--report", type=Path, help="write the report as JSON here")
        parser.add_argument("--rejected", type=Path, help="write the rejected rows here (.csv or .xlsx)")
        parser.add_argument("--sponsor", default="", help="the sponsor's exact name, for --source sponsor "
                                                          "(a sponsor an administrator has added)")
        parser.add_argument("--months", help="months the list's people are paid for: YYYY-MM or YYYY-MM:YYYY-MM "
                                               "(sponsor and village lists; read by the double-funding report)")
        parser.add_argument("--decile-scale", choices=DecileScale.values, help="override the source's decile scale")
        parser.add_argument("--user", help="import as this Kelambu user (scope and audit); default: the system")

    def handle(self, *args, **opts):
        console = Console(stderr=False)
        path: Path = opts["path"]
        if not path.is_file():
            raise CommandError(f"File not found / berkas tidak ada: {path}")
        actor = command_actor(opts["user"])
        fail_interrupted()  # an import whose process died before is marked failed, not left running
        try:
            mapping = load_mapping(opts["mapping"]) if opts["mapping"] else None
        except ImportRefused as refusal:
            raise CommandError(f"{refusal.code}: {refusal.message_id}\n{refusal.message_en}") from None
        try:
            months = parse_months(opts["months"]) if opts["months"] else None
        except ValueError as exc:
            raise CommandError(f"--months: {exc}") from None
        options = ImportOptions(
            source=opts["source"], sheet=opts["sheet"], mapping=mapping, dry_run=opts["dry_run"],
            sponsor=opts["sponsor"] or None, decile_scale=opts["decile_scale"], file_name=path.name,
            funded_months=months,
        )
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True, disable=not console.is_terminal) as bar:
            task = bar.add_task("reading", total=None)

            def progress(stage, done, total):
                bar.update(task, description=stage, completed=done, total=total or None)

            try:
                batch, ran = import_list(path, options, actor, progress)
            except (PermissionDenied, ValueError) as exc:
                raise CommandError(str(exc)) from None
        # What the importer may learn of the list (a company: nothing of who matched).
        report = visible_report(batch, actor) if not isinstance(actor, str) else batch.report
        if not ran:
            console.print(f"Berkas ini sudah diimpor sebagai batch #{batch.pk}; tidak ada yang berubah. / "
                          f"This file was already imported as batch #{batch.pk}; nothing changed.")
            report = {**report, "status": "already_imported"}
        if opts["report"]:
            opts["report"].write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        if batch.status == BatchStatus.REFUSED:
            refusal = report["refusal"]
            raise CommandError(f"{refusal['code']}: {refusal['message_id']}\n{refusal['message_en']}")
        if ran:
            self._print(console, report)
        if opts["rejected"]:
            from kelambu.audit.services import record as audit

            frame = rejected_rows(batch)
            audit(actor, "download.rejected_rows", batch,
                  summary=f"rejected rows of batch #{batch.pk} written to {opts['rejected']} ({frame.height} rows)")
            data = to_xlsx_bytes(frame, "Ditolak") if opts["rejected"].suffix.lower() == ".xlsx" else to_csv_bytes(frame)
            opts["rejected"].write_bytes(data)
            console.print(f"{frame.height} baris ditolak / rejected rows -> {opts['rejected']}")


    def _print(self, console, report):
        table = Table(title=f"Batch #{report['batch']} {report['file']}" + (" (dry run)" if report["dry_run"] else ""))
        table.add_column("")
        table.add_column("", justify="right")
        for key, label in [("rows", "Baris / rows"), ("accepted", "Diterima / accepted"),
                           ("rejected", "Ditolak / rejected"), ("warnings", "Dengan peringatan / with warnings"),
                           ("held", "Ditahan untuk konfirmasi / held for confirmation"),
                           ("people_new", "Orang baru / new people"), ("people_updated", "Diperbarui / updated"),
                           ("people_linked", "Ditautkan, tidak diubah / linked, not changed")]:
            if key in report:  # a company's report leaves out who matched
                table.add_row(label, f"{report[key]:,}")
        console.print(table)
        if report["issues"]:
            issues = Table(title="Masalah per kode / issues per code")
            for col in ("code", "severity", "rows", "message"):
                issues.add_column(col, justify="right" if col == "rows" else "left")
            for code, count in sorted(report["issues"].items(), key=lambda kv: -kv[1]):
                issue = catalogue.ISSUES[code]
                issues.add_row(code, issue.severity, f"{count:,}", issue.message_en)
            console.print(issues)
        if report.get("rows_per_second"):
            console.print(f"{report['seconds']} s, {report['rows_per_second']:,} rows/s")
