"""YAML -> typed dataclasses, generically: convert and check each value against its annotation
and the field's rules (min, max, choices), name the file, line and dotted key of a bad one, and
list what is valid. training/config.py holds the project's schema; this module knows none of it.
"""

from __future__ import annotations

import dataclasses
import types
import typing

import yaml

from training.errors import StanceError


def field_rules(default, **rules):
    """A dataclass field with validation rules: min, max, choices (checked after conversion)."""
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=rules)
    return dataclasses.field(default=default, metadata=rules)


def plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def flatten(d: dict, prefix: str = "") -> dict:
    """{'a': {'b': 1}} -> {'a.b': 1}; used for MLflow params."""
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def line_map(node, prefix="", out=None) -> dict:
    """Dotted key -> 1-based line, from the YAML node tree (for error messages)."""
    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = f"{prefix}{k.value}"
            out[key] = k.start_mark.line + 1
            line_map(v, key + ".", out)
    return out


def _convert(value, tp, key, rules, where):
    """Check and convert one value to the annotated type; raise StanceError naming the key."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return _convert(value, next(a for a in args if a is not type(None)), key, rules, where)
    bad = f"{where(key)}: expected {_type_name(tp)}, got {value!r}"
    if tp is bool:
        if not isinstance(value, bool):
            raise StanceError(bad)
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise StanceError(bad)
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StanceError(bad)
        value = float(value)
    elif tp is str:
        if not isinstance(value, str) or not value.strip():
            raise StanceError(bad)
    elif origin is tuple:
        if not isinstance(value, (list, tuple)) or len(value) != len(args) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
            raise StanceError(f"{where(key)}: expected {len(args)} positive integers like [1, 2], got {value!r}")
        if list(value) != sorted(value):
            raise StanceError(f"{where(key)}: the range must go from low to high, got {value!r}")
        value = tuple(value)
    elif origin is list:
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise StanceError(f"{where(key)}: expected a list of non-empty strings, got {value!r}")
        if "choices" in rules:
            for v in value:
                if v not in rules["choices"]:
                    raise StanceError(f"{where(key)}: unknown value {v!r}; valid: {', '.join(rules['choices'])}")
        if len(set(value)) != len(value):
            raise StanceError(f"{where(key)}: repeated values in {value!r}")
        return list(value)
    elif tp is dict:
        if not isinstance(value, dict):
            raise StanceError(f"{where(key)}: expected a mapping, got {value!r}")
        return dict(value)
    if "choices" in rules and value not in rules["choices"]:
        raise StanceError(f"{where(key)}: unknown value {value!r}; valid: {', '.join(rules['choices'])}")
    if "min" in rules and value < rules["min"]:
        raise StanceError(f"{where(key)}: {value!r} is below the minimum {rules['min']}")
    if "max" in rules and value > rules["max"]:
        raise StanceError(f"{where(key)}: {value!r} is above the maximum {rules['max']}")
    return value


def _type_name(tp) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a non-empty string"}.get(tp, str(tp))


def field_names(cls) -> str:
    return ", ".join(f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal"))


def build(cls, raw: dict, prefix: str, where, base=None):
    """Start from the default instance (so per-block defaults such as char n-grams hold)
    and override what the YAML sets, converting and checking each value."""
    base = cls() if base is None else base
    valid = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for k, v in raw.items():
        if k not in valid:
            raise StanceError(f"{where(prefix + str(k))}: unknown key {k!r}; valid keys here: {field_names(cls)}")
        if dataclasses.is_dataclass(hints[k]):
            if not isinstance(v, dict):
                raise StanceError(f"{where(prefix + k)}: expected a mapping of {field_names(hints[k])}, got {v!r}")
            kwargs[k] = build(hints[k], v, prefix + k + ".", where, getattr(base, k))
        else:
            kwargs[k] = _convert(v, hints[k], prefix + k, valid[k].metadata, where)
    return dataclasses.replace(base, **kwargs)
