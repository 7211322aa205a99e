"""Owner changes become first-class history rows.

Until now only distribution flows recorded an owner ("owner" rows whose
`actor` held the new owner, since nobody acted). An owner change can now be
made by a person too (the board grouped by owner, the contact form, a bulk
update), so the row says who acted in `actor` and the owners before and
after in `from_owner` / `to_owner`. Existing rows are moved over.
"""
from peewee import ForeignKeyField, Model


class User(Model):
    """Just enough of the user table to point a foreign key at it."""

    class Meta:
        table_name = "user"


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("history", "from_owner_id",
                            ForeignKeyField(User, field=User.id, null=True)),
        migrator.add_column("history", "to_owner_id",
                            ForeignKeyField(User, field=User.id, null=True)),
    )
    db.execute_sql("UPDATE history SET to_owner_id = actor_id, actor_id = NULL "
                   "WHERE kind = 'owner'")


def down(migrator, db):
    db.execute_sql("UPDATE history SET actor_id = to_owner_id WHERE kind = 'owner'")
    migrator.migrate(migrator.drop_column("history", "to_owner_id"),
                     migrator.drop_column("history", "from_owner_id"))
