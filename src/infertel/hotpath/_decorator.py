"""``@traced_inference``: inspect the function once, at decoration time, and wrap it.

The wrapper kind (sync, async, generator, async generator) is chosen here; bad options raise
``ValueError`` here, never during a call. Per-call work lives in ``_calls`` and ``_wrappers``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, get_args, overload

from infertel._record import CallSpec
from infertel._types import Ring
from infertel.hotpath._capture import compile_inputs, compile_outputs, undeclared_inputs
from infertel.hotpath._wrappers import (
    wrap_async,
    wrap_async_generator,
    wrap_generator,
    wrap_sync,
)

if TYPE_CHECKING:
    from infertel._provenance import ModelInfo

P = ParamSpec("P")
R = TypeVar("R")
_VALID_RINGS = frozenset(get_args(Ring))
Segment = str | Callable[..., Any] | None


def _batch_parameter(fn: Callable[..., Any], batch: bool | str) -> tuple[int | None, str | None]:
    if batch is False:
        return None, None
    params = list(inspect.signature(fn).parameters.values())
    if batch is True:
        candidates = [p for p in params if p.name not in ("self", "cls")]
        if not candidates:
            raise ValueError(f"batch=True needs a parameter holding the batch in {fn.__qualname__}")
        chosen = candidates[0]
    else:
        found = [p for p in params if p.name == batch]
        if not found:
            raise ValueError(f"batch={batch!r} is not a parameter of {fn.__qualname__}")
        chosen = found[0]
    positional = chosen.kind in (chosen.POSITIONAL_ONLY, chosen.POSITIONAL_OR_KEYWORD)
    return (params.index(chosen) if positional else None), chosen.name


# ------------------------------------------------------------------------------ the decorator
@overload
def traced_inference(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def traced_inference(
    *,
    name: str | None = None,
    model: ModelInfo | None = None,
    ring: Ring | None = None,
    segment: Segment = None,
    inputs: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
    batch: bool | str = False,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def traced_inference(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    model: ModelInfo | None = None,
    ring: Ring | None = None,
    segment: Segment = None,
    inputs: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
    batch: bool | str = False,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Trace every call of a predict function: span, metrics and an ``inference`` log record.

    Args:
        name: span name (default: the function's qualified name).
        model: provenance for this function when it differs from ``configure(model=...)``.
        ring: deployment ring, ``stable``, ``canary`` or ``shadow``; by default the ring
            configured for the process (``configure(ring=...)`` / ``INFERTEL_RING``).
        segment: a fixed segment, or a callable taking the call's arguments and returning it.
        inputs: ``{"param.field": action}``; paths start at a parameter name.
        outputs: ``{"field": action}``; paths start at the return value (``"return"``: all);
            for generators they apply to each item and collect into a list.
        batch: True (first parameter) or a parameter name: its ``len()`` is ``ml.batch.size``.

    Bad options raise ``ValueError`` here, at decoration time, never during a call.
    """
    if ring is not None and ring not in _VALID_RINGS:
        raise ValueError(f"ring must be one of {sorted(_VALID_RINGS)}, not {ring!r}")
    if segment is not None and not isinstance(segment, str) and not callable(segment):
        raise TypeError("segment must be a string, a callable or None")
    if model is not None:
        from infertel._provenance import ModelInfo  # pydantic: loaded only when used

        if not isinstance(model, ModelInfo):
            raise TypeError("model must be an infertel.ModelInfo")

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if not callable(func):
            raise TypeError("traced_inference decorates a function")
        kind = _kind(func)
        dropped = tuple(path.split(".")[0] for path, action in (inputs or {}).items()
                        if action == "drop")
        compiled_inputs = compile_inputs(func, inputs)
        declared_roots = {g.param for g in compiled_inputs} | set(dropped)
        batch_index, batch_param = _batch_parameter(func, batch)
        spec = CallSpec(kind=kind, span_name=name or func.__qualname__,
                        code_function=f"{func.__module__}.{func.__qualname__}", ring=ring,
                        segment=segment, model=model, inputs=compiled_inputs,
                        outputs=compile_outputs(outputs),
                        undeclared=undeclared_inputs(func, declared_roots),
                        batch_index=batch_index, batch_param=batch_param)
        if kind == "async":
            return cast(Callable[P, R], wrap_async(cast(Any, func), spec))
        if kind == "generator":
            return cast(Callable[P, R], wrap_generator(cast(Any, func), spec))
        if kind == "async_generator":
            return cast(Callable[P, R], wrap_async_generator(cast(Any, func), spec))
        return wrap_sync(func, spec)

    if fn is not None:
        return decorate(fn)
    return decorate


def _kind(fn: Callable[..., Any]) -> str:
    if inspect.isasyncgenfunction(fn):
        return "async_generator"
    if inspect.isgeneratorfunction(fn):
        return "generator"
    if inspect.iscoroutinefunction(fn):
        return "async"
    return "sync"
