"""Layer 2: the hot path — ``@traced_inference`` and declared-field capture."""

from infertel.hotpath._decorator import traced_inference

__all__ = ["traced_inference"]
