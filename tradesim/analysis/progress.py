"""Progress of long API calls (ensembles, comparisons, calibrations).

Shown by default, as a tqdm bar (`tqdm.auto`: a widget in Jupyter, text on a terminal),
because a calibration or a 50-run ensemble in a notebook otherwise runs for minutes without
a sign of life. `progress=False` turns it off; a callable `progress(done, total)` replaces
the bar (the command line passes its own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["ProgressArg", "progress_callback"]

ProgressArg = bool | Callable[[int, int], None] | None


class _Bar:
    """A tqdm.auto bar created on the first call and closed when done reaches total."""

    def __init__(self, label: str, unit: str):
        self.label, self.unit = label, unit
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=done, unit=self.unit, desc=self.label)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_callback(
    progress: ProgressArg, label: str, unit: str = "run"
) -> Callable[[int, int], None] | None:
    """The callback a long call reports to: a bar for True, the caller's own callable, or
    None for False or None."""
    if progress is True:
        return _Bar(label, unit)
    if callable(progress):
        return progress
    return None
