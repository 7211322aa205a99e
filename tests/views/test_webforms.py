"""Web forms through the views: the admin screens (R21, R22) and the public endpoint."""
import html
import io
import re

import pytest
from peewee import OperationalError
from playhouse.test_utils import count_queries

import models
from app import create_app
from models import Actor, AuditLog, Category, Company, Contact, History
from models.distribution import DistributionFlow, save_flow
from models.webforms import (WebForm, WebFormSubmission, default_field_config, save_web_form,
                             set_web_form_enabled)

from .conftest import HTMX, make_user, sign_in

SPRING = "?utm_source=linkedin&utm_campaign=spring-webinar"


@pytest.fixture
def flow(users):
    return save_flow(None, Actor(users["admin"]), "Nordics", "round_robin", True,
                     [users["rep"].id])


@pytest.fixture
def web_form(users, flow):
    fields = default_field_config()
    fields["phone"]["ask"] = True
    return save_web_form(None, Actor(users["admin"]), "Spring webinar",
                         Category.get(name="Lead").id, flow.id, fields)


@pytest.fixture
def public(database_url):
    """An anonymous visitor against an app with CSRF protection switched ON."""
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "tests", "TESTING": True})
    return app.test_client()


def anna(**extra):
    return {"name": "Anna Berg", "email": "anna@fjallbo.se", "company": "Fjällbo AB",
            "phone": "070-123 45 67", "message": "Tell me more",
            "utm_source": "linkedin", "utm_campaign": "spring-webinar", **extra}


def created():
    return (Company.select().count(), Contact.select().count(), History.select().count(),
            WebFormSubmission.select().count())


# --- Admin: forms ---------------------------------------------------------------------------

def test_admin_creates_a_form_and_gets_its_snippet(admin_client, flow):
    page = admin_client.get("/settings/web-forms/new").data.decode()
    assert 'name="ask_name"' in page and "Nordics" in page
    response = admin_client.post("/settings/web-forms/new", data={
        "name": "Spring webinar", "category": Category.get(name="Lead").id, "flow": flow.id,
        "ask_name": "y", "required_name": "y", "ask_email": "y", "required_email": "y",
        "ask_company": "y", "ask_message": "y", "thank_you": "Thanks!",
        "allowed_origins": "https://www.example.com", "rate_limit": "5"})
    form = WebForm.get(name="Spring webinar")
    assert response.status_code == 302 and response.location == \
        f"/settings/web-forms/{form.id}"
    assert form.asked_fields == [("name", True), ("email", True), ("company", False),
                                 ("message", False)]
    assert (form.flow_id, form.origins, form.thank_you) == (flow.id,
                                                            ["https://www.example.com"],
                                                            "Thanks!")
    page = admin_client.get(f"/settings/web-forms/{form.id}").data.decode()
    # The snippet, shown as text: a form posting to the absolute endpoint address,
    # the honeypot, the hidden UTM fields and the script copying them from the page.
    shown = re.search(r'<textarea id="snippet"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    assert "<" not in shown  # escaped inside the textarea
    snippet = html.unescape(shown)
    assert f'<form class="tavla-form" action="http://localhost/f/{form.token}"' in snippet
    assert "<script>" in snippet and "URLSearchParams" in snippet
    for name in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
                 "homepage", "name", "email", "company", "message"):
        assert f'name="{name}"' in snippet
    assert 'name="phone"' not in snippet
    assert f"http://localhost/f/{form.token}" in page
    assert AuditLog.select().where(AuditLog.area == "web_forms",
                                   AuditLog.subject == "Spring webinar").exists()


@pytest.mark.parametrize("changes, message", [
    ({"name": ""}, "This field is required."),
    ({"redirect_url": "javascript:alert(1)"}, "Enter a full address"),
    ({"allowed_origins": "www.example.com"}, "is not an origin"),
    ({"rate_limit": "0"}, "Allow between 1 and"),
    ({"required_email": "", "required_name": ""}, "must require a name or an e-mail"),
])
def test_invalid_form_settings_are_refused_and_nothing_is_saved(admin_client, changes, message):
    data = {"name": "Demo", "category": Category.get(name="Lead").id, "flow": 0,
            "ask_name": "y", "required_name": "y", "ask_email": "y", "required_email": "y",
            "rate_limit": "5", **changes}
    response = admin_client.post("/settings/web-forms/new", data=data)
    assert response.status_code == 422
    assert message in response.data.decode()
    assert WebForm.select().count() == 0


