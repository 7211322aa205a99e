"""Sign-in, roles, CSRF and expired sessions."""
import re

import pytest

from models import Contact, LeadStatus, User

from .conftest import HTMX, PASSWORD, sign_in

PAGES = ["/", "/companies", "/companies/1", "/companies/new", "/companies/1/edit",
         "/contacts/1", "/contacts/1/edit", "/contacts/1/lead-status",
         "/companies/1/contacts/new", "/settings/", "/account"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_needs_login(app, sample, url):
    response = app.test_client().get(url)
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_expired_session_on_htmx_request_redirects_whole_page(app, sample):
    response = app.test_client().post(
        "/contacts/1/lead-status", data={"lead_status": 2},
        headers={**HTMX, "HX-Current-URL": "http://localhost/contacts/1"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/contacts/1"
    assert Contact.get_by_id(1).lead_status.name == "Open"


def test_wrong_password_rerenders_with_message(app, users):
    response = app.test_client().post("/login", data={"email": "rep@example.test",
                                                      "password": "nope"})
    assert response.status_code == 422
    assert b"Wrong e-mail or password." in response.data


def test_login_follows_local_next_only(app, users):
    client = app.test_client()
    response = client.post("/login?next=//evil.example/x",
                           data={"email": "rep@example.test", "password": PASSWORD})
    assert response.location == "/my-day"
    client.post("/logout")
    response = client.post("/login?next=/settings/",
                           data={"email": "rep@example.test", "password": PASSWORD})
    assert response.location == "/settings/"


@pytest.mark.parametrize("role, landing", [("rep", "/my-day"), ("manager", "/dashboards"),
                                            ("admin", "/dashboards")])
def test_each_role_lands_on_its_own_start_page(app, users, role, landing):
    """Reps start on My day, managers and admins on their dashboard; so does "/"."""
    client = app.test_client()
    response = client.post("/login", data={"email": f"{role}@example.test", "password": PASSWORD})
    assert response.status_code == 302 and response.location == landing
    assert client.get("/").location == landing
    assert client.get("/login").location == landing
    assert client.get(landing, follow_redirects=True).status_code == 200


def test_next_wins_over_the_landing_page(app, users):
    response = app.test_client().post("/login?next=/search",
                                      data={"email": "manager@example.test", "password": PASSWORD})
    assert response.location == "/search"


def test_a_rep_without_leads_is_told_where_leads_come_from(client):
    page = client.get("/board").data.decode()
    assert "You have no leads yet." in page
    assert 'href="/companies"' in page and 'href="/import/"' not in page


def test_an_empty_filter_says_nothing_matches(client, sample):
    page = client.get("/board?q=nobody-by-this-name").data.decode()
    assert "No cards match these filters." in page and "You have no leads yet." not in page


def test_a_rep_with_leads_sees_no_empty_state(client, sample):
    assert "You have no leads yet." not in client.get("/board").data.decode()


def test_inactive_user_cannot_sign_in(app, users):
    User.update(active=False).where(User.email == "rep@example.test").execute()
    response = app.test_client().post("/login", data={"email": "rep@example.test",
                                                      "password": PASSWORD})
    assert response.status_code == 422


def test_passwords_are_hashed(users):
    stored = User.get(User.email == "rep@example.test").password_hash
    assert PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


@pytest.mark.parametrize("role, status", [("rep", 403), ("manager", 403), ("admin", 200)])
def test_settings_are_for_admins_only(app, users, role, status):
    client = sign_in(app.test_client(), f"{role}@example.test")
    assert client.get("/settings/", follow_redirects=True).status_code == status
    nav = client.get("/companies").data
    assert (b'href="/settings/"' in nav) == (role == "admin")
    # Managers' one setting: the deleted records they may restore (R27).
    assert (b'href="/settings/deleted"' in nav) == (role == "manager")


def test_forbidden_htmx_request_gets_message_fragment(app, users):
    client = sign_in(app.test_client(), "rep@example.test")
    response = client.get("/settings/", headers=HTMX)
    assert response.status_code == 403
    assert b'class="error-message"' in response.data and b"<html" not in response.data


def test_logout_needs_post(client):
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/companies").status_code == 302


def test_account_changes_language_and_password(client):
    response = client.post("/account", data={"language": "sv", "password": "new password 1",
                                             "confirm": "new password 1"})
    assert response.status_code == 302
    rep = User.get(User.email == "rep@example.test")
    assert rep.language == "sv" and rep.check_password("new password 1")


def test_account_rejects_mismatched_passwords(client):
    response = client.post("/account", data={"language": "nb", "password": "new password 1",
                                             "confirm": "other password"})
    assert response.status_code == 422
    assert User.get(User.email == "rep@example.test").language == "en"


class TestCsrf:
    @pytest.fixture
    def app(self, app):
        app.config["WTF_CSRF_ENABLED"] = True
        return app

    def token(self, client, url):
        page = client.get(url).data.decode()
        return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)

    def signed_in(self, app):
        client = app.test_client()
        token = self.token(client, "/login")
        response = client.post("/login", data={"email": "rep@example.test", "password": PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302
        return client

    def test_post_without_token_is_refused_and_changes_nothing(self, app, sample):
        client = self.signed_in(app)
        qualified = LeadStatus.get(name="Qualified").id
        response = client.post("/contacts/1/lead-status", data={"lead_status": qualified},
                               headers=HTMX)
        assert response.status_code == 400
        assert b"security token" in response.data
        assert Contact.get_by_id(1).lead_status.name == "Open"

    def test_forged_token_is_refused(self, app, sample):
        client = self.signed_in(app)
        response = client.post("/companies/1/category", data={"category": 5},
                               headers={**HTMX, "X-CSRFToken": "forged"})
        assert response.status_code == 400
        assert sample["lead"].category.name == "Lead"

    def test_htmx_header_token_is_accepted(self, app, sample):
        client = self.signed_in(app)
        token = self.token(client, "/contacts/1")
        qualified = LeadStatus.get(name="Qualified").id
        response = client.post("/contacts/1/lead-status", data={"lead_status": qualified},
                               headers={**HTMX, "X-CSRFToken": token})
        assert response.status_code == 200
        assert Contact.get_by_id(1).lead_status.name == "Qualified"

    def test_login_form_without_token_is_refused(self, app, users):
        response = app.test_client().post("/login", data={"email": "rep@example.test",
                                                          "password": PASSWORD})
        assert response.status_code == 400


@pytest.mark.parametrize("language, companies, lead_status", [
    ("en", "Companies", "Lead status"), ("sv", "Företag", "Leadstatus"),
    ("nb", "Firmaer", "Leadstatus")])
def test_interface_speaks_the_users_language(client, sample, language, companies, lead_status):
    User.update(language=language).where(User.email == "rep@example.test").execute()
    page = client.get(f"/contacts/{sample['anna'].id}").data.decode()
    assert f">{companies}</a>" in page and f">{lead_status}</dt>" in page
    assert f'<html lang="{language}">' in page


def test_the_sign_in_page_offers_each_language_and_keeps_the_choice(app, users):
    client = app.test_client()
    page = client.get("/login?next=/search").data.decode()
    assert all(f'hreflang="{code}"' in page for code in ("en", "sv", "nb"))
    assert '<html lang="en">' in page
    page = client.get("/login?lang=sv&next=/search").data.decode()
    assert '<html lang="sv">' in page and "Logga in" in page
    # The choice holds while the form is posted, and next= still wins.
    response = client.post("/login?next=/search", data={"email": "rep@example.test",
                                                       "password": "wrong"})
    assert "Logga in" in response.data.decode()
    response = client.post("/login?next=/search", data={"email": "rep@example.test",
                                                       "password": PASSWORD})
    assert response.location == "/search"


def test_an_unknown_language_on_the_sign_in_page_changes_nothing(app):
    page = app.test_client().get("/login?lang=xx").data.decode()
    assert '<html lang="en">' in page
