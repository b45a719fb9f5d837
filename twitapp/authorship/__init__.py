"""Who wrote this tweet? The authorship model over the candidate accounts' stored tweets (see
``docs/model.md``)."""

from .explain import Decomposition, Evidence
from .folds import MIN_TWEETS_PER_ACCOUNT
from .model import AuthorshipModel, cross_validated_accuracy, fit_with_cv

__all__ = [
    "MIN_TWEETS_PER_ACCOUNT",
    "AuthorshipModel",
    "Decomposition",
    "Evidence",
    "cross_validated_accuracy",
    "fit_with_cv",
]
