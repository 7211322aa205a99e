"""Counter rows: how many contacts each (owner, lead status, category) holds.

The rows are kept exact by database triggers (migration 0012), so the board
and the dashboard can count a whole team's leads without reading every
contact. Only counts over those three dimensions come from here; a board
filtered by text or a saved selection counts with a GROUP BY instead.
"""
from peewee import CompositeKey, IntegerField, fn

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
