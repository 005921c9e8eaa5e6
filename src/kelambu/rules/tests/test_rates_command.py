import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def run(capsys, *args) -> dict:
    call_command("rates", *args)
    return json.loads(capsys.readouterr().out)


def test_rates_prints_the_amounts(capsys):
    out = run(capsys, "--month", "2026-04", "--funding", "csr")
    assert {k: out[k] for k in ("jkk", "jkm", "jht", "discount", "total")} == {
        "jkk": 10_000, "jkm": 6_800, "jht": 0, "discount": 8_400, "total": 8_400}
    out = run(capsys, "--month", "2026-04", "--funding", "apbd", "--jht")
    assert out["total"] == 36_800 and out["discount"] == 0
    out = run(capsys, "--month", "2027-02", "--funding", "self", "--transport", "--basis", "2000000")
    assert (out["jkk"], out["discount"], out["total"]) == (20_000, 13_400, 13_400)


def test_the_setting_for_open_funding_kinds(capsys, settings):
    settings.KELAMBU_DISCOUNT_FUNDING = frozenset({"csr"})
    assert run(capsys, "--month", "2026-06", "--funding", "apbdes")["total"] == 16_800
    settings.KELAMBU_DISCOUNT_FUNDING = frozenset({"bank"})
    with pytest.raises(CommandError, match="bank"):
        call_command("rates", "--month", "2026-06", "--funding", "csr")


@pytest.mark.parametrize(("args", "message"), [
    (["--month", "2026-13", "--funding", "csr"], "YYYY-MM"),
    (["--month", "2026-06", "--funding", "csr", "--basis", "10"], "below the lowest"),
])
def test_bad_input(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("rates", *args)
