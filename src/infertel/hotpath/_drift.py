"""Drift capture on the hot path: read the declared drift feature paths, copy nothing.

``configure(drift=...)`` gives the pipeline a :class:`DriftCapture`; the decorator's ``begin``
calls it once per call when it is set. Paths start at a parameter name, as declared inputs do
(``"req.amount"``), and are compiled per decorated function on its first call from the
parameter positions the decoration already resolved (its declared and undeclared getters), so
decoration order and configure() order do not matter. Only scalars are kept (numbers, strings,
booleans, None): anything else is recorded as its type name, which the worker reports as a
``type`` violation. No binning, validation or copying happens here: that is the worker's job,
inside the privacy boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from infertel._record import CallSpec
from infertel.hotpath._capture import _MISSING

_SCALARS: Final = frozenset({int, float, str, bool, type(None)})


class DriftCapture:
    """Snapshots the drift feature paths of one call: ``{path: scalar}``."""

    __slots__ = ("_compiled", "paths")

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths
        # id(spec) -> ((path, parameter, position, steps), ...)
        self._compiled: dict[int, tuple[tuple[str, str, int | None, tuple[str, ...]], ...]] = {}

    def __call__(self, spec: CallSpec, args: tuple[Any, ...],
                 kwargs: Mapping[str, Any]) -> dict[str, Any]:
        compiled = self._compiled.get(id(spec))
        if compiled is None:
            compiled = self._compiled[id(spec)] = self._compile(spec)
        captured: dict[str, Any] = {}
        missing = _MISSING
        for path, param, index, steps in compiled:
            value = args[index] if index is not None and index < len(args) else kwargs.get(
                param, missing)
            # A plain walk: dict keys or attributes. (FieldGetter also accepts any Mapping, but
            # the isinstance check against the Mapping ABC would cost more than all the rest.)
            for step in steps:
                if value is missing:
                    break
                value = value.get(step, missing) if type(value) is dict else getattr(
                    value, step, missing)
            if value is missing:
                continue
            captured[path] = value if type(value) in _SCALARS else f"<{type(value).__name__}>"
        return captured

    def _compile(self, spec: CallSpec) -> tuple[tuple[str, str, int | None, tuple[str, ...]],
                                                 ...]:
        # Parameter name -> position (None: keyword-only), from the getters decoration built.
        positions: dict[str, int | None] = {}
        for getter in (*spec.inputs, *spec.undeclared):
            positions.setdefault(getter.param, getter.index)
        compiled = []
        for path in self.paths:
            root, *steps = path.split(".")
            if root in positions:
                compiled.append((path, root, positions[root], tuple(steps)))
        # A function without the parameter simply has no drift features (another endpoint).
        return tuple(compiled)
