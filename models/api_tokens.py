"""R31: per-user tokens for the JSON API: named, scoped read or write, revocable.

A token is shown once, when it is made: `tav_` and 43 URL-safe characters
(256 random bits). Only its SHA-256 hash is kept; the secret has too much
entropy for a slow password hash to add anything, and a fast one lets every
API request look its token up by an index. A request through a token acts
as its user with that user's rights, and only as far as the scope allows.
"""
import hashlib
import secrets
from datetime import timedelta

from peewee import Case, CharField, DateTimeField, ForeignKeyField, IntegerField

from .audit import describe_changes, record_audit
from .db import BaseModel, database
from .engine import Actor
from .errors import RuleViolation
from .schema import N_, User, now
from .values import clean_name

AREA = "api_tokens"
SCOPES = {"read": N_("Read"), "write": N_("Read and write")}
PREFIX = "tav_"
NAME_MAX = 100
# Requests one token may make per rate window; past it the API answers 429.
RATE_LIMIT = 600
RATE_WINDOW = timedelta(minutes=1)


class ApiToken(BaseModel):
    user = ForeignKeyField(User, backref="api_tokens", on_delete="CASCADE")
    name = CharField()
    scope = CharField(default="read")
    token_hash = CharField(unique=True)
    prefix = CharField()  # the first characters, so people can tell their tokens apart
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=now)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
    window_start = DateTimeField(null=True)
    window_count = IntegerField(default=0)

    @property
    def can_write(self):
        return self.scope == "write"


class TooManyRequests(RuleViolation):
    """The token used up its requests of this window."""

    def __init__(self, retry_after):
        super().__init__(N_("Too many requests. Please wait %(seconds)s seconds."),
                         seconds=retry_after)
        self.retry_after = retry_after


def _hash(secret):
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def can_manage_tokens(actor, user):
    """Admins manage anyone's tokens; every user their own."""
    return actor.is_admin or actor.id == user.id


def create_token(user, name, scope, actor):
    """A new token for `user`; returns (token row, the secret to show once)."""
    if not can_manage_tokens(actor, user):
        raise RuleViolation(N_("You may only create tokens for yourself."))
    if not user.active:
        raise RuleViolation(N_("A deactivated user cannot have new tokens."), field="user")
    name = clean_name(name, NAME_MAX, missing=N_("Give the token a name."))
    if scope not in SCOPES:
        raise RuleViolation(N_("Choose read or write."), field="scope")
    secret = PREFIX + secrets.token_urlsafe(32)
    with database.atomic():
        token = ApiToken.create(user=user, name=name, scope=scope, token_hash=_hash(secret),
                                prefix=secret[:len(PREFIX) + 4], created_by=actor.id)
        record_audit(Actor(actor), AREA, "created", f"{user.email}: {name}",
                     describe_changes({"scope": None}, {"scope": scope}))
    return token, secret


def revoke_token(token, actor):
    """Stop a token from working, at once and for good."""
    if not can_manage_tokens(actor, token.user):
        raise RuleViolation(N_("You may only revoke your own tokens."))
    if token.revoked_at is not None:
        return False
    with database.atomic():
        ApiToken.update(revoked_at=now()).where(ApiToken.id == token.id).execute()
        record_audit(Actor(actor), AREA, "revoked", f"{token.user.email}: {token.name}")
    return True


def tokens_of(user=None):
    """Tokens with their users, newest first; `user` narrows to one user's."""
    query = (ApiToken.select(ApiToken, User).join(User, on=(ApiToken.user == User.id))
             .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return query.where(ApiToken.user == user.id) if user is not None else query


def authenticate_token(secret, at=None, limit=None):
    """The live token `secret` names (with its user), or None; counts the request.

    The count and the last-used time are one UPDATE that every server
    process shares: a window older than RATE_WINDOW starts again at 1.
    Raises TooManyRequests past `limit` requests in a window.
    """
    if not isinstance(secret, str) or not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    at, limit = at or now(), limit or RATE_LIMIT
    with database.atomic():
        token = (ApiToken.select(ApiToken, User).join(User, on=(ApiToken.user == User.id))
                 .where(ApiToken.token_hash == _hash(secret), ApiToken.revoked_at.is_null(),
                        User.active == True)  # noqa: E712
                 .get_or_none())
        if token is None:
            return None
        stale = ApiToken.window_start.is_null() | (ApiToken.window_start <= at - RATE_WINDOW)
        (ApiToken.update(
            window_start=Case(None, [(stale, at)], ApiToken.window_start),
            window_count=Case(None, [(stale, 1)], ApiToken.window_count + 1),
            last_used_at=at)
         .where(ApiToken.id == token.id).execute())
        token = (ApiToken.select(ApiToken, User).join(User, on=(ApiToken.user == User.id))
                 .where(ApiToken.id == token.id).get())
    if token.window_count > limit:
        retry = RATE_WINDOW - (at - token.window_start)
        raise TooManyRequests(max(1, int(retry.total_seconds())))
    return token
