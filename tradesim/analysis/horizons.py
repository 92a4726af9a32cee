"""Pairing scenarios whose horizons differ: a comparison covers the months both share, or
the base is run on to the alternative's end. One rule for the Python API (`compare`, the
report) and the command line, so that both pair the same months and say so the same way."""

from __future__ import annotations

import datetime as dt

from tradesim.errors import ComparisonError
from tradesim.scenario import Scenario

__all__ = ["align_horizons", "common_horizon"]


def _month(d: dt.date) -> str:
    return f"{d:%Y-%m}"


def common_horizon(base: Scenario, alt: Scenario) -> tuple[dt.date, dt.date]:
    """The first and last month both scenarios cover (ComparisonError if none)."""
    start, end = max(base.start, alt.start), min(base.end, alt.end)
    if start > end:
        raise ComparisonError(
            f"{base.name!r} ({_month(base.start)} to {_month(base.end)}) and {alt.name!r} "
            f"({_month(alt.start)} to {_month(alt.end)}) share no month to compare"
        )
    return start, end


def align_horizons(
    base: Scenario,
    alt: Scenario,
    *,
    extend_base: bool,
    option: str | None = "extend_base=True",
) -> tuple[Scenario, str | None]:
    """The base to pair with `alt`, and a note for the reader when horizons differ.

    Without `extend_base`, the comparison covers the months both scenarios share (and says
    so). With it, a base that ends before the alternative is run to the alternative's end,
    its exogenous paths flat beyond their last point (as the model always does). `option`
    names how the caller asks for the extension (``--extend-base`` on the command line), for
    the note to point to it; None where the caller offers none.
    """
    if (base.start, base.end) == (alt.start, alt.end):
        return base, None
    note = None
    if extend_base and alt.end > base.end:
        data = base.model_dump()
        data["end"] = alt.end
        extended = Scenario.model_validate(data)
        note = (
            f"note: the base {base.name!r} ends {_month(base.end)}; extended to "
            f"{_month(alt.end)} with its exogenous paths flat beyond their last point"
            + (f" ({option})" if option else "")
        )
        base = extended
        if base.start == alt.start:
            return base, note
    start, end = common_horizon(base, alt)
    common = (
        f"note: {base.name!r} runs {_month(base.start)} to {_month(base.end)} and "
        f"{alt.name!r} {_month(alt.start)} to {_month(alt.end)}; compared over the common "
        f"horizon {_month(start)} to {_month(end)}"
    )
    if alt.end > base.end and not extend_base and option:
        common += f" ({option} runs the base to the alternative's end)"
    return base, "\n".join(n for n in (note, common) if n)
