"""YAML loading: positions of every node, `extends:` composition, `--set` overrides.

A scenario file is parsed into plain data with the file, line and column of every node, so
any problem found by the schema (`schema.py`) or the cross-field checks (`checks.py`) is
reported where it was written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from tradesim.errors import Problem, ScenarioError
from tradesim.scenario.checks import semantic_problems
from tradesim.scenario.schema import _SHOCK_MODELS, SHOCK_TYPES, Scenario

__all__ = [
    "dump_scenario",
    "field_path",
    "load_scenario",
    "scenario_files",
    "scenario_from_dict",
    "scenario_from_yaml",
]

_TYPE_SEGMENT = re.compile(r"^(float|int|str|bool|dict|list|none)$|[\[\-]")


def _is_type_segment(part: Any) -> bool:
    """pydantic puts union branches ('float', 'dict[str,float]') and tags into error paths."""
    return isinstance(part, str) and bool(_TYPE_SEGMENT.search(part))


class _Marks:
    """Line and column of every node in a YAML document, keyed by its path."""

    def __init__(self) -> None:
        self.at: dict[tuple[Any, ...], tuple[str, int, int]] = {}
        # Merged shock index -> index in the file that wrote it (scenarios that extend others).
        self.shock_index_in_file: dict[int, int] = {}

    def locate(self, loc: Sequence[Any]) -> tuple[str | None, int | None, int | None, str]:
        """The file position of the deepest node along `loc`, and the readable path of `loc`.

        pydantic error paths also hold union branches ('float', 'dict[str,float]') and the
        shock-type tag after a shock's index; neither is part of the document's path.
        """
        clean = [p for p in loc if not _is_type_segment(p)]
        if (
            len(clean) >= 3
            and clean[0] == "shocks"
            and isinstance(clean[1], int)
            and clean[2] in SHOCK_TYPES
        ):
            clean = clean[:2] + clean[3:]
        found: tuple[Any, ...] = ()
        for part in clean:
            if (*found, part) not in self.at:
                break
            found = (*found, part)
        file, line, col = self.at.get(found, (None, None, None))
        line, col = (line or None), (col or None)
        if len(clean) >= 2 and clean[0] == "shocks" and clean[1] in self.shock_index_in_file:
            clean = ["shocks", self.shock_index_in_file[clean[1]], *clean[2:]]
        return file, line, col, _join_path([str(p) for p in clean])


def _join_path(names: list[str]) -> str:
    """('shocks', '0', 'rate') -> 'shocks[0].rate'."""
    out: list[str] = []
    for n in names:
        if n.isdigit() and out:
            out[-1] = f"{out[-1]}[{n}]"
        else:
            out.append(n)
    return ".".join(out)


#: Largest scenario file read, in bytes. Scenario files are text of a few KB (the shipped
#: ones are under 20 KB); 4 MiB leaves room for long generated monthly paths, and bounds
#: what `validate /dev/zero` or a huge file can cost.
MAX_FILE_BYTES = 4 * 2**20
#: Most alias uses (*name) in one document: anchors save repetition, a few dozen at most.
MAX_ALIASES = 1_000
#: Most nodes one document may expand to, aliases followed. A scenario with monthly paths
#: over a century has a few thousand; "billion laughs" (9 levels of 9 aliases) has 9**9.
MAX_NODES = 200_000
#: Tags a scenario may use: YAML's own scalars and collections, as the safe loader resolves
#: them. Anything else (!!python/object, !!binary, !!set, custom !tags) is refused rather
#: than silently dropped or turned into something the schema never sees.
_ALLOWED_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """The safe loader, counting alias uses as it composes the document."""

    def __init__(self, stream: str, file: str):
        super().__init__(stream)
        self.file = file
        self.aliases = 0
        self.nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise ScenarioError(
                    [
                        Problem(
                            f"too many YAML aliases (more than {MAX_ALIASES})",
                            "",
                            self.file,
                            mark.line + 1,
                            mark.column + 1,
                        )
                    ]
                )
        return super().compose_node(parent, index)


def _construct(
    node: yaml.Node, loader: _Loader, marks: _Marks, path: tuple[Any, ...], file: str
) -> Any:
    loader.nodes += 1
    if loader.nodes > MAX_NODES:
        raise ScenarioError(
            [
                _problem_at(
                    file,
                    node,
                    path,
                    f"the document expands to more than {MAX_NODES} values (aliases"
                    " followed); a scenario needs far fewer",
                )
            ]
        )
    if node.tag not in _ALLOWED_TAGS:
        raise ScenarioError(
            [_problem_at(file, node, path, f"YAML tags are not allowed here ({node.tag})")]
        )
    marks.at[path] = (file, node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader, file, path)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise ScenarioError([_problem_at(file, key_node, path, f"unsupported key {key!r}")])
            if key in out:
                raise ScenarioError(
                    [_problem_at(file, key_node, (*path, key), f"duplicate key {key!r}")]
                )
            out[key] = _construct(value_node, loader, marks, (*path, key), file)
            marks.at[(*path, key)] = (
                file,
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(child, loader, marks, (*path, i), file) for i, child in enumerate(node.value)
        ]
    return _scalar(node, loader, file, path)


def _scalar(node: yaml.Node, loader: _Loader, file: str, path: tuple[Any, ...]) -> Any:
    """A scalar's value. Dates stay text: the schema parses them (an impossible date such as
    2022-02-30 is then a ScenarioError at its line, not a ValueError from the YAML library)."""
    if not isinstance(node, yaml.ScalarNode):
        raise ScenarioError([_problem_at(file, node, path, "a key must be a plain value")])
    if node.tag not in _ALLOWED_TAGS:
        raise ScenarioError(
            [_problem_at(file, node, path, f"YAML tags are not allowed here ({node.tag})")]
        )
    if node.tag == _TIMESTAMP:
        return str(node.value)
    return loader.construct_object(node, deep=True)


def _problem_at(file: str, node: yaml.Node, path: tuple[Any, ...], msg: str) -> Problem:
    return Problem(
        msg,
        _join_path([str(p) for p in path]),
        file,
        node.start_mark.line + 1,
        node.start_mark.column + 1,
    )


def _parse_yaml(text: str, file: str) -> tuple[Any, _Marks]:
    """Parse YAML into plain data, recording where each node is; errors are ScenarioErrors.

    Hardened against hostile input: size (`MAX_FILE_BYTES`), alias count (`MAX_ALIASES`),
    expansion (`MAX_NODES`) and tags (`_ALLOWED_TAGS`) are limited.
    """
    marks = _Marks()
    loader = None
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError(
            [Problem(f"the input is larger than {MAX_FILE_BYTES // 2**20} MiB", "", file)]
        )
    try:
        loader = _Loader(text, file)  # the reader rejects control characters here
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError([Problem("the file is empty", "", file, 1, 1)])
        data = _construct(node, loader, marks, (), file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise ScenarioError(
            [Problem(f"invalid YAML: {exc.problem}", "", file, line, col)]
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(f"invalid YAML: {exc}", "", file)]) from None
    except RecursionError:
        raise ScenarioError([Problem("the document is nested too deeply", "", file)]) from None
    except (ValueError, OverflowError) as exc:  # a scalar the YAML library cannot convert
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError([Problem(f"invalid value: {exc}", "", file)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, marks


def _read_text(path: Path) -> str:
    """A file's text, reading at most MAX_FILE_BYTES + 1 bytes (a device such as /dev/zero
    or a huge file is refused without reading it all)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(
            [Problem(f"cannot read scenario: {exc.strerror or exc}", "", str(path))]
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(
            [Problem(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB", "", str(path))]
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(f"cannot read scenario: {exc}", "", str(path))]) from None


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model class that holds the last key of `loc` (following the schema)."""
    current: Any = Scenario
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part in current.model_fields:
                current = current.model_fields[part].annotation
            elif part in SHOCK_TYPES:
                current = _SHOCK_MODELS[part]
            else:
                return None
            continue
        current = _unwrap(current, part)
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any, part: Any) -> Any:
    """Step from a container annotation (list, dict, Optional, Annotated) to its item."""
    import typing

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _unwrap(args[0], part)
    if origin in (list, dict) and args:
        return args[-1] if origin is dict else args[0]
    if args:  # a union: the first member that is a model or container
        for arg in args:
            if arg is not type(None):
                return arg if _is_model(arg) or typing.get_origin(arg) else _unwrap(arg, part)
    return None


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _did_you_mean(loc: Sequence[Any]) -> str:
    import difflib

    model = _model_at([p for p in loc if not _is_type_segment(p)])
    if model is None or not isinstance(loc[-1], str):
        return ""
    fields = [f for f in model.model_fields if f != "type"]
    close = difflib.get_close_matches(loc[-1], fields, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(fields)}"


def _describe(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown field" + _did_you_mean(err["loc"])
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif err["type"] == "union_tag_invalid":
        msg = f"unknown shock type; {msg.split('expected ', 1)[-1]}"
    value = err.get("input")
    shown = err["type"] in ("missing", "union_tag_invalid") or isinstance(value, (dict, list))
    if not shown and repr(value) not in msg:
        msg += f" (got {value!r})"
    return msg


_TYPE_MISMATCH = {"float_type", "float_parsing", "dict_type", "list_type", "int_type", "bool_type"}


def _useful(exc: ValidationError) -> list[Any]:
    """Drop a union branch's type mismatch when another branch says what is really wrong."""
    errors = exc.errors()

    def stem(e: Any) -> tuple[Any, ...]:
        loc = e["loc"]
        for i, part in enumerate(loc):
            if _is_type_segment(part):
                return tuple(loc[:i])
        return tuple(loc)

    informative = {stem(e) for e in errors if e["type"] not in _TYPE_MISMATCH}
    kept = [
        e
        for e in errors
        if not (
            e["type"] in _TYPE_MISMATCH
            and any(_is_type_segment(p) for p in e["loc"])
            and stem(e) in informative
        )
    ]
    return kept or errors


def scenario_from_dict(
    data: Any, *, source: str | None = None, marks: _Marks | None = None
) -> Scenario:
    """Validate a plain mapping into a Scenario, raising ScenarioError with every problem."""
    marks = marks or _Marks()
    if not isinstance(data, Mapping):
        raise ScenarioError(
            [Problem(f"a scenario is a mapping of fields, got {type(data).__name__}", "", source)]
        )

    def problem(loc: Sequence[Any], msg: str) -> Problem:
        file, line, col, path = marks.locate(loc)
        return Problem(msg, path, file or source, line, col)

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        errors = _useful(exc)
        problems = [problem(e["loc"], _describe(e)) for e in errors]
        seen = {(p.path, p.message) for p in problems}
        for loc, msg in _semantic_problems_despite(data, errors):
            extra = problem(loc, msg)
            if (extra.path, extra.message) not in seen and not any(
                extra.path.startswith(p.path) for p in problems if p.path
            ):
                problems.append(extra)
        raise ScenarioError(problems) from None
    semantic = semantic_problems(scenario)
    if semantic:
        raise ScenarioError([problem(loc, msg) for loc, msg in semantic])
    return scenario


def _semantic_problems_despite(
    data: Mapping[str, Any], errors: Sequence[Any]
) -> list[tuple[tuple[Any, ...], str]]:
    """Cross-field problems of a document that also breaks the schema, so that every problem
    is reported at once: shocks with schema errors are set aside, other offending keys are
    removed (their defaults apply), and what is left is validated and checked."""
    import copy

    repaired = copy.deepcopy(dict(data))
    bad_shocks: set[int] = set()
    for err in errors:
        loc = [p for p in err["loc"] if not _is_type_segment(p)]
        if len(loc) >= 2 and loc[0] == "shocks" and isinstance(loc[1], int):
            bad_shocks.add(loc[1])
            continue
        node: Any = repaired
        for part in loc[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and loc:
            node.pop(loc[-1], None)
    shocks = repaired.get("shocks")
    original: list[int] = []
    if isinstance(shocks, list):
        original = [i for i in range(len(shocks)) if i not in bad_shocks]
        repaired["shocks"] = [shocks[i] for i in original]
    try:
        scenario = Scenario.model_validate(repaired)
    except ValidationError:
        return []  # the schema errors hide too much; report those alone
    out: list[tuple[tuple[Any, ...], str]] = []
    for at, msg in semantic_problems(scenario):
        if len(at) >= 2 and at[0] == "shocks":
            at = ("shocks", original[at[1]], *at[2:])
        out.append((at, msg))
    return out


def _merge(
    parent: dict[str, Any], child: dict[str, Any], marks: _Marks, child_marks: _Marks
) -> dict[str, Any]:
    """Child fields override the parent's (mappings merge key by key); shocks are appended,
    except a child shock with the `id` of a parent shock, which overrides that shock's fields
    (or, with `remove: true`, removes it). `marks` (the parent's) is updated in place."""

    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            out = dict(a)
            for k, v in b.items():
                out[k] = merge(a[k], v) if k in a else v
            return out
        return b

    merged = merge(parent, {k: v for k, v in child.items() if k != "shocks"})
    for path, mark in child_marks.at.items():
        if path[:1] != ("shocks",):
            marks.at[path] = mark
    p_shocks, c_shocks = parent.get("shocks"), child.get("shocks")
    if not (isinstance(p_shocks, list) and isinstance(c_shocks, list)):
        if "shocks" in child:
            merged["shocks"] = c_shocks
            for path in [q for q in marks.at if q[:1] == ("shocks",)]:
                del marks.at[path]
            marks.at.update({q: m for q, m in child_marks.at.items() if q[:1] == ("shocks",)})
            marks.shock_index_in_file = dict(child_marks.shock_index_in_file)
        return merged

    def shock_id(shock: Any) -> Any:
        return shock.get("id") if isinstance(shock, dict) else None

    # Each merged shock with where its fields come from, later sources winning.
    entries: list[tuple[Any, list[tuple[str, int]]]] = [
        (shock, [("parent", i)]) for i, shock in enumerate(p_shocks)
    ]
    for j, shock in enumerate(c_shocks):
        sid = shock_id(shock)
        at = next(
            (
                n
                for n, (e, origin) in enumerate(entries)
                if sid is not None and shock_id(e) == sid and origin[0][0] == "parent"
            ),
            None,
        )
        if at is None:
            entries.append((shock, [("child", j)]))
        elif isinstance(shock, dict) and shock.get("remove") is True:
            del entries[at]
        else:
            entries[at] = (merge(entries[at][0], shock), [*entries[at][1], ("child", j)])
    merged["shocks"] = [e for e, _ in entries]

    sources = {
        "parent": ({q: m for q, m in marks.at.items() if q[:1] == ("shocks",)}, marks),
        "child": ({q: m for q, m in child_marks.at.items() if q[:1] == ("shocks",)}, child_marks),
    }
    for path in sources["parent"][0]:
        del marks.at[path]
    if ("shocks",) in sources["child"][0]:
        marks.at[("shocks",)] = sources["child"][0][("shocks",)]
    elif ("shocks",) in sources["parent"][0]:
        marks.at[("shocks",)] = sources["parent"][0][("shocks",)]
    index_in_file: dict[int, int] = {}
    for n, (_, origin) in enumerate(entries):
        for kind, i in origin:
            at_marks, owner = sources[kind]
            for path, mark in at_marks.items():
                if len(path) >= 2 and path[1] == i:
                    marks.at[("shocks", n, *path[2:])] = mark
            index_in_file[n] = owner.shock_index_in_file.get(i, i)
    marks.shock_index_in_file = index_in_file
    return merged


def _parent_refs(data: dict[str, Any], marks: _Marks) -> list[tuple[Any, tuple[Any, ...]]]:
    """`extends:` as a list of (reference, YAML path): one file or a list of files."""
    ref = data.pop("extends")
    file, line, col = marks.at[("extends",)]
    if isinstance(ref, str):
        return [(ref, ("extends",))]
    if isinstance(ref, list) and ref and all(isinstance(r, str) for r in ref):
        return [(r, ("extends", k)) for k, r in enumerate(ref)]
    raise ScenarioError(
        [Problem("extends must be a file path or a list of file paths", "extends", file, line, col)]
    )


def _load_data(path: Path, chain: tuple[Path, ...], root: Path | None = None) -> tuple[Any, _Marks]:
    """Read a scenario file, resolving `extends:` (relative to the file) recursively.

    With several parents, they are merged left to right (a later parent wins for fields,
    shocks are appended or overridden by `id`), then the file itself is merged on top.
    With `root`, every extended file must lie in that folder tree (the folder of the file
    the user named): a scenario from a stranger cannot read or probe other files.
    """
    text = _read_text(path)
    data, marks = _parse_yaml(text, str(path))
    if not (isinstance(data, dict) and "extends" in data):
        _check_leftover_removals(data, marks)
        return data, marks
    base: tuple[Any, _Marks] | None = None
    for parent_ref, yaml_path in _parent_refs(data, marks):
        file, line, col = marks.at.get(yaml_path, marks.at[("extends",)])
        where = "extends" if len(yaml_path) == 1 else f"extends[{yaml_path[1]}]"
        parent_path = (path.parent / parent_ref).resolve()
        if root is not None and root not in parent_path.parents:
            raise ScenarioError(
                [
                    Problem(
                        f"extends {parent_ref!r}, outside the scenario's folder {root}; pass"
                        " --allow-outside (allow_outside=True) if you trust this file",
                        where,
                        file,
                        line,
                        col,
                    )
                ]
            )
        if parent_path in chain:
            cycle = " -> ".join(p.name for p in (*chain, parent_path))
            raise ScenarioError(
                [Problem(f"extends forms a cycle: {cycle}", where, file, line, col)]
            )
        if not parent_path.is_file():
            raise ScenarioError(
                [
                    Problem(
                        f"extends a file that does not exist: {parent_ref}", where, file, line, col
                    )
                ]
            )
        parent, parent_marks = _load_data(parent_path, (*chain, parent_path), root)
        if not isinstance(parent, dict):
            raise ScenarioError(
                [Problem("the extended file is not a scenario mapping", "", str(parent_path))]
            )
        if base is None:
            base = (parent, parent_marks)
        else:
            base = (_merge(base[0], parent, base[1], parent_marks), base[1])
    assert base is not None
    merged = _merge(base[0], data, base[1], marks)
    _check_leftover_removals(merged, base[1])
    return merged, base[1]


def _check_leftover_removals(data: Any, marks: _Marks) -> None:
    """A `remove: true` shock whose id no parent defines is a mistake, not a shock."""
    shocks = data.get("shocks") if isinstance(data, dict) else None
    problems = []
    for n, shock in enumerate(shocks if isinstance(shocks, list) else []):
        if isinstance(shock, dict) and "remove" in shock:
            file, line, col, path = marks.locate(("shocks", n, "remove"))
            problems.append(
                Problem(
                    f"removes shock id {shock.get('id')!r}, but no parent scenario has a shock "
                    "with that id",
                    path,
                    file,
                    line,
                    col,
                )
            )
    if problems:
        raise ScenarioError(problems)


def scenario_files(path: str | Path) -> list[Path]:
    """The file and every file it extends (depth first, parents in order): the inputs of a
    scenario."""
    files: list[Path] = []

    def visit(f: Path) -> None:
        if f.resolve() in [g.resolve() for g in files]:
            return
        files.append(f)
        try:
            data, _ = _parse_yaml(_read_text(f), str(f))
        except ScenarioError:
            return
        parents = data.get("extends") if isinstance(data, dict) else None
        for parent in [parents] if isinstance(parents, str) else parents or []:
            if isinstance(parent, str):
                visit(Path(os.path.normpath(f.parent / parent)))

    visit(Path(path))
    return files


def field_path(key: str) -> str:
    """The one spelling of a `--set` field path: ``shocks[3].rate``, ``shocks[ 3 ].rate`` and
    ``.shocks.3.rate`` are all ``shocks.3.rate``."""
    return re.sub(r"\[\s*(\d+)\s*\]", r".\1", key.strip()).lstrip(".")


def _apply_override(data: Any, marks: _Marks, assignment: str) -> None:
    """Apply one `path.to.field=value` (value read as YAML) to the scenario data; list
    items by index, as `shocks.3.rate` or `shocks[3].rate`."""
    where = f"--set {assignment}"
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ScenarioError([Problem("expected path.to.field=value", "", where)])
    if text.strip():
        try:
            value, _ = _parse_yaml(text, where)
        except ScenarioError as exc:
            reason = "; ".join(p.message for p in exc.problems)
            raise ScenarioError(
                [Problem(f"the value is not valid: {reason}", key, where)]
            ) from None
    else:
        value = ""
    # shocks[3].rate (the form error messages use) and shocks.3.rate are the same path
    dotted = field_path(key)
    if "[" in dotted or "]" in dotted:
        raise ScenarioError(
            [
                Problem(
                    "a list item's index is a whole number from 0: shocks[3] or shocks.3",
                    key,
                    where,
                )
            ]
        )
    parts: list[Any] = [int(p) if p.isdigit() else p for p in dotted.split(".")]
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node[part] if _has(node, part) else None
        if child is None:
            if isinstance(node, dict):
                child = node[part] = {}
            else:
                at = _join_path([str(p) for p in parts[: i + 1]])
                raise ScenarioError([Problem(f"{at} does not exist", key, where)])
        node = child
    last = parts[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value
    else:
        raise ScenarioError([Problem(f"{key} does not exist", key, where)])
    marks.at[tuple(parts)] = (where, 0, 0)  # 0: no line or column to show
    for i in range(1, len(parts)):  # nested problems under an override point at it too
        marks.at.setdefault(tuple(parts[:i]), (where, 0, 0))


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def load_scenario(
    path: str | Path, *, overrides: Sequence[str] = (), allow_outside: bool = False
) -> Scenario:
    """Read and validate a scenario file, resolving `extends:`.

    `overrides` are `path.to.field=value` assignments (the value read as YAML), applied to the
    resolved file and validated like it, e.g. ``parameters.markup=1.3``,
    ``shocks.0.rate=25%`` or ``shocks[0].rate=25%``.

    `extends:` may name only files in the scenario's own folder tree (its folder and the
    folders below), so that a scenario file from elsewhere cannot read other files on the
    machine; `allow_outside=True` lifts this for files you trust.

    Raises
    ------
    ScenarioError
        If the file cannot be read or parsed, or any field is invalid; the message lists every
        problem with file, line, column and YAML path.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path, got {type(path).__name__}")
    if isinstance(overrides, str):
        raise TypeError("overrides must be a list of 'path=value' strings, not one string")
    path = Path(path)
    root = None if allow_outside else path.resolve().parent
    data, marks = _load_data(path, (path.resolve(),), root)
    if not isinstance(data, dict) and overrides:
        raise ScenarioError([Problem("overrides need a scenario mapping", "", str(path))])
    for assignment in overrides:
        _apply_override(data, marks, assignment)
    return scenario_from_dict(data, source=str(path), marks=marks)


def scenario_from_yaml(text: str, *, source: str = "<string>") -> Scenario:
    """Validate a scenario given as YAML text (no `extends:`, which needs a file)."""
    data, marks = _parse_yaml(text, source)
    return scenario_from_dict(data, source=source, marks=marks)


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML text; `scenario_from_yaml(dump_scenario(s)) == s`."""
    data = scenario.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
