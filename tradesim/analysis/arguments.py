"""Checks of public API arguments at the entry, with the argument named.

A wrong argument (a file name where a Scenario is expected, `seed=True`, `workers=0`)
raises TypeError or ValueError here, naming it, instead of an AttributeError from deep
inside the engine or a silently odd result. One message template, as scikit-learn does.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from tradesim.scenario import Scenario, scenario_from_dict

__all__ = [
    "check_count",
    "check_quantiles",
    "check_scenario",
    "check_scheduler",
    "check_seed",
]


def check_scenario(value: Any, name: str = "scenario") -> Scenario:
    """A validated Scenario; anything else is a TypeError that says how to get one.

    A Scenario changed with `model_copy(update=...)` skips pydantic's validation, so it is
    validated again here (end before start, a string in `shocks`...).
    """
    if not isinstance(value, Scenario):
        hint = (
            "; load a file with tradesim.load_scenario(path)"
            if isinstance(value, (str, bytes)) or hasattr(value, "__fspath__")
            else "; build one with tradesim.scenario_from_dict(mapping)"
            if isinstance(value, dict)
            else ""
        )
        raise TypeError(f"{name} must be a tradesim.Scenario, got {type(value).__name__}{hint}")
    data = value.model_dump(mode="json", warnings=False)
    again = scenario_from_dict(data, source=f"<{name}>")
    return value if again == value else again


def check_count(value: Any, name: str, *, minimum: int = 1, optional: bool = False) -> Any:
    """A whole number >= minimum (None allowed when `optional`); bools are not numbers."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_seed(value: Any, name: str = "seed") -> Any:
    """None, a whole number in [0, 2**63), or a numpy SeedSequence."""
    import numpy as np

    if value is None or isinstance(value, np.random.SeedSequence):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number or a SeedSequence, got {value!r}")
    if not 0 <= int(value) < 2**63:
        raise ValueError(f"{name} must be in [0, 2**63), got {value}")
    return int(value)


def check_quantiles(values: Any, name: str = "quantiles") -> tuple[float, ...]:
    """Distinct numbers strictly between 0 and 1, at least one."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of numbers, got {values!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise TypeError(f"{name} must hold numbers, got {v!r}")
        out.append(float(v))
    if not out:
        raise ValueError(f"{name} must hold at least one value")
    if not all(0.0 < q < 1.0 for q in out):
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {out}")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must be distinct, got {out}")
    # Tables label a quantile's column q{level:g} (6 significant digits), beside the median's.
    levels = {0.5, *out}
    close = [q for q in out if sum(f"{p:g}" == f"{q:g}" for p in levels) > 1]
    if close:
        raise ValueError(
            f"{name} {close} differ from another quantile or the median (0.5) only beyond 6"
            " significant digits, which label a band's columns; choose distinct levels"
        )
    return tuple(out)


def check_scheduler(address: Any, name: str = "scheduler") -> Any:
    """A Dask scheduler address with a protocol, host and port: tcp://HOST:PORT.

    Without a port the Dask client waits for its connect timeout (60 s) and fails with a
    TimeoutError; a missing port is refused at once instead.
    """
    if address is None:
        return None
    if not isinstance(address, str):
        raise TypeError(f"{name} must be an address string, got {type(address).__name__}")
    parts = urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("tcp", "tls", "ws", "wss", "ucx") or not parts.hostname or not port:
        raise ValueError(
            f"{name} must be an address like tcp://HOST:PORT (with the port), got {address!r}"
        )
    return address
