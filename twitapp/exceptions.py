"""Domain exceptions: each carries a message fit to show a person and the HTTP status that suits it.

Views and the CLI turn them into flashes, JSON errors or exit messages; nothing else needs to know HTTP.
"""

from __future__ import annotations


class HypoTweetError(Exception):
    """Base of every error the app expects and explains."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidInput(HypoTweetError):
    status = 400


class InvalidHandle(InvalidInput):
    pass


class AccountNotFound(HypoTweetError):
    status = 404


class AccountConflict(HypoTweetError):
    """The data may not be written into that stored account: it belongs to another source, or changing a
    stored account needs the admin password. Nothing of it was stored."""

    status = 409


class AdminRefused(HypoTweetError):
    """An admin password was given and is wrong (or this server has none)."""

    status = 403


class AccountDeleted(AccountConflict):
    """The account was deleted while posts were being stored into it; nothing of them was stored."""


class PageNotFound(HypoTweetError):
    """A page number past the last page (or below the first) of a listing."""

    status = 404


class AccountUnavailable(HypoTweetError):
    """Suspended or protected: the account exists but its tweets cannot be read."""

    status = 403


class PlanDoesNotAllowReading(HypoTweetError):
    """The X API plan of the bearer token does not include reading tweets (403, code 453)."""

    status = 403


class SourceNotConfigured(HypoTweetError):
    """This server is not set up to read from that source (no X API bearer token): the other sources still work."""

    status = 503


class UpstreamAuthFailed(HypoTweetError):
    """The X API refused the app's own credentials: a configuration problem, not the user's."""

    status = 502


class RateLimited(HypoTweetError):
    status = 429

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ReadBudgetExhausted(RateLimited):
    """The day's cap on posts read from X (``X_MAX_READS_PER_DAY``) is reached: nothing more is read from X
    until midnight UTC (a job is not retried: the wait is hours)."""


class UpstreamError(HypoTweetError):
    """X server error, timeout, reset connection, or a body that is not what the API documents."""

    status = 502


class NoOriginalTweets(HypoTweetError):
    status = 422


class NotEnoughTweets(HypoTweetError):
    status = 422


class StaleEmbeddings(HypoTweetError):
    """Stored tweets were embedded with another spaCy model than the configured one (``SPACY_MODEL``
    changed): their vectors cannot be mixed with the new model's until they are embedded again."""

    status = 409


class ImportFailed(HypoTweetError):
    """A file to import is unreadable, malformed or unsafe; nothing of it was stored."""

    status = 400


class UploadTooLarge(ImportFailed):
    status = 413


class DownloadFailed(HypoTweetError):
    """A remote file (the demo set) could not be fetched or failed its checksum."""

    status = 502


class JobNotFound(HypoTweetError):
    """No background job by that id: unknown, expired, or this server runs its work inline."""

    status = 404


class UploadQueueFull(RateLimited):
    """The sender's uploads already waiting in the job queue reach MAX_QUEUED_UPLOAD_MB."""
