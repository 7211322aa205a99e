"""Delete and restore (R27), merge (R28), erase a person (R29).

- `contact.deleted_at`, `deleted_by_id`, `deleted_with_company` and
  `company.deleted_at`, `deleted_by_id`: a deleted row stays, restorable,
  until the purge; `Contact.select()` / `Company.select()` leave it out.
  (Who deleted it is a plain id column: users are never deleted, and
  SQLite cannot add a column with a foreign-key constraint in place.)
- `contact.erased_at`: when a person's data was erased (R29).
- `merge_redirect`: the id a merged-away contact or company had, and the
  survivor it went into, so old links still lead somewhere (R28).
- Partial indexes on the deleted rows only, so the Deleted list and the
  purge find them without the planner ever picking an index full of NULLs
  for the app's other queries.
- The counter-row triggers of 0012 (lead_tally) and 0013 (lead_daily) count
  live contacts only: setting or clearing `deleted_at` moves a contact out
  of or back into its counts, like any other change of its keys.
"""
import importlib

from peewee import BooleanField, DateTimeField, IntegerField, SqliteDatabase

REDIRECTS = """
CREATE TABLE merge_redirect (
    entity VARCHAR(16) NOT NULL,
    old_id BIGINT NOT NULL,
    new_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (entity, old_id)
)"""
PARTIAL_INDEXES = {"contact_deleted": "contact", "company_deleted": "company"}

TALLY = ("lead_tally", "(owner_key, status_key, category_id)",
         "COALESCE({r}.owner_id, 0), COALESCE({r}.lead_status_id, 0)",
         "owner_key, status_key, category_id",
         "COALESCE({r}.owner_id, 0) AS owner_key, COALESCE({r}.lead_status_id, 0) AS status_key")
DAILY = ("lead_daily", "(day, owner_key, category_id)",
         "date({r}.created_at), COALESCE({r}.owner_id, 0)",
         "day, owner_key, category_id",
         "{r}.created_at::date AS day, COALESCE({r}.owner_id, 0) AS owner_key")
# The contact columns each table's keys read (an UPDATE of another column leaves it).
KEY_COLUMNS = {"lead_tally": ("owner_id", "lead_status_id", "company_id", "deleted_at"),
               "lead_daily": ("owner_id", "company_id", "created_at", "deleted_at")}


def _upsert(table, key, rows):
    return (f"INSERT INTO {table} ({key[1:-1]}, n) {rows} ON CONFLICT {key} "
            f"DO UPDATE SET n = {table}.n + excluded.n")


def sqlite_triggers(spec):
    """The four SQLite triggers of lead_tally or lead_daily, counting live contacts only."""
    table, key, keys, _, _ = spec

    def contact(row, sign):
        return (f"SELECT {keys.format(r=row)}, company.category_id, {sign} FROM company "
                f"WHERE company.id = {row}.company_id AND {row}.deleted_at IS NULL")

    def company(category, sign):
        plain = keys.format(r="contact")
        return (f"SELECT {plain}, {category}, {sign} COUNT(*) FROM contact "
                f"WHERE company_id = NEW.id AND deleted_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2")

    columns = KEY_COLUMNS[table]
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
    return {
        f"{table}_contact_insert": f"""CREATE TRIGGER {table}_contact_insert AFTER INSERT ON
            contact BEGIN {_upsert(table, key, contact("NEW", 1))}; END""",
        f"{table}_contact_delete": f"""CREATE TRIGGER {table}_contact_delete AFTER DELETE ON
            contact BEGIN {_upsert(table, key, contact("OLD", -1))}; END""",
        f"{table}_contact_update": f"""CREATE TRIGGER {table}_contact_update
            AFTER UPDATE OF {", ".join(columns)} ON contact WHEN {changed} BEGIN
            {_upsert(table, key, contact("OLD", -1))};
            {_upsert(table, key, contact("NEW", 1))}; END""",
        f"{table}_company_move": f"""CREATE TRIGGER {table}_company_move
            AFTER UPDATE OF category_id ON company WHEN OLD.category_id <> NEW.category_id BEGIN
            {_upsert(table, key, company("OLD.category_id", "-"))};
            {_upsert(table, key, company("NEW.category_id", ""))}; END""",
    }


