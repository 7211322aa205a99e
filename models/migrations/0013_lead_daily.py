"""Counter rows of new leads: contacts per (day created, owner, company category),
kept exact by triggers like lead_tally (0012).

The "new leads" tile counts the contacts created per day over its periods;
at a million contacts the GROUP BY read some 400,000 of them (about 400 ms
on PostgreSQL). These rows answer it from a few thousand. A contact's day
never changes, but its owner and its company's category do.
"""
from peewee import SqliteDatabase

TABLE = """
CREATE TABLE lead_daily (
    day DATE NOT NULL,
    owner_key INTEGER NOT NULL,
    category_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (day, owner_key, category_id)
)"""

UPSERT = ("INSERT INTO lead_daily (day, owner_key, category_id, n) {rows} "
          "ON CONFLICT (day, owner_key, category_id) "
          "DO UPDATE SET n = lead_daily.n + excluded.n")


def fill(day):
    return f"""
INSERT INTO lead_daily (day, owner_key, category_id, n)
SELECT {day.format("contact.created_at")}, COALESCE(contact.owner_id, 0), company.category_id,
       COUNT(*)
FROM contact JOIN company ON company.id = contact.company_id
GROUP BY 1, 2, 3"""


def _sqlite_contact(row, sign):
    return (f"SELECT date({row}.created_at), COALESCE({row}.owner_id, 0), company.category_id, "
            f"{sign} FROM company WHERE company.id = {row}.company_id")


def _sqlite_company(category, sign):
    return (f"SELECT date(created_at), COALESCE(owner_id, 0), {category}, {sign} COUNT(*) "
            f"FROM contact WHERE company_id = NEW.id GROUP BY 1, 2 ORDER BY 1, 2")


SQLITE = [
    f"""CREATE TRIGGER lead_daily_contact_insert AFTER INSERT ON contact BEGIN
        {UPSERT.format(rows=_sqlite_contact("NEW", 1))}; END""",
    f"""CREATE TRIGGER lead_daily_contact_delete AFTER DELETE ON contact BEGIN
        {UPSERT.format(rows=_sqlite_contact("OLD", -1))}; END""",
    f"""CREATE TRIGGER lead_daily_contact_update
        AFTER UPDATE OF owner_id, company_id, created_at ON contact
        WHEN OLD.owner_id IS NOT NEW.owner_id OR OLD.company_id IS NOT NEW.company_id
            OR OLD.created_at IS NOT NEW.created_at BEGIN
        {UPSERT.format(rows=_sqlite_contact("OLD", -1))};
        {UPSERT.format(rows=_sqlite_contact("NEW", 1))}; END""",
    f"""CREATE TRIGGER lead_daily_company_move AFTER UPDATE OF category_id ON company
        WHEN OLD.category_id <> NEW.category_id BEGIN
        {UPSERT.format(rows=_sqlite_company("OLD.category_id", "-"))};
        {UPSERT.format(rows=_sqlite_company("NEW.category_id", ""))}; END""",
]

# PostgreSQL: once per statement from the transition tables, as in 0012.


def _postgres_sum(deltas):
    return UPSERT.format(rows=f"""SELECT day, owner_key, category_id, SUM(d)
        FROM ({" UNION ALL ".join(deltas)}) AS deltas
        GROUP BY day, owner_key, category_id HAVING SUM(d) <> 0
        ORDER BY day, owner_key, category_id""")


def _postgres_contacts(rows, sign):
    return (f"SELECT r.created_at::date AS day, COALESCE(r.owner_id, 0) AS owner_key, "
            f"c.category_id, {sign} AS d "
            f"FROM {rows} AS r JOIN company AS c ON c.id = r.company_id")


def _postgres_companies(category, sign):
    return (f"SELECT ct.created_at::date AS day, COALESCE(ct.owner_id, 0) AS owner_key, "
            f"{category}.category_id, {sign} AS d FROM old_rows AS o "
            f"JOIN new_rows AS n ON n.id = o.id AND n.category_id <> o.category_id "
            f"JOIN contact AS ct ON ct.company_id = n.id")


def _postgres_trigger(name, table, event, tables, deltas):
    return [f"""CREATE FUNCTION {name}() RETURNS trigger AS $$
        BEGIN {_postgres_sum(deltas)}; RETURN NULL; END $$ LANGUAGE plpgsql""",
            f"""CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables}
        FOR EACH STATEMENT EXECUTE FUNCTION {name}()"""]


POSTGRES = (
    _postgres_trigger("lead_daily_contact_insert", "contact", "INSERT",
                      "NEW TABLE AS new_rows", [_postgres_contacts("new_rows", 1)])
    + _postgres_trigger("lead_daily_contact_delete", "contact", "DELETE",
                        "OLD TABLE AS old_rows", [_postgres_contacts("old_rows", -1)])
    + _postgres_trigger("lead_daily_contact_update", "contact", "UPDATE",
                        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                        [_postgres_contacts("old_rows", -1), _postgres_contacts("new_rows", 1)])
    + _postgres_trigger("lead_daily_company_move", "company", "UPDATE",
                        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                        [_postgres_companies("o", -1), _postgres_companies("n", 1)])
)

TRIGGERS = {"contact": ("lead_daily_contact_insert", "lead_daily_contact_delete",
                        "lead_daily_contact_update"),
            "company": ("lead_daily_company_move",)}


def up(migrator, db):
    sqlite = isinstance(db, SqliteDatabase)
    with db.atomic():
        db.execute_sql(TABLE)
        db.execute_sql(fill("date({})" if sqlite else "{}::date"))
        for statement in SQLITE if sqlite else POSTGRES:
            db.execute_sql(statement)


def down(migrator, db):
    for table, names in TRIGGERS.items():
        for name in names:
            if isinstance(db, SqliteDatabase):
                db.execute_sql(f"DROP TRIGGER {name}")
            else:
                db.execute_sql(f"DROP TRIGGER {name} ON {table}")
                db.execute_sql(f"DROP FUNCTION {name}()")
    db.execute_sql("DROP TABLE lead_daily")
