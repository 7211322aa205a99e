"""The manager's story in a real browser: criteria with a live count, results,
a saved selection, ticked rows set to Contacting, the report (R8, R12, R17)."""
import re
import time

import models
from models import Actor, Category, Contact, LeadStatus, User, create_company, create_contact
from playwright.sync_api import expect

from .conftest import htmx_settled


def history_length_becomes(page, length, seconds=30):
    """True once the tab's history holds `length` entries (asked from outside the
    page: wait_for_function evaluates a string in it, which the CSP forbids)."""
    deadline = time.monotonic() + seconds
    while page.evaluate("history.length") != length:
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(50)
    return True


def make_leads():
    """Two open leads at a Lead company, one at an Opportunity (R8: not active), two at a
    customer (one kept its status, R11)."""
    models.database.connect(reuse_if_open=True)
    manager = User(email="mona@example.test", name="Mona Manager", role="manager")
    manager.set_password("correct horse")
    manager.save()
    actor = Actor(manager)
    lead = create_company(actor, name="Fjällbo AB", category=Category.get(name="Lead"))
    for first in ("Anna", "Bo"):
        create_contact(lead, actor, first_name=first, last_name="Berg", owner=manager)
    opportunity = create_company(actor, name="Möjlig AB",
                                 category=Category.get(name="Opportunity"))
    kept = create_contact(opportunity, actor, first_name="Cai", last_name="Lund", owner=manager)
    # R11: the status was kept when the company left an active category.
    Contact.update(lead_status=LeadStatus.initial()).where(Contact.id == kept.id).execute()
    customer = create_company(actor, name="Kund AB", category=Category.get(name="Customer"))
    create_contact(customer, actor, first_name="Eva", last_name="Kund", owner=manager)
    kept = create_contact(customer, actor, first_name="Dan", last_name="Kund", owner=manager)
    Contact.update(lead_status=LeadStatus.initial()).where(Contact.id == kept.id).execute()
    models.database.close()


def test_manager_searches_saves_and_bulk_updates(page, artifacts):
    make_leads()
    page.goto("/login")
    page.get_by_label("E-mail").fill("mona@example.test")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Search", exact=True).click()
    expect(page.get_by_role("heading", name="Search")).to_be_visible()
    count = page.locator("#live-count")
    expect(count).to_have_text("5 contacts match")

    # First criterion: lead status is one of Open, Contacting (R11: Dan's kept one counts).
    page.get_by_label("Add criterion").select_option(label="Lead status")
    row = page.locator("#criterion-0")
    expect(row.get_by_label("Open")).to_be_visible()
    htmx_settled(page)
    row.get_by_label("Open").check()
    row.get_by_label("Contacting").check()
    expect(count).to_have_text("4 contacts match")

    # Second criterion: category group is one of Potential customer (R12).
    page.get_by_label("Add criterion").select_option(label="Category group")
    row = page.locator("#criterion-1")
    expect(row.get_by_label("Potential customer")).to_be_visible()
    htmx_settled(page)
    row.get_by_label("Potential customer").check()
    expect(count).to_have_text("3 contacts match")
    # Another operator keeps the ticked values.
    row.get_by_label("Operator of criterion 2").select_option(label="is not one of")
    expect(count).to_have_text("1 contact matches")
    htmx_settled(page)
    page.locator("#criterion-1").get_by_label("Operator of criterion 2").select_option(
        label="is one of")
    expect(count).to_have_text("3 contacts match")
    htmx_settled(page)

    page.get_by_role("button", name="Show results").click()
    results = page.locator("#results")
    expect(results.get_by_role("heading", name="3 contacts")).to_be_visible()
    assert re.search(r"f0=lead_status&o0=in&v0=\d+&v0=\d+&f1=category_group", page.url)
    expect(results).not_to_contain_text("Dan Kund")
    page.screenshot(path=str(artifacts / "search-results.png"), full_page=True)

    # Sorting keeps the criteria in the URL.
    results.get_by_role("link", name="Name").click()
    expect(results.get_by_role("columnheader", name="Name ▼")).to_be_visible()
    assert "sort=-name" in page.url and "f1=category_group" in page.url
    htmx_settled(page)

    # Save as a dynamic selection and find it in the list.
    page.get_by_placeholder("Name, e.g. My open leads").fill("My open leads")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#save-selection")).to_contain_text("Saved as “My open leads”.")
    page.get_by_role("link", name="Selections", exact=True).first.click()
    page.get_by_role("link", name="My open leads").click()
    expect(page.get_by_role("heading", name="My open leads")).to_be_visible()
    results = page.locator("#results")
    expect(results.get_by_role("heading", name="3 contacts")).to_be_visible()

    # Tick everything on the page, set Contacting: Cai's status is not active (R8).
    results.get_by_role("link", name="Tick all on this page").click()
    expect(results.get_by_role("checkbox", name="Cai Lund")).to_be_checked()
    htmx_settled(page)
    results.get_by_label("Bulk update").select_option(label="Lead status: Contacting")
    results.get_by_role("button", name="Update").click()
    report = page.locator(".bulk-report")
    expect(report).to_contain_text("2 contacts set to Contacting.")
    expect(report).to_contain_text("1 skipped because its lead status is not active")
    expect(report.locator(".skipped")).to_contain_text("Cai Lund")
    page.screenshot(path=str(artifacts / "search-bulk-report.png"), full_page=True)

    models.database.connect(reuse_if_open=True)
    statuses = {c.first_name: c.lead_status.name for c in Contact.select()
                if c.lead_status_id}
    models.database.close()
    assert statuses == {"Anna": "Contacting", "Bo": "Contacting", "Cai": "Open", "Dan": "Open"}


