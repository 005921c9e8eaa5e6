"""kelambu allocate PROGRAM [--what-if] [--report FILE.json] [--replace] [--user NAME]"""

import json
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from kelambu.accounts.cli import command_actor
from kelambu.lib.contributions import RuleError
from kelambu.programs.models import Program
from kelambu.programs.services import allocate_program


def find_program(ref: str) -> Program:
    """By id or exact name."""
    program = Program.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
    program = program or Program.objects.filter(name=ref).first()
    if program is None:
        raise CommandError(f"Program tidak ada / no such program: {ref!r} (see kelambu programs)")
    return program


class Command(BaseCommand):
    help = "Allocate a program's eligible people to its sponsors, poorest first, within budgets."

    def add_arguments(self, parser):
        parser.add_argument("program", help="program id or exact name")
        parser.add_argument("--what-if", action="store_true", help="compute and report, change nothing")
        parser.add_argument("--report", type=Path, help="write the report as JSON here")
        parser.add_argument("--replace", action="store_true",
                            help="decide again for everyone: end live memberships the new run does not fund")
        parser.add_argument("--user", help="run as this Kelambu user (scope and audit); default: the system")

    def handle(self, *args, **opts):
        program = find_program(opts["program"])
        actor = command_actor(opts["user"])
        try:
            result = allocate_program(program, actor, what_if=opts["what_if"], keep_existing=not opts["replace"])
        except (PermissionDenied, ValidationError, RuleError) as exc:
            message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(message) from None
        report = result.report
        if opts["report"]:
            opts["report"].write_text(json.dumps(report, indent=2, ensure_ascii=False))
        console = Console()
        table = Table(title=f"{program.name}" + (" (what-if)" if opts["what_if"] else ""))
        table.add_column("")
        table.add_column("", justify="right")
        for key, label in [("candidates", "Calon / candidates"), ("eligible", "Memenuhi syarat / eligible"),
                           ("funded", "Dibiayai / funded"), ("memberships_new", "Kepesertaan baru / new memberships")]:
            table.add_row(label, f"{report.get(key, 0):,}")
        for decile, n in report["funded_by_decile"].items():
            table.add_row(f"  desil {decile}", f"{n:,}")
        for reason, n in report["unfunded_by_reason"].items():
            table.add_row(f"  tidak dibiayai / unfunded: {reason}", f"{n:,}")
        for reason, n in report["ineligible_by_reason"].items():
            table.add_row(f"  tidak memenuhi syarat / ineligible: {reason}", f"{n:,}")
        for name, left in report["budget_left"].items():
            table.add_row(f"  sisa anggaran / budget left: {name}", f"Rp{left:,}")
        console.print(table)
