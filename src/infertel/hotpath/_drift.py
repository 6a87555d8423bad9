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
from infertel.hotpath._capture import _MISSING, FieldGetter

_SCALARS: Final = frozenset({int, float, str, bool, type(None)})


class DriftCapture:
    """Snapshots the drift feature paths of one call: ``{path: scalar}``."""

    __slots__ = ("_getters", "paths")

    def __init__(self, paths: tuple[str, ...]) -> None:
        self.paths = paths
        self._getters: dict[int, tuple[FieldGetter, ...]] = {}

    def __call__(self, spec: CallSpec, args: tuple[Any, ...],
                 kwargs: Mapping[str, Any]) -> dict[str, Any]:
        getters = self._getters.get(id(spec))
        if getters is None:
            getters = self._getters[id(spec)] = self._compile(spec)
        captured: dict[str, Any] = {}
        for getter in getters:
            value = getter.from_call(args, kwargs)
            if value is _MISSING:
                continue
            captured[getter.path] = value if type(value) in _SCALARS else (
                f"<{type(value).__name__}>")
        return captured

    def _compile(self, spec: CallSpec) -> tuple[FieldGetter, ...]:
        # Parameter name -> (position or None), from the getters decoration already built.
        positions: dict[str, int | None] = {}
        for getter in (*spec.inputs, *spec.undeclared):
            positions.setdefault(getter.param, getter.index)
        getters = []
        for path in self.paths:
            root, *steps = path.split(".")
            if root in positions:
                getters.append(FieldGetter(path, "keep", root, positions[root], tuple(steps)))
        # A function without the parameter simply has no drift features (another endpoint).
        return tuple(getters)