def test_editing_criteria_keeps_a_shareable_address_and_adds_no_back_steps(page):
    """The live count never puts /search/count in the address bar; typing and adding rows
    replace the /search?... address, only Show results adds a Back step (items 6, 7)."""
    make_leads()
    page.goto("/login")
    page.get_by_label("E-mail").fill("mona@example.test")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    page.goto("/search")
    htmx_settled(page)
    steps = page.evaluate("history.length")
    page.get_by_label("Add criterion").select_option(label="Name")
    row = page.locator("#criterion-0")
    hint = row.locator(".hint")
    expect(hint).to_contain_text("Choose a value")
    htmx_settled(page)
    row.get_by_label("Name").press_sequentially("Ann", delay=50)
    expect(page.locator("#live-count")).to_have_text("1 contact matches")
    htmx_settled(page)
    expect(hint).to_be_hidden()
    assert "/search/count" not in page.url and "/search/criteria" not in page.url
    assert re.search(r"/search\?entity=contacts&f0=name&o0=contains&v0=Ann", page.url)
    assert page.evaluate("history.length") == steps
    page.get_by_role("button", name="Show results").click()
    expect(page.locator("#results")).to_contain_text("Anna Berg")
    # Show results is the one step Back returns from.
    assert history_length_becomes(page, steps + 1), page.evaluate("history.length")
    page.reload()
    expect(page.locator("#criterion-0").get_by_label("Name")).to_have_value("Ann")
    expect(page.locator("#live-count")).to_have_text("1 contact matches")


def test_save_as_selection_sits_beside_the_results_header(page):
    make_leads()
    page.goto("/login")
    page.get_by_label("E-mail").fill("mona@example.test")
    page.get_by_label("Password").fill("correct horse")
    page.get_by_role("button", name="Sign in").click()
    page.goto("/search")
    tools = page.locator("#results .results-head")
    expect(tools.get_by_role("link", name="Save as selection")).to_be_visible()
    tools.get_by_role("link", name="Save as selection").click()
    expect(page.locator("#selection-name")).to_be_focused()
    page.locator("#selection-name").fill("All my leads")
    page.locator("#save-selection").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved as “All my leads”.")).to_be_visible()
