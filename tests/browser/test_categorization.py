"""Lead categorization in a real browser: settings (R18), a sold sale (R15), the dialog (R17)."""
import models
from models import Actor, Category, Company, User, create_company, create_contact
from playwright.sync_api import expect

from .conftest import htmx_settled


def make_people_and_companies():
    models.database.connect(reuse_if_open=True)
    for email, role in (("ada@example.test", "admin"), ("rita@example.test", "rep")):
        user = User(email=email, name=email.split("@")[0].title(), role=role)
        user.set_password("correct horse")
        user.save()
    lead = Category.get(Category.name == "Lead")
    selling = create_company(Actor(), name="Säljbolaget AB", category=lead)
    qualifying = create_company(Actor(), name="Kvalbolaget AB", category=lead)
    contact = create_contact(qualifying, Actor(), first_name="Kim", last_name="Kval")
    models.database.close()
    return selling, qualifying, contact


def sign_in(page, email):
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#site-menu")).to_be_attached()  # signed in, on the landing page


def company_category(company_id):
    models.database.connect(reuse_if_open=True)
    name = Company.get_by_id(company_id).category.name
    models.database.close()
    return name


def test_r15_r17_r18_user_story(page, browser, live_server, artifacts):
    selling, qualifying, contact = make_people_and_companies()

    # The admin sets up the two rules; Save stays disabled while a target is missing.
    sign_in(page, "ada@example.test")
    page.goto("/settings/workflow/")
    save = page.get_by_role("button", name="Save")
    page.get_by_label("Sale marked Sold", exact=True).check()
    expect(save).to_be_disabled()
    page.get_by_label("Set category to: Sale marked Sold").select_option(label="Customer")
    expect(save).to_be_enabled()
    page.get_by_label("Lead status set to Qualified", exact=True).check()
    page.get_by_label("Set category to: Lead status set to Qualified").select_option(
        label="Opportunity")
    page.get_by_label("Ask the user to confirm: Lead status set to Qualified").check()
    save.click()
    expect(page.locator(".flash")).to_contain_text("Lead categorization saved.")

    # The rep registers a sale and marks it Sold: the company is a Customer at once.
    rep = browser.new_context(base_url=live_server).new_page()
    sign_in(rep, "rita@example.test")
    rep.goto(f"/companies/{selling.id}")
    rep.get_by_role("link", name="New sale").click()
    rep.get_by_label("Title").fill("Yearly licence")
    rep.get_by_label("Amount").fill("48000")
    rep.get_by_label("Date").fill("2026-11-20")
    rep.get_by_role("button", name="Save").click()
    expect(rep.locator("#sales")).to_contain_text("Yearly licence")
    htmx_settled(rep)
    rep.get_by_label("Status of Yearly licence").select_option(label="Sold")
    expect(rep.locator("#category-panel select")).to_have_value(
        str(Category.get(Category.name == "Customer").id))
    expect(rep.locator("#timeline")).to_contain_text("Rule: Sale marked Sold")
    assert company_category(selling.id) == "Customer"

    # Qualified on another lead's contact: a dialog proposes Opportunity; accept it.
    rep.goto(f"/contacts/{contact.id}")
    rep.locator("#lead-status").get_by_role("link", name="Change").click()
    chooser = rep.locator("#lead-status select")
    expect(chooser).to_be_focused()
    htmx_settled(rep)
    chooser.select_option(label="Qualified")
    dialog = rep.get_by_role("dialog")
    expect(dialog).to_contain_text("suggests Opportunity instead of Lead")
    rep.screenshot(path=artifacts / "categorization-dialog.png")
    dialog.get_by_role("button", name="Move to Opportunity").click()
    expect(rep.get_by_role("dialog")).to_have_count(0)
    expect(rep.locator("dl.facts")).to_contain_text("Opportunity")
    assert company_category(qualifying.id) == "Opportunity"
