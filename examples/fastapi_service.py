"""A FastAPI inference service traced by infertel.

* ``POST /predict``: an ``async def`` route awaiting an ``@traced_inference`` async function.
  The free-text field is declared ``drop`` (never read by telemetry), the amount and the result
  fields ``keep``; the segment is the customer tier.
* ``POST /generate``: a ``StreamingResponse`` over an ``@traced_inference`` async generator; its
  span carries ``ml.stream.items`` (tokens sent) and ``ml.stream.time_to_first_item``.
* ``GET /health``.

infertel is configured in the app's lifespan and shut down (flushed) when the server stops.

    python examples/fastapi_service.py --local-dir ./infertel-data      # 127.0.0.1:8000
    curl -s localhost:8000/predict -H 'content-type: application/json' \\
         -d '{"text": "refund please", "amount": 120.5, "tier": "pro"}'
    curl -sN localhost:8000/generate -H 'content-type: application/json' \\
         -d '{"prompt": "write a haiku", "max_tokens": 8}'
    infertel query ./infertel-data

Importable too: ``app`` (telemetry as the environment says) or ``create_app(local_dir=...)``.
The deployment ring comes from ``EXAMPLE_RING`` (stable, canary or shadow; default stable).
Needs ``pip install 'infertel[examples]'``.
"""

import argparse
import asyncio
import math
import os
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal, cast

from fastapi import FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

import infertel
from infertel import ModelInfo, traced_inference
from infertel.config import Ring

SERVICE_NAME = "risk-api"
MODEL = ModelInfo(
    name="refund-risk",
    version="2.1.0",
    dataset_version="synthetic-refunds-2025-06",
    framework="handwritten",
)
# The range the model was trained on: larger amounts are rejected rather than extrapolated.
MAX_AMOUNT = 10_000.0
_VOCABULARY = ("the", "model", "streams", "one", "token", "at", "a", "time", "while",
               "infertel", "counts", "them")

Tier = Literal["free", "pro", "enterprise"]


def _ring_from_env() -> Ring:
    ring = os.environ.get("EXAMPLE_RING", "stable")
    if ring not in ("stable", "canary", "shadow"):
        raise ValueError(f"EXAMPLE_RING must be stable, canary or shadow, not {ring!r}")
    return cast(Ring, ring)


RING = _ring_from_env()
log = infertel.get_logger("examples.fastapi_service")


class PredictRequest(BaseModel):
    text: str = Field(max_length=4000, description="free text from the customer: may be personal")
    amount: float = Field(ge=0)
    tier: Tier = "free"


class Prediction(BaseModel):
    score: float
    label: str


class GenerateRequest(BaseModel):
    prompt: str = Field(max_length=4000)
    max_tokens: int = Field(16, ge=1, le=256)
    tier: Tier = "free"


class AmountOutOfRange(ValueError):
    """The model refuses inputs outside its training range."""


@traced_inference(
    name="predict",
    ring=RING,
    segment=lambda req: req.tier,
    inputs={"req.amount": "keep", "req.text": "drop"},
    outputs={"score": "keep", "label": "keep"},
)
async def predict(req: PredictRequest) -> Prediction:
    """Score a refund request. A real service would await a model server or feature store."""
    await asyncio.sleep(0)
    if req.amount > MAX_AMOUNT:
        raise AmountOutOfRange(f"amount {req.amount} is above the trained range ({MAX_AMOUNT})")
    urgency = sum(word in req.text.lower() for word in ("urgent", "now", "refund"))
    logit = 0.0008 * req.amount + 0.6 * urgency - (0.5 if req.tier == "enterprise" else 1.5)
    score = round(1 / (1 + math.exp(-logit)), 4)
    label = "review" if score >= 0.5 else "approve"
    # Logged inside the traced call, so the record carries the predict span's trace and span id.
    log.info("refund scored", tier=req.tier, label=label)
    return Prediction(score=score, label=label)


@traced_inference(
    name="generate",
    ring=RING,
    segment=lambda req: req.tier,
    inputs={"req.max_tokens": "keep", "req.prompt": "drop"},
)
async def generate(req: GenerateRequest) -> AsyncGenerator[str, None]:
    """Yield ``max_tokens`` tokens, as a text-generation model would."""
    offset = len(req.prompt)
    for n in range(req.max_tokens):
        await asyncio.sleep(0)  # a real model awaits its next token here
        yield _VOCABULARY[(offset + n) % len(_VOCABULARY)] + " "


def create_app(*, local_dir: str | os.PathLike[str] | None = None,
               service_name: str | None = None) -> FastAPI:
    """The service. ``local_dir`` forces the local store; otherwise the environment decides
    (OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else ``$INFERTEL_LOCAL_DIR``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        telemetry = infertel.configure(
            service_name=service_name or os.environ.get("OTEL_SERVICE_NAME", SERVICE_NAME),
            model=MODEL,
            exporter="local" if local_dir is not None else None,
            local_dir=local_dir,
        )
        app.state.telemetry = telemetry
        log.info("service started", ring=RING, exporter=telemetry.settings.exporter_name)
        try:
            yield
        finally:
            log.info("service stopping")
            infertel.shutdown(timeout=10.0)

    app = FastAPI(title="refund-risk (infertel example)", lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "model": MODEL.name, "version": MODEL.version, "ring": RING}

    @app.post("/predict")
    async def predict_route(req: PredictRequest) -> Prediction:
        try:
            return await predict(req)
        except AmountOutOfRange as error:
            # The span already records the failure (status error, error.type); the client
            # gets a 422 without the internal details.
            raise HTTPException(status_code=422, detail="amount outside the supported range") \
                from error

    @app.post("/generate")
    async def generate_route(req: GenerateRequest) -> StreamingResponse:
        return StreamingResponse(generate(req), media_type="text/plain; charset=utf-8")

    return app


app = create_app()


def main(argv: Sequence[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(description="Run the infertel FastAPI example.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--local-dir", type=Path, default=None,
                        help="write telemetry to this local store (wins over OTLP settings)")
    args = parser.parse_args(argv)
    service = app if args.local_dir is None else create_app(local_dir=args.local_dir)
    uvicorn.run(service, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
