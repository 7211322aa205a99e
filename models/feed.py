"""The change feed: the history table read as an event stream.

Every lead status and category change is a History row with a growing id,
written in the same transaction as the change, so any server process can
tell what changed since the last id it saw by reading the database; no
process-local queue is needed for live boards and dashboards.
"""
import operator
from functools import reduce

from peewee import fn

from .schema import History


def latest_change_id():
    """The id of the newest change, 0 for none."""
    return History.select(fn.MAX(History.id)).scalar() or 0


def changes_after(last_id, limit=500):
    """Changes newer than `last_id`, oldest first: (id, kind, company id, contact id)."""
    return _changes(History.id > last_id, limit)


def changes_within(ranges, limit=500):
    """Changes whose ids lie in any of the (first, last) `ranges`, in one query."""
    if not ranges:
        return []
    return _changes(reduce(operator.or_, (History.id.between(first, last)
                                          for first, last in ranges)), limit)


def _changes(condition, limit):
    return list(History
                .select(History.id, History.kind, History.company, History.contact)
                .where(condition)
                .order_by(History.id)
                .limit(limit)
                .tuples())