def test_admin_edits_closes_and_reopens_a_form(admin_client, web_form):
    page = admin_client.get(f"/settings/web-forms/{web_form.id}/edit").data.decode()
    assert 'value="Spring webinar"' in page
    assert re.search(r'<input aria-label="Ask Phone" checked id="ask_phone"', page)
    assert re.search(r'<input aria-label="Phone is required" id="required_phone"', page)
    response = admin_client.post(f"/settings/web-forms/{web_form.id}/edit", data={
        "name": "Autumn webinar", "category": Category.get(name="Lead").id, "flow": 0,
        "ask_name": "y", "required_name": "y", "ask_email": "y", "rate_limit": "9"})
    assert response.status_code == 302
    form = WebForm.get_by_id(web_form.id)
    assert (form.name, form.flow_id, form.rate_limit) == ("Autumn webinar", None, 9)
    assert form.fields["email"] == {"ask": True, "required": False}
    response = admin_client.post(f"/settings/web-forms/{web_form.id}/disable", headers=HTMX)
    assert response.status_code == 200 and "Open again" in response.data.decode()
    assert not WebForm.get_by_id(web_form.id).enabled
    admin_client.post(f"/settings/web-forms/{web_form.id}/enable")
    assert WebForm.get_by_id(web_form.id).enabled
    old = web_form.token
    admin_client.post(f"/settings/web-forms/{web_form.id}/token")
    assert WebForm.get_by_id(web_form.id).token != old


def test_form_list_costs_one_query_however_many_forms(admin_client, users, flow):
    for n in range(5):
        save_web_form(None, Actor(users["admin"]), f"Form {n}", Category.get(name="Lead").id,
                      flow.id, default_field_config())
    admin_client.get("/settings/web-forms/", headers=HTMX)
    with count_queries() as counter:
        response = admin_client.get("/settings/web-forms/", headers=HTMX)
    assert response.status_code == 200 and "Form 4" in response.data.decode()
    # The signed-in user, then the forms with their category, flow and counts.
    assert counter.count == 2


