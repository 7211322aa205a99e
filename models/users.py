"""User accounts as admins manage them: create, edit, reset a password, (de)activate.

Every change runs in one transaction together with its audit entry; the
audit never holds a password or its hash. A refused change names the form
field it is about in the `field` parameter of its RuleViolation (the message
ignores it). There is always at least one active admin, and deactivating a
user leaves their companies and contacts with them until someone reassigns
them.

Signing in (`authenticate`) does the same work for a known and an unknown
address, and is throttled per account and per client address through the
login_failure table, so every server process counts the same failures.
A session holds the user's session version (User.get_id): signing out, a
new password, a reset and deactivation raise it and so end every session.
"""
import hashlib
import hmac
from datetime import timedelta
from functools import lru_cache

from peewee import IntegrityError, fn
from werkzeug.security import check_password_hash, generate_password_hash

from .audit import describe_changes, record_audit
from .db import database, is_sqlite
from .prepared import Prepared
from .rules import Actor, RuleViolation
from .schema import LANGUAGES, N_, ROLES, Company, Contact, LoginFailure, User, now
from .values import EMAIL_MAX, as_int, clean_email, clean_name

AREA = "users"
ADMIN = "admin"
NAME_MAX = 100
PASSWORD_MIN = 8
PASSWORD_MAX = 200
AUDITED_FIELDS = ("email", "name", "role", "language")


def _clean_email(email, user_id=None):
    """Well-formed (models.values), lower-cased and not used by another user (any case)."""
    if not str(email or "").strip():
        raise RuleViolation(N_("A user needs an e-mail address."), field="email")
    email = clean_email(email).lower()
    same = User.select().where(fn.LOWER(User.email) == email)
    if user_id is not None:
        same = same.where(User.id != user_id)
    if same.exists():
        raise _email_taken(email)
    return email


def _email_taken(email):
    return RuleViolation(N_("Another user already has the e-mail address %(email)s."),
                         email=email, field="email")


def _clean_name(name):
    return clean_name(name, NAME_MAX, missing=N_("A user needs a name."))


def _check_role(role):
    if role not in ROLES:
        raise RuleViolation(N_("Unknown role."), field="role")


def _check_language(language):
    if language not in LANGUAGES:
        raise RuleViolation(N_("Unknown language."), field="language")


def _check_password(password):
    password = password or ""
    if len(password) < PASSWORD_MIN:
        raise RuleViolation(N_("A password needs at least %(limit)s characters."),
                            limit=PASSWORD_MIN, field="password")
    if len(password) > PASSWORD_MAX:
        raise RuleViolation(N_("A password can be at most %(limit)s characters."),
                            limit=PASSWORD_MAX, field="password")


def _check_keeps_an_admin(user, field):
    """Refuse when `user` is the only active admin. Call it inside the transaction.

    The active admins are read from the database, not from `user`, so a
    stale object cannot slip through. On PostgreSQL their rows are locked in
    id order: two admins demoting each other at once are then served one
    after the other, and the second is refused. SQLite needs no lock, its
    write transactions start with BEGIN IMMEDIATE and never overlap.
    """
    admins = (User.select(User.id)
              .where((User.role == ADMIN) & (User.active == True))  # noqa: E712
              .order_by(User.id))
    if not is_sqlite():
        admins = admins.for_update()
    admin_ids = [admin.id for admin in admins]
    if admin_ids == [user.id]:
        raise RuleViolation(N_("There must be at least one active admin."), field=field)


def _audited(user):
    return {field: getattr(user, field) for field in AUDITED_FIELDS}


def create_user(actor, email, name, role, language, password):
    """A new, active user who can sign in with `password`."""
    actor = actor or Actor.system()
    email = _clean_email(email)
    name = _clean_name(name)
    _check_role(role)
    _check_language(language)
    _check_password(password)
    user = User(email=email, name=name, role=role, language=language, active=True)
    user.set_password(password)
    try:
        with database.atomic():
            user.save()
            after = _audited(user)
            record_audit(actor, AREA, "created", email,
                         describe_changes(dict.fromkeys(after), after))
    except IntegrityError:
        # Someone took the address between the check and the insert.
        raise _email_taken(email) from None
    return user


def update_user(user, actor, email, name, role, language):
    """Change a user's e-mail, name, role or language; the last active admin stays one."""
    actor = actor or Actor.system()
    email = _clean_email(email, user.id)
    name = _clean_name(name)
    _check_role(role)
    _check_language(language)
    before = _audited(user)
    try:
        with database.atomic():
            if role != ADMIN:
                _check_keeps_an_admin(user, "role")
            user.email, user.name, user.role, user.language = email, name, role, language
            after = _audited(user)
            if after != before:
                user.save()
                record_audit(actor, AREA, "changed", email, describe_changes(before, after))
    except (IntegrityError, RuleViolation) as error:
        # Nothing was saved: leave the caller's object as it was.
        for field, value in before.items():
            setattr(user, field, value)
        if isinstance(error, IntegrityError):
            raise _email_taken(email) from None
        raise
    return user


def reset_password(user, actor, password):
    """Give a user a new password; the old one and every open session stop working at once."""
    _check_password(password)
    with database.atomic():
        user.set_password(password)
        user.save(only=[User.password_hash])
        end_sessions(user)
        # The entry says that it happened, never what the password is.
        record_audit(actor or Actor.system(), AREA, "password reset", user.email)
    return user


def change_own_password(user, password):
    """A user's new password of their own choosing; their other sessions end.

    The caller signs the current session in again with the new session
    version (the user stays signed in where they made the change).
    """
    _check_password(password)
    with database.atomic():
        user.set_password(password)
        user.save(only=[User.password_hash])
        end_sessions(user)
    return user


