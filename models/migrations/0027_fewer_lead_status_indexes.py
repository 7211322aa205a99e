"""Fewer indexes that hold the lead status, so setting it on many contacts costs less.

Each index that holds `lead_status_id` is rewritten when a status changes.
When a bulk update sets the status of 57,000 contacts, chunk after chunk, an
index sorted by name or date within the status is rewritten nearly whole by
every chunk: with 14 such indexes a chunk of 1,000 contacts took 420 ms of
SQL and the whole update 30 s on SQLite. Dropped here:

- the four per-owner board indexes (owner, status, then name, time in status,
  created, next step). A rep's column walks the owner's name index or the
  status's index in the column's sort, and a column of at most
  `board.FEW_CARDS` contacts is read by its ids through the narrow
  (owner, status, company) index and sorted (`board.card_query`);
- the UTM medium and campaign indexes with the status in them, which become
  (medium, company) and (campaign, company): a search by either still counts
  from an index, and the lead status is read from the row.

The indexes a board of everyone's leads walks, (status, name), (status, time
in status), (status, created) and (status, next step), stay, and so do the
narrow ones ending in the company: a bulk update walks the companies in
order, so those are written a few pages at a time.
"""
from peewee import PostgresqlDatabase

# index name -> columns, for putting them back
DROPPED = {
    "contact_owner_id_lead_status_id_last_name_first_name_id":
        '"owner_id", "lead_status_id", "last_name", "first_name", "id"',
    "contact_owner_id_lead_status_id_status_changed_at":
        '"owner_id", "lead_status_id", "status_changed_at"',
    "contact_owner_id_lead_status_id_created_at": '"owner_id", "lead_status_id", "created_at"',
    "contact_owner_status_next_step": "owner_id, lead_status_id, next_step_at",
    "contact_utm_campaign_lead_status_id_company_id":
        '"utm_campaign", "lead_status_id", "company_id"',
    "contact_utm_medium_lead_status_id_company_id":
        '"utm_medium", "lead_status_id", "company_id"',
}
ADDED = {
    "contact_utm_campaign_company_id": '"utm_campaign", "company_id"',
    "contact_utm_medium_company_id": '"utm_medium", "company_id"',
}


def up(migrator, db):
    for name in DROPPED:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    for name, columns in ADDED.items():
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "contact" ({columns})')


def down(migrator, db):
    for name in ADDED:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    for name, columns in DROPPED.items():
        # 0018 made the next-step index sort cards without one first on PostgreSQL
        nulls_first = " NULLS FIRST" if name == "contact_owner_status_next_step" and \
            isinstance(db, PostgresqlDatabase) else ""
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "contact" '
                       f'({columns}{nulls_first})')
