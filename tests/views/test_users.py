"""Settings → Users through the views: an admin's day, and what a rep or a forger may try."""
import pytest
from playhouse.test_utils import count_queries

from models import Actor, AuditLog, Category, Company, Contact, User, create_company, create_contact

from .conftest import HTMX, PASSWORD, make_user, sign_in

NEW_PASSWORD = "a much better secret"


def user(email):
    return User.get(User.email == email)


def snapshot():
    return sorted((u.id, u.email, u.name, u.role, u.language, u.active, u.password_hash)
                  for u in User.select())


def edit_form(target, **changes):
    return {"email": target.email, "name": target.name, "role": target.role,
            "language": target.language, **changes}


def can_sign_in(app, email, password):
    response = app.test_client().post("/login", data={"email": email, "password": password})
    return response.status_code == 302


def test_list_shows_role_language_status_and_ownership(admin_client, sample, users):
    gone = make_user("gone@example.test", "rep", name="Gone Rep")
    gone.active = False
    gone.save()
    page = admin_client.get("/settings/users/").data.decode()
    for text in ("Admin", "Manager", "Sales rep", "English", "rep@example.test", "Deactivated"):
        assert text in page
    # Active users first, by name; the deactivated one last.
    assert page.index("Admin</a>") < page.index("Manager</a>") < page.index("Rep</a>") \
        < page.index("Gone Rep</a>")
    rep_row = page[page.index(f'data-id="{users["rep"].id}"'):]
    rep_row = rep_row[:rep_row.index("</tr>")]
    # The rep owns the lead company and Anna.
    assert ('<td class="num" data-label="Companies">1</td>\n'
            '        <td class="num" data-label="Contacts">1</td>') in rep_row
    assert "hx-confirm=" in page and "Reset password" in page


