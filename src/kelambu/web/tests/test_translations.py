"""Every string the interface can show has its Indonesian translation.

The interface is Bahasa Indonesia first: a msgid missing from the catalogue (or left fuzzy)
shows English to an Indonesian user. The strings are found the way makemessages finds them
(Python through its syntax tree, templates through their translation tags), without needing
GNU gettext on the machine.
"""

import ast
import re
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "id" / "LC_MESSAGES" / "django.po"
GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}

_TRANS = re.compile(r"""\{%\s*(?:trans|translate)\s+(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
_BLOCK = re.compile(r"\{%\s*(?:blocktrans|blocktranslate)\b([^%]*)%\}(.*?)\{%\s*(?:endblocktrans|endblocktranslate)\s*%\}",
                    re.S)
_VAR = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_PLURAL = re.compile(r"\{%\s*plural\s*%\}")


def _python_strings(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name not in GETTEXT:
            continue
        args = node.args[1:] if name.startswith("pgettext") else node.args
        for arg in args[:2] if name.startswith("ngettext") else args[:1]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield arg.value


def _block_text(options: str, body: str) -> list[str]:
    texts = []
    for part in _PLURAL.split(body):
        text = _VAR.sub(r"%(\1)s", part)
        if "trimmed" in options.split():
            text = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
        texts.append(text)
    return texts


def _template_strings(path: Path):
    source = path.read_text()
    for match in _TRANS.finditer(source):
        yield (match.group(1) if match.group(1) is not None else match.group(2)).replace('\\"', '"')
    for match in _BLOCK.finditer(source):
        yield from _block_text(match.group(1), match.group(2))


def interface_strings() -> dict[str, str]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        if "tests" in path.parts or "migrations" in path.parts or path.name == "conftest.py":
            continue
        for text in _python_strings(path):
            found.setdefault(text, str(path.relative_to(ROOT)))
    for path in sorted(ROOT.rglob("templates/**/*.html")):
        for text in _template_strings(path):
            found.setdefault(text, str(path.relative_to(ROOT)))
    return found


def test_the_extraction_finds_the_interface():
    found = interface_strings()
    # One string of each kind: a template tag, a block with a variable, a lazy model label.
    assert "To confirm" in found
    assert "%(h)s held rows and %(p)s proposed corrections wait for your confirmation" in found
    assert "held rows" in found
    assert len(found) > 500


def test_every_interface_string_has_an_indonesian_translation():
    catalogue = {}
    for entry in polib.pofile(str(CATALOGUE)):
        if not entry.obsolete:
            # A plural block gives two texts: the singular msgid and its msgid_plural.
            catalogue[entry.msgid] = catalogue[entry.msgid_plural or entry.msgid] = entry
    missing = [f"{where}: {text!r}" for text, where in interface_strings().items()
               if text not in catalogue or not catalogue[text].translated()]
    assert not missing, "untranslated:\n" + "\n".join(missing)
