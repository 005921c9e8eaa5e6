"""Loading the Kemendagri region tree: all levels in bulk, idempotent (upsert by code)."""

import csv
import functools
import gzip
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from django.db import transaction

from .models import Level, RegencySplit, Region

DATA_DIR = Path(__file__).resolve().parent / "data"
_KIND_BY_LEVEL = {1: "provinsi", 3: "kecamatan"}


def _lokal_data(name: str) -> dict[str, str]:
    raw = resources.files("lokal").joinpath("data").joinpath(f"{name}.json.gz").read_bytes()
    return json.loads(gzip.decompress(raw))


def _kind(code: str, name: str, level: int) -> str:
    if level == 2:
        return "kota" if name.startswith("Kota") else "kabupaten"
    if level == 4:
        # Fourth part starting with 1 is a kelurahan, 2 a desa (REFERENCE 9).
        return "kelurahan" if code.rsplit(".", 1)[1].startswith("1") else "desa"
    return _KIND_BY_LEVEL[level]


def region_rows() -> list[Region]:
    base = _lokal_data("wilayah")
    villages = _lokal_data("desa")
    postal = _lokal_data("kodepos")
    rows = []
    for code, name in sorted(base.items()) + sorted(villages.items()):
        level = code.count(".") + 1
        rows.append(Region(
            code=code, name=name, level=level, kind=_kind(code, name, level),
            parent_id=code.rsplit(".", 1)[0] if level > 1 else None,
            postal_code=str(postal.get(code, ""))[:5],
        ))
    return rows


@transaction.atomic
def load_regions() -> dict[str, int]:
    """Upserts every region (parents before children) and the regency splits."""
    rows = region_rows()
    rows.sort(key=lambda r: (r.level, r.code))
    Region.objects.bulk_create(
        rows, batch_size=5000, update_conflicts=True, unique_fields=["code"],
        update_fields=["name", "level", "kind", "parent", "postal_code"],
    )
    with open(DATA_DIR / "splits.csv", newline="") as f:
        splits = [
            RegencySplit(child_id=r["child"], parent_id=r["parent"], year=int(r["year"]), legal_basis=r["legal_basis"])
            for r in csv.DictReader(f)
        ]
    RegencySplit.objects.bulk_create(
        splits, update_conflicts=True, unique_fields=["child"], update_fields=["parent", "year", "legal_basis"],
    )
    region_index.cache_clear()
    counts = {label: Region.objects.filter(level=level).count() for level, label in
              [(Level.PROVINCE, "provinces"), (Level.REGENCY, "regencies"), (Level.DISTRICT, "districts"), (Level.VILLAGE, "villages")]}
    counts["splits"] = len(splits)
    from kelambu.audit.services import record

    record("system", "regions.load", object_type="regions.region", object_id="kemendagri-2025",
           summary="Kemendagri region tree loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items()),
           data=counts)
    return counts


@dataclass(frozen=True)
class RegionIndex:
    """The code sets validation needs, read once per process."""

    region_codes: frozenset[str]  # undotted province, regency and district codes
    village_codes: frozenset[str]  # dotted village codes
    regency_parents: dict[str, str]  # undotted child regency -> parent


@functools.lru_cache(maxsize=1)
def region_index() -> RegionIndex:
    upper = Region.objects.filter(level__lt=Level.VILLAGE).values_list("code", flat=True)
    villages = Region.objects.filter(level=Level.VILLAGE).values_list("code", flat=True)
    parents = {c.replace(".", ""): p.replace(".", "") for c, p in RegencySplit.objects.values_list("child_id", "parent_id")}
    return RegionIndex(
        region_codes=frozenset(c.replace(".", "") for c in upper),
        village_codes=frozenset(villages),
        regency_parents=parents,
    )
