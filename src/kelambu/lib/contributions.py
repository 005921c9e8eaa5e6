"""Monthly BPU contributions under the rules in force for a month (REFERENCE 3).

    book = load_rulebook()
    c = monthly_contribution(book, date(2026, 4, 1), "csr", jht=False, transport=False)
    c.total  # 8400: JKK 10,000 + JKM 6,800, halved by PP 50/2025

Rules are data (lib/data/contribution_*.csv and income_basis.csv), each row with the first
and last month it applies and its source, so a new regulation is a data change. Money is
whole rupiah: a percentage of the basis is rounded half up to the rupiah, and so is a
discount.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"
FUNDING_KINDS = ("apbn", "apbd", "apbdes", "csr", "donor", "self")
COMPONENTS = ("jkk", "jkm", "jht")


class RuleError(ValueError):
    """A rule file is wrong, or no rule is in force for what was asked."""


@dataclass(frozen=True)
class Rate:
    component: str
    unit: str  # percent_bp | rupiah
    value: int
    effective_from: date
    effective_to: date | None
    source: str

    def amount(self, basis: int) -> int:
        if self.unit == "rupiah":
            return self.value
        return (basis * self.value + 5_000) // 10_000  # basis points, half up


@dataclass(frozen=True)
class Discount:
    name: str
    components: tuple[str, ...]
    percent: int
    group: str  # transport | other
    effective_from: date
    effective_to: date | None
    excluded_funding: tuple[str, ...]
    configurable_funding: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class IncomeLevel:
    basis: int
    effective_from: date
    effective_to: date | None
    source: str


@dataclass(frozen=True)
class RuleBook:
    rates: tuple[Rate, ...]
    discounts: tuple[Discount, ...]
    income_levels: tuple[IncomeLevel, ...]
    # Funding kinds for which a configurable discount applies (the regulation is open on
    # APBDes and CSR): a setting, default both.
    discount_funding: frozenset[str] = frozenset({"apbdes", "csr"})


@dataclass(frozen=True)
class Contribution:
    month: date
    funding: str
    basis: int
    jkk: int
    jkm: int
    jht: int
    discount: int
    total: int
    discount_name: str | None = None
    sources: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict:
        return {
            "month": self.month.strftime("%Y-%m"), "funding": self.funding, "basis": self.basis,
            "jkk": self.jkk, "jkm": self.jkm, "jht": self.jht, "discount": self.discount, "total": self.total,
            "discount_name": self.discount_name, "sources": list(self.sources),
        }


def _in_force(row, month: date) -> bool:
    return row.effective_from <= month and (row.effective_to is None or month <= row.effective_to)


def _month(text: str, where: str) -> date | None:
    if not text:
        return None
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise RuleError(f"{where}: not a date (YYYY-MM-DD): {text!r}") from None
    if d.day != 1:
        raise RuleError(f"{where}: a month is given by its first day, not {text}")
    return d


def _rows(path: Path, required: tuple[str, ...]):
    with path.open(newline="", encoding="utf-8") as f:
        lines = [(n, line) for n, line in enumerate(f, 1) if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(line for _, line in lines)
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise RuleError(f"{path.name}: missing column(s) {', '.join(missing)}")
    for (n, _), row in zip(lines[1:], reader, strict=True):
        where = f"{path.name}:{n}"
        if any(not (row.get(c) or "").strip() for c in required if c not in ("effective_to",)):
            raise RuleError(f"{where}: empty value")
        start, end = _month(row["effective_from"], where), _month(row.get("effective_to", ""), where)
        if end is not None and end < start:
            raise RuleError(f"{where}: effective_to before effective_from")
        yield where, row, start, end


def _int(text: str, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise RuleError(f"{where}: not a whole number: {text!r}") from None
    if value < 0:
        raise RuleError(f"{where}: negative: {value}")
    return value


def _no_overlap(rows, key, what: str) -> None:
    by: dict = {}
    for r in rows:
        by.setdefault(key(r), []).append(r)
    for k, group in by.items():
        group.sort(key=lambda r: r.effective_from)
        for a, b in zip(group, group[1:], strict=False):
            if a.effective_to is None or a.effective_to >= b.effective_from:
                raise RuleError(f"{what} {k}: two rows in force in {b.effective_from:%Y-%m}")


def read_rulebook(folder: Path = DATA, discount_funding=frozenset({"apbdes", "csr"})) -> RuleBook:
    rates = []
    for where, row, start, end in _rows(folder / "contribution_rates.csv",
                                        ("component", "unit", "value", "effective_from", "effective_to", "source")):
        if row["component"] not in COMPONENTS:
            raise RuleError(f"{where}: unknown component {row['component']!r}")
        if row["unit"] not in ("percent_bp", "rupiah"):
            raise RuleError(f"{where}: unit must be percent_bp or rupiah")
        rates.append(Rate(row["component"], row["unit"], _int(row["value"], where), start, end, row["source"]))
    _no_overlap(rates, lambda r: r.component, "component")
    discounts = []
    for where, row, start, end in _rows(folder / "contribution_discounts.csv",
                                        ("name", "components", "percent", "group", "effective_from", "effective_to",
                                         "excluded_funding", "configurable_funding", "source")):
        comps = tuple(row["components"].split("+"))
        excluded = tuple(x for x in row["excluded_funding"].split("+") if x)
        configurable = tuple(x for x in row["configurable_funding"].split("+") if x)
        if not set(comps) <= set(COMPONENTS) or not set(excluded + configurable) <= set(FUNDING_KINDS):
            raise RuleError(f"{where}: unknown component or funding kind")
        if row["group"] not in ("transport", "other"):
            raise RuleError(f"{where}: group must be transport or other")
        percent = _int(row["percent"], where)
        if percent > 100:
            raise RuleError(f"{where}: a discount above 100%")
        discounts.append(Discount(row["name"], comps, percent, row["group"], start, end, excluded, configurable,
                                  row["source"]))
    _no_overlap(discounts, lambda d: d.group, "discount group")
    levels = [IncomeLevel(_int(row["basis"], where), start, end, row["source"])
              for where, row, start, end in _rows(folder / "income_basis.csv",
                                                  ("basis", "effective_from", "effective_to", "source"))]
    return RuleBook(tuple(rates), tuple(discounts), tuple(levels), frozenset(discount_funding))


@lru_cache(maxsize=4)
def load_rulebook(discount_funding: frozenset[str] = frozenset({"apbdes", "csr"})) -> RuleBook:
    """The shipped rules (cached)."""
    return read_rulebook(DATA, discount_funding)


def minimum_basis(book: RuleBook, month: date) -> int:
    levels = [lv.basis for lv in book.income_levels if _in_force(lv, month)]
    if not levels:
        raise RuleError(f"no income basis in force in {month:%Y-%m}")
    return min(levels)


def monthly_contribution(book: RuleBook, month: date, funding: str, *, jht: bool = False,
                         transport: bool = False, basis: int | None = None) -> Contribution:
    """What one person's contribution is for `month` (any day of it), paid by `funding`."""
    month = month.replace(day=1)
    if funding not in FUNDING_KINDS:
        raise RuleError(f"unknown funding kind {funding!r}; one of {', '.join(FUNDING_KINDS)}")
    lowest = minimum_basis(book, month)
    basis = lowest if basis is None else basis
    if basis < lowest:
        raise RuleError(f"income basis Rp{basis:,} is below the lowest level Rp{lowest:,} in {month:%Y-%m}")
    amounts, sources = {}, []
    for comp in COMPONENTS:
        if comp == "jht" and not jht:
            amounts[comp] = 0
            continue
        rate = next((r for r in book.rates if r.component == comp and _in_force(r, month)), None)
        if rate is None:
            raise RuleError(f"no {comp.upper()} rate in force in {month:%Y-%m}")
        amounts[comp] = rate.amount(basis)
        sources.append(rate.source)
    discount, name = 0, None
    group = "transport" if transport else "other"
    for d in book.discounts:
        if d.group != group or not _in_force(d, month) or funding in d.excluded_funding:
            continue
        if funding in d.configurable_funding and funding not in book.discount_funding:
            continue
        cut = sum(amounts[c] for c in d.components)
        discount, name = (cut * d.percent + 50) // 100, d.name
        sources.append(d.source)
        break
    total = amounts["jkk"] + amounts["jkm"] + amounts["jht"] - discount
    return Contribution(month, funding, basis, amounts["jkk"], amounts["jkm"], amounts["jht"], discount, total,
                        name, tuple(sources))
