"""The three seed programs of REFERENCE 2, as the demo builds them (idempotent).

Budgets are what the programs' head counts cost under the rules in force for their months,
so the allocation, not this file, decides who and how many: Musi Banyuasin's 45,000 from
P3KE deciles 1-3 (12,451 + 24,119 + 8,430, the program's own split, as quotas), Muara
Enim's 24,651 village workers and 2,124 oil-palm farmers for October-December, and three
companies in Musi Rawas Utara paying from CSR for six months.
"""

from datetime import date

from django.db import transaction

from kelambu.lib.contributions import monthly_contribution
from kelambu.lib.export import write_csv
from kelambu.lib.vocab import VILLAGE_WORKERS
from kelambu.rules.services import rulebook

from .models import Program, ProgramStatus, Sponsor
from .services import add_envelope, create_program, ensure_sponsor, months_of

ACTOR = "demo"


def _cost(program: Program, kind: str) -> int:
    book = rulebook()
    return sum(monthly_contribution(book, m, kind, jht=program.jht, basis=program.income_basis).total
               for m in months_of(program))


def _sponsor(name: str, kind: str, region: str, **kw) -> Sponsor:
    return ensure_sponsor(name, ACTOR, kind=kind, region_id=region, **kw)


def _program(name: str, envelopes: list[tuple[Sponsor, int, list]], **fields) -> Program:
    """The program with its envelopes (sponsor, head count, regions), through the services
    (audited); an existing one is left as it is. Budgets are head counts times the
    contribution in force for the program's months."""
    existing = Program.objects.filter(name=name).first()
    if existing:
        return existing
    fields = {"name": name, "status": ProgramStatus.ACTIVE, **fields}
    probe = Program(**fields)
    year = probe.start_month.year
    (first, people, regions), rest = envelopes[0], envelopes[1:]
    program = create_program(ACTOR, fields, sponsor=first, year=year, budget=people * _cost(probe, first.kind))
    if regions:
        program.funders.filter(sponsor=first).update(regions=regions)
    for sponsor, people, regions in rest:
        add_envelope(program, sponsor, ACTOR, year=year, budget=people * _cost(probe, sponsor.kind), regions=regions)
    return program


# The Musi Rawas Utara companies of the CSR program: name, head count, regions.
COMPANIES = [("PT MMS", 2_000, []), ("PT Ariani", 1_000, ["16.13.01", "16.13.02"]), ("PT Sawit Lestari", 500, [])]


def company_sponsors() -> dict[str, Sponsor]:
    """The demo's companies as sponsor entities (made before their lists and officers)."""
    return {name: _sponsor(name, "csr", "16.13", legal_basis="pks", legal_number=f"PKS {name} - Pemkab Muratara")
            for name, _people, _regions in COMPANIES}


@transaction.atomic
def seed_demo_programs() -> list[Program]:
    muba = _sponsor("Pemkab Musi Banyuasin (Dinsos)", "apbd", "16.06", legal_basis="perbup",
                    legal_number="Perbup Musi Banyuasin 54/2023", legal_date=date(2023, 1, 1),
                    contact_name="Dinas Sosial Kabupaten Musi Banyuasin")
    pake = _program(
        "PAKE KELAMBU", [(muba, 45_000, [])], region_id="16.06", start_month=date(2026, 1, 1),
        end_month=date(2026, 12, 1),
        description="Perlindungan Ketenagakerjaan, Keluarga Aman Terbantu: JKK dan JKM bagi pekerja rentan "
                    "desil 1-3 P3KE, dibiayai APBD Musi Banyuasin.",
        decile_scale="p3ke", decile_min=1, decile_max=3, age_min=15, age_max=65,
        quotas=[{"field": "decile", "value": "1", "limit": 12_451}, {"field": "decile", "value": "2", "limit": 24_119},
                {"field": "decile", "value": "3", "limit": 8_430}],
    )
    me = _sponsor("Pemkab Muara Enim (DPMD)", "apbd", "16.03", legal_basis="se_bupati",
                  legal_number="Surat Edaran Bupati Muara Enim", contact_name="DPMD Kabupaten Muara Enim")
    village = _program(
        "Perlindungan pekerja desa Muara Enim", [(me, 26_775, [])], region_id="16.03",
        start_month=date(2026, 10, 1), end_month=date(2026, 12, 1),
        description="Ekosistem pekerja desa (kepala desa, perangkat, BPD, linmas, guru ngaji, kader) dan petani "
                    "sawit, Oktober-Desember, melalui DPMD.",
        age_min=15, categories=list(VILLAGE_WORKERS), occupations=["petani_sawit"],
        quotas=[{"field": "occupation", "value": "petani_sawit", "limit": 2_124}],
    )
    sponsors = company_sponsors()
    companies = [(sponsors[name], people, regions) for name, people, regions in COMPANIES]
    csr = _program(
        "CSR pekerja rentan Musi Rawas Utara", companies, region_id="16.13", start_month=date(2026, 1, 1),
        end_month=date(2026, 6, 1),
        description="Perusahaan di Musi Rawas Utara membayar iuran pekerja rentan miskin ekstrem dari dana CSR, "
                    "enam bulan.",
        decile_scale="dtsen", decile_min=1, decile_max=4, age_min=15, age_max=65, categories=["informal"],
    )
    return [pake, village, csr]


def simulate_branch(program: Program, folder, actor="demo", reject_every: int = 97) -> dict:
    """The demo stands in for the BPJS branch: the exchange file is written, answered (a KPJ
    for most, a rejection for every `reject_every`-th with a reason the branch gives), and
    the answer read back; the people proposed in place of the rejected are sent and
    registered in a second round."""
    import csv

    from . import enrollment

    totals = {"registered": 0, "rejected": 0, "replaced": 0}
    for round_ in (1, 2):
        frame = enrollment.export_frame(program, actor)
        if frame.is_empty():
            break
        write_csv(frame, folder / f"bpjs-kirim-{program.pk}-{round_}.csv")
        answer = folder / f"bpjs-jawaban-{program.pk}-{round_}.csv"
        with answer.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["ID Kelambu", "Status", "KPJ", "Alasan"])
            for i, ref in enumerate(frame["ID Kelambu"].to_list(), 1):
                if round_ == 1 and i % reject_every == 0:
                    w.writerow([ref, "Ditolak", "", "NIK tidak ditemukan di data Dukcapil"])
                else:
                    w.writerow([ref, "Terdaftar", f"26{int(ref):09d}", ""])
        result = enrollment.import_answer(program, answer, actor)
        for k in totals:
            totals[k] += getattr(result, k)
    return totals
