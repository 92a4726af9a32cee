"""Import time of `tradesim` and of what a run needs, each in fresh processes.

Prints the median, min and max wall time of `import <module>` over fresh interpreters
(target, issue 16: `import tradesim` at most 0.3 s). The interpreter's own start-up is
measured the same way (`-c pass`) and subtracted, so the figures are the imports alone.
`python -X importtime -c "import tradesim"` shows where the time goes.

Then numba's start in a fresh process, which the first call of a compiled function pays
after the imports: its CPU target (typing and lowering registries, and a BLAS check that
imports scipy.linalg). `tradesim.analysis.runner` plus this start is the least a process
pays before its first run (what bounds an ensemble's speedup in fresh processes, see
bench_ensemble.py).

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
    "tradesim.analysis.runner",
    "tradesim.analysis.simulate",
    "tradesim.analysis.ensemble",
    "tradesim.cli.main",
)


def fresh(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


_NUMBA_START = (
    "import time, tradesim.model.engine\n"
    "t0 = time.perf_counter()\n"
    "from numba.core.registry import cpu_target\n"
    "cpu_target.typing_context.refresh(); cpu_target.target_context.refresh()\n"
    "print(time.perf_counter() - t0)\n"
)


def numba_start() -> float:
    out = subprocess.run(
        [sys.executable, "-c", _NUMBA_START], capture_output=True, text=True, check=True
    )
    return float(out.stdout)


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
    start = [numba_start() for _ in range(repeats)]
    print(
        f"{'numba CPU target start':<28} {statistics.median(start):>9.3f} {min(start):>7.3f}"
        f" {max(start):>7.3f}  (after tradesim.model.engine; once per process)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
