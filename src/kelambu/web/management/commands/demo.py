"""kelambu demo: the whole system on the embedded database, with demo lists and logins.

Safe to run again: setup is idempotent, the lists are generated from fixed seeds (the same
bytes each time) and importing the same file again changes nothing.
"""

import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from kelambu.accounts.models import Role
from kelambu.audit.services import record as audit
from kelambu.regions.models import Region
from kelambu.registry.services import ImportOptions, import_list, parse_months
from kelambu.synth.generate import generate, write

DEMO_PASSWORD = "kelambu-demo"

# (file, source, regencies, people, seed, sponsor): sized to hold the seed programs
# (REFERENCE 2): Muba's 45,000 from P3KE deciles 1-3, Muara Enim's 26,775 village workers
# and oil-palm farmers, Musi Rawas Utara's CSR-funded workers.
# name, source, regencies, people, seed, sponsor, months paid (for lists of people someone pays for)
DEMO_LISTS = [
    ("p3ke-musi-banyuasin.csv", "p3ke", ("16.06",), 100_000, 1606, "", None),
    ("desa-muara-enim.csv", "village", ("16.03",), 29_000, 1603, "", "2026-10:2026-12"),
    ("p3ke-muara-enim.csv", "p3ke", ("16.03",), 30_000, 16031, "", None),
    ("dtsen-musi-rawas-utara.csv", "dtsen", ("16.13",), 35_000, 1613, "", None),
    ("csr-pt-mms-musi-rawas-utara.xlsx", "sponsor", ("16.13",), 3_000, 16131, "PT MMS", "2026-01:2026-12"),
]


