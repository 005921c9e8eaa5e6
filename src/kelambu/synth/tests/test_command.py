from io import StringIO

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def run(*args) -> str:
    out = StringIO()
    call_command("synth", *map(str, args), stdout=out)
    return out.getvalue()


def test_writes_a_csv_and_a_one_line_summary(tmp_path):
    path = tmp_path / "lists" / "p3ke.csv"
    text = run("--people", 300, "--seed", 7, "--out", path)
    assert text.count("\n") == 1
    assert "300 rows" in text and str(path) in text
    df = pl.read_csv(path, infer_schema=False)
    assert df.columns[:3] == ["ID", "NIK", "No KK"]
    assert df.height == 300
    assert df["NIK"].str.contains(r"^\d{16}$").all()
    assert set(df["Kode Desa"].str.slice(0, 5)) == {"16.06", "16.03", "16.13"}


def test_same_arguments_same_bytes(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    args = ("--people", 200, "--seed", 3, "--duplicates", 0.1, "--errors", 0.05, "--source", "dtsen")
    run(*args, "--out", a)
    run(*args, "--out", b)
    assert a.read_bytes() == b.read_bytes()


def test_all_options(tmp_path):
    out, truth = tmp_path / "desa.xlsx", tmp_path / "truth.csv"
    text = run(
        "--people", 400, "--seed", 2, "--out", out, "--duplicates", 0.25, "--truth", truth,
        "--regency", "16.03", "--regency", "1613", "--source", "village", "--errors", 0.02,
    )
    assert "500 rows" in text and "100 duplicates" in text and "10 with errors" in text
    t = pl.read_csv(truth, infer_schema=False)
    assert t.height == 500 and t.columns == ["record_id", "person_key", "corruptions"]
    assert t["record_id"].str.contains(r"^DESA-16(03|13)-").all()
    openpyxl = pytest.importorskip("openpyxl")
    ws = openpyxl.load_workbook(out)["Data Desa"]
    header = [c.value for c in ws[1]]
    assert "Jabatan" in header and "Desil" not in header
    assert ws.max_row == 501
    codes = {ws.cell(r, header.index("Kode Desa/Kelurahan") + 1).value[:5] for r in range(2, 502)}
    assert codes == {"16.03", "16.13"}


@pytest.mark.parametrize(
    "args",
    [
        ("--people", 10, "--seed", 1, "--out", "x.json"),
        ("--people", 0, "--seed", 1, "--out", "x.csv"),
        ("--people", 10, "--seed", -1, "--out", "x.csv"),
        ("--people", 10, "--seed", 1, "--out", "x.csv", "--regency", "99.99"),
        ("--people", 10, "--seed", 1, "--out", "x.csv", "--source", "bpjs"),
        ("--people", 10, "--seed", 1, "--out", "x.csv", "--errors", 1.5),
        ("--people", 10, "--seed", 1, "--out", "x.csv", "--duplicates", "-0.1"),
        ("--people", 2_000_000, "--seed", 1, "--out", "x.xlsx"),
        ("--seed", 1, "--out", "x.csv"),
    ],
)
def test_bad_arguments_are_refused(args, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CommandError):
        run(*args)
    assert not list(tmp_path.iterdir())
