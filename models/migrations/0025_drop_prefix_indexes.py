"""Drop the indexes whose columns begin another index of the same table.

A query that could use one of them uses the longer index just as well (its
first columns are in the same order), but every index is written on each
insert and on each update of its columns: setting the lead status of
100,000 contacts rewrote 16 indexes per contact, importing 50,000 rows
wrote 31. Foreign keys keep an index that starts with their column.
"""

# index name -> (table, columns), for putting it back
DROPPED = {
    "contact_company_id": ("contact", ("company_id",)),         # company_id, created_at
    "contact_owner_id": ("contact", ("owner_id",)),             # owner_id, created_at
    "contact_lead_status_id": ("contact", ("lead_status_id",)),  # lead_status_id, company_id
    "contact_lead_status_id_status_changed_at":
        ("contact", ("lead_status_id", "status_changed_at")),  # ..., company_id
    "contact_utm_source": ("contact", ("utm_source",)),         # utm_source, utm_campaign, ...
    "history_company_id": ("history", ("company_id",)),         # company_id, created_at
    "history_contact_id": ("history", ("contact_id",)),         # contact_id, created_at
    "history_from_status_id": ("history", ("from_status_id",)),  # ..., created_at, contact_id
}


def up(migrator, db):
    for name in DROPPED:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')


def down(migrator, db):
    for name, (table, columns) in DROPPED.items():
        column_list = ", ".join(f'"{c}"' for c in columns)
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({column_list})')
