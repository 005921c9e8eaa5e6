"""Reads of the registry: searches, provenance, aggregates."""

from django.db.models import Count, Q
from django.db.models.functions import Substr

from kelambu.accounts import access
from kelambu.lib import vocab
from kelambu.lib.issues import HELD_CODES
from kelambu.lib.names import normalize_name
from kelambu.regions.models import Level, Region

from .models import Household, ImportBatch, Person, SourceRecord, prefix_range

# Fields whose current value a source record may have supplied.
PROVENANCE_FIELDS = ["nik", "kk", "name", "sex", "birth_date", "address", "village_id", "phone", "occupation",
                     "category", "decile"]


def digit_prefix(field: str, digits: str) -> Q:
    """Values of `field` starting with `digits`, as a range the field's plain index serves
    on both databases (no LIKE, so no pattern index): '1606' -> ['1606', '1607')."""
    upper = digits.rstrip("9")
    if not upper:
        return Q(**{f"{field}__gte": digits})
    upper = upper[:-1] + str(int(upper[-1]) + 1)
    return Q(**{f"{field}__gte": digits, f"{field}__lt": upper})


def whole_nik(q: str) -> str | None:
    """The 16 digits of a query that is a whole NIK (or KK), spaces allowed; else None."""
    digits = (q or "").replace(" ", "")
    return digits if digits.isdigit() and len(digits) == 16 else None


def search_people(people, q: str = "", region: str = "", category: str = "", decile: int | None = None, *,
                  nik_prefix: bool = True):
    """`nik_prefix`: whether digits may match the start of a NIK (only for roles that see
    whole NIKs: accounts.access.nik_prefix_search); otherwise digits match only a whole NIK."""
    q = (q or "").strip()
    if q:
        digits = q.replace(" ", "")
        if whole_nik(digits):
            people = people.filter(Q(nik=digits) | Q(household__kk=digits))
        elif digits.isdigit():
            people = people.filter(digit_prefix("nik", digits)) if nik_prefix else people.none()
        else:
            words = normalize_name(q).split()
            for word in words:
                people = people.filter(name_norm__contains=word)
    if region:
        people = people.filter(prefix_range("village_id", region))
    if category:
        people = people.filter(category=category)
    if decile:
        people = people.filter(decile=decile)
    return people


def provenance(person: Person) -> list[dict]:
    """For each field, its current value and the list row it came from: the newest
    accepted record that gave that value."""
    records = list(
        SourceRecord.objects.filter(person=person, status="accepted").select_related("batch").order_by("-batch_id")
    )
    rows = []
    for field in PROVENANCE_FIELDS:
        value = getattr(person, field)
        source = next((r for r in records if value is not None and getattr(r, field) == value), None)
        rows.append({"field": field, "value": value, "record": source})
    return rows


def person_history(person: Person) -> list[SourceRecord]:
    return list(SourceRecord.objects.filter(person=person).select_related("batch").order_by("-batch_id", "row"))


def household_members(person: Person, user) -> list[Person]:
    if not person.household_id:
        return []
    return list(Person.objects.visible_to(user).active().filter(household_id=person.household_id)
                .exclude(pk=person.pk))


def region_path(code: str | None) -> str:
    """'Desa X, Kecamatan Y, Kabupaten Z, Sumatera Selatan' for a village code."""
    if not code:
        return ""
    parts = [code[:i] for i in (13, 8, 5, 2) if len(code) >= i]
    names = dict(Region.objects.filter(code__in=parts).values_list("code", "name"))
    return ", ".join(names[p] for p in parts if p in names)


def registry_totals() -> dict:
    return {
        "people": Person.objects.active().count(),
        "households": Household.objects.count(),
        "batches": ImportBatch.objects.filter(status="done", dry_run=False).count(),
    }


def people_per_regency() -> list[dict]:
    """People per regency and category: aggregates with no personal data, for every role."""
    counts = (
        # Merged people are counted once, as their survivor.
        Person.objects.active().exclude(village_id=None).annotate(regency=Substr("village_id", 1, 5))
        .values("regency", "category").annotate(n=Count("id")).order_by("regency")
    )
    names = dict(Region.objects.filter(level=Level.REGENCY).values_list("code", "name"))
    table: dict[str, dict] = {}
    for row in counts:
        entry = table.setdefault(row["regency"], {"code": row["regency"], "name": names.get(row["regency"], ""),
                                                  "total": 0, "village_workers": 0, "informal": 0})
        entry["total"] += row["n"]
        if row["category"] in vocab.VILLAGE_WORKERS:
            entry["village_workers"] += row["n"]
        elif row["category"] == "informal":
            entry["informal"] += row["n"]
    return list(table.values())


def visible_report(batch: ImportBatch, user) -> dict:
    """The batch's report as this user may read it: a company's officers (access.
    reveals_matches) learn nothing of which rows matched registered people, so held rows
    count as accepted ("recorded") and new, updated and held figures are left out."""
    report = dict(batch.report or {})
    if access.reveals_matches(user):
        return report
    held = report.pop("held", 0) or 0
    if "accepted" in report:
        report["accepted"] = report["accepted"] + held
    for key in ("people_new", "people_updated", "people_linked"):
        report.pop(key, None)
    report["issues"] = {c: n for c, n in (report.get("issues") or {}).items() if c not in HELD_CODES}
    report["examples"] = [e for e in report.get("examples") or [] if e.get("code") not in HELD_CODES]
    return report


def batch_figures(batch: ImportBatch, user) -> dict:
    """The counts of a batch as this user may see them (see visible_report)."""
    figures = {"rows": batch.rows, "accepted": batch.accepted, "rejected": batch.rejected,
               "warnings": batch.warnings, "held": batch.held, "people_new": batch.people_new,
               "people_updated": batch.people_updated,
               "people_linked": (batch.report or {}).get("people_linked", 0), "reveals": True}
    if not access.reveals_matches(user):
        figures.update(accepted=batch.accepted + batch.held, held=None, people_new=None, people_updated=None,
                       people_linked=None, reveals=False)
    return figures


def with_figures(batches, user) -> list:
    """Each batch with the counts this user may see (a company's officers: no matching)."""
    out = []
    for b in batches:
        b.figures = batch_figures(b, user)
        out.append(b)
    return out
