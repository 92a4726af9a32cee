"""The project's error types: one base, one subclass per stage."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CalibrationError",
    "ComparisonError",
    "Problem",
    "ScenarioError",
    "SimulationError",
    "TradesimError",
]


class TradesimError(Exception):
    """Base of every error tradesim raises on purpose (user mistakes and model failures)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a scenario: where it is and what is wrong."""

    message: str
    path: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file or "<scenario>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class ScenarioError(TradesimError, ValueError):
    """A scenario file or object is invalid; lists every problem found, each with its place."""

    def __init__(self, problems: list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ComparisonError(ScenarioError):
    """Two scenarios, each valid, cannot be paired: their worlds differ (regions, sectors,
    currencies, or their order) or their horizons share no month. A ScenarioError (what
    compare raised before), whose message names the two scenarios rather than one file's
    place, so it has no "<scenario>" prefix."""

    def __init__(self, message: str):
        super().__init__(message)

    def __str__(self) -> str:
        return "\n".join(p.message for p in self.problems)


class SimulationError(TradesimError):
    """A run failed or broke one of the model's accounting identities."""


class CalibrationError(TradesimError):
    """Calibration could not run or did not converge."""
