"""A guarded stable/canary service writing to a local store (one process of a fleet).

    python rollout_service.py STORE SEED CANARY_ERROR_RATE MAX_CALLS [--pii]

Routes with ``infertel.rollout.active_version(user)``, as serving code would; the canary fails
``CANARY_ERROR_RATE`` of its ``enterprise`` calls. Stops after MAX_CALLS, or 300 calls after
the guard's final decision. With ``--pii`` the requests carry personal
data where it must never come out: segments that are e-mail addresses for some users, and
exception messages that quote a phone number. Prints one JSON line: calls, callbacks (thread
names), the final routing.
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import threading
import time

import infertel
from infertel import rollout

SEGMENTS = ("free", "pro", "enterprise")


def main() -> None:
    store, seed = sys.argv[1], int(sys.argv[2])
    canary_error, max_calls = float(sys.argv[3]), int(sys.argv[4])
    pii = "--pii" in sys.argv
    fired: list[str] = []
    guard = rollout.RolloutGuard(
        criteria=[rollout.ErrorRate(), rollout.Latency(), rollout.PredictionShift()],
        candidate_share=0.5, min_samples=150, look_lag_s=0.05, report_every_s=0.5,
        on_rollback=lambda d: fired.append(threading.current_thread().name))
    infertel.configure(service_name="rollout-fleet", exporter="local", local_dir=store,
                       model=infertel.ModelInfo(name="scorer", version="3.1"), rollout=guard)
    rng = random.Random(seed)

    def model(request: dict, ring: str) -> dict:
        if ring == "canary" and request["tier"] == "enterprise" and rng.random() < canary_error:
            raise ValueError(f"scaler rejected input; call back {request['phone']}")
        return {"label": "ok", "score": round(rng.betavariate(2, 5), 4)}

    def segment(request: dict) -> str:
        return request["user"] if pii and request["id"] % 7 == 0 else request["tier"]

    decorate = {"segment": segment, "outputs": {"label": "keep", "score": "keep"}}
    stable = infertel.traced_inference(name="predict", ring="stable", **decorate)(
        lambda request: model(request, "stable"))
    canary = infertel.traced_inference(name="predict", ring="canary", **decorate)(
        lambda request: model(request, "canary"))
    calls, after = 0, 0
    while calls < max_calls and after < 300:  # stop 300 calls after the guard has decided
        after += guard.state != "running"
        user = f"user{rng.randrange(10**6)}"
        request = {"id": calls, "tier": rng.choice(SEGMENTS),
                   "user": f"{user}.jane.doe@example.com", "phone": "+44 20 7946 0958"}
        predict = canary if rollout.active_version(user) == "canary" else stable
        with contextlib.suppress(ValueError):
            predict(request)
        calls += 1
        if calls % 200 == 0:
            time.sleep(0.02)  # keep the worker's queue far from full
    guard.wait_for_callbacks(5.0)
    infertel.shutdown(timeout=10.0)
    print(json.dumps({"calls": calls, "callbacks": fired, "routing": rollout.active_version(),
                      "state": guard.state}))


if __name__ == "__main__":
    main()
