"""R23 in a real browser: a Swedish and a Norwegian rep work their leads in their own
words (board columns, the toast after a drag, the timeline), also on a database that
was created in another language."""
import models
from models import Actor, Category, LeadStatus, User, create_company, create_contact
from models.schema import CategoryGroup
from models.setup import DEFAULT_CATEGORIES, DEFAULT_GROUPS, DEFAULT_STATUSES, translated
from playwright.sync_api import expect

from .conftest import htmx_settled
from .test_settings import drag

PASSWORD = "correct horse"


def setup_rep(email, language, database_language="en"):
    """A rep in `language` with two Open leads at a Lead company; the lists as a
    database created in `database_language` has them."""
    models.database.connect(reuse_if_open=True)
    if database_language != "en":
        for row, words in zip(LeadStatus.ordered(include_retired=True), DEFAULT_STATUSES):
            LeadStatus.update(**translated(words, database_language)) \
                .where(LeadStatus.id == row.id).execute()
        for row, (_, _, words) in zip(Category.ordered(include_retired=True),
                                      DEFAULT_CATEGORIES):
            Category.update(**translated(words, database_language)) \
                .where(Category.id == row.id).execute()
        for code, words in DEFAULT_GROUPS.items():
            names = {language_: (word,) for language_, word in words.items()}
            (CategoryGroup.update(**translated(names, database_language, ("name",)))
             .where(CategoryGroup.code == code).execute())
    rep = User(email=email, name="Rep", role="rep", language=language)
    rep.set_password(PASSWORD)
    rep.save()
    lead = Category.get(Category.group == "potential", Category.sort_order == 0)
    company = create_company(Actor(rep), name="Fjällbo AB", category=lead, owner=rep)
    contacts = [create_contact(company, Actor(rep), first_name=first, last_name="Berg",
                               owner=rep) for first in ("Anna", "Bo")]
    models.database.close()
    return contacts


def sign_in(page, email):
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#site-menu")).to_be_attached()  # signed in, on the landing page


def columns(page):
    return page.locator("#board-columns section h2")


def column(page, name):
    return page.get_by_role("region", name=name, exact=True)


def drag_to(page, contact, name):
    htmx_settled(page)
    drag(page, page.locator(f"#card-{contact.id} .card-company"),
         column(page, name).locator("ol"))


def test_r23_a_swedish_rep_on_an_english_database(page, artifacts):
    anna, _ = setup_rep("sven@example.test", "sv")
    sign_in(page, "sven@example.test")
    page.goto("/board")
    expect(columns(page)).to_have_text(["Öppen", "Kontakt tas", "Kvalificerad",
                                        "Diskvalificerad", "Återbearbetning"])
    expect(column(page, "Öppen").locator(f"#card-{anna.id}")).to_contain_text("Lead")
    drag_to(page, anna, "Kontakt tas")
    expect(page.locator("#toasts")).to_contain_text("Anna Berg flyttades till Kontakt tas.")
    page.screenshot(path=artifacts / "board-sv.png", full_page=True)
    page.goto(f"/contacts/{anna.id}")
    expect(page.locator("#timeline")).to_contain_text(
        "Leadstatus ändrad från Öppen till Kontakt tas")
    expect(page.locator("#contact-details")).to_contain_text("Potentiell kund")


def test_r23_a_norwegian_rep_on_a_swedish_database(page, artifacts):
    anna, _ = setup_rep("nora@example.test", "nb", database_language="sv")
    sign_in(page, "nora@example.test")
    page.goto("/board")
    expect(columns(page)).to_have_text(["Åpen", "Kontakter", "Kvalifisert", "Diskvalifisert",
                                        "Varmes opp igjen"])
    drag_to(page, anna, "Varmes opp igjen")
    expect(page.locator("#toasts")).to_contain_text(
        "Anna Berg ble flyttet til Varmes opp igjen.")
    page.screenshot(path=artifacts / "board-nb.png", full_page=True)
    page.goto(f"/contacts/{anna.id}")
    expect(page.locator("#timeline")).to_contain_text(
        "Leadstatus endret fra Åpen til Varmes opp igjen")
    expect(page.locator("#contact-details")).to_contain_text("Potensiell kunde")
    expect(page.locator("body")).not_to_contain_text("Återbearbetning")
