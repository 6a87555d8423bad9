"""``infertel rollout verify``: the audit log's hash chain, intact and tampered with."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infertel.cli import app
from infertel.rollout import ErrorRate, RolloutGuard, verify_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rollout"))
from rollout_helpers import traffic


@pytest.fixture
def audit(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    guard = RolloutGuard(criteria=[ErrorRate()], min_samples=100, look_lag_s=0.0,
                         audit_path=str(path))
    calls = list(traffic(20_000, canary_error_rate=0.05))
    for start in range(0, len(calls), 1000):
        chunk = calls[start:start + 1000]
        guard.observe_many(chunk)
        guard.look(chunk[-1].end_ns)
    assert guard.wait_for_callbacks(5.0)
    assert guard.state == "rolled_back"
    return path


def _verify(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["rollout", "verify", str(path)])
    return result.exit_code, result.output


def test_an_intact_chain_verifies(audit: Path) -> None:
    lines = audit.read_text().splitlines()
    kinds = [json.loads(line)["kind"] for line in lines]
    assert kinds[0] == "plan"
    assert kinds[-2:] == ["decision", "callback"]
    code, output = _verify(audit)
    assert code == 0
    assert f"ok: {len(lines)} entries" in output


def test_an_edited_entry_is_named(audit: Path) -> None:
    lines = audit.read_text().splitlines()
    entry = json.loads(lines[2])
    entry["data"]["action"] = "promote"  # rewrite history: the decision was a continue
    lines[2] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    audit.write_text("\n".join(lines) + "\n")
    code, output = _verify(audit)
    assert code == 1
    assert "line 3" in output
    assert "does not match its hash" in output


def test_a_removed_entry_breaks_the_link_of_the_next(audit: Path) -> None:
    lines = audit.read_text().splitlines()
    del lines[1]
    audit.write_text("\n".join(lines) + "\n")
    code, output = _verify(audit)
    assert code == 1
    assert "line 2" in output
    assert "previous-hash link broken" in output


def test_a_rehashed_edit_still_breaks_the_chain_after_it(audit: Path) -> None:
    """Recomputing the edited entry's own hash does not help: the next entry's link breaks."""
    from infertel.rollout._audit import entry_hash

    lines = audit.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["data"]["n_candidate"] = 1
    entry["hash"] = entry_hash(entry)
    lines[1] = json.dumps(entry)
    audit.write_text("\n".join(lines) + "\n")
    report = verify_file(audit)
    assert not report.ok
    assert report.first_bad == 3


def test_a_restarted_guard_continues_the_chain(audit: Path) -> None:
    before = len(audit.read_text().splitlines())
    RolloutGuard(criteria=[ErrorRate()], audit_path=str(audit))  # appends its plan entry
    assert verify_file(audit).ok
    assert verify_file(audit).entries == before + 1
    code, _ = _verify(audit.with_name("missing.jsonl"))
    assert code == 2
