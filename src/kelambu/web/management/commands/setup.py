"""kelambu setup: migrate, load the reference data, compile translations. Idempotent."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from kelambu.regions.services import load_regions
from kelambu.web.i18n import compile_messages


class Command(BaseCommand):
    help = "Migrate the database and load reference data (regions); safe to run again."

    def handle(self, *args, **opts):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database migrated.")
        compiled = compile_messages()
        self.stdout.write(f"Translations compiled: {', '.join(compiled) or 'none'}.")
        counts = load_regions()
        self.stdout.write("Regions loaded: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()) + ".")
