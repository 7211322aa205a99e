"""User administration: create, edit, reset a password, (de)activate, and the last-admin guard."""
import pytest

from models import (Actor, AuditLog, Category, Company, Contact, RuleViolation, User,
                    create_company, create_contact, create_user, deactivate_user, reactivate_user,
                    reset_password, update_user)
from models.audit import audit_changes
from models.users import users_with_counts

PASSWORD = "first password"


def make(email="rep@example.test", role="rep", name="Rita Rep", language="en"):
    return create_user(Actor(), email=email, name=name, role=role, language=language,
                       password=PASSWORD)


@pytest.fixture
def admin(db):
    return make("admin@example.test", "admin", "Ada Admin")


@pytest.fixture
def by_admin(admin):
    return Actor(admin)


def fresh(user):
    return User.get_by_id(user.id)


def snapshot():
    return sorted((u.id, u.email, u.name, u.role, u.language, u.active, u.password_hash)
                  for u in User.select())


def test_create_normalises_the_email_and_hashes_the_password(by_admin):
    user = create_user(by_admin, email="  Rita.Rep@Example.TEST ", name=" Rita Rep ",
                       role="rep", language="sv", password=PASSWORD)
    stored = fresh(user)
    assert (stored.email, stored.name, stored.role, stored.language, stored.active) == (
        "rita.rep@example.test", "Rita Rep", "rep", "sv", True)
    assert stored.check_password(PASSWORD) and PASSWORD not in stored.password_hash


def test_create_and_change_are_audited_without_the_password(admin, by_admin):
    rita = create_user(by_admin, email="rita@example.test", name="Rita", role="rep",
                       language="en", password=PASSWORD)
    update_user(rita, by_admin, email="rita@example.test", name="Rita Rep", role="manager",
                language="sv")
    reset_password(rita, by_admin, "second password")
    entries = list(AuditLog.select().where(AuditLog.area == "users",
                                           AuditLog.subject == "rita@example.test")
                   .order_by(AuditLog.id))
    assert [e.action for e in entries] == ["created", "changed", "password reset"]
    assert all(e.actor_id == admin.id for e in entries)
    changes = audit_changes(entries[1].details)
    assert ("role", "rep", "manager") in changes and ("language", "en", "sv") in changes
    text = " ".join(e.details for e in AuditLog.select())
    assert PASSWORD not in text and "second password" not in text
    assert fresh(rita).password_hash not in text and "password_hash" not in text


def test_an_unchanged_edit_writes_no_audit_entry(by_admin):
    rita = make()
    before = AuditLog.select().count()
    update_user(rita, by_admin, email=rita.email, name=rita.name, role="rep", language="en")
    assert AuditLog.select().count() == before


def test_language_change_to_swedish(by_admin):
    rita = make()
    update_user(rita, by_admin, email=rita.email, name=rita.name, role="rep", language="sv")
    assert fresh(rita).language == "sv"


@pytest.mark.parametrize("email", ["REP@example.test", " rep@EXAMPLE.test "])
def test_email_is_unique_whatever_its_case(by_admin, email):
    make()
    before = snapshot()
    with pytest.raises(RuleViolation, match="already has the e-mail address") as refused:
        make(email=email, name="Other")
    assert refused.value.params["field"] == "email"
    assert snapshot() == before


def test_changing_to_another_users_email_is_refused(by_admin):
    rita = make()
    olle = make("olle@example.test", name="Olle")
    with pytest.raises(RuleViolation, match="already has the e-mail address"):
        update_user(olle, by_admin, email="Rep@Example.test", name="Olle", role="rep",
                    language="en")
    assert fresh(olle).email == "olle@example.test" and olle.email == "olle@example.test"
    # Keeping one's own address in another case is no clash.
    update_user(rita, by_admin, email="REP@example.test", name="Rita", role="rep", language="en")
    assert fresh(rita).email == "rep@example.test"


@pytest.mark.parametrize("changes, field", [
    ({"email": "not-an-address"}, "email"),
    ({"email": "two@@example.test"}, "email"),
    ({"email": "space in@example.test"}, "email"),
    ({"email": ""}, "email"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"role": "superuser"}, "role"),
    ({"language": "de"}, "language"),
    ({"password": "short"}, "password"),
])
def test_bad_new_users_are_refused_with_a_clear_message(by_admin, changes, field):
    before = snapshot()
    fields = {"email": "new@example.test", "name": "New", "role": "rep", "language": "en",
              "password": PASSWORD, **changes}
    with pytest.raises(RuleViolation) as refused:
        create_user(by_admin, **fields)
    assert refused.value.params["field"] == field
    assert snapshot() == before


