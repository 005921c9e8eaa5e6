"""`kelambu synth`: write a synthetic beneficiary list (and its ground truth)."""

import time
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kelambu.synth.generate import (
    DEFAULT_REGENCIES,
    SOURCES,
    TODAY,
    XLSX_MAX_ROWS,
    generate,
    normalize_regency,
    write,
)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise ValueError(f"not a number: {text!r}") from exc
    if value < 0:
        raise ValueError("must be >= 0")
    return value


class Command(BaseCommand):
    help = (
        "Writes a realistic, deterministic synthetic beneficiary list (CSV or XLSX) for the "
        "demo, tests and benchmarks; with --truth, the true identity of every record."
    )
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, required=True, help="number of distinct people")
        parser.add_argument("--seed", type=int, required=True, help="random seed (>= 0)")
        parser.add_argument("--out", type=Path, required=True, help="output file, .csv or .xlsx")
        parser.add_argument("--duplicates", type=_rate, default=0.0,
                            help="extra corrupted copies, as a share of --people (e.g. 0.1)")
        parser.add_argument("--truth", type=Path, help="CSV of record_id, person_key, corruptions")
        parser.add_argument("--regency", action="append", dest="regencies", metavar="CODE",
                            help=f"regency code, repeatable (default {' '.join(DEFAULT_REGENCIES)})")
        parser.add_argument("--source", choices=SOURCES, default="p3ke",
                            help="shape the list like this source (default p3ke)")
        parser.add_argument("--errors", type=_rate, default=0.0,
                            help="share of rows made invalid the ways real lists are (e.g. 0.01)")
        parser.add_argument("--today", type=date.fromisoformat, default=TODAY,
                            help=f"reference date for ages and KK dates (default {TODAY.isoformat()})")

    def handle(self, *args, **opts):
        people, seed, out = opts["people"], opts["seed"], opts["out"]
        if people < 1:
            raise CommandError("--people must be at least 1")
        if seed < 0:
            raise CommandError("--seed must be >= 0")
        if out.suffix.lower() not in (".csv", ".xlsx"):
            raise CommandError(f"--out must end in .csv or .xlsx: {out}")
        if opts["errors"] > 1:
            raise CommandError("--errors is a share of rows, between 0 and 1")
        if opts["duplicates"] > 10:
            raise CommandError("--duplicates is a share of --people, at most 10")
        rows = people + round(opts["duplicates"] * people)
        if out.suffix.lower() == ".xlsx" and rows > XLSX_MAX_ROWS:
            raise CommandError(f"{rows:,} rows do not fit in one XLSX sheet; write a .csv")
        try:
            regencies = tuple(normalize_regency(c) for c in (opts["regencies"] or DEFAULT_REGENCIES))
        except ValueError as exc:
            raise CommandError(f"--regency: {exc}") from exc

        started = time.perf_counter()
        result = generate(
            people, seed, regencies=regencies, source=opts["source"],
            duplicates=opts["duplicates"], errors=opts["errors"], today=opts["today"],
        )
        write(result, out, truth=opts["truth"])
        seconds = time.perf_counter() - started
        truth = f", truth {opts['truth']}" if opts["truth"] else ""
        self.stdout.write(
            f"synth: wrote {result.records.height:,} rows ({result.people:,} people, "
            f"{result.duplicates:,} duplicates, {result.errors:,} with errors; {opts['source']}, "
            f"{' '.join(regencies)}) to {out}{truth} in {seconds:.1f}s"
        )
