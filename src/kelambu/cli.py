"""The `kelambu` console command: Django's management commands plus Kelambu's own."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kelambu.settings")
    from django.core.management import execute_from_command_line

    from kelambu.web.i18n import compile_messages

    # Before Django loads any catalogue: one loaded before its .mo exists stays without
    # Kelambu's strings for the life of the process, so the first `kelambu demo` of a fresh
    # clone served half its pages in English until it was restarted.
    compile_messages()

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "kelambu"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
