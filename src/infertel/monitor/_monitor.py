"""DriftMonitor: bin counts per (model, version, ring), feature and window; scores on tick.

The worker calls :meth:`DriftMonitor.observe` once per call (inside the privacy boundary) and
:meth:`DriftMonitor.tick` on its poll; a metric reader thread reads cumulative counts and the
latest scores through :meth:`distributions` and :meth:`latest_scores`. One lock guards the
counts; memory is bounded by ``max_groups`` x features x bins. Nothing here raises on bad
input: a value that cannot be binned is a violation, a group over the cap is counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from infertel import conventions as c
from infertel.monitor._binner import MISSING, FeatureBinner, ViolationKind
from infertel.monitor._config import DriftConfig
from infertel.monitor._schema import CategoricalFeature, NumericFeature
from infertel.monitor._scores import feature_scores, psi_contributions, shares
from infertel.monitor._windows import FeatureState, Level, StateChange

Group = tuple[str, str, str]  # (model name, model version, ring)
TOP_BINS = 3


@dataclass
class ScoreRecord:
    """The scores of one feature in one closed window."""

    group: Group
    feature: str
    window_start_ns: int
    window_end_ns: int
    count: int
    scores: dict[str, float]
    level: Level
    state: Level


@dataclass
class TickResult:
    scores: list[ScoreRecord] = field(default_factory=list)
    events: list[StateChange] = field(default_factory=list)
    violations: list[tuple[Group, str, ViolationKind]] = field(default_factory=list)


class _Window:
    __slots__ = ("calls", "counts", "exemplars", "missing", "start_ns")

    def __init__(self, start_ns: int, sizes: list[int]) -> None:
        self.start_ns = start_ns
        self.counts = [[0] * size for size in sizes]
        self.missing = [0] * len(sizes)
        self.calls = 0
        self.exemplars: list[str] = []


def group_attributes(group: Group) -> dict[str, str]:
    return {c.MODEL_NAME: group[0], c.MODEL_VERSION: group[1], c.DEPLOYMENT_RING: group[2]}


def top_bins(feature: NumericFeature | CategoricalFeature, counts: list[int],
             n: int = TOP_BINS) -> list[dict[str, Any]]:
    """The bins that moved PSI the most: bounds (or category) and both shares, no values."""
    terms = psi_contributions(feature.shares, counts)
    window = shares(counts)
    labels = feature.bin_labels()
    order = sorted(range(len(terms)), key=lambda i: terms[i], reverse=True)[:n]
    return [{"bin": labels[i], "index": i, "baseline_share": round(feature.shares[i], 6),
             "window_share": round(window[i], 6)} for i in order if terms[i] > 0]


class DriftMonitor:
    """Accumulates bin counts and judges windows. Build it from a :class:`DriftConfig`."""

    def __init__(self, config: DriftConfig, *, start_ns: int | None = None) -> None:
        self.config = config
        self.binner = FeatureBinner(config.baseline, config.features, config.margin)
        features = config.baseline.features
        # Only features the baseline has can be binned; the others are validated only.
        self._tracked: list[tuple[int, str, NumericFeature | CategoricalFeature]] = [
            (i, name, features[name]) for i, name in enumerate(self.binner.names)
            if name in features and features[name].kind == config.features[self.binner.paths[i]]
        ]
        self._sizes = [f.n_bins for _, _, f in self._tracked]
        self._window_ns = config.window_ns
        self._windows: dict[Group, _Window] = {}
        self._totals: dict[Group, list[list[int]]] = {}
        self._states: dict[tuple[Group, str], FeatureState] = {}
        self._latest: dict[tuple[Group, str], dict[str, float]] = {}
        self._violations: dict[tuple[str, str, str, str], int] = {}
        self._lock = threading.Lock()
        self.start_ns = start_ns if start_ns is not None else time.time_ns()
        self.dropped_groups = 0

    @property
    def feature_names(self) -> list[str]:
        return [name for _, name, _ in self._tracked]

    def feature(self, name: str) -> NumericFeature | CategoricalFeature:
        return self.config.baseline.features[name]

    # ------------------------------------------------------------------ worker side
    def observe(self, group: Group, snapshot: Mapping[str, Any], time_ns: int,
                trace_id: str | None = None) -> list[tuple[str, ViolationKind]]:
        """Bin one call's snapshot and count it; return its validation violations."""
        bins, violations = self.binner.bin(snapshot)
        if self.add(group, bins, time_ns, trace_id) and violations:
            self.count_violations(group, violations)
        return violations

    def count_violations(self, group: Group,
                         violations: list[tuple[str, ViolationKind]]) -> None:
        """Add to ``ml.input.violations`` (bounded: declared features x kinds x groups)."""
        with self._lock:
            for feature, kind in violations:
                key = (group[0], group[1], feature, kind)
                self._violations[key] = self._violations.get(key, 0) + 1

    def violation_counts(self) -> dict[tuple[str, str, str, str], int]:
        """Cumulative violations per (model, version, feature, kind)."""
        with self._lock:
            return dict(self._violations)

    def _window_for(self, group: Group, time_ns: int) -> _Window | None:
        """The open window of ``group`` (opened at ``time_ns``'s slot); None past
        ``max_groups``, counted in ``dropped_groups``. Call with the lock held."""
        window = self._windows.get(group)
        if window is None:
            if len(self._windows) >= self.config.max_groups:
                self.dropped_groups += 1
                return None
            window = self._windows[group] = _Window(self._align(time_ns), self._sizes)
            self._totals[group] = [[0] * size for size in self._sizes]
        return window

    def add(self, group: Group, bins: list[int], time_ns: int,
            trace_id: str | None = None) -> bool:
        """Count one call's bin indices (as :meth:`FeatureBinner.bin` returns them)."""
        with self._lock:
            window = self._window_for(group, time_ns)
            if window is None:
                return False
            totals = self._totals[group]
            for slot, (i, _, _) in enumerate(self._tracked):
                index = bins[i]
                if index == MISSING:
                    window.missing[slot] += 1
                else:
                    window.counts[slot][index] += 1
                    totals[slot][index] += 1
            window.calls += 1
            if trace_id is not None and len(window.exemplars) < self.config.exemplars:
                window.exemplars.append(trace_id)
        return True

    def add_counts(self, group: Group, counts: Mapping[str, list[int]], calls: int,
                   time_ns: int, missing: Mapping[str, int] | None = None,
                   exemplars: list[str] | None = None) -> bool:
        """Count many calls at once from bin counts per feature (a fleet's merged histograms,
        a simulation): the same windows and judgement as per-call :meth:`add`."""
        with self._lock:
            window = self._window_for(group, time_ns)
            if window is None:
                return False
            totals = self._totals[group]
            for slot, (_, name, _) in enumerate(self._tracked):
                given = counts.get(name)
                if given is None:
                    continue
                if len(given) != self._sizes[slot]:
                    raise ValueError(f"{name}: expected {self._sizes[slot]} bin counts, got "
                                     f"{len(given)}")
                for index, n in enumerate(given):
                    window.counts[slot][index] += n
                    totals[slot][index] += n
                window.missing[slot] += (missing or {}).get(name, 0)
            window.calls += calls
            room = self.config.exemplars - len(window.exemplars)
            window.exemplars.extend((exemplars or [])[:max(room, 0)])
        return True

    def tick(self, now_ns: int) -> TickResult:
        """Judge every window that has ended and holds enough calls (others carry on)."""
        result = TickResult()
        rules = self.config.rules
        closed: list[tuple[Group, _Window, int]] = []
        with self._lock:
            for group, window in self._windows.items():
                if now_ns < window.start_ns + self._window_ns or window.calls < rules.min_count:
                    continue
                end_ns = max(self._align(now_ns), window.start_ns + self._window_ns)
                closed.append((group, window, end_ns))
                self._windows[group] = _Window(end_ns, self._sizes)
        for group, window, end_ns in closed:
            self._judge(group, window, end_ns, result)
        for group, name, kind in result.violations:
            self.count_violations(group, [(name, kind)])
        return result

    def _judge(self, group: Group, window: _Window, end_ns: int, result: TickResult) -> None:
        rules = self.config.rules
        tolerance = self.config.missing_rate_tolerance
        for slot, (_, name, feature) in enumerate(self._tracked):
            counts = window.counts[slot]
            if window.missing[slot] / window.calls > feature.missing_rate + tolerance:
                result.violations.append((group, name, "missing_rate"))
            if sum(counts) == 0:
                continue
            scores = feature_scores(feature, counts)
            level = rules.level(scores)
            state = self._states.get((group, name))
            if state is None:
                state = self._states[(group, name)] = FeatureState(rules)
            previous = state.state
            changed = state.update(level)
            with self._lock:  # the metric reader iterates _latest on its own thread
                self._latest[(group, name)] = scores
            result.scores.append(ScoreRecord(group, name, window.start_ns, end_ns,
                                             sum(counts), scores, level, state.state))
            if changed is not None:
                result.events.append(StateChange(
                    feature=name, previous=previous, state=changed,
                    window_start_ns=window.start_ns, window_end_ns=end_ns, count=sum(counts),
                    scores=scores, top_bins=top_bins(feature, counts),
                    exemplar_trace_ids=list(window.exemplars),
                    group=dict(zip(("model", "version", "ring"), group, strict=True))))

    def _align(self, time_ns: int) -> int:
        # Windows start on multiples of the window length, so every replica of a fleet cuts
        # time at the same instants and their counts merge window by window.
        return time_ns - time_ns % self._window_ns

    # ------------------------------------------------------------------ reader side
    def distributions(self) -> list[tuple[Group, str, list[int]]]:
        """Cumulative bin counts since start, per group and feature (copies)."""
        with self._lock:
            return [(group, name, list(totals[slot]))
                    for group, totals in self._totals.items()
                    for slot, (_, name, _) in enumerate(self._tracked)]

    def latest_scores(self) -> list[tuple[Group, str, dict[str, float]]]:
        with self._lock:
            return [(group, name, dict(scores))
                    for (group, name), scores in self._latest.items()]

    def states(self) -> dict[tuple[Group, str], Level]:
        return {key: state.state for key, state in self._states.items()}
