"""Counter rows for the board and dashboard counts: contacts per (owner, lead
status, company category), kept exact by triggers in the database.

Counting a whole team's leads with a GROUP BY reads every contact (a million
at the largest scale); the lead_tally rows answer the same question from a
few hundred rows. Triggers rather than application code keep them right,
because every way a contact or a company changes goes through the database:
the rules, bulk updates, imports, the demo loader and cascading deletes.

A missing owner or lead status is key 0. Each change adds a delta with an
upsert, in key order, so two concurrent moves between the same rows cannot
deadlock.
"""
from peewee import SqliteDatabase

TABLE = """
CREATE TABLE lead_tally (
    owner_key INTEGER NOT NULL,
    status_key INTEGER NOT NULL,
    category_id INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (owner_key, status_key, category_id)
)"""

FILL = """
INSERT INTO lead_tally (owner_key, status_key, category_id, n)
SELECT COALESCE(contact.owner_id, 0), COALESCE(contact.lead_status_id, 0),
       company.category_id, COUNT(*)
FROM contact JOIN company ON company.id = contact.company_id
GROUP BY 1, 2, 3"""

UPSERT = ("INSERT INTO lead_tally (owner_key, status_key, category_id, n) {rows} "
          "ON CONFLICT (owner_key, status_key, category_id) "
          "DO UPDATE SET n = lead_tally.n + excluded.n")


def _contact_rows(row, sign):
    """The tally delta of one contact row (OLD or NEW) as a SELECT."""
    return (f"SELECT COALESCE({row}.owner_id, 0), COALESCE({row}.lead_status_id, 0), "
            f"company.category_id, {sign} FROM company WHERE company.id = {row}.company_id")


def _company_rows(row, category, sign):
    """The tally delta of all contacts of one company as a SELECT."""
    return (f"SELECT COALESCE(owner_id, 0), COALESCE(lead_status_id, 0), {category}, "
            f"{sign} COUNT(*) FROM contact WHERE company_id = {row}.id GROUP BY 1, 2 "
            f"ORDER BY 1, 2")


SQLITE = [
    f"""CREATE TRIGGER lead_tally_contact_insert AFTER INSERT ON contact BEGIN
        {UPSERT.format(rows=_contact_rows("NEW", 1))}; END""",
    f"""CREATE TRIGGER lead_tally_contact_delete AFTER DELETE ON contact BEGIN
        {UPSERT.format(rows=_contact_rows("OLD", -1))}; END""",
    f"""CREATE TRIGGER lead_tally_contact_update
        AFTER UPDATE OF owner_id, lead_status_id, company_id ON contact
        WHEN OLD.owner_id IS NOT NEW.owner_id OR OLD.lead_status_id IS NOT NEW.lead_status_id
            OR OLD.company_id IS NOT NEW.company_id BEGIN
        {UPSERT.format(rows=_contact_rows("OLD", -1))};
        {UPSERT.format(rows=_contact_rows("NEW", 1))}; END""",
    f"""CREATE TRIGGER lead_tally_company_move AFTER UPDATE OF category_id ON company
        WHEN OLD.category_id <> NEW.category_id BEGIN
        {UPSERT.format(rows=_company_rows("NEW", "OLD.category_id", "-"))};
        {UPSERT.format(rows=_company_rows("NEW", "NEW.category_id", ""))}; END""",
    # No trigger for deleting a company: its contacts must go first (their
    # foreign key has no cascade), and their own triggers count them out.
]

# PostgreSQL counts once per statement, from its transition tables: a bulk
# INSERT of a thousand contacts changes each counter row once, not a thousand
# times (row versions of one row piling up in one transaction made a million-
# contact load slow down as it went). Deltas are summed per key, rows that
# end where they started are left alone, and keys are locked in order.


def _postgres_sum(deltas):
    return UPSERT.format(rows=f"""SELECT owner_key, status_key, category_id, SUM(d)
        FROM ({" UNION ALL ".join(deltas)}) AS deltas
        GROUP BY owner_key, status_key, category_id HAVING SUM(d) <> 0
        ORDER BY owner_key, status_key, category_id""")


def _postgres_contacts(rows, sign):
    return (f"SELECT COALESCE(r.owner_id, 0) AS owner_key, "
            f"COALESCE(r.lead_status_id, 0) AS status_key, c.category_id, {sign} AS d "
            f"FROM {rows} AS r JOIN company AS c ON c.id = r.company_id")


def _postgres_companies(category, sign):
    return (f"SELECT COALESCE(ct.owner_id, 0) AS owner_key, "
            f"COALESCE(ct.lead_status_id, 0) AS status_key, {category}.category_id, "
            f"{sign} AS d FROM old_rows AS o "
            f"JOIN new_rows AS n ON n.id = o.id AND n.category_id <> o.category_id "
            f"JOIN contact AS ct ON ct.company_id = n.id")


def _postgres_trigger(name, table, event, tables, deltas):
    return [f"""CREATE FUNCTION {name}() RETURNS trigger AS $$
        BEGIN {_postgres_sum(deltas)}; RETURN NULL; END $$ LANGUAGE plpgsql""",
            f"""CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {tables}
        FOR EACH STATEMENT EXECUTE FUNCTION {name}()"""]


POSTGRES = (
    _postgres_trigger("lead_tally_contact_insert", "contact", "INSERT",
                      "NEW TABLE AS new_rows", [_postgres_contacts("new_rows", 1)])
    + _postgres_trigger("lead_tally_contact_delete", "contact", "DELETE",
                        "OLD TABLE AS old_rows", [_postgres_contacts("old_rows", -1)])
    + _postgres_trigger("lead_tally_contact_update", "contact", "UPDATE",
                        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                        [_postgres_contacts("old_rows", -1), _postgres_contacts("new_rows", 1)])
    + _postgres_trigger("lead_tally_company_move", "company", "UPDATE",
                        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                        [_postgres_companies("o", -1), _postgres_companies("n", 1)])
)

TRIGGERS = {"contact": ("lead_tally_contact_insert", "lead_tally_contact_delete",
                        "lead_tally_contact_update"),
            "company": ("lead_tally_company_move",)}


def up(migrator, db):
    with db.atomic():
        db.execute_sql(TABLE)
        db.execute_sql(FILL)
        for statement in SQLITE if isinstance(db, SqliteDatabase) else POSTGRES:
            db.execute_sql(statement)


def down(migrator, db):
    for table, names in TRIGGERS.items():
        for name in names:
            if isinstance(db, SqliteDatabase):
                db.execute_sql(f"DROP TRIGGER {name}")
            else:
                db.execute_sql(f"DROP TRIGGER {name} ON {table}")
                db.execute_sql(f"DROP FUNCTION {name}()")
    db.execute_sql("DROP TABLE lead_tally")
