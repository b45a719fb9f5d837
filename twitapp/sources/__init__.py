"""Where posts come from: the X API client (``x``), the Bluesky AppView client (``bluesky``), and readers
that need no API: the official X account archive, CSV files, the demo set.

They are pure: they read bytes (or a binary file, or for the demo the network) and return
``ImportedAccount`` records, touching no database; the ingest service stores what they return.
"""

from .archive import read_archive
from .csvfile import read_csv
from .demo import DEFAULT_DEMO_BASE_URL, DEMO_COMMIT, DEMO_CREDIT, DEMO_HANDLES, DEMO_SHA256, fetch_demo
from .records import ImportedAccount, ImportedTweet, stable_tweet_id, validate_handle

__all__ = [
    "DEFAULT_DEMO_BASE_URL",
    "DEMO_COMMIT",
    "DEMO_CREDIT",
    "DEMO_HANDLES",
    "DEMO_SHA256",
    "ImportedAccount",
    "ImportedTweet",
    "fetch_demo",
    "read_archive",
    "read_csv",
    "stable_tweet_id",
    "validate_handle",
]