@pytest.mark.parametrize("changes", [{"role": "superuser"}, {"language": "de"}, {"name": ""},
                                     {"email": "nope"}])
def test_bad_edits_change_nothing(by_admin, changes):
    rita = make()
    before = snapshot()
    fields = {"email": rita.email, "name": "Renamed", "role": "manager", "language": "sv",
              **changes}
    with pytest.raises(RuleViolation):
        update_user(rita, by_admin, **fields)
    assert snapshot() == before


def test_password_reset_replaces_the_old_password(by_admin):
    rita = make()
    reset_password(rita, by_admin, "brand new secret")
    stored = fresh(rita)
    assert stored.check_password("brand new secret") and not stored.check_password(PASSWORD)


def test_too_short_password_reset_is_refused(by_admin):
    rita = make()
    with pytest.raises(RuleViolation, match="at least 8 characters"):
        reset_password(rita, by_admin, "1234567")
    assert fresh(rita).check_password(PASSWORD)


def test_last_admin_cannot_lose_the_role(admin, by_admin):
    with pytest.raises(RuleViolation, match="at least one active admin") as refused:
        update_user(admin, by_admin, email=admin.email, name=admin.name, role="manager",
                    language="en")
    assert refused.value.params["field"] == "role"
    assert fresh(admin).role == "admin" and admin.role == "admin"


def test_last_admin_cannot_be_deactivated(admin):
    with pytest.raises(RuleViolation, match="at least one active admin"):
        deactivate_user(admin, Actor.system())
    assert fresh(admin).active


def test_an_inactive_admin_does_not_count(admin, by_admin):
    other = make("other@example.test", "admin", "Other Admin")
    deactivate_user(other, by_admin)
    with pytest.raises(RuleViolation, match="at least one active admin"):
        update_user(admin, by_admin, email=admin.email, name=admin.name, role="rep",
                    language="en")
    # The deactivated admin may be demoted: it leaves the active admin in place.
    update_user(other, by_admin, email=other.email, name=other.name, role="rep", language="en")
    assert fresh(other).role == "rep"


def test_with_a_second_admin_the_first_may_step_down(admin, by_admin):
    make("other@example.test", "admin", "Other Admin")
    update_user(admin, by_admin, email=admin.email, name=admin.name, role="manager",
                language="en")
    assert fresh(admin).role == "manager"


def test_an_admin_cannot_deactivate_themselves(admin, by_admin):
    make("other@example.test", "admin", "Other Admin")
    with pytest.raises(RuleViolation, match="your own account"):
        deactivate_user(admin, by_admin)
    assert fresh(admin).active


def test_deactivated_users_keep_their_companies_and_contacts(by_admin):
    rita = make()
    company = create_company(by_admin, name="Fjällbo AB", category=Category.get(name="Lead"),
                             owner=rita)
    contact = create_contact(company, by_admin, first_name="Anna", last_name="Berg", owner=rita)
    assert deactivate_user(rita, by_admin) is True
    assert not fresh(rita).active
    assert Contact.get_by_id(contact.id).owner_id == rita.id
    assert Company.get_by_id(company.id).owner_id == rita.id
    assert deactivate_user(rita, by_admin) is False
    assert reactivate_user(rita, by_admin) is True and fresh(rita).active
    assert reactivate_user(rita, by_admin) is False
    actions = [e.action for e in AuditLog.select().where(AuditLog.subject == rita.email)
               .order_by(AuditLog.id)]
    assert actions == ["created", "deactivated", "reactivated"]


def test_user_list_counts_ownership_and_puts_the_active_first(by_admin):
    rita = make(name="Rita")
    bo = make("bo@example.test", name="Bo")
    company = create_company(by_admin, name="Fjällbo AB", category=Category.get(name="Lead"),
                             owner=rita)
    for first_name in ("Anna", "Bert"):
        create_contact(company, by_admin, first_name=first_name, last_name="Berg", owner=rita)
    deactivate_user(rita, by_admin)
    listed = list(users_with_counts())
    assert [u.name for u in listed] == ["Ada Admin", "Bo", "Rita"]
    counts = {u.name: (u.company_count, u.contact_count) for u in listed}
    assert counts == {"Ada Admin": (0, 0), "Bo": (0, 0), "Rita": (1, 2)}
    assert not listed[-1].active and bo.active
