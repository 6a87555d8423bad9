"""Exception stack text per code location (privacy._stacks): the same text as
``traceback.format_exception`` and, scrubbed, the same text and the same redaction counts as
scrubbing the whole traceback, on the labelled PII corpus; locations whose frames hold
something detectable, NER policies and unusual exceptions take the full path."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infertel._record import exception_stacktrace
from infertel.privacy._boundary import Boundary
from infertel.privacy._policy import PrivacyPolicy
from infertel.privacy._scrubber import Scrubber, ScrubContext
from infertel.privacy._stacks import StackTexts

CORPUS = Path(__file__).parent / "corpus" / "pii_corpus.jsonl"


class CustomError(Exception):
    pass


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


def _plain(msg: str) -> None:
    raise ValueError(msg)


def _caused(msg: str) -> None:
    try:
        raise KeyError(msg)
    except KeyError as error:
        raise RuntimeError(f"phone lookup failed: {msg[:12]}") from error


def _during(msg: str) -> None:
    try:
        {}["missing"]
    except KeyError:
        raise CustomError(msg)  # noqa: B904 - the implicit context is what is tested


def _suppressed(msg: str) -> None:
    try:
        {}["missing"]
    except KeyError:
        raise CustomError(msg) from None


def _noted(msg: str) -> None:
    error = ValueError(msg)
    error.add_note(f"while handling {msg[::-1]}")
    error.add_note("second\nnote")
    raise error


def _empty(msg: str) -> None:
    raise ValueError()


def _unprintable(msg: str) -> None:
    raise Unprintable(msg)


def _recursive(msg: str, depth: int = 30) -> None:
    if depth == 0:
        raise ValueError(msg)
    _recursive(msg, depth - 1)


def _syntax(msg: str) -> None:
    compile(f"x = ({msg!r}", "<input>", "exec")


SHAPES: list[Callable[[str], None]] = [_plain, _caused, _during, _suppressed, _noted, _empty,
                                       _unprintable, _recursive, _syntax]


def _raised(shape: Callable[[str], None], msg: str) -> BaseException:
    try:
        shape(msg)
    except BaseException as error:
        return error
    raise AssertionError("did not raise")


def _corpus(n: int) -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:n]]


def test_unscrubbed_text_is_format_exception() -> None:
    stacks = StackTexts()
    for i, msg in enumerate(_corpus(90)):
        error = _raised(SHAPES[i % len(SHAPES)], msg)
        assert stacks.text(error, None) in (None, exception_stacktrace(error))
        if not isinstance(error, SyntaxError):
            assert stacks.text(error, None) == exception_stacktrace(error)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception groups are 3.11+")
def test_an_exception_without_traceback_and_groups() -> None:
    import builtins

    stacks = StackTexts()
    bare = ValueError("never raised")
    assert stacks.text(bare, None) == exception_stacktrace(bare) == "ValueError: never raised\n"
    group = builtins.ExceptionGroup("two", [ValueError("a"), KeyError("b")])
    assert stacks.text(group, None) is None  # groups: the caller formats the whole text


def _boundary(**policy: Any) -> Boundary:
    settings = PrivacyPolicy(redaction_process="off", **policy)
    return Boundary(settings, Scrubber(settings), ring="stable", model=None)


def _full(boundary: Boundary, error: BaseException, context: ScrubContext) -> str:
    """What scrubbing used to do: the whole formatted traceback through the scrubber."""
    return boundary.scrubber.text(exception_stacktrace(error), context)


def test_scrubbed_text_and_counts_equal_whole_text_scrubbing_on_the_corpus() -> None:
    boundary = _boundary()
    reference = _boundary()
    compared = 0
    for i, msg in enumerate(_corpus(700)):
        error = _raised(SHAPES[i % len(SHAPES)], msg)
        ours, theirs = ScrubContext(5), ScrubContext(5)
        exception = boundary._exception(error, ours)
        assert exception is not None
        reference.scrubber.text(str(error) if not isinstance(error, Unprintable) else
                                exception.message, theirs)
        assert exception.stacktrace == _full(reference, error, theirs), (i, msg)
        assert ours.redactions == theirs.redactions, (i, msg)
        compared += 1
    assert compared == 700
    assert boundary.scrubber.entity_counts() == reference.scrubber.entity_counts()
    assert sum(boundary.scrubber.entity_counts().values()) > 500  # the corpus is not clean


def test_planted_values_never_come_out() -> None:
    boundary = _boundary()
    planted = ["alice.planted@example.com", "+44 20 7946 0958", "4111 1111 1111 1111"]
    for shape in SHAPES[:5]:
        for value in planted:
            for _ in range(2):  # the second time from the cache
                exception = boundary._exception(_raised(shape, f"user {value} declined"),
                                                ScrubContext(5))
                assert exception is not None
                assert value not in exception.stacktrace
                assert value not in exception.message


def _frames_with_an_email() -> None:
    raise ValueError("x" + "bob.frames@example.org"[:0])  # the frame's line holds an email


def test_frames_holding_personal_data_are_scrubbed_whole_every_time() -> None:
    boundary = _boundary()
    for _ in range(3):
        context = ScrubContext(5)
        exception = boundary._exception(_raised(lambda m: _frames_with_an_email(), ""), context)
        assert exception is not None
        assert "bob.frames@example.org" not in exception.stacktrace
        assert "<EMAIL_ADDRESS>" in exception.stacktrace
        assert context.redactions == 1  # counted once per call, as before


def _phone_lookup(phone: str) -> None:
    raise ValueError(phone)


def test_context_from_the_frames_reaches_the_message_line() -> None:
    """"20794609" is a phone number only with a phone word close before it: the scrubbed
    window must reach back into the (cached) frame lines, as whole-text scrubbing does."""
    boundary, reference = _boundary(), _boundary()
    for _ in range(2):
        error = _raised(_phone_lookup, "20794609")
        ours, theirs = ScrubContext(5), ScrubContext(5)
        exception = boundary._exception(error, ours)
        reference.scrubber.text(str(error), theirs)
        assert exception is not None
        assert exception.stacktrace == _full(reference, error, theirs)
        assert "ValueError: <PHONE_NUMBER>" in exception.stacktrace
        assert ours.redactions == theirs.redactions == 1


def test_the_window_reaches_as_far_as_any_detector_looks() -> None:
    """A tripwire for detector changes: the stack window must cover the widest distance at
    which a detector reads context (AWS secret proximity, phone/SSN words, address
    windows merged in pairs, marker and decoded re-scan windows)."""
    from infertel.privacy import _detect_address, _detect_passes
    from infertel.privacy import _patterns as patterns
    from infertel.privacy._stacks import WINDOW

    reach = max(patterns.AWS_SECRET_WINDOW, patterns.CONTEXT_WINDOW,
                patterns.SSN_CONTEXT_AFTER, 2 * _detect_address._WINDOW,
                _detect_passes._MARKER_WINDOW, _detect_passes._DECODED_WINDOW)
    assert reach <= WINDOW


def test_policies_without_windows_scrub_the_whole_text() -> None:
    probe_counts: list[int] = []
    stacks = StackTexts()
    error = _raised(_plain, "call +1 415 555 0100")

    def scrub(text: str) -> str:
        probe_counts.append(len(text))
        return text.replace("415", "<X>")

    assert stacks.text(error, scrub, None, 20_000) == scrub(exception_stacktrace(error))
    assert probe_counts[0] == len(exception_stacktrace(error))  # one pass over all of it
    assert _boundary(custom_recognizers=[{"name": "orders", "entity_type": "ORDER_ID",
                                          "pattern": r"ORD-\d+"}])._finds_nothing is None
    assert _boundary()._finds_nothing is not None


def test_a_traceback_longer_than_the_text_limit_is_cut_as_before() -> None:
    boundary = _boundary(max_text_length=200)
    reference = _boundary(max_text_length=200)
    error = _raised(_recursive, "x" * 50)
    ours, theirs = ScrubContext(5), ScrubContext(5)
    exception = boundary._exception(error, ours)
    reference.scrubber.text(str(error), theirs)
    assert exception is not None
    assert exception.stacktrace == _full(reference, error, theirs)
    assert exception.stacktrace.endswith("<TRUNCATED>")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="notes and carets are 3.11+")
def test_cached_frames_keep_the_column_markers() -> None:
    def partial(msg: str) -> int:
        return len(msg) + int(msg)

    stacks = StackTexts()
    for _ in range(2):
        error = _raised(partial, "m")
        text = stacks.text(error, None)
        assert text == exception_stacktrace(error)
        assert "^^^^^^^^" in text
