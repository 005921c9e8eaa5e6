"""Contribution amounts against REFERENCE 3, at the edges of each PP 50/2025 window and for
each funding kind."""

from datetime import date
from pathlib import Path

import pytest

from kelambu.lib.contributions import (
    FUNDING_KINDS,
    RuleError,
    load_rulebook,
    monthly_contribution,
    read_rulebook,
)

BOOK = load_rulebook()


def total(month: str, funding: str, **kw) -> int:
    y, m = map(int, month.split("-"))
    return monthly_contribution(BOOK, date(y, m, 1), funding, **kw).total


def test_the_minimum_basis_amounts():
    c = monthly_contribution(BOOK, date(2025, 12, 1), "apbd")
    assert (c.jkk, c.jkm, c.jht, c.discount, c.total) == (10_000, 6_800, 0, 0, 16_800)
    assert total("2025-12", "self", jht=True) == 36_800
    c = monthly_contribution(BOOK, date(2025, 12, 1), "apbd", basis=2_500_000, jht=True)
    assert (c.jkk, c.jkm, c.jht, c.total) == (25_000, 6_800, 50_000, 81_800)


@pytest.mark.parametrize(("month", "expected"), [
    ("2025-12", 16_800), ("2026-01", 16_800), ("2026-03", 16_800),  # before the window for other BPU
    ("2026-04", 8_400), ("2026-12", 8_400),  # its first and last months
    ("2027-01", 16_800), ("2027-03", 16_800),
])
def test_other_bpu_window(month, expected):
    for funding in ("apbdes", "csr", "donor", "self"):
        assert total(month, funding) == expected, funding


@pytest.mark.parametrize(("month", "expected"), [
    ("2025-12", 16_800), ("2026-01", 8_400), ("2026-04", 8_400), ("2027-03", 8_400), ("2027-04", 16_800),
])
def test_transport_window(month, expected):
    assert total(month, "csr", transport=True) == expected
    assert total(month, "self", transport=True) == expected


@pytest.mark.parametrize("month", ["2026-01", "2026-04", "2026-12", "2027-03"])
def test_apbn_and_apbd_never_get_it(month):
    for funding in ("apbn", "apbd"):
        assert total(month, funding) == 16_800
        assert total(month, funding, transport=True) == 16_800


def test_jht_is_not_discounted():
    c = monthly_contribution(BOOK, date(2026, 6, 1), "csr", jht=True)
    assert (c.jkk + c.jkm + c.jht, c.discount, c.total) == (36_800, 8_400, 28_400)
    assert c.discount_name == "PP 50/2025 other BPU" and any("PP 50/2025" in s for s in c.sources)


def test_apbdes_and_csr_are_a_setting():
    only_csr = load_rulebook(frozenset({"csr"}))
    assert monthly_contribution(only_csr, date(2026, 6, 1), "apbdes").total == 16_800
    assert monthly_contribution(only_csr, date(2026, 6, 1), "csr").total == 8_400
    none = load_rulebook(frozenset())
    assert monthly_contribution(none, date(2026, 6, 1), "csr").total == 16_800
    # Donors and self-payers are not in the open question: they get it regardless.
    assert monthly_contribution(none, date(2026, 6, 1), "donor").total == 8_400


def test_rounding_is_whole_rupiah_half_up():
    # 1% of 1,234,567 = 12,345.67 -> 12,346; half of (12,346 + 6,800) = 9,573.
    c = monthly_contribution(BOOK, date(2026, 6, 1), "csr", basis=1_234_567)
    assert (c.jkk, c.discount, c.total) == (12_346, 9_573, 9_573)
    assert all(isinstance(v, int) for v in (c.jkk, c.jkm, c.jht, c.discount, c.total))


def test_bad_requests():
    with pytest.raises(RuleError, match="below the lowest"):
        total("2026-06", "csr", basis=999_999)
    with pytest.raises(RuleError, match="unknown funding"):
        total("2026-06", "bank")
    with pytest.raises(RuleError, match="no income basis"):
        total("2014-01", "csr")
    assert set(FUNDING_KINDS) == {"apbn", "apbd", "apbdes", "csr", "donor", "self"}


def test_a_new_regulation_is_a_data_change(tmp_path: Path):
    src = Path(__file__).parents[1] / "data"
    for name in ("contribution_discounts.csv", "income_basis.csv"):
        (tmp_path / name).write_text((src / name).read_text())
    rates = (src / "contribution_rates.csv").read_text().replace(
        "jkm,rupiah,6800,2015-07-01,,", "jkm,rupiah,6800,2015-07-01,2027-12-01,")
    rates += "jkm,rupiah,7500,2028-01-01,,a future regulation\n"
    (tmp_path / "contribution_rates.csv").write_text(rates)
    book = read_rulebook(tmp_path)
    assert monthly_contribution(book, date(2027, 12, 1), "apbd").jkm == 6_800
    assert monthly_contribution(book, date(2028, 1, 1), "apbd").jkm == 7_500
    # Two rows in force for one month is refused, naming the month.
    (tmp_path / "contribution_rates.csv").write_text(rates + "jkm,rupiah,9000,2028-06-01,,overlap\n")
    with pytest.raises(RuleError, match="2028-06"):
        read_rulebook(tmp_path)
    (tmp_path / "contribution_rates.csv").write_text(rates.replace("2028-01-01", "2028-01-15"))
    with pytest.raises(RuleError, match="first day"):
        read_rulebook(tmp_path)
