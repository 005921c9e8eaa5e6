"""Reads of the registry: searches, provenance, aggregates."""

from django.db.models import Count, Q
from django.db.models.functions import Substr

from kelambu.lib import vocab
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


def search_people(people, q: str = "", region: str = "", category: str = "", decile: int | None = None):
    q = (q or "").strip()
    if q:
        digits = q.replace(" ", "")
        if digits.isdigit() and len(digits) == 16:
            people = people.filter(Q(nik=digits) | Q(household__kk=digits))
        elif digits.isdigit():
            people = people.filter(digit_prefix("nik", digits))
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