class Command(BaseCommand):
    help = "Set up the demo: database, regions, demo users and lists, then serve the web app."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="prepare everything but do not start the server")
        parser.add_argument("--scale", type=float, default=1.0, help="multiply the demo list sizes (tests use a small one)")
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, **opts):
        call_command("setup", stdout=self.stdout)
        self._check_database()
        from kelambu.programs.seed import company_sponsors

        sponsors = company_sponsors()
        users = self._users(sponsors)
        folder = Path(settings.DATA_DIR) / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        for name, source, regencies, people, seed, sponsor, months in DEMO_LISTS:
            path = folder / name
            count = max(50, int(people * opts["scale"]))
            if not path.exists() or path.with_suffix(".size").read_text() != str(count):
                result = generate(count, seed, regencies=regencies, source=source, duplicates=0.02, errors=0.01)
                write(result, path, folder / (path.stem + ".truth.csv"))
                path.with_suffix(".size").write_text(str(count))
            options = ImportOptions(source=source, sponsor=sponsors.get(sponsor), file_name=name,
                                    funded_months=parse_months(months) if months else None)
            batch, ran = import_list(path, options, "demo")
            state = "imported" if ran else "already imported"
            self.stdout.write(f"{name}: {state} as batch #{batch.pk} ({batch.accepted:,} accepted, {batch.rejected:,} rejected)")
        self._second_sponsor(folder, sponsors["PT Sawit Lestari"])
        self._movers(folder)
        self._dedup()
        self._programs()
        self._funding_request(sponsors["PT MMS"])
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role, scope in users:
            self.stdout.write(f"  {username:<18} {role:<28} {scope}")
        from kelambu.registry.services import fail_interrupted

        # An import the previous server was running when it stopped is marked failed now.
        fail_interrupted()
        if not opts["no_serve"]:
            # The production server, as a deployment runs it; its key is this installation's own.
            os.environ.setdefault("KELAMBU_SECRET_KEY", self._secret_key())
            call_command("serve", addr=opts["addr"])

    def _secret_key(self) -> str:
        """A random key kept in the data folder: the demo's sessions survive a restart, and
        no two demo installations share one."""
        import secrets

        path = Path(settings.DATA_DIR) / "demo-secret-key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def _second_sponsor(self, folder: Path, sponsor):
        """Another Musi Rawas Utara company whose list names 40 workers PT MMS already pays
        for, from July: the double-funding report has something real to show."""
        import polars as pl

        name = "csr-pt-sawit-musi-rawas-utara.csv"
        path = folder / name
        if not path.exists():
            # The PT MMS list again, from its seed and size (generation is deterministic).
            count = int((folder / "csr-pt-mms-musi-rawas-utara.size").read_text())
            mms = generate(count, 16131, regencies=("16.13",), source="sponsor", duplicates=0.02, errors=0.01).records
            own = generate(160, 16132, regencies=("16.13",), source="sponsor").records
            pl.concat([mms.head(40).select(own.columns), own]).write_csv(path)
        options = ImportOptions(source="sponsor", sponsor=sponsor, file_name=name,
                                funded_months=parse_months("2026-07:2026-12"))
        batch, ran = import_list(path, options, "demo")
        self.stdout.write(f"{name}: {'imported' if ran else 'already imported'} as batch #{batch.pk}")

    def _movers(self, folder: Path):
        """The Muba operator's list of three people who moved to Sekayu from Muara Enim: the
        rows change nothing and wait on Muara Enim's "Perlu konfirmasi" page."""
        from django.contrib.auth import get_user_model

        from kelambu.registry.models import Person, prefix_range

        name = "pindahan-sekayu.csv"
        path = folder / name
        if not path.exists():
            movers = Person.objects.filter(prefix_range("village_id", "16.03"), nik__isnull=False,
                                           birth_date__isnull=False, merged_into__isnull=True).order_by("pk")[:3]
            lines = ["NIK,Nama,JK,Tanggal Lahir,Kode Desa"] + [
                f"{p.nik},{p.name},{p.sex},{p.birth_date:%d-%m-%Y},16.06.01.2001" for p in movers]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        operator = get_user_model().objects.get(username="dinsos.muba")
        batch, ran = import_list(path, ImportOptions(source="village", file_name=name), operator)
        self.stdout.write(f"{name}: {'imported' if ran else 'already imported'} as batch #{batch.pk} "
                          f"({batch.held:,} held for Muara Enim to confirm)")

    def _funding_request(self, company):
        """Musi Banyuasin asks PT MMS to co-fund PAKE KELAMBU: the request waits on the
        company's "Permintaan pendanaan" page."""
        from django.contrib.auth import get_user_model

        from kelambu.programs.models import Program
        from kelambu.programs.services import add_envelope

        program = Program.objects.filter(name="PAKE KELAMBU").first()
        if program is None or program.funders.filter(sponsor=company).exists():
            return
        operator = get_user_model().objects.get(username="dinsos.muba")
        envelope = add_envelope(program, company, operator, year=program.start_month.year, budget=250_000_000)
        self.stdout.write(f"{program.name}: PT MMS asked for Rp {envelope.budget:,} ({envelope.get_status_display()})")

    def _programs(self):
        """The seed programs, each allocated once (again only after a new import)."""
        from kelambu.programs.models import AllocationRun
        from kelambu.programs.seed import seed_demo_programs, simulate_branch
        from kelambu.programs.services import allocate_program
        from kelambu.registry.models import BatchStatus, ImportBatch

        last_import = ImportBatch.objects.filter(status=BatchStatus.DONE, dry_run=False).order_by("-finished_at").first()
        for program in seed_demo_programs():
            last = AllocationRun.objects.filter(program=program, status="done", what_if=False).first()
            if last and (not last_import or last_import.finished_at <= last.created_at):
                self.stdout.write(f"{program.name}: allocation #{last.pk} is up to date")
                continue
            r = allocate_program(program, "demo").report
            deciles = ", ".join(f"desil {k}: {v:,}" for k, v in r["funded_by_decile"].items())
            self.stdout.write(f"{program.name}: {r['funded']:,} funded of {r['eligible']:,} eligible ({deciles})")
            branch = simulate_branch(program, Path(settings.DATA_DIR) / "demo")
            self.stdout.write(f"  BPJS branch (simulated): {branch['registered']:,} registered with KPJ, "
                              f"{branch['rejected']:,} rejected, {branch['replaced']:,} proposed in their place")

    def _dedup(self):
        """One deduplication run over the demo registry, again only after a new import."""
        from kelambu.dedup.models import MatchRun, RunStatus
        from kelambu.dedup.services import run_dedup
        from kelambu.registry.models import BatchStatus, ImportBatch

        last_run = MatchRun.objects.filter(status=RunStatus.DONE).order_by("-created_at").first()
        last_import = ImportBatch.objects.filter(status=BatchStatus.DONE, dry_run=False).order_by("-finished_at").first()
        if last_run and (not last_import or last_import.finished_at <= last_run.created_at):
            self.stdout.write(f"deduplication: run #{last_run.pk} is up to date")
            return
        run = run_dedup("demo", "")
        self.stdout.write(f"deduplication: run #{run.pk}: {run.auto_merged:,} merged automatically, "
                          f"{run.for_review:,} pairs for review, {run.nik_conflicts:,} NIK conflicts "
                          f"({run.report['seconds']['total']} s)")

    def _check_database(self):
        """The demo's accounts have a published password: it refuses a database holding any
        account it did not make itself (a real installation), rather than add them there."""
        from kelambu.audit.models import Event

        User = get_user_model()
        made = {int(i) for i in Event.objects.filter(action="user.create", actor_name="demo", actor=None)
                .values_list("object_id", flat=True) if i.isdigit()}
        others = list(User.objects.exclude(pk__in=made).order_by("username").values_list("username", flat=True)[:5])
        if others:
            raise CommandError(
                "Basis data ini sudah berisi akun yang tidak dibuat oleh demo ("
                + ", ".join(others) + "); demo dengan kata sandi umum hanya berjalan pada basis data kosong atau "
                "basis data demo. Pakai KELAMBU_DATA_DIR baru, atau `kelambu setup` untuk instalasi sungguhan.\n"
                "This database already has accounts the demo did not make (" + ", ".join(others) + "); the demo, "
                "with its published password, runs only on an empty database or one it made. Use a new "
                "KELAMBU_DATA_DIR, or `kelambu setup` for a real installation.")

    @transaction.atomic
    def _users(self, sponsors):
        User = get_user_model()
        village = Region.objects.filter(code__startswith="16.06.01.2", level=4).order_by("code").first()
        specs = [
            ("admin", Role.ADMIN, None, "", "Kelambu"),
            ("dinsos.muba", Role.REGENCY_OPERATOR, "16.06", "", "Dinsos Musi Banyuasin"),
            ("dpmd.muaraenim", Role.REGENCY_OPERATOR, "16.03", "", "DPMD Muara Enim"),
            ("desa.sekayu", Role.VILLAGE_OPERATOR, village.code if village else None, "", "Pemerintah desa"),
            ("csr.mms", Role.CSR_OFFICER, None, sponsors["PT MMS"], "PT MMS"),
            ("bpjs.sumsel", Role.BPJS_OFFICER, "16", "", "BPJS Ketenagakerjaan Kanwil Sumbagsel"),
            ("publik", Role.PUBLIC, None, "", ""),
        ]
        listed = []
        for username, role, region, sponsor, office in specs:
            user, created = User.objects.get_or_create(username=username, defaults={
                "role": role, "region_id": region, "sponsor": sponsor or None, "office": office,
                "is_staff": role == Role.ADMIN, "is_superuser": role == Role.ADMIN,
            })
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
                audit("demo", "user.create", user, summary=f"demo user {username} ({role})")
            scope = region or (sponsor.name if sponsor else "") or ("all" if role == Role.ADMIN else "aggregates only")
            listed.append((username, Role(role).label, scope))
        return listed
