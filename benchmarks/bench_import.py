"""Import time of `tradesim` and of what a run needs, each in fresh processes.

Prints the median, min and max wall time of `import <module>` over fresh interpreters
(target, issue 16: `import tradesim` at most 0.3 s). The interpreter's own start-up is
measured the same way (`-c pass`) and subtracted, so the figures are the imports alone.
`python -X importtime -c "import tradesim"` shows where the time goes.

    python benchmarks/bench_import.py            # 7 fresh processes per module
    python benchmarks/bench_import.py 11
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

MODULES = (
    "tradesim",
    "tradesim.scenario",
    "tradesim.model.engine",
    "tradesim.analysis.simulate",
    "tradesim.cli.main",
)


def fresh(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main(repeats: int) -> None:
    print(f"import time, {repeats} fresh processes each (interpreter start-up subtracted)")
    print(f"{'module':<28} {'median s':>9} {'min s':>7} {'max s':>7}")
    # Interleave the modules so that a busy spell on a shared machine hits all of them.
    times: dict[str, list[float]] = {m: [] for m in ("", *MODULES)}
    for _ in range(repeats):
        for m in times:
            times[m].append(fresh(f"import {m}" if m else "pass"))
    base = statistics.median(times.pop(""))
    for m, ts in times.items():
        net = [t - base for t in ts]
        print(f"{m:<28} {statistics.median(net):>9.3f} {min(net):>7.3f} {max(net):>7.3f}")
    print(f"(interpreter start-up {base:.3f} s; target: import tradesim <= 0.300 s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
