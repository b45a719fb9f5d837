"""Temperature of the model's probabilities (its logits are divided by it), so that the probability of a
guess matches how often such guesses are right on new tweets."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

# A plain fit has no out-of-fold scores to calibrate on, and uses this (new tweets are harder than stored
# ones, so probabilities fitted on stored tweets are overconfident on new ones).
TEMPERATURE = 1.3
DRIFT_MARGIN = 1.1  # new tweets are a little harder than even the stored tweets of other stretches of time
# Never sharper than the regression itself (a few stored tweets right by small margins would sharpen it),
# never flatter than 4.
TEMPERATURE_BOUNDS = (1.0, 4.0)


def calibrated_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The temperature for a model whose out-of-fold logits on its training tweets are ``scores`` (rows)
    with true classes ``y``: the one that makes softmax(scores / T) most likely (temperature scaling, Guo et
    al., 2017), times ``DRIFT_MARGIN``, within ``TEMPERATURE_BOUNDS``.

    Fitted per set of accounts: how separable they are, and so how far their logits overstate it, varies
    between sets."""
    rows = np.arange(len(y))

    def loss(temperature: float) -> float:
        return -float(log_softmax(scores / temperature, axis=1)[rows, y].mean())

    low, high = TEMPERATURE_BOUNDS
    best = minimize_scalar(loss, bounds=(low / DRIFT_MARGIN, high / DRIFT_MARGIN), method="bounded")
    return float(np.clip(best.x * DRIFT_MARGIN, low, high))