def test_submissions_list_is_paged_and_escapes_what_visitors_typed(admin_client, public,
                                                                   web_form):
    for n in range(27):
        public.post(f"/f/{web_form.token}", data=anna(email=f"p{n}@fjallbo.se"),
                    environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
    public.post(f"/f/{web_form.token}", data=anna(email="eve@evil.example",
                                                   name="Eve <script>alert(1)</script>",
                                                   message="<img src=x onerror=alert(2)>"),
                environ_base={"REMOTE_ADDR": "10.0.1.1"})
    page = admin_client.get(f"/settings/web-forms/{web_form.id}/submissions").data.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "1–25 of 28" in page and "linkedin / spring-webinar" in page
    second = admin_client.get(f"/settings/web-forms/{web_form.id}/submissions?page=2",
                              headers=HTMX).data.decode()
    assert second.strip().startswith('<div id="submission-list"') and "26–28 of 28" in second


@pytest.mark.parametrize("url", ["/settings/web-forms/", "/settings/web-forms/new",
                                 "/settings/distribution/", "/settings/distribution/new"])
def test_reps_and_managers_may_not_open_marketing_settings(app, client, url):
    assert client.get(url).status_code == 403
    manager = sign_in(app.test_client(), "manager@example.test")
    assert manager.get(url).status_code == 403
    assert app.test_client().get(url).status_code == 302  # to the login page


def test_settings_nav_has_a_marketing_heading(admin_client):
    page = admin_client.get("/settings/web-forms/").data.decode()
    assert "Marketing" in page and "Distribution flows" in page


# --- Admin: distribution flows --------------------------------------------------------------

def test_admin_creates_a_flow_with_reps_in_order(admin_client, users):
    second = make_user("second@example.test", "rep", name="Sara Second")
    response = admin_client.post("/settings/distribution/new", data={
        "name": "Nordics", "strategy": "round_robin", "active": "y",
        "member": [str(users["rep"].id), str(second.id)],
        f"position-{users['rep'].id}": "2", f"position-{second.id}": "1"})
    assert response.status_code == 302
    flow = DistributionFlow.get(name="Nordics")
    assert [m.user_id for m in flow.members.order_by(models.distribution.DistributionFlowMember
                                                     .position)] == [second.id, users["rep"].id]
    page = admin_client.get(f"/settings/distribution/{flow.id}/edit").data.decode()
    assert "Sara Second" in page and ">next<" in page
    assert "Nordics" in admin_client.get("/settings/distribution/").data.decode()


def test_flow_page_marks_deactivated_members_as_skipped(admin_client, users, flow):
    users["rep"].active = False
    users["rep"].save()
    page = admin_client.get(f"/settings/distribution/{flow.id}/edit").data.decode()
    assert "deactivated: skipped" in page
    listing = admin_client.get("/settings/distribution/").data.decode()
    assert "1 deactivated" in listing


def test_invalid_flow_is_refused(admin_client):
    response = admin_client.post("/settings/distribution/new", data={
        "name": "", "strategy": "round_robin"})
    assert response.status_code == 422 and DistributionFlow.select().count() == 0
    response = admin_client.post("/settings/distribution/new", data={
        "name": "X", "strategy": "lottery"})
    assert response.status_code == 422 and DistributionFlow.select().count() == 0


# --- The public endpoint -----------------------------------------------------------------------

def test_r21_hosted_page_needs_no_login_and_keeps_the_utm_values(public, web_form):
    response = public.get(f"/f/{web_form.token}{SPRING}")
    page = response.data.decode()
    assert response.status_code == 200
    assert '<input type="hidden" name="utm_source" value="linkedin">' in page
    assert '<input type="hidden" name="utm_campaign" value="spring-webinar">' in page
    assert 'name="homepage"' in page and 'name="phone"' in page
    assert "csrf" not in page.lower()
    assert "Set-Cookie" not in response.headers  # no session for visitors


def test_r21_r22_visitor_submission_creates_the_lead(public, web_form, users, admin_client):
    """A plain HTML form post, session CSRF switched on: the form's token is enough."""
    response = public.post(f"/f/{web_form.token}", data=anna())
    assert response.status_code == 200
    assert "Thank you! We will be in touch soon." in response.data.decode()
    contact = Contact.get()
    assert (contact.full_name, contact.lead_status.name, contact.utm_source,
            contact.utm_campaign, contact.owner_id) == (
        "Anna Berg", "Open", "linkedin", "spring-webinar", users["rep"].id)
    card = admin_client.get(f"/contacts/{contact.id}").data.decode()
    assert "linkedin / spring-webinar" in card
    assert "Owner set to Rep by a distribution flow" in card
    assert "Web form: Spring webinar" in card


def test_r21_same_visitor_again_adds_a_submission_not_a_contact(public, web_form):
    public.post(f"/f/{web_form.token}", data=anna())
    response = public.post(f"/f/{web_form.token}", data=anna(email="Anna@Fjallbo.SE",
                                                              utm_source="newsletter"))
    assert response.status_code == 200
    assert Contact.select().count() == 1 and WebFormSubmission.select().count() == 2
    assert Contact.get().utm_source == "linkedin"


def test_r21_redirect_url_and_json_answers(public, web_form, users):
    web_form.redirect_url = "https://www.example.com/thanks"
    web_form.save()
    response = public.post(f"/f/{web_form.token}", data=anna())
    assert response.status_code == 303
    assert response.location == "https://www.example.com/thanks"
    response = public.post(f"/f/{web_form.token}", json=anna(email="bo@ek.se"))
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "message": "Thank you! We will be in touch soon.",
                                   "redirect": "https://www.example.com/thanks"}


