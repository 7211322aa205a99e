"""Counter rows for the board and dashboard counts: contacts per (owner, lead
status, company category), kept exact by triggers in the database.

Counting a whole team's leads with a GROUP BY reads every contact (a million
at the largest scale); the lead_tally rows answer the same question from a
few hundred rows. Triggers rather than application code keep them right,
because every way a contact or a company changes goes through the database:
the rules, bulk updates, imports, the demo loader and cascading deletes.

A missing owner or lead status is key 0. Each change adds a delta with an
upsert; on PostgreSQL the two rows a contact update touches are changed in
key order, so two concurrent moves between the same rows cannot deadlock.
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
    # A company's contacts go with it (ON DELETE CASCADE); by the time their
    # own triggers run the company is gone, so they find no row to change.
    f"""CREATE TRIGGER lead_tally_company_delete BEFORE DELETE ON company BEGIN
        {UPSERT.format(rows=_company_rows("OLD", "OLD.category_id", "-"))}; END""",
]

POSTGRES = [
    f"""CREATE FUNCTION lead_tally_contact() RETURNS trigger AS $$
    DECLARE
        old_key int[]; new_key int[];
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            SELECT ARRAY[COALESCE(OLD.owner_id, 0), COALESCE(OLD.lead_status_id, 0),
                         category_id] INTO old_key FROM company WHERE id = OLD.company_id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            SELECT ARRAY[COALESCE(NEW.owner_id, 0), COALESCE(NEW.lead_status_id, 0),
                         category_id] INTO new_key FROM company WHERE id = NEW.company_id;
        END IF;
        IF old_key IS NOT DISTINCT FROM new_key THEN
            RETURN NULL;
        END IF;
        {UPSERT.format(rows="SELECT k[1], k[2], k[3], d FROM (VALUES (old_key, -1), "
                            "(new_key, 1)) AS deltas (k, d) WHERE k IS NOT NULL "
                            "ORDER BY deltas.k")};
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER lead_tally_contact
        AFTER INSERT OR DELETE OR UPDATE OF owner_id, lead_status_id, company_id ON contact
        FOR EACH ROW EXECUTE FUNCTION lead_tally_contact()""",
    f"""CREATE FUNCTION lead_tally_company() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            {UPSERT.format(rows=_company_rows("OLD", "OLD.category_id", "-"))};
            RETURN OLD;
        END IF;
        IF NEW.category_id IS DISTINCT FROM OLD.category_id THEN
            {UPSERT.format(rows="SELECT * FROM (" + _company_rows("NEW", "OLD.category_id", "-")
                                + ") AS moved_out UNION ALL SELECT * FROM ("
                                + _company_rows("NEW", "NEW.category_id", "")
                                + ") AS moved_in ORDER BY 1, 2, 3")};
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER lead_tally_company_move AFTER UPDATE OF category_id ON company
        FOR EACH ROW EXECUTE FUNCTION lead_tally_company()""",
    """CREATE TRIGGER lead_tally_company_delete BEFORE DELETE ON company
        FOR EACH ROW EXECUTE FUNCTION lead_tally_company()""",
]


def up(migrator, db):
    with db.atomic():
        db.execute_sql(TABLE)
        db.execute_sql(FILL)
        for statement in SQLITE if isinstance(db, SqliteDatabase) else POSTGRES:
            db.execute_sql(statement)


def down(migrator, db):
    if isinstance(db, SqliteDatabase):
        for name in ("contact_insert", "contact_delete", "contact_update", "company_move",
                     "company_delete"):
            db.execute_sql(f"DROP TRIGGER lead_tally_{name}")
    else:
        db.execute_sql("DROP TRIGGER lead_tally_contact ON contact")
        db.execute_sql("DROP TRIGGER lead_tally_company_move ON company")
        db.execute_sql("DROP TRIGGER lead_tally_company_delete ON company")
        db.execute_sql("DROP FUNCTION lead_tally_contact()")
        db.execute_sql("DROP FUNCTION lead_tally_company()")
    db.execute_sql("DROP TABLE lead_tally")
