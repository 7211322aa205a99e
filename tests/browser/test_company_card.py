"""The company card in a real browser: moving categories updates the contacts tab."""
import models
from models import Actor, Category, Contact, User, create_company, create_contact
from playwright.sync_api import expect

from .conftest import htmx_settled
from .test_contact_card import sign_in


def test_r10_r11_category_move_updates_contacts_tab_in_place(page):
    models.database.connect(reuse_if_open=True)
    rep = User(email="rita@example.test", name="Rita Rep", role="rep")
    rep.set_password("correct horse")
    rep.save()
    company = create_company(Actor(rep), name="Kundgården AB",
                             category=Category.get(Category.name == "Customer"))
    for first in ("Anna", "Bo"):
        create_contact(company, Actor(rep), first_name=first, last_name="Lund")
    models.database.close()

    sign_in(page)
    page.goto(f"/companies/{company.id}")
    tab = page.locator("#contacts-tab")
    expect(tab.get_by_role("row")).to_have_count(3)
    expect(tab.locator(".status-pill")).to_have_count(0)

    page.locator("#category-panel").get_by_label("Category").select_option(label="Lead")
    expect(tab.locator(".status-pill", has_text="Open")).to_have_count(2)
    expect(page.locator("#timeline")).to_contain_text("from Customer to Lead")
    htmx_settled(page)

    page.locator("#category-panel").get_by_label("Category").select_option(label="Partner")
    expect(page.locator("#category-panel")).to_contain_text("Not active")
    expect(tab.locator(".inactive .status-pill")).to_have_count(2)
    models.database.connect(reuse_if_open=True)
    assert {c.lead_status.name for c in Contact.select()} == {"Open"}
    models.database.close()


def test_contacts_tab_column_chooser_and_group_by(page):
    models.database.connect(reuse_if_open=True)
    rep = User(email="rita@example.test", name="Rita Rep", role="rep")
    rep.set_password("correct horse")
    rep.save()
    company = create_company(Actor(rep), name="Fjällbo AB",
                             category=Category.get(Category.name == "Lead"))
    create_contact(company, Actor(rep), first_name="Anna", last_name="Berg", utm_source="google")
    create_contact(company, Actor(rep), first_name="Bo", last_name="Ek")
    models.database.close()

    sign_in(page)
    page.goto(f"/companies/{company.id}")
    tab = page.locator("#contacts-tab")
    page.get_by_text("Columns").click()
    tab.get_by_label("Category group").check()
    expect(tab.locator("th", has_text="Category group")).to_be_visible()
    htmx_settled(page)
    tab.get_by_label("Group by").select_option(label="Source")
    expect(tab.locator(".group-row")).to_have_count(2)
    expect(tab.locator(".group-row").first).to_contain_text("Direct / unknown")
    page.reload()  # the state lives in the URL
    expect(tab.locator(".group-row")).to_have_count(2)
    expect(tab.locator("th", has_text="Category group")).to_be_visible()
