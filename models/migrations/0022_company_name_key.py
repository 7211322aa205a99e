"""Company names matched for duplicates in any letter case, Å and å too.

`company.name_key` holds `models.schema.name_key(name)` (Unicode case folding:
SQLite's LOWER() folds only A-Z), with an index: the merge suggestions and the
web forms' company match read it. Existing companies get theirs here, a batch
at a time. Added by plain SQL: SQLite takes a NOT NULL column with a default
without rebuilding the table, so the counter-row triggers on it stay.
"""
import unicodedata

BATCH = 1000


def name_key(text):
    # A copy of models.schema.name_key as it was when this migration was written.
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def up(migrator, db):
    with db.atomic():
        db.execute_sql("ALTER TABLE company ADD COLUMN name_key VARCHAR(255) NOT NULL DEFAULT ''")
        last = 0
        while True:
            rows = db.execute_sql(f"SELECT id, name FROM company WHERE id > {db.param} "
                                  f"ORDER BY id LIMIT {BATCH}", (last,)).fetchall()
            if not rows:
                break
            db.cursor().executemany(f"UPDATE company SET name_key = {db.param} "
                                    f"WHERE id = {db.param}",
                                    [(name_key(name), row_id) for row_id, name in rows])
            last = rows[-1][0]
        db.execute_sql('CREATE INDEX "company_name_key" ON "company" ("name_key")')


def down(migrator, db):
    with db.atomic():
        db.execute_sql('DROP INDEX "company_name_key"')
        db.execute_sql("ALTER TABLE company DROP COLUMN name_key")
