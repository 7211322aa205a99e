"""PostgreSQL announces every new history row with NOTIFY (the live feed, models/feed.py).

One statement-level trigger sends the ids of a statement's new rows on the
channel `tavla_feed` ("12,13,15"; a range "12-900" when there are many).
pg_notify in the writing transaction is delivered when it commits, in
commit order, and never for a rolled-back one, so every server process on
every machine hears each committed change without asking the table.
SQLite needs nothing: its one machine's processes read the table.
"""
from peewee import SqliteDatabase

# A NOTIFY payload must stay under 8,000 bytes: up to 200 ids are listed.
FUNCTION = """
CREATE FUNCTION history_feed_notify() RETURNS trigger AS $$
DECLARE
    how_many bigint;
    payload text;
BEGIN
    SELECT count(*) INTO how_many FROM new_rows;
    IF how_many = 0 THEN
        RETURN NULL;
    ELSIF how_many <= 200 THEN
        SELECT string_agg(id::text, ',' ORDER BY id) INTO payload FROM new_rows;
    ELSE
        SELECT min(id)::text || '-' || max(id)::text INTO payload FROM new_rows;
    END IF;
    PERFORM pg_notify('tavla_feed', payload);
    RETURN NULL;
END
$$ LANGUAGE plpgsql"""

TRIGGER = """
CREATE TRIGGER history_feed_notify AFTER INSERT ON history
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION history_feed_notify()"""


def up(migrator, db):
    if isinstance(db, SqliteDatabase):
        return
    with db.atomic():
        db.execute_sql(FUNCTION)
        db.execute_sql(TRIGGER)


def down(migrator, db):
    if isinstance(db, SqliteDatabase):
        return
    db.execute_sql("DROP TRIGGER history_feed_notify ON history")
    db.execute_sql("DROP FUNCTION history_feed_notify()")
