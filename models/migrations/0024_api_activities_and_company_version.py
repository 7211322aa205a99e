"""The API's activities and company versions (R31).

- `history.activity_id`, `history.activity_action`: the activity a history row
  of kind "activity" tells of, and what happened to it (created, updated,
  completed, reopened, deleted), so a webhook can say so. A plain id column:
  the activity may be deleted since.
- `company.version`: raised by every change of a company through the rules,
  so an API client's stale write is refused (409), as for contacts.

Plain ALTER TABLE ... ADD COLUMN with a constant default on both databases:
no table rebuild on SQLite, no rewrite on PostgreSQL.
"""

COLUMNS = (("history", "activity_id", "INTEGER"),
           ("history", "activity_action", "VARCHAR(16) NOT NULL DEFAULT ''"),
           ("company", "version", "INTEGER NOT NULL DEFAULT 0"))


def up(migrator, db):
    with db.atomic():
        for table, column, kind in COLUMNS:
            db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {kind}')


def down(migrator, db):
    with db.atomic():
        for table, column, _ in reversed(COLUMNS):
            db.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
