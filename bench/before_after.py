"""This tree beside another, for a plain text turn: is a change slower than before?

``python -m bench.before_after DIR [ROUNDS]`` starts the fake provider and ChatKit Desk from this
tree and from DIR (e.g. ``git worktree add /tmp/before <commit>``) on both provider paths, then
alternates the targets ROUNDS times (default 6; the order flips every round) through the main
bench's load and latency scenarios, and prints each one's medians side by side. Only the two
trees' servers run, so there are more rounds of each in the time of one ``scripts/bench.py``
run: its single measurements of CPU per delta vary by ±25 % between identical code.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
from pathlib import Path

from bench import run as bench


def main() -> None:
    before = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    procs = bench.Processes()
    try:
        targets = bench.start_targets(procs, [bench.ROOT, before])
        fake_pid = procs.children[0].pid
        desks = [t for t in targets if t.name.startswith("ChatKit Desk")]
        figures = {t.name: bench.Figures() for t in desks}
        for target in desks:
            asyncio.run(bench.run_many(target, "warm [bench:5:0]", 3))
        for number in range(rounds):
            print(f"round {number + 1}/{rounds}", file=sys.stderr, flush=True)
            for target in desks if number % 2 == 0 else desks[::-1]:
                asyncio.run(bench.loaded(target, figures[target.name], fake_pid))
                asyncio.run(bench.sequential(target, figures[target.name]))
    finally:
        procs.stop_all()
    med = statistics.median
    columns = "CPU per delta at 50 streams (µs) | relay p50 (ms) | time to first delta (ms)"
    print(f"| target | {columns} |")
    print("| --- | ---: | ---: | ---: |")
    for name, f in figures.items():
        print(
            f"| {name} | {med(f.cpu_us_per_delta):.0f} | {med(f.relay_p50_ms):.2f} | "
            f"{med(f.ttfd_ms):.1f} |"
        )


if __name__ == "__main__":
    main()
