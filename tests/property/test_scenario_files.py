"""Scenario files: every YAML document loads or raises ScenarioError; dump and load round-trip;
each schema bound rejects the value just outside it, naming the field."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tradesim import Scenario, ScenarioError, scenario_from_dict
from tradesim.scenario import dump_scenario, scenario_from_yaml

from ..factories import small_dict
from ..strategies import scenarios
from ..test_shocks import CASES

SCENARIOS = Path(__file__).parents[2] / "scenarios"
FIELD_NAMES = sorted(
    {"type", "rate", "start", "end", "sectors", "importer", "origin", "currency", "per_usd"}
    | set(Scenario.model_fields)
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["2018-07", "2018-07-06", "2018-13", "25%", "abc%", "all", "USD", "CN"]),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=6)), inner, max_size=5
        ),
    ),
    max_leaves=25,
)


def loads_or_scenario_error(text: str) -> None:
    try:
        result = scenario_from_yaml(text)
    except ScenarioError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
    else:
        assert isinstance(result, Scenario)


@given(documents)
def test_any_yaml_document_loads_or_raises_scenario_error(doc):
    """One property, "any YAML document loads or raises ScenarioError", fed by three
    generators: arbitrary documents (here), arbitrary text and mutated shipped scenarios
    (below). The planted bugs it was shown to catch are named on the other two; arbitrary
    documents rarely pass the schema's first level, so this one guards shapes at the top."""
    loads_or_scenario_error(yaml.safe_dump(doc))


@given(st.text(max_size=200))
def test_any_text_loads_or_raises_scenario_error(text):
    """Catches: the YAML reader's error for a control character, raised when the loader is
    built (before parsing), escaping as yaml.ReaderError (found by this test)."""
    loads_or_scenario_error(text)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@pytest.fixture(scope="module")
def shipped_documents():
    texts = {}
    for path in sorted(SCENARIOS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        data.pop("extends", None)
        texts[path.name] = data
    return texts


@settings(max_examples=max(200, settings().max_examples))
@given(st.data())
def test_mutated_shipped_scenarios_load_or_raise_scenario_error(shipped_documents, data):
    """Delete a key, replace a value with junk or add a stray key deep in a shipped scenario.
    Catches: a cross-field check that indexes origin_shares by every sector (KeyError when
    one is missing), and a path validator that calls .items() on anything that is not a
    number or string (AttributeError for a list)."""
    name = data.draw(st.sampled_from(sorted(shipped_documents)))
    doc = copy.deepcopy(shipped_documents[name])
    for _ in range(data.draw(st.integers(1, 3))):
        deep = [p for p in _paths(doc) if len(p) >= 3]  # most of a scenario's content
        path = data.draw(st.sampled_from(deep or _paths(doc)[1:]))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = data.draw(st.sampled_from(["delete", "replace", "stray"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = data.draw(documents)
        elif isinstance(parent, dict):
            parent[data.draw(st.sampled_from([*FIELD_NAMES, "CN", "energy", "typo"]))] = data.draw(
                scalars
            )
    loads_or_scenario_error(yaml.safe_dump(doc))


@given(scenarios())
def test_dump_then_load_gives_the_same_scenario(data):
    """Catches: dates dumped as full dates for the horizon being refused when read back, or
    path keys normalized differently on the way in and out."""
    scenario = scenario_from_dict(data)
    assert scenario_from_yaml(dump_scenario(scenario)) == scenario


# ------------------------------------------------------------------ schema bounds

BOUND_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _bounded_fields() -> list[tuple[tuple, str, str, float]]:
    """(path, JSON type, bound kind, bound) for every bounded number in the schema; '*' is
    a mapping key, and shock fields sit under ('shocks', <type>, ...)."""
    schema = Scenario.model_json_schema()
    defs = schema["$defs"]
    found: list[tuple[tuple, str, str, float]] = []

    def walk(node: dict, path: tuple) -> None:
        if "$ref" in node:
            node = defs[node["$ref"].split("/")[-1]]
        for option in node.get("anyOf", []) + node.get("oneOf", []):
            walk(option, path)
        if "properties" in node:
            kind = node["properties"].get("type", {}).get("const")
            if kind and path and path[-1] == "shocks":
                path = (*path, kind)
            for key, sub in node["properties"].items():
                walk(sub, (*path, key))
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], (*path, "*"))
        if "items" in node:
            walk(node["items"], path)
        if node.get("type") in ("number", "integer"):
            for key in BOUND_KEYS:
                if key in node:
                    found.append((path, node["type"], key, node[key]))

    walk(schema, ())
    return sorted(set(found), key=str)


def _outside(json_type: str, kind: str, bound: float) -> float:
    step = 1 if json_type == "integer" else max(1e-6, abs(bound) * 1e-6)
    if kind.startswith("exclusive"):
        return bound
    return bound - step if kind == "minimum" else bound + step


def _place(data: dict, path: tuple, value: Any) -> str:
    """Put `value` at `path` in a small scenario; returns the field name expected in errors."""
    if path[0] == "shocks":
        kind, field = path[1], path[2:]
        shock = {"type": kind, "start": "2020-03", **copy.deepcopy(CASES[kind][0])}
        if field[0] == "path":
            shock.pop("change", None)
        data["shocks"] = [shock]
        node, path = shock, field
    else:
        node = data
    for part in path[:-1]:
        # A mapping key: the first one present, or the first sector (per-sector mappings
        # such as parameters.currency_choice.invoicing start empty).
        key = (next(iter(node)) if node else next(iter(data["sectors"]))) if part == "*" else part
        node = node.setdefault(key, {})
    last = (
        next(iter(node))
        if path[-1] == "*" and node
        else ("2020-03" if path[-1] == "*" else path[-1])
    )
    node[last] = value
    return next(p for p in reversed(path) if p != "*")


BOUNDED = _bounded_fields()


def test_schema_has_bounds_to_test():
    assert len(BOUNDED) > 40


@pytest.mark.parametrize(("path", "json_type", "kind", "bound"), BOUNDED, ids=lambda x: str(x))
def test_value_just_outside_each_bound_is_rejected_naming_the_field(path, json_type, kind, bound):
    """Catches: a bound dropped from the schema (say, a tariff rate above 5 or a negative
    capacity change below -100%) — the generated case then validates."""
    value = _outside(json_type, kind, bound)
    if json_type == "integer":
        value = int(math.floor(value) if "inimum" in kind else math.ceil(value))
    data = small_dict()
    field = _place(data, path, value)
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    assert any(field in p.path for p in info.value.problems), info.value.problems
