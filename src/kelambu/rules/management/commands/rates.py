"""kelambu rates --month YYYY-MM --funding {apbn,apbd,apbdes,csr,donor,self} [--jht] [--transport] [--basis RUPIAH]"""

import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from kelambu.lib.contributions import FUNDING_KINDS, RuleError, monthly_contribution
from kelambu.rules.services import rulebook


def _month(text: str):
    try:
        return datetime.strptime(text, "%Y-%m").date()
    except ValueError:
        raise CommandError(f"--month must read YYYY-MM, not {text!r}") from None


class Command(BaseCommand):
    help = "The monthly contribution of one BPU participant under the rules in force, as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="contribution month, YYYY-MM")
        parser.add_argument("--funding", required=True, choices=FUNDING_KINDS, help="who pays")
        parser.add_argument("--jht", action="store_true", help="with the optional JHT (old-age savings)")
        parser.add_argument("--transport", action="store_true",
                            help="a transport worker (ojol, opang, driver, courier): PP 50/2025's longer window")
        parser.add_argument("--basis", type=int, help="declared monthly income basis in rupiah (default: the lowest)")

    def handle(self, *args, **opts):
        try:
            c = monthly_contribution(rulebook(), _month(opts["month"]), opts["funding"], jht=opts["jht"],
                                     transport=opts["transport"], basis=opts["basis"])
        except RuleError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(json.dumps(c.as_dict(), indent=2, ensure_ascii=False))
