"""`import_job.selection_id`: the static selection that holds the contacts an
import created or updated, so its report links to them (a plain id column:
SQLite cannot add a column with a foreign-key constraint in place, and a
deleted selection only takes the link away)."""
from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(migrator.add_column("import_job", "selection_id", IntegerField(null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("import_job", "selection_id"))
