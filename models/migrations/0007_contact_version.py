"""A version number on each contact, raised by every lead status change, so a
board drop based on a stale card is refused instead of overwriting a move
made meanwhile."""
from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(migrator.add_column("contact", "version", IntegerField(default=0)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("contact", "version"))
