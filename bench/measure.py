"""Run a command and report the CPU seconds and peak memory of it and everything it waited for.

python -m bench.measure OUT.json -- COMMAND...   (exits with the command's code)

A benchmark that runs several configurations one after the other cannot read each one's peak
memory from its own RUSAGE_CHILDREN: ru_maxrss there is the largest of every child so far. This
fresh process has only the one command as its child, so its figures are that command's alone.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m bench.measure OUT.json -- COMMAND...", file=sys.stderr)
        return 2
    code = subprocess.call(argv[2:])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    Path(argv[0]).write_text(
        json.dumps({"cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024, "exit": code})
    )
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
