"""kelambu enrollment export PROGRAM --out FILE.(csv|xlsx) [--resend]
   kelambu enrollment participants FILE --as-of YYYY-MM-DD
   kelambu enrollment import PROGRAM FILE [--no-refill]
   kelambu enrollment end MEMBERSHIP_ID --reason {death,moved,became_pu,program_ended,other} --date YYYY-MM-DD"""

from datetime import date
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from kelambu.accounts.cli import command_actor
from kelambu.lib.export import to_csv_bytes, to_xlsx_bytes
from kelambu.programs import enrollment
from kelambu.programs.management.commands.allocate import find_program
from kelambu.programs.models import EndReason, Membership, MembershipStatus


class Command(BaseCommand):
    help = "Exchange files with the BPJS branch: send memberships, read back KPJ numbers and rejections."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        exp = sub.add_parser("export", help="write the file for the branch; memberships become 'submitted'")
        exp.add_argument("program")
        exp.add_argument("--out", type=Path, required=True, help=".csv or .xlsx")
        exp.add_argument("--resend", action="store_true", help="include memberships already submitted")
        exp.add_argument("--user")
        imp = sub.add_parser("import", help="read the branch's answer (ID Kelambu, Status, KPJ, Alasan)")
        imp.add_argument("program")
        imp.add_argument("path", type=Path)
        imp.add_argument("--no-refill", action="store_true", help="do not propose others in place of the rejected")
        imp.add_argument("--user")
        par = sub.add_parser("participants", help="the branch's list of active participants (NIK, Jenis PU/BPU)")
        par.add_argument("path", type=Path)
        par.add_argument("--as-of", required=True, type=date.fromisoformat, help="the date the list describes")
        par.add_argument("--user")
        end = sub.add_parser("end", help="a person leaves the program")
        end.add_argument("membership", type=int)
        end.add_argument("--reason", required=True, choices=EndReason.values)
        end.add_argument("--date", required=True, type=date.fromisoformat)
        end.add_argument("--user")

    def handle(self, *args, **opts):
        actor = command_actor(opts.get("user"))
        try:
            getattr(self, "_" + opts["action"])(actor, opts)
        except (ValidationError, PermissionDenied) as exc:
            message = "\n".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(message) from None

    def _export(self, actor, opts):
        program = find_program(opts["program"])
        out: Path = opts["out"]
        if out.suffix.lower() not in (".csv", ".xlsx"):
            raise CommandError("--out must end in .csv or .xlsx")
        statuses = (MembershipStatus.PROPOSED, MembershipStatus.SUBMITTED) if opts["resend"] else (
            MembershipStatus.PROPOSED,)
        frame = enrollment.export_frame(program, actor, statuses=statuses)
        out.write_bytes(to_xlsx_bytes(frame, "Pendaftaran") if out.suffix.lower() == ".xlsx" else to_csv_bytes(frame))
        self.stdout.write(f"{frame.height:,} peserta / participants -> {out}")

    def _import(self, actor, opts):
        program = find_program(opts["program"])
        result = enrollment.import_answer(program, opts["path"], actor, refill=not opts["no_refill"])
        self.stdout.write(f"terdaftar / registered: {result.registered:,}; ditolak / rejected: {result.rejected:,}; "
                          f"diusulkan pengganti / proposed instead: {result.replaced:,}")

    def _participants(self, actor, opts):
        n = enrollment.import_participants(opts["path"], opts["as_of"], actor)
        self.stdout.write(f"{n:,} peserta aktif / active participants as of {opts['as_of']}")

    def _end(self, actor, opts):
        member = Membership.objects.filter(pk=opts["membership"]).select_related("program").first()
        if member is None:
            raise CommandError(f"No such membership / kepesertaan tidak ada: {opts['membership']}")
        enrollment.end_membership(member, opts["reason"], opts["date"], actor)
        self.stdout.write(f"Kepesertaan {member.pk} berakhir / ended {opts['date']} ({opts['reason']})")
