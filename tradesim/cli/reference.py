"""`tradesim shocks`: every shock type and its fields, rendered from the scenario JSON Schema
(the one `tradesim schema` writes), so that the reference and editors' completion never
disagree. Units are in each field's description, in brackets."""

from __future__ import annotations

from typing import Any

from tradesim.cli.tables import aligned

__all__ = ["schema_type", "shock_reference"]


def _ref(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    ref = prop.get("$ref")
    return defs.get(ref.rsplit("/", 1)[-1]) if isinstance(ref, str) else None


def schema_type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A short, readable type of a JSON Schema property: 'number (0 to 5)', 'date or none',
    'list of text', 'mapping of YYYY-MM to number'."""
    target = _ref(prop, defs)
    if target is not None:
        return "mapping (fields below)"
    if "anyOf" in prop:
        kinds = [schema_type(p, defs) for p in prop["anyOf"] if p.get("type") != "null"]
        text = " or ".join(dict.fromkeys(kinds))
        return text + (" or none" if any(p.get("type") == "null" for p in prop["anyOf"]) else "")
    if "const" in prop:
        return repr(prop["const"])
    if "enum" in prop:
        return " or ".join(repr(v) for v in prop["enum"])
    kind = prop.get("type")
    if kind == "string":
        return "date" if prop.get("format") == "date" else "text"
    if kind in ("number", "integer"):
        name = "number" if kind == "number" else "whole number"
        # pydantic writes ge/le/gt/lt for constraints that follow a validator function
        lo, hi = prop.get("minimum", prop.get("ge")), prop.get("maximum", prop.get("le"))
        above = prop.get("exclusiveMinimum", prop.get("gt"))
        below = prop.get("exclusiveMaximum", prop.get("lt"))
        parts = []
        if lo is not None or above is not None:
            parts.append(f"≥ {lo:g}" if lo is not None else f"> {above:g}")
        if hi is not None or below is not None:
            parts.append(f"≤ {hi:g}" if hi is not None else f"< {below:g}")
        if parts:
            return f"{name}, {' and '.join(parts)}"
        return name
    if kind == "boolean":
        return "true or false"
    if kind == "array":
        item = schema_type(prop.get("items", {}), defs)
        size = prop.get("minItems")
        return f"list of {item}" + (f" ({size})" if size and size == prop.get("maxItems") else "")
    if kind == "object":
        values = prop.get("additionalProperties")
        return f"mapping to {schema_type(values, defs)}" if isinstance(values, dict) else "mapping"
    return "any"


def _default(prop: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in prop:
        return "optional"
    value = prop["default"]
    if value is None:
        return "default none"
    if isinstance(value, dict):
        return "default: see below"
    if isinstance(value, float):
        return f"default {value:g}"
    return f"default {value!r}" if isinstance(value, str) else f"default {value}"


def _rows(schema: dict[str, Any], defs: dict[str, Any], prefix: str = "") -> list[list[str]]:
    rows = []
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        if name == "type" and not prefix:
            continue
        rows.append(
            [
                f"  {prefix}{name}",
                schema_type(prop, defs),
                _default(prop, name in required),
                prop.get("description", ""),
            ]
        )
        target = _ref(prop, defs)
        if target is not None:
            rows += _rows(target, defs, prefix=f"{prefix}{name}.")
    return rows


def shock_reference() -> str:
    """Every shock type with its fields: type, default and description with units."""
    from tradesim.scenario import Scenario

    full = Scenario.model_json_schema()
    defs = full.get("$defs", {})
    lines: list[str] = []
    variants = full["properties"]["shocks"]["items"]["oneOf"]
    for variant in variants:
        schema = _ref(variant, defs) or variant
        kind = schema["properties"]["type"]["const"]
        doc = (schema.get("description") or "").strip().splitlines()[0]
        lines.append(f"{kind}: {doc}")
        lines += aligned(_rows(schema, defs), left=4)
        lines.append("")
    lines.append("Dates: YYYY-MM or YYYY-MM-DD (a mid-month date applies pro rata in its month).")
    lines.append('Rates and changes: fractions (0.25) or percentages ("25%"). Units in brackets.')
    return "\n".join(lines)