# --- Sessions ------------------------------------------------------------------------

def end_sessions(user):
    """Every session of `user` ends: the session version every cookie holds is raised."""
    (User.update(session_version=User.session_version + 1)
     .where(User.id == user.id)
     .execute())
    user.session_version = User.select(User.session_version).where(User.id == user.id).scalar()


def user_for_session(token):
    """The active user a session's token ("<id>.<session version>") belongs to, or None.

    A token from before the last end_sessions, of a deactivated user, or
    that cannot be read belongs to nobody.
    """
    user_id, _, version = str(token or "").partition(".")
    user_id, version = as_int(user_id), as_int(version)
    if user_id is None or version is None:
        return None
    found = _SESSION_USER(user_id, version)
    return found[0] if found else None


# Asked on every signed-in request: its SQL is written once.
_SESSION_USER = Prepared(lambda user_id, version: User.select().where(
    (User.id == user_id) & (User.session_version == version)
    & (User.active == True)).limit(1), 2)  # noqa: E712


# --- Signing in ----------------------------------------------------------------------

# Failed sign-ins counted over a sliding window: after ACCOUNT_LIMIT failures
# for one e-mail address (from anywhere) or ADDRESS_LIMIT from one client
# address (any e-mail), sign-ins are refused until enough of them are older
# than the window. Refused attempts are not counted, so the real user is
# never kept out longer than LOGIN_WINDOW after the last counted failure.
LOGIN_WINDOW = timedelta(minutes=5)
ACCOUNT_LIMIT = 10
ADDRESS_LIMIT = 30


class TooManyFailures(RuleViolation):
    """Sign-ins are paused for this account or address; `minutes` says for how long."""


@lru_cache(maxsize=1)
def _stand_in_hash():
    """A password hash made like the real ones, checked when the e-mail is unknown."""
    return generate_password_hash("no account has this password")


def _keyed(secret, kind, value):
    """A keyed hash: enough to count failures by, useless for learning who tried."""
    return hmac.new(str(secret).encode(), f"{kind}:{value}".encode(),
                    hashlib.sha256).hexdigest()[:40]


def _paused_until(column, key, limit, at):
    """When sign-ins for `key` may resume, or None when they may now."""
    limit_th_newest = (LoginFailure.select(LoginFailure.created_at)
                       .where((column == key) & (LoginFailure.created_at > at - LOGIN_WINDOW))
                       .order_by(LoginFailure.created_at.desc())
                       .offset(limit - 1).limit(1)
                       .scalar())
    return limit_th_newest + LOGIN_WINDOW if limit_th_newest else None


def authenticate(email, password, address, secret, at=None):
    """The active user with this e-mail and password, or None; TooManyFailures when paused.

    A password hash is checked whether or not the address belongs to
    anyone (a stand-in hash when it does not), so the answer takes as long
    for an unknown address as for a known one.
    """
    at = at or now()
    email = str(email or "").strip().lower()
    account, client = _keyed(secret, "account", email), _keyed(secret, "address", address)
    paused = [until for until in (
        _paused_until(LoginFailure.account, account, ACCOUNT_LIMIT, at),
        _paused_until(LoginFailure.address, client, ADDRESS_LIMIT, at)) if until]
    if paused:
        seconds = (max(paused) - at).total_seconds()
        raise TooManyFailures(N_("Too many failed sign-ins. Try again in %(minutes)s min."),
                              minutes=max(1, -(-int(seconds) // 60)))
    user = User.get_or_none(User.email == email) if len(email) <= EMAIL_MAX else None
    matches = check_password_hash(user.password_hash if user else _stand_in_hash(),
                                  str(password or ""))
    if user is not None and user.active and matches:
        return user
    with database.atomic():
        LoginFailure.create(account=account, address=client, created_at=at)
        LoginFailure.delete().where(LoginFailure.created_at <= at - LOGIN_WINDOW).execute()
    return None


def deactivate_user(user, actor):
    """The user can no longer sign in; their companies and contacts keep them as owner.

    An admin cannot deactivate their own account, and the last active admin
    stays. Returns False when the user was already inactive.
    """
    if actor is not None and actor.user is not None and actor.user.id == user.id:
        raise RuleViolation(N_("You cannot deactivate your own account."))
    if not user.active:
        return False
    with database.atomic():
        _check_keeps_an_admin(user, "active")
        user.active = False
        user.save(only=[User.active])
        # Reactivating the account later must not bring old sessions back.
        end_sessions(user)
        record_audit(actor or Actor.system(), AREA, "deactivated", user.email,
                     describe_changes({"active": True}, {"active": False}))
    return True


def reactivate_user(user, actor):
    """The user can sign in again. Returns False when the user was already active."""
    if user.active:
        return False
    with database.atomic():
        user.active = True
        user.save(only=[User.active])
        record_audit(actor or Actor.system(), AREA, "reactivated", user.email,
                     describe_changes({"active": False}, {"active": True}))
    return True


def users_with_counts():
    """Every user with the number of companies and contacts they own: active first, then by name."""
    # Correlated subqueries: one statement for the whole list, however many users.
    companies = Company.select(fn.COUNT(Company.id)).where(Company.owner == User.id)
    contacts = Contact.select(fn.COUNT(Contact.id)).where(Contact.owner == User.id)
    return (User.select(User.id, User.email, User.name, User.role, User.language, User.active,
                        companies.alias("company_count"), contacts.alias("contact_count"))
            .order_by(User.active.desc(), User.name, User.id))
