"""Figure of a backtest: observed values against each method's forecast and interval."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tradesim.analysis.backtest import METHODS, BacktestResult

__all__ = ["plot_backtest"]


def plot_backtest(result: BacktestResult, stem: Path) -> list[Path]:
    """Observed values against each method's forecast and interval, one panel per
    direction; written as stem.png and stem.svg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result.rows
    directions = sorted({(r["origin"], r["destination"]) for r in rows})
    colors = {"model": "C0", "trend": "C1", "flat": "C2", "drift": "C3"}
    with plt.rc_context({"text.usetex": False, "text.parse_math": False}):
        fig, axes = plt.subplots(
            1, len(directions), figsize=(5.2 * len(directions), 4), squeeze=False
        )
        for ax, (origin, destination) in zip(axes[0], directions, strict=True):
            mine = [r for r in rows if (r["origin"], r["destination"]) == (origin, destination)]
            for k, m in enumerate(METHODS):
                x = np.array([r["year"] for r in mine]) + (k - 1.5) * 0.12
                y = np.array([r[f"{m}_usd"] for r in mine]) / 1e9
                lo = np.array([r[f"{m}_lo_usd"] for r in mine]) / 1e9
                hi = np.array([r[f"{m}_hi_usd"] for r in mine]) / 1e9
                err = np.vstack([y - lo, hi - y])
                has = ~np.isnan(lo)
                ax.plot(x, y, "o", color=colors[m], label=m)
                if has.any():
                    ax.errorbar(
                        x[has], y[has], yerr=err[:, has], fmt="none", ecolor=colors[m], capsize=3
                    )
            ax.plot(
                [r["year"] for r in mine],
                [r["observed_usd"] / 1e9 for r in mine],
                "k_",
                markersize=22,
                mew=2,
                label="observed",
            )
            ax.set_title(f"{origin} -> {destination}")
            ax.set_xticks(sorted({r["year"] for r in mine}))
            ax.set_ylabel("USD bn a year")
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=8)
        fig.suptitle(
            f"Backtest of {result.scenario}: forecasts with 5-95% intervals ({result.runs} runs)"
        )
        fig.tight_layout()
    from tradesim.io.plot import save

    return save(fig, stem)  # atomic writes, names recorded in the folder's marker
