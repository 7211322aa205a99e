"""The contact card in a real browser: sign in, change the lead status in place."""
import models
from models import Actor, Category, LeadStatus, User, create_company, create_contact
from playwright.sync_api import expect

from .conftest import htmx_settled


def make_rep_with_contact():
    models.database.connect(reuse_if_open=True)
    rep = User(email="rita@example.test", name="Rita Rep", role="rep")
    rep.set_password("correct horse")
    rep.save()
    company = create_company(Actor(rep), name="Fjällbo AB",
                             category=Category.get(Category.name == "Lead"), owner=rep)
    contact = create_contact(company, Actor(rep), first_name="Ola", last_name="Nordmann",
                             owner=rep)
    models.database.close()
    return contact


def sign_in(page, email="rita@example.test", password="correct horse"):
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#site-menu")).to_be_attached()  # signed in, on the landing page


def test_r8_r13_lead_status_changed_in_place_is_kept_after_reload(page):
    """R8: the status sits below Category and is editable; R13: its tooltip; R20: timeline."""
    contact = make_rep_with_contact()
    sign_in(page)
    page.goto(f"/contacts/{contact.id}")

    status = page.locator("#lead-status")
    expect(status.locator(".status-pill")).to_have_text("Open")
    expect(status.locator(".status-pill")).to_have_attribute(
        "title", LeadStatus.get(LeadStatus.name == "Open").description)
    labels = page.locator("dl.facts dt").all_inner_texts()
    assert labels.index("Lead status") == labels.index("Category") + 1

    status.get_by_role("link", name="Change").click()
    chooser = status.locator("select")
    expect(chooser).to_be_focused()
    htmx_settled(page)
    chooser.select_option(label="Qualified")
    expect(page.locator("#lead-status .status-pill")).to_have_text("Qualified")
    expect(page.locator("#timeline")).to_contain_text("from Open to Qualified")

    page.reload()
    expect(page.locator("#lead-status .status-pill")).to_have_text("Qualified")


def test_refused_change_shows_its_message_to_the_user(page):
    """An htmx 409 is not swapped silently: the message appears in a toast."""
    contact = make_rep_with_contact()
    sign_in(page)
    page.goto(f"/contacts/{contact.id}")
    page.locator("#lead-status").get_by_role("link", name="Change").click()
    chooser = page.locator("#lead-status select")
    expect(chooser).to_be_focused()
    htmx_settled(page)
    # Meanwhile a colleague moves the company to Customer (R8: no longer active).
    models.database.connect(reuse_if_open=True)
    models.move_company(contact.company, Category.get(Category.name == "Customer"), Actor())
    models.database.close()
    chooser.select_option(label="Qualified")
    expect(page.locator("#toasts .toast")).to_contain_text("Lead status is not active")


def test_expired_session_sends_the_page_to_login(page):
    """An htmx request after the session ended loads the login page (HX-Redirect)."""
    contact = make_rep_with_contact()
    sign_in(page)
    page.goto(f"/contacts/{contact.id}")
    page.context.clear_cookies()
    page.locator("#lead-status").get_by_role("link", name="Change").click()
    expect(page.get_by_role("heading", name="Sign in to Tavla")).to_be_visible()
    assert page.url.endswith(f"/login?next=/contacts/{contact.id}")
    assert page.locator("#lead-status").count() == 0


def test_lead_status_changed_by_keyboard_alone_keeps_the_focus_in_place(page):
    """R8, R13 by keyboard: open the chooser, pick a status, read its description, and
    the focus comes back to the "Change" link after the save and after a cancel."""
    contact = make_rep_with_contact()
    sign_in(page)
    page.goto(f"/contacts/{contact.id}")
    status = page.locator("#lead-status")
    status.get_by_role("link", name="Change").focus()
    page.keyboard.press("Enter")
    chooser = status.locator("select")
    expect(chooser).to_be_focused()
    htmx_settled(page)
    page.keyboard.press("ArrowDown")  # Open -> Contacting, saved on change
    expect(page.locator("#lead-status .status-pill")).to_have_text("Contacting")
    change = page.locator("#lead-status").get_by_role("link", name="Change")
    expect(change).to_be_focused()
    # R13: the description opens from the keyboard, no hovering.
    about = page.locator("#lead-status details.about summary")
    about.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#lead-status .about-text")).to_be_visible()
    change.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#lead-status select")).to_be_focused()
    htmx_settled(page)
    page.locator("#lead-status").get_by_role("button", name="Cancel").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#lead-status").get_by_role("link", name="Change")).to_be_focused()
