"""User accounts as admins manage them: create, edit, reset a password, (de)activate.

Every change runs in one transaction together with its audit entry; the
audit never holds a password or its hash. A refused change names the form
field it is about in the `field` parameter of its RuleViolation (the message
ignores it). There is always at least one active admin, and deactivating a
user leaves their companies and contacts with them until someone reassigns
them.
"""
import re

from peewee import IntegrityError, fn

from .audit import describe_changes, record_audit
from .db import database, is_sqlite
from .rules import Actor, RuleViolation
from .schema import LANGUAGES, N_, ROLES, Company, Contact, User

AREA = "users"
ADMIN = "admin"
NAME_MAX = 100
EMAIL_MAX = 200
PASSWORD_MIN = 8
PASSWORD_MAX = 200
AUDITED_FIELDS = ("email", "name", "role", "language")
# Deliberately loose: something, one @, a domain with a dot, no spaces.
# Whether the mailbox exists is the mail server's business.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")


def _clean_email(email, user_id=None):
    """Stripped and lower-cased, well-formed and not used by another user (any case)."""
    email = (email or "").strip().lower()
    if not email:
        raise RuleViolation(N_("A user needs an e-mail address."), field="email")
    if len(email) > EMAIL_MAX:
        raise RuleViolation(N_("An e-mail address can be at most %(limit)s characters."),
                            limit=EMAIL_MAX, field="email")
    if not EMAIL_PATTERN.match(email):
        raise RuleViolation(N_("%(email)s is not a valid e-mail address."), email=email,
                            field="email")
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
    name = (name or "").strip()
    if not name:
        raise RuleViolation(N_("A user needs a name."), field="name")
    if len(name) > NAME_MAX:
        raise RuleViolation(N_("A name can be at most %(limit)s characters."),
                            limit=NAME_MAX, field="name")
    return name


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
    """Give a user a new password; the old one stops working at once."""
    _check_password(password)
    with database.atomic():
        user.set_password(password)
        user.save(only=[User.password_hash])
        # The entry says that it happened, never what the password is.
        record_audit(actor or Actor.system(), AREA, "password reset", user.email)
    return user


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
