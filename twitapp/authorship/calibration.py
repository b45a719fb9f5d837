"""Calibration of the model's probabilities: a temperature (its logits are divided by it) and a shrinkage of
each text's logits toward chance by its support, so that the probability of a guess matches how often such
guesses are right on new tweets, whatever the text's length."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize, minimize_scalar
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


# A plain fit's support scale (the support at which a text's logits count half; the fitted ones, with the
# prior below, were 0.99-1.03 on the benchmark's senators), and the least share of its logits a text keeps
# (so that the guess, the argmax, never changes: probabilities near chance, not at it).
SUPPORT_SCALE = 1.0
SUPPORT_SCALE_BOUNDS = (0.05, 200.0)
# A weak prior on the fitted scale, toward ``SUPPORT_SCALE`` (as much as this many posts' log-likelihood
# per unit of log scale squared): with a few hundred easy posts the likelihood barely tells the scale, and
# unchecked it ran to the bound, where one known word keeps nearly all of a text's logits.
SCALE_PRIOR_WEIGHT = 20.0
MIN_GAIN = 0.02
# The margin for drift with the shrinkage by support (on the tuning half, 4 trials, 1.0 left the
# probabilities 1-2 points over the accuracy: see docs/model.md).
SUPPORT_DRIFT_MARGIN = DRIFT_MARGIN


def support_gain(support: np.ndarray | float, scale: float) -> np.ndarray:
    """The share of its logits a text keeps, from its support (see ``support.py``): support / (support +
    scale), at least ``MIN_GAIN``. A text with no known words beyond the commonest keeps almost nothing:
    its probabilities are close to chance."""
    support = np.asarray(support, dtype=np.float64)
    return np.maximum(support / (support + scale), MIN_GAIN)


def calibrate(
    scores: np.ndarray, support: np.ndarray, y: np.ndarray, prior_weight: float = SCALE_PRIOR_WEIGHT
) -> tuple[float, float]:
    """The temperature and support scale for a model whose out-of-fold logits on its training tweets are
    ``scores`` (rows), their supports ``support`` and true classes ``y``: those that make
    softmax(scores * support_gain(support, scale) / T) most likely (with a weak prior on the scale), the
    temperature then times
    ``SUPPORT_DRIFT_MARGIN`` within ``TEMPERATURE_BOUNDS``.

    A short or content-free text's logits (driven by its style counts and the few n-grams it has) overstate
    what the model knows of it; shrinking them by its support, with a scale fitted per set of accounts,
    calibrates each text whatever its length, and keeps every guess."""
    rows = np.arange(len(y))
    low, high = TEMPERATURE_BOUNDS
    support = np.asarray(support, dtype=np.float64)

    def loss(params: np.ndarray) -> float:
        temperature, scale = np.exp(params)
        scaled = scores * (support_gain(support, scale) / temperature)[:, None]
        prior = prior_weight / len(y) * np.log(scale / SUPPORT_SCALE) ** 2
        return -float(log_softmax(scaled, axis=1)[rows, y].sum()) / len(y) + prior

    margin = SUPPORT_DRIFT_MARGIN
    bounds = [(np.log(low / margin), np.log(high / margin)), tuple(np.log(SUPPORT_SCALE_BOUNDS))]
    start = np.array([np.log(TEMPERATURE / margin), np.log(SUPPORT_SCALE)])
    best = minimize(loss, start, method="L-BFGS-B", bounds=bounds)
    temperature, scale = np.exp(best.x)
    return float(np.clip(temperature * margin, low, high)), float(scale)
