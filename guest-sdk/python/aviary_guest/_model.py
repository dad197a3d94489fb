"""The lenient dict-to-dataclass loader shared by the models: a missing or ``null`` field gets
its default, a value of the wrong type its type's zero value, unknown keys are ignored."""

from __future__ import annotations

import typing
from dataclasses import fields, is_dataclass
from typing import Any, Dict, List, Union


def _load(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is Union:  # Optional[X]
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _load(args[0], value) if len(args) == 1 else value
    if origin in (list, List):
        (item,) = typing.get_args(tp) or (Any,)
        return [_load(item, v) for v in value] if isinstance(value, list) else []
    if origin in (dict, Dict):
        return dict(value) if isinstance(value, dict) else {}
    if is_dataclass(tp):
        return _from_dict(tp, value if isinstance(value, dict) else {})
    if tp is str:
        return value if isinstance(value, str) else ("" if value is None else str(value))
    if tp is bool:
        return value if isinstance(value, bool) else False
    if tp is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else 0
    return value


_HINTS: Dict[type, Dict[str, Any]] = {}


def _from_dict(cls: Any, data: Dict[str, Any]) -> Any:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = typing.get_type_hints(cls)
        _HINTS[cls] = hints
    kwargs = {}
    for f in fields(cls):
        key = f.metadata.get("json", f.name)
        kwargs[f.name] = _load(hints[f.name], data.get(key))
    return cls(**kwargs)
