"""kelambu dedup_eval --clusters FILE.csv --truth FILE.csv [--report FILE.json] [--batch ID]

Scores what `kelambu dedup --export-clusters` wrote against the truth file of
`kelambu synth --truth`. Needs no database.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.table import Table

from kelambu.dedup.evaluate import score_clusters_file

READINGS = (
    ("if_accepted", "usulan diterima / if accepted"),
    ("merged", "sudah digabung / merged"),
)


class Command(BaseCommand):
    help = ("Score an exported deduplication (kelambu dedup --export-clusters) against a synthetic "
            "list's ground truth: pairwise and cluster precision, recall and F1, recall by corruption.")
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--clusters", type=Path, required=True,
                            help="CSV written by kelambu dedup --export-clusters")
        parser.add_argument("--truth", type=Path, required=True,
                            help="CSV written by kelambu synth --truth (record_id, person_key, corruptions)")
        parser.add_argument("--report", type=Path, help="write every figure as JSON here")
        parser.add_argument("--batch", help="score only this source_batch of the clusters file")

    def handle(self, *args, **opts):
        try:
            result = score_clusters_file(opts["clusters"], opts["truth"], batch=opts["batch"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        console = Console()
        counts = result["counts"]
        console.print(
            f"{counts['scored_records']:,} rekaman dinilai / records scored "
            f"({counts['truth_not_in_export']:,} only in the truth, {counts['export_not_in_truth']:,} only in "
            f"the clusters file; {counts['pending_review']:,} waiting for review)")
        table = Table(title="Evaluasi pemadanan / deduplication evaluation")
        table.add_column("")
        for header in ("pairwise P", "R", "F1", "cluster P", "R", "F1"):
            table.add_column(header, justify="right")
        for key, label in READINGS:
            pair, cluster = result[key]["pairwise"], result[key]["cluster"]
            table.add_row(label, *(f"{m[k]:.4f}" for m in (pair, cluster) for k in ("precision", "recall", "f1")))
        console.print(table)
        kinds = result["if_accepted"]["errors_by_kind"]
        if kinds:
            missed = Table(title="Pasangan terlewat per jenis / missed pairs by corruption (if accepted)")
            for header, justify in (("kind", "left"), ("true pairs", "right"), ("missed", "right"),
                                    ("recall", "right")):
                missed.add_column(header, justify=justify)
            for row in kinds:
                missed.add_row(row["kind"], f"{row['true_pairs']:,}", f"{row['missed']:,}", f"{row['recall']:.4f}")
            console.print(missed)
        if opts["report"]:
            try:
                opts["report"].write_text(json.dumps(result, indent=2, ensure_ascii=False))
            except OSError as exc:
                raise CommandError(f"cannot write {opts['report']}: {exc.strerror or exc}") from None
            console.print(f"-> {opts['report']}")
