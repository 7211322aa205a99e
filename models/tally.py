"""Counter rows: how many contacts each (owner, lead status, category) holds, and
how many were created each day per (owner, category).

The rows are kept exact by database triggers (migrations 0012 and 0013), so
the board and the dashboard can count a whole team's leads without reading
every contact. Only counts over those dimensions come from here; a board
filtered by text or a saved selection counts with a GROUP BY instead.
"""
import datetime

from peewee import CompositeKey, DateField, IntegerField, fn

from .db import BaseModel

NOBODY = 0  # the key of "no owner" and "no lead status"


class LeadTally(BaseModel):
    owner_key = IntegerField()
    status_key = IntegerField()
    category_id = IntegerField()
    n = IntegerField()

    class Meta:
        table_name = "lead_tally"
        primary_key = CompositeKey("owner_key", "status_key", "category_id")


KEYS = {
    "owner": LeadTally.owner_key,
    "status": LeadTally.status_key,
    "category": LeadTally.category_id,
}


def tally_counts(by, owner_ids=None, category_ids=None, with_status=False):
    """{key: number of contacts} grouped by `by` ("owner", "status" or "category", or a
    tuple of them), for the owners and categories given (None: all of them).

    Keys of "no owner" and "no status" come back as None. `with_status`
    leaves out contacts without a lead status.
    """
    names = (by,) if isinstance(by, str) else tuple(by)
    columns = [KEYS[name] for name in names]
    query = LeadTally.select(*columns, fn.SUM(LeadTally.n)).group_by(*columns)
    if owner_ids is not None:
        query = query.where(LeadTally.owner_key.in_([i or NOBODY for i in owner_ids]))
    if category_ids is not None:
        query = query.where(LeadTally.category_id.in_(list(category_ids)))
    if with_status:
        query = query.where(LeadTally.status_key != NOBODY)
    counts = {}
    for row in query.tuples():
        key = tuple(None if (name != "category" and value == NOBODY) else value
                    for name, value in zip(names, row))
        if row[-1]:
            counts[key[0] if len(key) == 1 else key] = int(row[-1])
    return counts


class LeadDaily(BaseModel):
    day = DateField()
    owner_key = IntegerField()
    category_id = IntegerField()
    n = IntegerField()

    class Meta:
        table_name = "lead_daily"
        primary_key = CompositeKey("day", "owner_key", "category_id")


def daily_counts(first, last, owner_ids=None, category_ids=None):
    """[(day, contacts created that day)] from `first` to `last` (dates, both included)
    for the owners and categories given (None: all of them)."""
    query = (LeadDaily.select(LeadDaily.day, fn.SUM(LeadDaily.n))
             .where(LeadDaily.day.between(first, last))
             .group_by(LeadDaily.day))
    if owner_ids is not None:
        query = query.where(LeadDaily.owner_key.in_([i or NOBODY for i in owner_ids]))
    if category_ids is not None:
        query = query.where(LeadDaily.category_id.in_(list(category_ids)))
    return [(day if isinstance(day, datetime.date) else datetime.date.fromisoformat(str(day)),
             int(n)) for day, n in query.tuples() if n]