def test_admin_adds_a_rep_who_can_sign_in(app, admin_client, users):
    response = admin_client.post("/settings/users/new", data={
        "name": "Sara Säljare", "email": " Sara@Example.TEST ", "role": "rep",
        "language": "sv", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.location == "/settings/users/"
    sara = user("sara@example.test")
    assert (sara.name, sara.role, sara.language, sara.active) == (
        "Sara Säljare", "rep", "sv", True)
    assert can_sign_in(app, "sara@example.test", NEW_PASSWORD)
    assert "Sara Säljare" in admin_client.get("/settings/users/").data.decode()


def test_new_user_form_renders_with_defaults(admin_client, users):
    page = admin_client.get("/settings/users/new").data.decode()
    assert 'name="password"' in page and 'name="confirm"' in page
    assert '<option selected value="rep">' in page


def test_admin_sets_a_reps_language_to_swedish_and_the_rep_sees_swedish(
        admin_client, client, users):
    rep = users["rep"]
    page = admin_client.get(f"/settings/users/{rep.id}/edit").data.decode()
    assert 'value="rep@example.test"' in page and "Reset password" in page
    response = admin_client.post(f"/settings/users/{rep.id}/edit",
                                 data=edit_form(rep, language="sv", name="Rep Rask"))
    assert response.status_code == 302
    assert (user("rep@example.test").language, user("rep@example.test").name) == ("sv",
                                                                                   "Rep Rask")
    assert "Företag" in client.get("/companies").data.decode()


def test_password_reset_lets_the_new_password_in_and_keeps_the_old_out(app, admin_client, users):
    rep = users["rep"]
    assert admin_client.get(f"/settings/users/{rep.id}/password").status_code == 200
    response = admin_client.post(f"/settings/users/{rep.id}/password",
                                 data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert "The password of Rep was changed." in admin_client.get(response.location).data.decode()
    assert can_sign_in(app, "rep@example.test", NEW_PASSWORD)
    assert not can_sign_in(app, "rep@example.test", PASSWORD)


@pytest.mark.parametrize("data, message", [
    ({"password": NEW_PASSWORD, "confirm": "something else"}, "The passwords do not match."),
    ({"password": "short", "confirm": "short"}, "at least 8 characters"),
    ({"password": "", "confirm": ""}, "This field is required."),
])
def test_bad_password_resets_change_nothing(admin_client, users, data, message):
    before = snapshot()
    response = admin_client.post(f"/settings/users/{users['rep'].id}/password", data=data)
    assert response.status_code == 422 and message in response.data.decode()
    assert snapshot() == before


def test_deactivated_user_cannot_sign_in_and_keeps_their_leads(app, admin_client, client,
                                                                sample, users):
    rep = users["rep"]
    response = admin_client.post(f"/settings/users/{rep.id}/deactivate")
    assert response.status_code == 302 and response.location == "/settings/users/"
    assert not user("rep@example.test").active
    assert not can_sign_in(app, "rep@example.test", PASSWORD)
    # The session the rep already had ends with the next request.
    assert client.get("/companies").status_code == 302
    assert Contact.get_by_id(sample["anna"].id).owner_id == rep.id
    assert Company.get_by_id(sample["lead"].id).owner_id == rep.id
    page = admin_client.get("/settings/users/").data.decode()
    assert "Reactivate" in page


def test_deactivate_and_reactivate_through_htmx_rerender_the_list(app, admin_client, users):
    rep = users["rep"]
    response = admin_client.post(f"/settings/users/{rep.id}/deactivate", headers=HTMX)
    body = response.data.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="user-list"') and "<html" not in body
    assert "Reactivate" in body
    response = admin_client.post(f"/settings/users/{rep.id}/reactivate", headers=HTMX)
    assert response.status_code == 200 and "Reactivate" not in response.data.decode()
    assert can_sign_in(app, "rep@example.test", PASSWORD)
    actions = [e.action for e in AuditLog.select().where(AuditLog.subject == rep.email)
               .order_by(AuditLog.id)]
    assert actions == ["deactivated", "reactivated"]


def test_list_fragment_for_htmx_and_page_otherwise(admin_client, users):
    fragment = admin_client.get("/settings/users/", headers=HTMX).data.decode()
    assert fragment.lstrip().startswith('<div id="user-list"') and "<html" not in fragment
    page = admin_client.get("/settings/users/").data.decode()
    assert "<html" in page and 'id="user-list"' in page


def test_last_admin_cannot_give_up_the_role(admin_client, users):
    before = snapshot()
    response = admin_client.post(f"/settings/users/{users['admin'].id}/edit",
                                 data=edit_form(users["admin"], role="manager"))
    assert response.status_code == 422
    assert "There must be at least one active admin." in response.data.decode()
    assert snapshot() == before


def test_with_a_second_admin_an_admin_may_step_down_and_leaves_settings(admin_client, users):
    make_user("second@example.test", "admin")
    response = admin_client.post(f"/settings/users/{users['admin'].id}/edit",
                                 data=edit_form(users["admin"], role="manager"))
    assert response.status_code == 302 and response.location == "/dashboards"
    assert user("admin@example.test").role == "manager"
    assert admin_client.get("/settings/users/").status_code == 403


@pytest.mark.parametrize("htmx", [False, True])
def test_an_admin_cannot_deactivate_themselves(admin_client, users, htmx):
    make_user("second@example.test", "admin")
    before = snapshot()
    response = admin_client.post(f"/settings/users/{users['admin'].id}/deactivate",
                                 headers=HTMX if htmx else {})
    body = response.data.decode()
    assert response.status_code == 409
    assert 'class="error-message' in body and "You cannot deactivate your own account." in body
    assert ("<html" in body) is not htmx
    assert snapshot() == before


def test_an_admin_is_not_offered_to_deactivate_themselves(admin_client, users):
    page = admin_client.get("/settings/users/").data.decode()
    assert f'/settings/users/{users["admin"].id}/deactivate' not in page
    assert f'/settings/users/{users["rep"].id}/deactivate' in page


NEW_USER = {"name": "Nina Ny", "email": "nina@example.test", "role": "rep", "language": "en",
            "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}


@pytest.mark.parametrize("data, message", [
    ({"role": "superuser"}, "Not a valid choice"),
    ({"language": "de"}, "Not a valid choice"),
    ({"name": ""}, "This field is required."),
    ({"name": "   "}, "This field is required."),
    ({"email": "nina-at-example"}, "nina-at-example is not a valid e-mail address."),
    ({"email": "REP@Example.test"},
     "Another user already has the e-mail address rep@example.test."),
    ({"email": ""}, "This field is required."),
    ({"password": "short", "confirm": "short"}, "at least 8 characters"),
    ({"confirm": "not the same"}, "The passwords do not match."),
])
def test_forged_or_bad_new_users_change_nothing(admin_client, users, data, message):
    before = snapshot()
    audit_before = AuditLog.select().count()
    response = admin_client.post("/settings/users/new", data={**NEW_USER, **data})
    body = response.data.decode()
    assert response.status_code == 422 and message in body
    assert 'class="field-error"' in body
    assert snapshot() == before and AuditLog.select().count() == audit_before


@pytest.mark.parametrize("data, message", [
    ({"role": "superuser"}, "Not a valid choice"),
    ({"language": "de"}, "Not a valid choice"),
    ({"name": ""}, "This field is required."),
    ({"email": "rep@@example.test"}, "is not a valid e-mail address."),
    ({"email": "Manager@example.test"}, "Another user already has the e-mail address"),
])
def test_forged_or_bad_edits_change_nothing(admin_client, users, data, message):
    rep = users["rep"]
    before = snapshot()
    response = admin_client.post(f"/settings/users/{rep.id}/edit",
                                 data=edit_form(rep, **{"name": "Renamed", **data}))
    assert response.status_code == 422 and message in response.data.decode()
    assert snapshot() == before


@pytest.mark.parametrize("method, url", [
    ("get", "/settings/users/4242/edit"), ("post", "/settings/users/4242/edit"),
    ("get", "/settings/users/4242/password"), ("post", "/settings/users/4242/password"),
    ("post", "/settings/users/4242/deactivate"), ("post", "/settings/users/4242/reactivate"),
])
def test_unknown_user_is_404(admin_client, users, method, url):
    before = snapshot()
    response = getattr(admin_client, method)(url, data={**NEW_USER})
    assert response.status_code == 404
    assert "We could not find that page or record." in response.data.decode()
    assert snapshot() == before


def test_changes_are_in_the_audit_log_without_passwords(admin_client, users):
    rep = users["rep"]
    admin_client.post("/settings/users/new", data=NEW_USER)
    admin_client.post(f"/settings/users/{rep.id}/edit", data=edit_form(rep, language="sv"))
    admin_client.post(f"/settings/users/{rep.id}/password",
                      data={"password": "another secret!", "confirm": "another secret!"})
    admin_client.post(f"/settings/users/{rep.id}/deactivate")
    entries = list(AuditLog.select().where(AuditLog.area == "users").order_by(AuditLog.id))
    assert [(e.action, e.subject) for e in entries] == [
        ("created", "nina@example.test"), ("changed", "rep@example.test"),
        ("password reset", "rep@example.test"), ("deactivated", "rep@example.test")]
    assert all(e.actor_id == users["admin"].id for e in entries)
    stored = " ".join(f"{e.subject} {e.details}" for e in entries)
    for secret in (NEW_PASSWORD, "another secret!", user("rep@example.test").password_hash,
                   user("nina@example.test").password_hash):
        assert secret not in stored
    page = admin_client.get("/settings/audit?area=users").data.decode()
    for text in ("Password reset", "Deactivated", "nina@example.test", "Admin",
                 "Language: English → Svenska"):
        assert text in page


USERS_URLS = [("get", "/settings/users/"), ("get", "/settings/users/new"),
              ("post", "/settings/users/new"), ("get", "/settings/users/{id}/edit"),
              ("post", "/settings/users/{id}/edit"), ("get", "/settings/users/{id}/password"),
              ("post", "/settings/users/{id}/password"),
              ("post", "/settings/users/{id}/deactivate"),
              ("post", "/settings/users/{id}/reactivate"),
              ("get", "/settings/audit")]
FORGED = {**NEW_USER, "role": "admin", "email": "rep@example.test", "name": "Boss"}


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("method, url", USERS_URLS)
def test_rep_is_refused_every_users_url(client, users, method, url, htmx):
    before = snapshot()
    response = getattr(client, method)(url.format(id=users["manager"].id), data=FORGED,
                                       headers=HTMX if htmx else {})
    assert response.status_code == 403
    assert snapshot() == before and not AuditLog.select().exists()


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("method, url", USERS_URLS)
def test_signed_out_visitors_are_sent_to_login(app, users, method, url, htmx):
    before = snapshot()
    response = getattr(app.test_client(), method)(url.format(id=users["rep"].id), data=FORGED,
                                                  headers=HTMX if htmx else {})
    if htmx:
        assert response.status_code == 401
        assert response.headers["HX-Redirect"].startswith("/login")
    else:
        assert response.status_code == 302 and response.location.startswith("/login")
    assert snapshot() == before


def test_manager_is_refused_too(app, users):
    manager = sign_in(app.test_client(), "manager@example.test")
    assert manager.get("/settings/users/").status_code == 403
    assert manager.post(f"/settings/users/{users['rep'].id}/deactivate").status_code == 403
    assert user("rep@example.test").active


def test_list_query_count_is_fixed(admin_client, users):
    def queries():
        with count_queries() as counter:
            assert admin_client.get("/settings/users/").status_code == 200
        return counter.count
    few = queries()
    lead = Category.get(name="Lead")
    for number in range(17):
        owner = make_user(f"user{number}@example.test", "rep")
        company = create_company(Actor(), name=f"C{number}", category=lead, owner=owner)
        create_contact(company, Actor(), first_name="A", last_name="B", owner=owner)
    assert User.select().count() == 20
    assert queries() == few
