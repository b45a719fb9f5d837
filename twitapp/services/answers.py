"""A prediction as the JSON API (and a finished background prediction) answers it."""

from __future__ import annotations

from typing import Any

from ..authorship import Evidence
from .prediction import Prediction


def evidence_json(evidence: Evidence) -> dict[str, Any]:
    return {"term": evidence.term, "weight": evidence.weight, "spans": evidence.spans}


def prediction_json(prediction: Prediction) -> dict[str, Any]:
    return {
        "author": prediction.author,
        "probabilities": prediction.probabilities,
        "trust": {
            "cv_accuracy": prediction.cv_accuracy,
            "chance": prediction.chance,
            "level": prediction.reliability,
            "summary": prediction.trust_sentence,
        },
        "this_guess": (
            {"level": prediction.this_guess.level, "reason": prediction.this_guess.reason}
            if prediction.this_guess is not None
            else None
        ),
        "none_of_these": (
            {"likely": prediction.none_of_these.likely, "probability": prediction.none_of_these.probability}
            if prediction.none_of_these is not None
            else None
        ),
        "evidence": [evidence_json(e) for e in prediction.evidence],
        "posts": prediction.posts,
        "model": {
            "cached": prediction.cached,
            "source": prediction.model_source,
            "fit_seconds": prediction.fit_seconds,
        },
        "weighed_most": [
            {"post": p.number, "text": p.text, "weight": p.weight, "evidence": [evidence_json(e) for e in p.evidence]}
            for p in prediction.weighed_most
        ],
        "similar": {
            user: [{"id": t.id, "text": t.text, "shared": list(t.shared)} for t in tweets]
            for user, tweets in prediction.similar.items()
        },
    }
