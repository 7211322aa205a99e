"""Web forms in a real browser: an admin makes one, a visitor sends it (R21, R22)."""
import html
import re

import models
from models import Actor, Contact, User
from models.distribution import save_flow
from playwright.sync_api import expect

SPRING = "?utm_source=linkedin&utm_campaign=spring-webinar"


def make_admin_and_flow():
    models.database.connect(reuse_if_open=True)
    admin = User(email="ada@example.test", name="Ada Admin", role="admin")
    admin.set_password("correct horse")
    admin.save()
    rep = User(email="rita@example.test", name="Rita Rep", role="rep")
    rep.set_password("correct horse")
    rep.save()
    save_flow(None, Actor(admin), "Nordics", "round_robin", True, [rep.id])
    models.database.close()


def sign_in_admin(page):
    page.goto("/login")
    page.get_by_label("E-mail").fill("ada@example.test")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def create_form(page):
    """Settings → Marketing → Web forms → New, as an admin does it; the form's page."""
    page.goto("/settings/")
    page.get_by_role("link", name="Web forms").click()
    page.get_by_role("link", name="New web form").click()
    page.get_by_label("Name", exact=True).fill("Spring webinar")
    page.get_by_label("Distribution flow").select_option(label="Nordics")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Spring webinar")).to_be_visible()


def test_r21_visitor_from_linkedin_becomes_an_open_lead_with_its_source(page, browser,
                                                                       live_server):
    make_admin_and_flow()
    sign_in_admin(page)
    create_form(page)
    hosted = page.locator("#hosted-url").get_attribute("href")

    visitor = browser.new_context(locale="en-GB").new_page()
    visitor.goto(hosted + SPRING)
    visitor.get_by_label("Name").fill("Åsa Öberg")
    visitor.get_by_label("E-mail").fill("asa@fjallbo.se")
    visitor.get_by_label("Company").fill("Fjällbo AB")
    visitor.get_by_label("Message").fill("Please call me <b>soon</b>")
    visitor.get_by_role("button", name="Send").click()
    expect(visitor.get_by_text("Thank you! We will be in touch soon.")).to_be_visible()
    visitor.context.close()

    page.reload()
    page.get_by_role("link", name="1 submission").click()
    page.get_by_role("link", name="Åsa Öberg").click()
    expect(page.get_by_role("heading", name="Åsa Öberg")).to_be_visible()
    expect(page.locator("#lead-status .status-pill")).to_have_text("Open")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("linkedin / spring-webinar")
    expect(facts).to_contain_text("Rita Rep")
    expect(page.locator("#timeline")).to_contain_text("Web form: Spring webinar")
    expect(page.locator("#timeline")).to_contain_text("Owner set to Rita Rep")


def test_r21_embedded_snippet_copies_the_pages_utm_values(page, browser, live_server):
    """The snippet on another web site: its script fills the hidden UTM fields."""
    make_admin_and_flow()
    sign_in_admin(page)
    create_form(page)
    snippet = html.unescape(page.locator("#snippet").input_value())

    site = browser.new_context(locale="en-GB").new_page()
    site.route("https://www.example.com/**", lambda route: route.fulfill(
        content_type="text/html; charset=utf-8",
        body=f"<!doctype html><meta charset=utf-8><h1>Spring webinar</h1>{snippet}"))
    site.goto("https://www.example.com/landing?utm_source=newsletter&utm_medium=email"
              "&utm_campaign=spring-webinar")
    expect(site.locator("input[name=utm_medium]")).to_have_value("email")
    site.get_by_label("Name").fill("Bo Ek")
    site.get_by_label("E-mail").fill("bo@ek.se")
    site.get_by_role("button", name="Send").click()
    expect(site.get_by_text("Thank you! We will be in touch soon.")).to_be_visible()
    site.context.close()

    models.database.connect(reuse_if_open=True)
    bo = Contact.get(Contact.email == "bo@ek.se")
    assert (bo.utm_source, bo.utm_medium, bo.utm_campaign) == ("newsletter", "email",
                                                               "spring-webinar")
    assert bo.lead_status.name == "Open" and bo.owner.name == "Rita Rep"
    models.database.close()


def test_the_snippet_copies_with_one_click_and_the_form_previews(page, browser, live_server):
    make_admin_and_flow()
    sign_in_admin(page)
    create_form(page)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy the HTML").click()
    expect(page.get_by_role("status").filter(has_text="Copied")).to_have_text(
        "Copied. Paste it into your page.")
    assert page.evaluate("navigator.clipboard.readText()") == \
        page.locator("#snippet").input_value()
    preview = page.get_by_role("link", name="Preview the form")
    assert preview.get_attribute("href") == page.locator("#hosted-url").get_attribute("href")
    with page.context.expect_page() as opened:
        preview.click()
    form_page = opened.value
    expect(form_page.get_by_role("button", name="Send")).to_be_visible()
