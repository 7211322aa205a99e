"""Sign-in security: a session version per user, and failed sign-ins.

`user.session_version` is part of what a session cookie holds: raising it
ends every session of that user (signing out, a new password, an admin's
reset). `login_failure` counts failed sign-ins per account and per client
address, in the database so that every server process sees the same count;
rows older than the throttle window are deleted as new ones come.
"""
from peewee import CharField, DateTimeField, IntegerField, Model


def up(migrator, db):
    class LoginFailure(Model):
        account = CharField()
        address = CharField()
        created_at = DateTimeField()

        class Meta:
            database = db
            legacy_table_names = False
            indexes = ((("account", "created_at"), False),
                       (("address", "created_at"), False),
                       (("created_at",), False))

    migrator.migrate(migrator.add_column("user", "session_version", IntegerField(default=0)))
    db.create_tables([LoginFailure])


def down(migrator, db):
    db.execute_sql("DROP TABLE login_failure")
    migrator.migrate(migrator.drop_column("user", "session_version"))