def test_cors_only_for_the_forms_allowed_origins(public, web_form):
    web_form.allowed_origins = "https://www.example.com"
    web_form.save()
    url = f"/f/{web_form.token}"
    preflight = public.options(url, headers={
        "Origin": "https://www.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    refused = public.options(url, headers={"Origin": "https://evil.example",
                                           "Access-Control-Request-Method": "POST"})
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    response = public.post(url, json=anna(), headers={"Origin": "https://www.example.com"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://www.example.com"
    assert "Origin" in response.headers["Vary"]
    before = created()
    response = public.post(url, data=anna(email="x@evil.example"),
                           headers={"Origin": "https://evil.example"})
    assert response.status_code == 403 and "Access-Control-Allow-Origin" not in response.headers
    assert "does not accept submissions from this web site" in response.data.decode()
    assert created() == before
    # The hosted page itself posts from the app's own origin.
    assert public.post(url, data=anna(email="own@fjallbo.se"),
                       headers={"Origin": "http://localhost"}).status_code == 200


# Each bad input: a clear message, the right status, nothing written.
@pytest.mark.parametrize("data, status, message", [
    ({"email": "anna@fjallbo.se"}, 422, "This field is required."),
    ({"name": "Anna", "email": "anna@"}, 422, "Enter a valid e-mail address."),
    ({"name": "Anna", "email": "a@b.se", "phone": "call me"}, 422, "Use digits"),
    ({"name": "Anna", "email": "a@b.se", "homepage": "http://spam.example"}, 400,
     "looks automated"),
    ({"name": "Anna\x01", "email": "a@b.se"}, 422, "not allowed"),
])
def test_bad_fields_are_refused(public, web_form, data, status, message):
    before = created()
    response = public.post(f"/f/{web_form.token}", data=data)
    assert response.status_code == status
    assert message in response.data.decode()
    assert created() == before


def test_refused_form_is_shown_again_with_the_visitors_values(public, web_form):
    response = public.post(f"/f/{web_form.token}", data=anna(email="anna@", name="Ann<b>"))
    page = response.data.decode()
    assert response.status_code == 422
    assert 'value="Ann&lt;b&gt;"' in page and 'aria-invalid="true"' in page
    assert '<input type="hidden" name="utm_source" value="linkedin">' in page
    response = public.post(f"/f/{web_form.token}", json={"name": "Anna", "email": "nope"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"email": "Enter a valid e-mail address."}


def test_body_over_64_kb_is_refused(public, web_form):
    before = created()
    response = public.post(f"/f/{web_form.token}", data=anna(message="x" * (65 * 1024)))
    assert response.status_code == 413
    assert "too large" in response.data.decode()
    # Also when the size is not announced up front (chunked upload).
    body = ("name=Anna&email=a%40b.se&message=" + "x" * (65 * 1024)).encode()
    response = public.post(f"/f/{web_form.token}", input_stream=io.BytesIO(body),
                           content_type="application/x-www-form-urlencoded",
                           headers={"Transfer-Encoding": "chunked"},
                           environ_base={"wsgi.input_terminated": True})
    assert response.status_code == 413
    assert created() == before


@pytest.mark.parametrize("body, content_type", [
    (b"name=Anna%FF&email=a%40b.se", "application/x-www-form-urlencoded"),
    (b"name=Anna\xff\xfe&email=a%40b.se", "application/x-www-form-urlencoded"),
    (b'{"name": "Anna\xff", "email": "a@b.se"}', "application/json"),
    (b'--B\r\nContent-Disposition: form-data; name="name"\r\n\r\nAnna\xff\r\n'
     b'--B\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.se\r\n--B--\r\n',
     "multipart/form-data; boundary=B"),
])
def test_invalid_utf8_is_refused(public, web_form, body, content_type):
    before = created()
    response = public.post(f"/f/{web_form.token}", data=body, content_type=content_type)
    assert response.status_code == 400
    assert "not valid UTF-8" in response.data.decode()
    assert created() == before


def test_unknown_and_closed_forms(public, web_form, users):
    response = public.post("/f/not-a-token", data=anna())
    assert response.status_code == 404 and "does not exist" in response.data.decode()
    assert public.get("/f/not-a-token").status_code == 404
    set_web_form_enabled(web_form, False, Actor(users["admin"]))
    before = created()
    response = public.post(f"/f/{web_form.token}", data=anna())
    assert response.status_code == 410 and "This form is closed." in response.data.decode()
    assert public.get(f"/f/{web_form.token}").status_code == 410
    assert created() == before


def test_rate_limit_per_address(public, web_form):
    url = f"/f/{web_form.token}"
    for n in range(web_form.rate_limit):
        assert public.post(url, data=anna(email=f"p{n}@b.se")).status_code == 200
    before = created()
    response = public.post(url, data=anna(email="more@b.se"))
    assert response.status_code == 429 and "Too many submissions" in response.data.decode()
    assert created() == before
    other = public.post(url, data=anna(email="other@b.se"),
                        environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200


def test_html_is_escaped_on_every_screen(public, web_form, admin_client):
    public.post(f"/f/{web_form.token}", data=anna(name="Eve <script>alert(1)</script>",
                                                   company="<img src=x onerror=alert(2)> AB"))
    contact = Contact.get()
    assert contact.last_name == "<script>alert(1)</script>"
    for url in (f"/contacts/{contact.id}", f"/companies/{contact.company_id}", "/companies"):
        page = admin_client.get(url).data.decode()
        assert "<script>alert(1)" not in page and "<img src=x" not in page, url
        assert "&lt;img src=x onerror=alert(2)&gt; AB" in page, url


def test_unsupported_body_type_is_refused(public, web_form):
    response = public.post(f"/f/{web_form.token}", data="name=Anna", content_type="text/plain")
    assert response.status_code == 415


def test_live_feed_carries_the_form_created_lead(public, web_form, client):
    """Open boards and dashboards poll the feed; a web form lead is in it at once."""
    last_id = client.get("/events/poll").get_json()["last_id"]
    public.post(f"/f/{web_form.token}", data=anna())
    news = client.get(f"/events/poll?after={last_id}").get_json()
    contact = Contact.get()
    assert contact.id in news["contacts"] and contact.company_id in news["companies"]


def test_submission_waits_for_a_busy_database_instead_of_failing(public, web_form,
                                                                 monkeypatch):
    """SQLite has one writer: a lead arriving during a long import is tried again."""
    import views.public_forms
    real = views.public_forms.submit_web_form
    calls = []

    def busy_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(views.public_forms, "submit_web_form", busy_once)
    monkeypatch.setattr(views.public_forms.time, "sleep", lambda seconds: None)
    assert public.post(f"/f/{web_form.token}", data=anna()).status_code == 200
    assert len(calls) == 2 and Contact.select().count() == 1


def test_r21_the_visitors_message_is_on_the_contact_card_and_timeline(public, web_form, client):
    """Where the rep works, not only on the admin's submissions page (item 13)."""
    public.post(f"/f/{web_form.token}", data=anna(message="Can you call me\non Tuesday?"))
    contact = Contact.get()
    card = client.get(f"/contacts/{contact.id}").data.decode()
    messages = card.split('id="messages-heading"')[1].split("</section>")[0]
    assert "Can you call me\non Tuesday?" in messages and "Web form: Spring webinar" in messages
    timeline = card.split('id="timeline"')[1]
    assert "Message from the web form:" in timeline and "Can you call me" in timeline
    company = client.get(f"/companies/{contact.company_id}").data.decode()
    assert "Can you call me" in company.split('id="timeline"')[1]


def test_a_message_is_shown_as_text(public, web_form, client):
    public.post(f"/f/{web_form.token}", data=anna(message="<b>hi</b>"))
    card = client.get(f"/contacts/{Contact.get().id}").data.decode()
    assert "&lt;b&gt;hi&lt;/b&gt;" in card and "<b>hi</b>" not in card
