"""Embedding stored tweets again, after ``SPACY_MODEL`` changed.

Vectors of two spaCy models cannot be compared (nor even have the same size), so a prediction refuses
tweets embedded with another model than the configured one (``StaleEmbeddings``) and this service
embeds them again. One transaction per account: an account is either fully re-embedded or left as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update

from ..extensions import DbSession
from ..models import Account, Tweet
from .embedding import Embedder, to_bytes
from .progress import Progress, iter_chunks, no_progress, step_counter


@dataclass
class ReembedSummary:
    accounts: int = 0
    tweets: int = 0


def accounts_to_reembed(session: DbSession, model_name: str, everything: bool = False) -> list[Account]:
    """Accounts with tweets embedded by another model than ``model_name`` (all accounts with tweets
    when ``everything``), by username."""
    query = select(Tweet.account_id).distinct()
    if not everything:
        query = query.where(Tweet.embedding_model != model_name)
    return list(session.scalars(select(Account).where(Account.id.in_(query)).order_by(func.lower(Account.username))))


def reembed(
    session: DbSession,
    embedder: Embedder,
    everything: bool = False,
    progress: Callable[[Account], Progress] | None = None,
) -> ReembedSummary:
    """Embed again, with ``embedder``, every stored tweet embedded by another model (every tweet when
    ``everything``). ``progress(account)`` gives that account's ``progress(phase, done, total)``."""
    summary = ReembedSummary()
    for account in accounts_to_reembed(session, embedder.model_name, everything):
        query = select(Tweet.id, Tweet.text).where(Tweet.account_id == account.id)
        if not everything:
            query = query.where(Tweet.embedding_model != embedder.model_name)
        rows = session.execute(query.order_by(Tweet.id)).all()
        report = progress(account) if progress else no_progress
        report("embedding", 0, len(rows))
        vectors = embedder.embed([text for _, text in rows], progress=step_counter(report, "embedding", len(rows)))
        values = [
            dict(
                account_id=account.id,
                id=tweet_id,
                embedding=to_bytes(v),
                embedding_model=embedder.model_name,
                embedding_dim=len(v),
            )
            for (tweet_id, _), v in zip(rows, vectors)
        ]
        try:
            for chunk in iter_chunks(values, 1000):
                session.execute(update(Tweet), chunk)  # (bulk update by primary key)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        summary.accounts += 1
        summary.tweets += len(rows)
    return summary
