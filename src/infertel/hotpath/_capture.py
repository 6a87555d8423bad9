"""Declared-field capture: compile field paths once, take cheap snapshots per call.

Paths for inputs start at a parameter name (``"request.text"``; ``"request"`` alone is the whole
argument) and paths for outputs start at the return value (``"label"``; ``"return"`` is the whole
value). Each path step reads a mapping key or an attribute. Snapshots copy containers so later
mutation by the caller cannot change what is exported, and never touch the caller's objects.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Mapping
from typing import Any, Final, get_args

from infertel._record import ArraySnapshot
from infertel._types import Action

WHOLE_RESULT: Final = "return"
_MISSING: Final = object()
_ATOMIC = (str, int, float, bool, bytes, type(None))
_ATOMIC_TYPES = frozenset(_ATOMIC)
_MAX_ITEMS = 1000
_MAX_DEPTH = 8
_VALID_ACTIONS: Final = frozenset(get_args(Action))


class FieldGetter:
    """Reads one declared path from a call's arguments or its result."""

    __slots__ = ("action", "index", "param", "path", "steps")

    def __init__(self, path: str, action: str, param: str, index: int | None,
                 steps: tuple[str, ...]) -> None:
        self.path = path
        self.action = action
        self.param = param
        self.index = index
        self.steps = steps

    def from_call(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
        if self.index is not None and self.index < len(args):
            root = args[self.index]
        else:
            root = kwargs.get(self.param, _MISSING)
        return self._walk(root)

    def from_result(self, result: Any) -> Any:
        return self._walk(result)

    def _walk(self, value: Any) -> Any:
        for step in self.steps:
            if value is _MISSING:
                break
            # A plain dict first: isinstance against the Mapping ABC costs ~10x more.
            if type(value) is dict or isinstance(value, Mapping):
                value = value.get(step, _MISSING)
            else:
                value = getattr(value, step, _MISSING)
        return value


def _check_action(path: str, action: str) -> None:
    if action not in _VALID_ACTIONS:
        raise ValueError(
            f"unknown action {action!r} for field {path!r}; "
            f"expected one of {sorted(_VALID_ACTIONS)}"
        )


def compile_inputs(
    fn: Callable[..., Any], declared: Mapping[str, str] | None
) -> tuple[FieldGetter, ...]:
    """Getters for the declared input paths that are captured (``drop`` means never read)."""
    if not declared:
        return ()
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    getters = []
    for path, action in declared.items():
        _check_action(path, action)
        root, *steps = path.split(".")
        param = signature.parameters.get(root)
        if param is None:
            raise ValueError(
                f"input path {path!r} must start with a parameter of {fn.__qualname__}; "
                f"its parameters are {[p.name for p in params]}"
            )
        if action == "drop":
            continue
        positional = param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
        index = params.index(param) if positional else None
        getters.append(FieldGetter(path, action, root, index, tuple(steps)))
    return tuple(getters)


def undeclared_inputs(fn: Callable[..., Any], declared_roots: set[str]) -> tuple[FieldGetter, ...]:
    """Getters for whole parameters not named by any declared path (``self``/``cls`` and
    ``*args``/``**kwargs`` excluded); their action comes from the policy at export time."""
    params = list(inspect.signature(fn).parameters.values())
    getters = []
    for index, param in enumerate(params):
        if param.name in declared_roots or param.name in ("self", "cls"):
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        positional = param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD)
        getters.append(FieldGetter(param.name, "", param.name, index if positional else None, ()))
    return tuple(getters)


def compile_outputs(declared: Mapping[str, str] | None) -> tuple[FieldGetter, ...]:
    if not declared:
        return ()
    getters = []
    for path, action in declared.items():
        _check_action(path, action)
        if not path:
            raise ValueError("output path must not be empty; use 'return' for the whole value")
        if action == "drop":
            continue
        steps = () if path == WHOLE_RESULT else tuple(path.split("."))
        getters.append(FieldGetter(path, action, WHOLE_RESULT, None, steps))
    return tuple(getters)


def capture_inputs(getters: tuple[FieldGetter, ...], args: tuple[Any, ...],
                   kwargs: Mapping[str, Any]) -> dict[str, Any]:
    captured = {}
    for getter in getters:
        value = getter.from_call(args, kwargs)
        if value is not _MISSING:
            captured[getter.path] = snapshot(value)
    return captured


def capture_outputs(getters: tuple[FieldGetter, ...], result: Any) -> dict[str, Any]:
    captured = {}
    for getter in getters:
        value = getter.from_result(result)
        if value is not _MISSING:
            captured[getter.path] = snapshot(value)
    return captured


def snapshot(value: Any, depth: int = 0) -> Any:
    """An independent, JSON-shaped copy of ``value`` that later mutation cannot reach.

    Immutable scalars are shared, containers are copied (bounded in size and depth), models
    and dataclasses become dicts of their fields, arrays become lists. Anything else becomes a
    type marker: its ``repr`` could hold anything, so it is never called.
    """
    if type(value) in _ATOMIC_TYPES or isinstance(value, _ATOMIC):
        return value
    if depth >= _MAX_DEPTH:
        return "<max depth>"
    if isinstance(value, Mapping):
        return {str(k): snapshot(v, depth + 1) for k, v in _bounded(value.items())}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [snapshot(v, depth + 1) for v in _bounded(value)]
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump) and not isinstance(value, type):
        return snapshot(model_dump(), depth + 1)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return snapshot(fields, depth + 1)
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars, without importing numpy
    if callable(tolist) and hasattr(value, "dtype"):
        if not getattr(value, "shape", ()):
            return tolist()  # a numpy scalar: a plain number or string
        # An array is exported as its summary (shape, dtype, statistics), never dumped; a
        # bounded copy is taken here so later mutation cannot change it.
        return ArraySnapshot(value)
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtypes"):  # a DataFrame: its shape only
        return {"type": type(value).__name__, "shape": [int(n) for n in shape]}
    return f"<{type(value).__name__}>"


def _bounded(items: Any) -> list[Any]:
    out = []
    for n, item in enumerate(items):
        if n >= _MAX_ITEMS:
            break
        out.append(item)
    return out