def postgres_functions(spec):
    """The four PostgreSQL trigger functions (statement level, as in 0012), live only."""
    table, key, _, group, keys = spec

    def total(deltas):
        return _upsert(table, key, f"""SELECT {group}, SUM(d)
            FROM ({" UNION ALL ".join(deltas)}) AS deltas
            GROUP BY {group} HAVING SUM(d) <> 0 ORDER BY {group}""")

    def contacts(rows, sign):
        return (f"SELECT {keys.format(r='r')}, c.category_id, {sign} AS d "
                f"FROM {rows} AS r JOIN company AS c ON c.id = r.company_id "
                f"WHERE r.deleted_at IS NULL")

    def companies(category, sign):
        return (f"SELECT {keys.format(r='ct')}, {category}.category_id, {sign} AS d "
                f"FROM old_rows AS o "
                f"JOIN new_rows AS n ON n.id = o.id AND n.category_id <> o.category_id "
                f"JOIN contact AS ct ON ct.company_id = n.id AND ct.deleted_at IS NULL")

    bodies = {
        f"{table}_contact_insert": [contacts("new_rows", 1)],
        f"{table}_contact_delete": [contacts("old_rows", -1)],
        f"{table}_contact_update": [contacts("old_rows", -1), contacts("new_rows", 1)],
        f"{table}_company_move": [companies("o", -1), companies("n", 1)],
    }
    return [f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
        BEGIN {total(deltas)}; RETURN NULL; END $$ LANGUAGE plpgsql"""
            for name, deltas in bodies.items()]


def up(migrator, db):
    sqlite = isinstance(db, SqliteDatabase)
    with db.atomic():
        if sqlite:  # replaced below (and a table rebuild, were there one, needs them gone)
            for spec in (TALLY, DAILY):
                for name in sqlite_triggers(spec):
                    db.execute_sql(f"DROP TRIGGER {name}")
        migrator.migrate(
            migrator.add_column("contact", "deleted_at", DateTimeField(null=True)),
            migrator.add_column("contact", "deleted_by_id",
                                IntegerField(null=True)),
            migrator.add_column("contact", "deleted_with_company", BooleanField(null=True)),
            migrator.add_column("contact", "erased_at", DateTimeField(null=True)),
            migrator.add_column("company", "deleted_at", DateTimeField(null=True)),
            migrator.add_column("company", "deleted_by_id",
                                IntegerField(null=True)),
        )
        db.execute_sql(REDIRECTS)
        for name, table in PARTIAL_INDEXES.items():
            db.execute_sql(f'CREATE INDEX "{name}" ON "{table}" (deleted_at) '
                           f'WHERE deleted_at IS NOT NULL')
        for spec in (TALLY, DAILY):
            if sqlite:
                for statement in sqlite_triggers(spec).values():
                    db.execute_sql(statement)
            else:
                for statement in postgres_functions(spec):
                    db.execute_sql(statement)


def down(migrator, db):
    sqlite = isinstance(db, SqliteDatabase)
    olds = [importlib.import_module(f"models.migrations.{module}")
            for module in ("0012_lead_tally", "0013_lead_daily")]
    with db.atomic():
        for old in olds:
            for table, names in old.TRIGGERS.items():
                for name in names:
                    if sqlite:
                        db.execute_sql(f"DROP TRIGGER {name}")
                    else:
                        db.execute_sql(f"DROP TRIGGER {name} ON {table}")
                        db.execute_sql(f"DROP FUNCTION {name}()")
        for name in PARTIAL_INDEXES:
            db.execute_sql(f'DROP INDEX "{name}"')
        db.execute_sql("DROP TABLE merge_redirect")
        migrator.migrate(
            migrator.drop_column("company", "deleted_by_id"),
            migrator.drop_column("company", "deleted_at"),
            migrator.drop_column("contact", "erased_at"),
            migrator.drop_column("contact", "deleted_with_company"),
            migrator.drop_column("contact", "deleted_by_id"),
            migrator.drop_column("contact", "deleted_at"),
        )
        for old in olds:
            for statement in old.SQLITE if sqlite else old.POSTGRES:
                db.execute_sql(statement)
