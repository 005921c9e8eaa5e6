"""What every benchmark shares: the machine it ran on, and its section of docs/PERFORMANCE.md
(between its own markers, so benchmarks rewrite only their part)."""

import os
import platform
from pathlib import Path


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) // 1024**2 for line in open("/proc/meminfo") if line.startswith("MemTotal")), 0)
    return f"{os.cpu_count()} cores ({cpu}), {mem} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def write_section(doc: Path, begin: str, end: str, section: str) -> None:
    """Replaces the text between `begin` and `end` (markers included in `section`), or
    appends the section when the markers are not there yet."""
    text = doc.read_text() if doc.exists() else "# Performance\n\n"
    if begin in text and end in text:
        text = text[: text.index(begin)] + section + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    doc.write_text(text)
