"""Security: headers, open redirects, ending sessions, sign-in throttling, and the
answers to bad input that used to be server errors."""
import datetime
import re
from pathlib import Path

import pytest

import models
from app import create_app
from models import Category, Company, Contact, History, LoginFailure, User
from models.users import ACCOUNT_LIMIT, ADDRESS_LIMIT, LOGIN_WINDOW, _keyed

from .conftest import HTMX, PASSWORD, sign_in

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
HUGE = "99999999999999999999"


def assert_security_headers(response, signed_in):
    """What every HTML page must carry (views/security.py)."""
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "style-src 'self'" in policy
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "same-origin"
    assert headers.get("X-Frame-Options") == "DENY"
    if signed_in:
        assert headers.get("Cache-Control") == "no-store"


# --- Headers and templates ----------------------------------------------------------------

PAGES = ["/companies", "/companies/1", "/contacts/1", "/board", "/search", "/selections",
         "/dashboards", "/account", "/companies/new", "/companies/999999", "/settings/"]


@pytest.mark.parametrize("url", PAGES)
def test_every_signed_in_page_carries_the_security_headers(admin_client, sample, url):
    response = admin_client.get(url, follow_redirects=True)
    assert response.mimetype == "text/html"
    assert_security_headers(response, signed_in=True)


@pytest.mark.parametrize("url", ["/login", "/companies/1"])
def test_pages_for_strangers_carry_them_too_and_may_be_cached(app, sample, url):
    response = app.test_client().get(url, follow_redirects=True)
    assert_security_headers(response, signed_in=False)
    assert response.headers.get("Cache-Control") != "no-store"


def test_htmx_fragments_and_errors_carry_them(client, sample):
    for response in (client.get("/companies?q=a", headers=HTMX),
                     client.get("/settings/", headers=HTMX)):
        assert_security_headers(response, signed_in=True)


def test_static_files_say_nosniff_and_may_be_cached(client):
    response = client.get("/static/app.js")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers.get("Cache-Control") != "no-store"
    response.close()


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=|\shx-on[:-]|javascript:", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
# The embed snippet is HTML for the customer's own web site, shown as text in a
# textarea here (escaped): it never runs on Tavla's pages.
FOR_OTHER_SITES = {"webforms/_snippet.html"}


def test_no_template_has_inline_script_handlers_or_style():
    """The Content-Security-Policy allows neither; static/app.js and app.css hold them."""
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name in FOR_OTHER_SITES:
            continue
        text = path.read_text()
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER, INLINE_STYLE):
            offenders += [f"{name}: {match.group(0)}" for match in pattern.finditer(text)]
    assert offenders == []


def test_htmx_is_told_to_add_no_style_and_evaluate_nothing(client):
    page = client.get("/companies").data.decode()
    config = re.search(r'name="htmx-config" content=\'([^\']+)\'', page).group(1)
    assert '"includeIndicatorStyles":false' in config and '"allowEval":false' in config


def test_secure_cookie_setting_and_proxy_headers(database_url, users):
    """Production settings: TAVLA_SESSION_COOKIE_SECURE and TAVLA_PROXY_FIX."""
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "tests", "TESTING": True,
                      "WTF_CSRF_ENABLED": False, "SESSION_COOKIE_SECURE": True,
                      "PROXY_FIX": 1})
    client = app.test_client()
    response = client.post("/login", data={"email": "rep@example.test", "password": PASSWORD},
                           headers={"X-Forwarded-Proto": "https",
                                    "X-Forwarded-For": "203.0.113.7"})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The client address behind the proxy is the one sign-ins are counted by.
    app.test_client().post("/login", data={"email": "rep@example.test", "password": "wrong"},
                           headers={"X-Forwarded-For": "203.0.113.7"})
    assert LoginFailure.get().address == _keyed("tests", "address", "203.0.113.7")


# --- Open redirect ------------------------------------------------------------------------

