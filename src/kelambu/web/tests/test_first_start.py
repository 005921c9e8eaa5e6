"""A fresh clone has no compiled catalogue (*.mo is not in git): the first `kelambu` command
must still speak Indonesian."""

import os
import subprocess
import sys
from pathlib import Path

from kelambu.web.i18n import LOCALE_DIR


def test_the_first_command_of_a_fresh_clone_speaks_indonesian(tmp_path):
    compiled = LOCALE_DIR / "id" / "LC_MESSAGES" / "django.mo"
    compiled.unlink(missing_ok=True)
    # As `kelambu demo` does: setup (which migrates) first, then pages in Indonesian.
    script = ("from django.core.management import call_command; call_command('setup', verbosity=0); "
              "from django.utils.translation import activate, gettext; activate('id'); print(gettext('To confirm'))")
    done = subprocess.run([sys.executable, "-c", "from kelambu.cli import main; main()", "shell", "-c", script],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "KELAMBU_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "Perlu konfirmasi"
    assert Path(compiled).exists()
