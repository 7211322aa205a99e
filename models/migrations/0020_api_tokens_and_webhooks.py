"""API tokens and webhooks (R31).

`api_token`: a user's named keys to the JSON API (/api/v1/).

The secret is shown once and stored as its SHA-256 hash (it is 256 random
bits, so a slow hash would add nothing). `window_start` / `window_count`
hold the token's rate limit window, in the database so that every server
process counts the same requests.
"""
from peewee import (BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField,
                    Model, TextField)


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        email = CharField(unique=True)

    class ApiToken(Base):
        user = ForeignKeyField(User, backref="+", on_delete="CASCADE")
        name = CharField()
        scope = CharField(default="read")
        token_hash = CharField(unique=True)
        prefix = CharField()
        created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
        created_at = DateTimeField()
        last_used_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)
        window_start = DateTimeField(null=True)
        window_count = IntegerField(default=0)

        class Meta:
            indexes = ((("user", "created_at"), False),)

    class Webhook(Base):
        url = CharField(max_length=2000)
        secret = CharField()
        events = CharField()
        active = BooleanField(default=True)
        cursor = IntegerField(default=0)
        since_id = IntegerField(default=0)
        lease_until = DateTimeField(null=True)
        created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
        created_at = DateTimeField()

    class WebhookDelivery(Base):
        webhook = ForeignKeyField(Webhook, backref="+", on_delete="CASCADE")
        event = CharField()
        history_id = IntegerField(null=True)
        payload = TextField()
        state = CharField(default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField()
        response_status = IntegerField(null=True)
        error = CharField(default="")
        created_at = DateTimeField()
        delivered_at = DateTimeField(null=True)

        class Meta:
            indexes = ((("webhook", "state", "id"), False), (("webhook", "id"), False))

    db.create_tables([ApiToken, Webhook, WebhookDelivery])


def down(migrator, db):
    db.execute_sql("DROP TABLE webhook_delivery")
    db.execute_sql("DROP TABLE webhook")
    db.execute_sql("DROP TABLE api_token")
