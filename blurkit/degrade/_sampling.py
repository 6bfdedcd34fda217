"""How the registry's draws turn a random generator into parameters."""

from __future__ import annotations

import numpy as np

__all__ = ["log_uniform", "seed"]


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A number log-uniform in ``[low, high]``: as many draws per octave."""
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def seed(rng: np.random.Generator) -> int:
    """A seed for a noisy degradation, stored in its parameters so that they
    alone reproduce its output."""
    return int(rng.integers(np.iinfo(np.int32).max))
