"""kelambu programs [--json]"""

import json

from django.core.management.base import BaseCommand
from rich.console import Console
from rich.table import Table

from kelambu.programs.models import Program


def program_rows() -> list[dict]:
    rows = []
    for p in Program.objects.prefetch_related("funders__sponsor").order_by("pk"):
        rows.append({
            "id": p.pk, "name": p.name, "status": p.status,
            "sponsors": sorted({f.sponsor.name for f in p.funders.all()}),
            "months": [p.start_month.strftime("%Y-%m"), p.end_month.strftime("%Y-%m")],
            "members": p.memberships.exclude(status__in=("rejected", "ended")).count(),
        })
    return rows


class Command(BaseCommand):
    help = "List programs: id, name, sponsors, months, status."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **opts):
        rows = program_rows()
        if opts["json"]:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        table = Table(title="Program / programs")
        for col in ("id", "nama / name", "penyandang dana / sponsors", "bulan / months", "status", "peserta / members"):
            table.add_column(col)
        for r in rows:
            table.add_row(str(r["id"]), r["name"], ", ".join(r["sponsors"]), " - ".join(r["months"]), r["status"],
                          f"{r['members']:,}")
        Console().print(table)