@pytest.mark.parametrize("target", [
    "/%09/evil.example/", "/%0a/evil.example/", "/%0d/evil.example", "%09//evil.example",
    "/%5Cevil.example", "//evil.example", "https://evil.example/", "%20//evil.example",
    "javascript:alert(1)", "\\\\evil.example", "/%09%5C/evil.example"])
def test_next_never_leaves_the_site(app, users, target):
    """Normalised as a browser reads it: tabs and line breaks dropped, \\ is /."""
    response = app.test_client().post(f"/login?next={target}",
                                      data={"email": "rep@example.test", "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/my-day"  # the rep's landing page


def test_next_keeps_a_path_of_this_site(app, users):
    response = app.test_client().post("/login?next=/board%3Fowner%3Dall",
                                      data={"email": "rep@example.test", "password": PASSWORD})
    assert response.headers["Location"] == "/board?owner=all"


# --- Ending sessions ------------------------------------------------------------------------

def copy_of(app, client):
    """A second browser holding a copy of `client`'s session cookie."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    thief.set_cookie("session", cookie.value)
    return thief


def test_a_copied_cookie_stops_working_after_sign_out(app, users):
    client = sign_in(app.test_client(), "rep@example.test")
    copy = copy_of(app, client)
    assert copy.get("/companies").status_code == 200
    client.post("/logout")
    assert copy.get("/companies").status_code == 302


def test_an_admin_reset_ends_the_users_sessions(app, users, admin_client):
    rep = sign_in(app.test_client(), "rep@example.test")
    response = admin_client.post(f"/settings/users/{users['rep'].id}/password",
                                 data={"password": "brand new pass", "confirm": "brand new pass"})
    assert response.status_code == 302
    assert rep.get("/companies").status_code == 302


def test_own_password_change_ends_other_sessions_but_not_this_one(app, users):
    here = sign_in(app.test_client(), "rep@example.test")
    elsewhere = sign_in(app.test_client(), "rep@example.test")
    response = here.post("/account", data={"language": "en", "password": "brand new pass",
                                           "confirm": "brand new pass"})
    assert response.status_code == 302
    assert here.get("/companies").status_code == 200
    assert elsewhere.get("/companies").status_code == 302


def test_deactivation_ends_sessions_for_good(app, users, admin_client):
    rep = sign_in(app.test_client(), "rep@example.test")
    copy = copy_of(app, rep)
    admin_client.post(f"/settings/users/{users['rep'].id}/deactivate")
    admin_client.post(f"/settings/users/{users['rep'].id}/reactivate")
    assert User.get_by_id(users["rep"].id).active
    assert copy.get("/companies").status_code == 302


def test_a_session_from_before_this_version_is_refused(app, users):
    """Cookies that hold only the user id (before sessions had versions) sign nobody in."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(users["rep"].id)
    assert client.get("/companies").status_code == 302


# --- Throttled sign-in --------------------------------------------------------------------

def wrong(client, email="rep@example.test", address="127.0.0.1"):
    return client.post("/login", data={"email": email, "password": "not the password"},
                       environ_base={"REMOTE_ADDR": address})


def right(client, address="127.0.0.1"):
    return client.post("/login", data={"email": "rep@example.test", "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": address})


def test_repeated_failures_pause_the_account_with_a_clear_message(app, users):
    client = app.test_client()
    for _ in range(ACCOUNT_LIMIT):
        assert wrong(client).status_code == 422
    refused = right(client)
    assert refused.status_code == 429
    assert "Too many failed sign-ins. Try again in 5 min." in refused.data.decode()
    # From another address too: the pause is the account's.
    assert right(app.test_client(), address="198.51.100.9").status_code == 429


def test_the_pause_lasts_minutes_only(app, users):
    client = app.test_client()
    for _ in range(ACCOUNT_LIMIT):
        wrong(client)
    assert right(client).status_code == 429
    # The failures age: once they are older than the window, the real user gets in.
    for failure in LoginFailure.select():
        failure.created_at -= LOGIN_WINDOW
        failure.save()
    assert right(client).status_code == 302


def test_one_address_trying_many_accounts_is_paused(app, users, monkeypatch):
    import models.users
    assert ADDRESS_LIMIT == 30
    monkeypatch.setattr(models.users, "ADDRESS_LIMIT", 4)  # 30 hash checks take long
    client = app.test_client()
    for number in range(4):
        assert wrong(client, email=f"guess{number}@example.test").status_code == 422
    assert right(client).status_code == 429
    # Another address is not affected.
    assert right(app.test_client(), address="198.51.100.9").status_code == 302


def test_the_count_is_shared_by_every_server_process(database_url, users):
    """Two app instances (as two gunicorn workers) read the same failures from the database."""
    first, second = (create_app({"DATABASE_URL": database_url, "SECRET_KEY": "tests",
                                 "TESTING": True, "WTF_CSRF_ENABLED": False})
                     for _ in range(2))
    for number in range(ACCOUNT_LIMIT):
        wrong((first if number % 2 else second).test_client())
    assert right(second.test_client()).status_code == 429
    assert right(first.test_client()).status_code == 429


def test_failures_do_not_store_the_addresses(app, users):
    wrong(app.test_client())
    failure = LoginFailure.get()
    assert "rep@example.test" not in (failure.account + failure.address)
    assert "127.0.0.1" not in failure.address


def test_unknown_and_known_addresses_check_a_password_hash_alike(app, users, monkeypatch):
    """No timing in a test: the same work is done (one hash check) either way."""
    import models.users
    checked = []
    real = models.users.check_password_hash
    monkeypatch.setattr(models.users, "check_password_hash",
                        lambda stored, password: checked.append(stored) or real(stored, password))
    client = app.test_client()
    wrong(client, email="rep@example.test")
    wrong(client, email="nobody@example.test")
    User.update(active=False).where(User.id == users["manager"].id).execute()
    client.post("/login", data={"email": "manager@example.test", "password": PASSWORD})
    assert len(checked) == 3
    method = checked[0].split("$")[0]
    assert all(stored.split("$")[0] == method for stored in checked)


# --- Bad input that used to be a server error ---------------------------------------------

INT_ROUTES = ["/companies/{}", "/companies/{}/edit", "/contacts/{}", "/contacts/{}/edit",
              "/board/column/{}", "/board/menu/{}", "/board/owner-column/{}",
              "/dashboards/{}", "/selections/{}", "/import/{}", "/settings/users/{}/edit",
              "/settings/categories/{}/edit", "/settings/web-forms/{}"]


@pytest.mark.parametrize("route", INT_ROUTES)
@pytest.mark.parametrize("value", [HUGE, str(2 ** 63), "1" * 5000, "\u0663"])
def test_ids_beyond_64_bits_are_a_404(admin_client, sample, route, value):
    assert admin_client.get(route.format(value)).status_code == 404


@pytest.mark.parametrize("query", [
    f"offset={HUGE}", f"owner={HUGE}", f"selection={HUGE}", "selection=\u00b2",
    f"category={HUGE}", "owner=\u00b2", f"offset={'9' * 5000}"])
def test_board_parameters_beyond_64_bits(client, sample, query):
    response = client.get(f"/board?{query}")
    assert response.status_code in (200, 404)
    response = client.get(f"/board/column/1?{query}")
    assert response.status_code in (200, 404)


@pytest.mark.parametrize("url", [f"/companies/1?status={HUGE}", f"/companies/1?owner={HUGE}",
                                 f"/search?selection={HUGE}", f"/companies/1?suggestion={HUGE}",
                                 f"/companies?page={HUGE}", "/companies?page=\u00b2",
                                 f"/board/menu/1?shown={HUGE}"])
def test_integer_parameters_beyond_64_bits(client, sample, url):
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("url, field", [
    ("/board/move", "contact"), ("/board/move", "status"), ("/board/move", "version"),
    ("/board/assign", "owner"), ("/board/undo", "contact"), ("/board/move-category", "category"),
    ("/board/companies/move", "company"), ("/companies/1/category", "category"),
    ("/contacts/1/lead-status", "lead_status")])
@pytest.mark.parametrize("value", [HUGE, "\u00b2"])
def test_posted_ids_beyond_64_bits_are_refused(client, sample, url, field, value):
    data = {"contact": 1, "status": 2, "version": 0, "owner": 1, "category": 1, "company": 1,
            "lead_status": 2, field: value}
    before = History.select().count()
    assert client.post(url, data=data, headers=HTMX).status_code in (404, 409, 422)
    assert History.select().count() == before


def bulk(client, criteria):
    return client.post("/search/bulk", data={"criteria": criteria, "action": "owner:1",
                                             "scope": "all"}, headers=HTMX)


@pytest.mark.parametrize("criteria, message", [
    ('{"version":1,"entity":[]}', "Unknown kind of search: []."),
    ('{"version":1,"entity":"contacts","criteria":[{"field":"category_group","op":"in",'
     '"value":[[1]]}]}', "Unknown category group: [1]."),
    ('{"version":1,"entity":{"a":1}}', "Unknown kind of search"),
    ('{"version":1,"entity":"contacts","criteria":[{"field":["x"],"op":"in"}]}',
     "Unknown search field"),
    ('{"version":1,"entity":"contacts","criteria":[{"field":"name","op":"contains",'
     '"value":{"a":[1]}}]}', "Enter a text for Name."),
    ('{"version":1,"entity":"contacts","criteria":[{"field":"name","op":"contains",'
     '"value":"a\\u0000b"}]}', "The text for Name contains characters that are not allowed."),
    ('{"version":1,"criteria":' + "[" * 5000 + "]" * 5000 + "}",
     "The search criteria are nested too deeply."),
])
def test_criteria_of_the_wrong_shape_name_the_bad_part(client, sample, criteria, message):
    owners = [c.owner_id for c in Contact.select().order_by(Contact.id)]
    response = bulk(client, criteria)
    assert response.status_code == 422
    assert message in response.data.decode()
    assert [c.owner_id for c in Contact.select().order_by(Contact.id)] == owners


def test_period_ending_on_the_last_day_of_the_calendar(client, sample):
    response = client.get("/search?entity=contacts&f0=created&o0=between&v0=2020-01-01"
                          "&v0=9999-12-31")
    assert response.status_code == 200
    assert "3 contacts" in response.data.decode() or ">3<" in response.data.decode()


@pytest.mark.parametrize("value", ["\u00b2", "1" * 5000, "-1"])
def test_event_ids_that_are_no_numbers(client, value):
    assert client.get("/events/poll", headers={"Last-Event-ID": value}).status_code == 200
    assert client.get(f"/events/poll?after={value}").status_code == 200


@pytest.mark.parametrize("target", ["/board\r\nX-Injected: 1", "/board%0d%0aX: 1"])
def test_next_with_line_breaks(app, users, target):
    response = app.test_client().post("/login?next=" + target,
                                      data={"email": "rep@example.test", "password": PASSWORD})
    assert response.status_code == 302
    assert "X-Injected" not in response.headers


@pytest.mark.parametrize("url", ["/companies/new", "/companies/1/edit"])
def test_htmx_get_of_the_company_form(client, sample, url):
    response = client.get(url, headers=HTMX)
    assert response.status_code == 200
    body = response.data.decode()
    assert body.lstrip().startswith('<form id="company-form"') and 'name="website"' in body


@pytest.mark.parametrize("url", ["/companies?q=a\x00b", "/search?f0=name&o0=contains&v0=a%00"])
def test_nul_in_a_query_is_refused(client, sample, url):
    response = client.get(url)
    assert response.status_code == 400
    assert "characters that are not allowed" in response.data.decode()


def test_nul_in_a_form_is_refused_and_saves_nothing(client, sample):
    response = client.post(f"/companies/{sample['lead'].id}/edit",
                           data={"name": "Fjällbo\x00", "owner": 0})
    assert response.status_code == 400
    assert Company.get_by_id(sample["lead"].id).name == "Fjällbo AB"


# --- Stored links and names ---------------------------------------------------------------

def test_only_web_addresses_become_links(client, sample):
    """A javascript: address stored before the rule existed is shown as text, never a link."""
    Company.update(website="javascript:alert(document.domain)").where(
        Company.id == sample["lead"].id).execute()
    page = client.get(f"/companies/{sample['lead'].id}").data.decode()
    assert 'href="javascript:' not in page and "javascript:alert(document.domain)" in page
    Company.update(website="https://fjallbo.se").where(Company.id == sample["lead"].id).execute()
    page = client.get(f"/companies/{sample['lead'].id}").data.decode()
    assert 'href="https://fjallbo.se"' in page


@pytest.mark.parametrize("data, message", [
    ({"website": "javascript:alert(1)"}, "Enter a full address"),
    ({"website": "data:text/html,<b>x</b>"}, "Enter a full address"),
    ({"name": "\u200b\u200b"}, "The name holds only invisible characters."),
    ({"email": "anna..berg@x.se"}, "is not a valid e-mail address"),
    ({"email": ".anna@x.se"}, "is not a valid e-mail address"),
])
def test_company_form_applies_the_models_rules(client, users, data, message):
    form = {"name": "Valid AB", "category": Category.get(name="Lead").id, "owner": 0, **data}
    before = Company.select().count()
    response = client.post("/companies/new", data=form)
    assert response.status_code == 422 and message in response.data.decode()
    assert Company.select().count() == before


def test_every_refused_field_is_named_at_once(client, users):
    response = client.post("/companies/new", data={
        "name": "\u200b", "website": "javascript:alert(1)", "email": ".anna@x.se",
        "owner": 0, "category": Category.get(name="Lead").id})
    page = response.data.decode()
    assert response.status_code == 422
    assert page.count('class="field-error"') == 3
    assert "invisible characters" in page and "Enter a full address" in page \
        and ".anna@x.se is not a valid e-mail address." in page


def test_a_website_without_scheme_gets_https(client, users):
    client.post("/companies/new", data={"name": "Webb AB", "owner": 0, "website": "www.webb.se",
                                        "category": Category.get(name="Lead").id})
    assert Company.get(name="Webb AB").website == "https://www.webb.se"


@pytest.mark.parametrize("first_name", ["\u200b", "\u2060\u200d", "\u00ad"])
def test_contact_names_must_show(client, sample, first_name):
    response = client.post(f"/contacts/{sample['anna'].id}/edit",
                           data={"first_name": first_name, "last_name": "\u200b", "owner": 0})
    assert response.status_code == 422
    assert "invisible characters" in response.data.decode()
    assert Contact.get_by_id(sample["anna"].id).first_name == "Anna"


@pytest.fixture
def now_is(monkeypatch):
    """Move the clock of the sign-in throttle (models.users.now)."""
    import models.users

    def at(moment):
        monkeypatch.setattr(models.users, "now", lambda: moment)
    return at


def test_pause_ends_when_the_oldest_counted_failure_leaves_the_window(app, users, now_is):
    start = datetime.datetime(2026, 1, 5, 9, 0)
    client = app.test_client()
    for minute in range(ACCOUNT_LIMIT):
        now_is(start + datetime.timedelta(seconds=10 * minute))
        wrong(client)
    now_is(start + datetime.timedelta(minutes=2))
    response = right(client)
    assert response.status_code == 429 and "Try again in 3 min." in response.data.decode()
    now_is(start + LOGIN_WINDOW + datetime.timedelta(seconds=11))
    assert right(client).status_code == 302
