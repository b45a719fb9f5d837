"""Who wrote this tweet? The authorship model over the candidate accounts' stored tweets (see
``docs/model.md``)."""

from .confidence import GuessConfidence, guess_confidence
from .explain import Decomposition, Evidence
from .folds import MIN_TWEETS_PER_ACCOUNT
from .model import AuthorshipModel, TextPrediction, cross_validated_accuracy, fit_with_cv
from .sets import SetEvidence, SetPrediction

__all__ = [
    "MIN_TWEETS_PER_ACCOUNT",
    "AuthorshipModel",
    "Decomposition",
    "Evidence",
    "GuessConfidence",
    "SetEvidence",
    "SetPrediction",
    "TextPrediction",
    "cross_validated_accuracy",
    "fit_with_cv",
    "guess_confidence",
]
