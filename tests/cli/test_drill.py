"""``infertel drill``: a rollback for each injected regression, none for a clean canary, and no
personal data in anything it prints or writes (its traffic is full of it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from infertel.cli import app
from infertel.cli._drill_traffic import _FIRST, _LAST

WIDE = {"COLUMNS": "250"}
# What the drill's requests and error messages carry (see _drill_traffic._request/_serve).
# The digit groups must stand alone: inside a nanosecond time or a hex hash they are chance.
PLANTED = re.compile(r"@example\.com|(?<![0-9a-z])(?:4111|7946)(?![0-9a-z])|\+44"
                     r"|4111[\s-]?1111[\s-]?1111[\s-]?1111|(?<!\d)20[\s-]?7946[\s-]?\d{4}(?!\d)|\b("
                     + "|".join(_FIRST + _LAST) + r")\b", re.IGNORECASE)


def _drill(tmp_path: Path, *args: str) -> tuple[int, str, dict]:
    audit = tmp_path / "audit.jsonl"
    runner = CliRunner()
    result = runner.invoke(app, ["drill", "--minutes", "60", "--audit", str(audit), "--json",
                                 *args], env=WIDE)
    return result.exit_code, result.output, json.loads(result.output)


@pytest.mark.parametrize("regression", ["error", "latency", "shift"])
def test_an_injected_regression_ends_in_one_rollback(tmp_path: Path, regression: str) -> None:
    code, _, report = _drill(tmp_path, "--regression", regression, "--segment", "pro")
    assert code == 0
    assert report["passed"] is True
    decision = report["decision"]
    assert decision["action"] == "rollback"
    harmful = [e for e in decision["evidence"] if e["harmful"]]
    assert harmful
    assert {e["segment"] for e in harmful} <= {"pro", "*"}
    assert {e["criterion"] for e in harmful} == {
        "error": {"error_rate"}, "latency": {"latency"}, "shift": {"prediction_shift"}
    }[regression]
    assert 0 < report["minutes_after_injection"] < 30
    assert report["switch"]["state"] == "rolled_back"
    assert report["switch"]["variant"] == "stable"
    assert report["switch"]["canary_calls_after_decision"] == 0
    assert report["callbacks"] == ["rollback"]
    assert report["audit"]["chain_ok"] is True
    assert report["audit"]["kinds"]["callback"] == 1
    assert report["alerts"]["InfertelRolloutRolledBack"] is not None
    assert report["runbook"][0].startswith("1. Traffic")
    verified = CliRunner().invoke(app, ["rollout", "verify", report["audit"]["path"]])
    assert verified.exit_code == 0


def test_the_alerts_alone_are_slower_than_the_guard(tmp_path: Path) -> None:
    _, _, report = _drill(tmp_path, "--regression", "error")
    decided = report["decided_at_minute"]
    without = report["alerts_without_rollback"]["InfertelCanaryErrorRatio"]
    # After the rollback the canary serves nothing, so its error alert never fires; left
    # serving, the 5m-window alert held 10m comes much later than the guard's decision.
    assert report["alerts"]["InfertelCanaryErrorRatio"] is None
    assert without is None or without > decided + 10


def test_a_clean_canary_is_not_rolled_back(tmp_path: Path) -> None:
    code, _, report = _drill(tmp_path, "--clean")
    assert code == 0
    assert report["passed"] is True
    assert report["decision"]["action"] in ("continue", "promote")
    assert "rollback" not in report["callbacks"]
    assert report["switch"]["state"] in ("running", "promoted")
    assert report["alerts"]["InfertelCanaryErrorRatio"] is None


def test_no_personal_data_in_output_or_audit(tmp_path: Path) -> None:
    from infertel.cli._drill_traffic import _request

    sample = _request(__import__("random").Random(1))
    assert all(PLANTED.search(str(sample[key])) for key in ("user", "phone", "card", "note"))
    runner = CliRunner()
    audit = tmp_path / "plain.jsonl"
    plain = runner.invoke(app, ["drill", "--minutes", "40", "--audit", str(audit)], env=WIDE)
    assert plain.exit_code == 0, plain.output
    assert "Runbook" in plain.output
    assert "ROLLBACK" in plain.output
    _, as_json, _ = _drill(tmp_path, "--regression", "shift")
    for text in (plain.output, as_json, audit.read_text(),
                 (tmp_path / "audit.jsonl").read_text()):
        assert not PLANTED.search(text), PLANTED.search(text)
    # A segment that is personal data is refused without being echoed.
    refused = runner.invoke(app, ["drill", "--segment", "jane.doe@example.com",
                                  "--audit", str(tmp_path / "x.jsonl")])
    assert refused.exit_code == 2
    assert "example.com" not in refused.output


def test_the_drill_refuses_to_append_to_an_existing_audit_log(tmp_path: Path) -> None:
    existing = tmp_path / "audit.jsonl"
    existing.write_text("")
    result = CliRunner().invoke(app, ["drill", "--audit", str(existing)])
    assert result.exit_code == 2
