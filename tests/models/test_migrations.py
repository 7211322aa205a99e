"""Schema creation and upgrade: a new database and an upgraded one (R3, R5)."""
import datetime

import pytest

import models
from models import TABLES, Category, Company, Contact, LeadStatus, User
from models.schema import CategoryGroup
from models.setup import upgrade_database


def insert_company(db, name, category_id):
    """A company written in SQL: the model knows columns of later migrations (0022's
    company.name_key)."""
    db.execute_sql(f'INSERT INTO company (name, category_id, phone, email, website, city, '
                   f"country, created_at, updated_at) VALUES ({db.param}, {db.param}, "
                   "'', '', '', '', '', '2025-01-01', '2025-01-01')", (name, category_id))
    company_id = db.execute_sql("SELECT MAX(id) FROM company").fetchone()[0]
    return Company.everything(Company.id).where(Company.id == company_id).get()


@pytest.fixture
def empty_db(empty_database_url):
    db = models.bind_database(empty_database_url)
    db.connect()
    yield db
    db.close()


def test_r3_r5_new_database_gets_default_categories_and_statuses(empty_db):
    assert upgrade_database(empty_db, "en") is True
    assert Category.select().count() == 6
    assert [s.name for s in LeadStatus.ordered()][0] == "Open"


def test_r3_new_database_default_lists_in_the_chosen_language(empty_db):
    upgrade_database(empty_db, "sv")
    assert "Kund" in {c.name for c in Category.select()}
    assert [s.name for s in LeadStatus.ordered()][-1] == "Återbearbetning"


def test_r3_upgraded_database_keeps_its_data_and_gets_no_default_categories(empty_db):
    upgrade_database(empty_db, target="0001_initial")
    # An old database: its own categories, a company and a contact, no lead status.
    now = datetime.datetime(2025, 1, 1)
    p = empty_db.param
    empty_db.execute_sql("INSERT INTO category (name, description, sort_order, retired) "
                         "VALUES ('Prospect', '', 0, FALSE)")
    empty_db.execute_sql("INSERT INTO company (name, category_id, phone, email, website, city, "
                         f"country, created_at, updated_at) VALUES ('Gamla AB', 1, '', '', '', "
                         f"'', '', {p}, {p})", (now, now))
    empty_db.execute_sql("INSERT INTO contact (company_id, first_name, last_name, title, email, "
                         "phone, created_at, updated_at) VALUES (1, 'Greta', 'Gammal', '', '', "
                         f"'', {p}, {p})", (now, now))

    assert upgrade_database(empty_db, "en") is False

    assert [c.name for c in Category.select()] == ["Prospect"]
    assert Category.get().group == "other" and not Category.get().lead_status_enabled
    contact = Contact.get()
    assert (contact.full_name, contact.company.name, contact.lead_status_id) == \
        ("Greta Gammal", "Gamla AB", None)
    # R5/R6: statuses exist so the admin can enable lead status later.
    assert LeadStatus.initial().name == "Open"
    assert Company.select().count() == 1


def test_running_migrations_twice_changes_nothing(empty_db):
    upgrade_database(empty_db, "en")
    assert upgrade_database(empty_db, "en") is False
    assert Category.select().count() == 6


def all_tables():
    """Every table model of the app: the subclasses of BaseModel, however deep."""
    found, todo = [], [models.BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            found.append(sub)
    return found


def test_migrated_schema_matches_the_models(empty_db):
    upgrade_database(empty_db, "en")
    assert set(TABLES) <= set(all_tables())
    for model in all_tables():
        table = model._meta.table_name
        columns = {c.name for c in empty_db.get_columns(table)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, table
    User.create(email="x@example.test", name="X", password_hash="-")


def test_owner_history_rows_move_the_new_owner_out_of_the_actor_column(empty_db):
    """Before 0010 a distribution flow's "owner" row kept the new owner as its actor."""
    upgrade_database(empty_db, target="0009_dashboards")
    # In SQL: the models know columns later migrations add (user.session_version: 0015).
    empty_db.execute_sql('INSERT INTO category (name, description, sort_order, retired, "group", '
                         "lead_status_enabled) VALUES ('Lead', '', 0, FALSE, 'potential', TRUE)")
    category = 1
    empty_db.execute_sql("INSERT INTO \"user\" (email, name, password_hash, role, language, "
                         "active) VALUES ('rep@example.test', 'Rep', 'x', 'rep', 'en', TRUE)")
    rep = User.select(User.id).get()
    # The company, contact and history row in SQL too: the models know columns of 0019
    # (contact.deleted_with_company) and 0024 (company.version, history.activity_id).
    empty_db.execute_sql("INSERT INTO company (name, category_id, phone, email, website, city, "
                         "country, created_at, updated_at) VALUES ('Fjällbo AB', "
                         f"{category}, '', '', '', '', '', '2025-01-01', '2025-01-01')")
    company_id = empty_db.execute_sql("SELECT MAX(id) FROM company").fetchone()[0]
    empty_db.execute_sql("INSERT INTO contact (company_id, first_name, last_name, title, email, "
                         "phone, owner_id, utm_source, utm_medium, utm_campaign, utm_term, "
                         "utm_content, created_at, updated_at, version) VALUES "
                         f"({company_id}, 'Anna', 'Berg', '', '', '', {rep.id}, '', '', '', '', "
                         "'', '2025-01-01', '2025-01-01', 0)")
    contact_id = empty_db.execute_sql("SELECT MAX(id) FROM contact").fetchone()[0]
    empty_db.execute_sql("INSERT INTO history (kind, company_id, contact_id, actor_id, "
                         "created_at, source, source_label) VALUES ('owner', "
                         f"{company_id}, {contact_id}, {rep.id}, '2025-01-01', 'form', "
                         "'Web form: Spring')")

    upgrade_database(empty_db, "en")

    row = models.History.get()
    assert (row.to_owner_id, row.from_owner_id, row.actor_id) == (rep.id, None, None)


def names_in_every_language(row):
    return tuple(row.name_in(language) for language in ("en", "sv", "nb"))


def test_r23_new_database_names_its_default_lists_in_every_language(empty_db):
    """The seeds' words (SPEC R23's table), whatever language the database is created in."""
    upgrade_database(empty_db, "sv")
    statuses = [names_in_every_language(s) for s in LeadStatus.ordered()]
    assert statuses == [
        ("Open", "Öppen", "Åpen"), ("Contacting", "Kontakt tas", "Kontakter"),
        ("Qualified", "Kvalificerad", "Kvalifisert"),
        ("Disqualified", "Diskvalificerad", "Diskvalifisert"),
        ("Nurture", "Återbearbetning", "Varmes opp igjen")]
    contacting = LeadStatus.get(LeadStatus.name == "Kontakt tas")
    assert contacting.description_in("sv") == "Du försöker nå leadden."
    assert contacting.description_in("nb") == "Salg prøver aktivt å nå leadden."
    assert LeadStatus.initial().description_in("nb") == "Ingen salgskontakt er gjort ennå."
    assert [names_in_every_language(c) for c in Category.ordered()] == [
        ("Lead", "Lead", "Lead"),
        ("Marketing qualified lead (MQL)", "Marknadsföringskvalificerat lead (MQL)",
         "Markedsføringskvalifisert lead (MQL)"),
        ("Opportunity", "Affärsmöjlighet", "Mulighet"),
        ("Lost opportunity", "Förlorad möjlighet", "Tapt mulighet"),
        ("Customer", "Kund", "Kunde"), ("Partner", "Partner", "Partner")]
    assert Category.get(Category.name == "Affärsmöjlighet").description_in("nb") == \
        "Aktiv salgsprosess."
    groups = {g.code: names_in_every_language(g) for g in CategoryGroup.select()}
    assert groups == {"potential": ("Potential customer", "Potentiell kund", "Potensiell kunde"),
                      "customer": ("Customer", "Kund", "Kunde"),
                      "partner": ("Partner", "Partner", "Partner"),
                      "lost": ("Lost", "Förlorad", "Tapt"), "other": ("Other", "Övrigt", "Annet")}


def test_r23_upgrade_names_the_defaults_an_admin_kept_and_leaves_renamed_ones_alone(empty_db):
    """Migration 0016 on a database created in Swedish before it, with the words of then."""
    upgrade_database(empty_db, target="0013_lead_daily")
    old = [("Öppen", "Ingen säljkontakt har tagits ännu."),
           ("Kontaktar", "Sälj försöker aktivt nå leadet."),
           ("Möte bokat", "Ett första möte är inbokat."),  # renamed by the admin
           ("Diskvalificerad", "Uppfyller inte kriterierna."),
           ("Återbearbetning", "Egen beskrivning.")]  # described by the admin
    for status_id, (name, description) in enumerate(old, 1):
        empty_db.execute_sql(f"UPDATE lead_status SET name = {empty_db.param}, "
                             f"description = {empty_db.param} WHERE id = {status_id}",
                             (name, description))
    # The admin gave Diskvalificerad a Norwegian name of their own.
    empty_db.execute_sql("UPDATE lead_status SET name_nb = 'Forkastet' WHERE id = 4")
    for order, (name, group) in enumerate([("Lead", "potential"),
                                           ("Marknadskvalificerat lead (MQL)", "potential"),
                                           ("Het affär", "potential"), ("Kund", "customer")]):
        empty_db.execute_sql(
            'INSERT INTO category (name, description, sort_order, retired, "group", '
            f"lead_status_enabled) VALUES ({empty_db.param}, '', {order}, FALSE, "
            f"{empty_db.param}, FALSE)", (name, group))

    upgrade_database(empty_db)

    statuses = {s.id: s for s in LeadStatus.select()}
    assert names_in_every_language(statuses[2]) == ("Contacting", "Kontakt tas", "Kontakter")
    assert statuses[2].name == "Kontakt tas"
    assert statuses[2].description == "Du försöker nå leadden."
    assert statuses[2].description_in("en") == "Sales is actively trying to reach the lead."
    assert names_in_every_language(statuses[3]) == ("Möte bokat",) * 3
    assert statuses[3].description_in("nb") == "Ett första möte är inbokat."
    assert names_in_every_language(statuses[4]) == ("Disqualified", "Diskvalificerad",
                                                    "Forkastet")
    assert names_in_every_language(statuses[5]) == ("Nurture", "Återbearbetning",
                                                    "Varmes opp igjen")
    assert statuses[5].description_in("nb") == "Egen beskrivning."
    categories = {c.name: c for c in Category.select()}
    assert set(categories) == {"Lead", "Marknadsföringskvalificerat lead (MQL)", "Het affär",
                               "Kund"}
    assert names_in_every_language(categories["Marknadsföringskvalificerat lead (MQL)"]) == (
        "Marketing qualified lead (MQL)", "Marknadsföringskvalificerat lead (MQL)",
        "Markedsføringskvalifisert lead (MQL)")
    assert categories["Kund"].description_in("nb") == "Kjøper fra oss."
    assert names_in_every_language(categories["Het affär"]) == ("Het affär",) * 3
    potential = CategoryGroup.get(CategoryGroup.code == "potential")
    assert (potential.name, names_in_every_language(potential)) == (
        "Potentiell kund", ("Potential customer", "Potentiell kund", "Potensiell kunde"))


def test_r24_web_form_messages_received_before_0018_become_notes(empty_db):
    """The timelines read messages from the activities only, old ones included."""
    import json

    from models.schema import Activity
    from models.webforms import WebForm, WebFormSubmission
    upgrade_database(empty_db, "en", target="0017_jobs_and_set_rules")
    p = empty_db.param
    lead = Category.create(name="Lead", group="potential", lead_status_enabled=True)
    stamp = datetime.datetime(2026, 5, 4, 10, 30)
    # In SQL: the model knows company.version (0024).
    empty_db.execute_sql("INSERT INTO company (name, category_id, phone, email, website, city, "
                         f"country, created_at, updated_at) VALUES ('Fjällbo AB', {p}, '', '', "
                         f"'', '', '', {p}, {p})", (lead.id, stamp, stamp))
    company_id = empty_db.execute_sql("SELECT MAX(id) FROM company").fetchone()[0]
    empty_db.execute_sql("INSERT INTO contact (company_id, first_name, last_name, title, email, "
                         "phone, utm_source, utm_medium, utm_campaign, utm_term, utm_content, "
                         "created_at, updated_at, version) VALUES "
                         f"({p}, 'Anna', 'Berg', '', '', '', '', '', '', '', '', {p}, {p}, 0)",
                         (company_id, stamp, stamp))
    # In SQL: Contact.select() knows the deleted_at column of 0019.
    contact_id = empty_db.execute_sql("SELECT MAX(id) FROM contact").fetchone()[0]
    form = WebForm.create(name="Spring webinar")
    for message in ("Call me on Tuesday", ""):
        WebFormSubmission.create(form=form, contact=contact_id, company=company_id,
                                 payload=json.dumps({"message": message}), created_at=stamp)

    upgrade_database(empty_db, "en")

    note = Activity.get()
    assert (note.kind, note.text, note.contact_id, note.source, note.source_label,
            note.created_at) == ("note", "Call me on Tuesday", contact_id, "form",
                                 "Web form: Spring webinar", stamp)
    assert Contact.get_by_id(contact_id).last_activity_at == stamp


def test_company_name_keys_are_filled_for_existing_companies(empty_db):
    """0022: companies from before it get their duplicate-matching key (Å folded too)."""
    from models.merge import duplicate_companies
    upgrade_database(empty_db, "en", target="0020_api_tokens_and_webhooks")
    lead = Category.create(name="Lead", group="potential", lead_status_enabled=True)
    first = insert_company(empty_db, "Åkesson  AB", lead.id)
    second = insert_company(empty_db, "åkesson ab", lead.id)
    upgrade_database(empty_db, "en")
    assert [c.name_key for c in Company.select().order_by(Company.id)] == ["åkesson ab"] * 2
    assert [c.id for c in duplicate_companies(Company.get_by_id(first.id))] == [second.id]


def test_an_import_under_way_keeps_its_file_and_plan_through_0028(empty_db):
    from models.imports import ImportData, ImportJob
    upgrade_database(empty_db, "en", target="0027_fewer_lead_status_indexes")
    p = empty_db.param
    for content, plan in (("Company\nFjällbo AB", '{"creates": []}'), ("", "")):
        empty_db.execute_sql("INSERT INTO import_job (created_at, filename, encoding, delimiter, "
                             "content, mapping, state, total_rows, processed_rows, "
                             "created_count, updated_count, unchanged_count, refused_count, "
                             "report, error, plan, saved_items) VALUES "
                             f"('2026-11-30', 'a.csv', 'utf-8', ';', {p}, '{{}}', 'saving', 1, 1, "
                             f"0, 0, 0, 0, '[]', '', {p}, 0)", (content, plan))

    upgrade_database(empty_db, "en")

    started, ended = ImportJob.select().order_by(ImportJob.id)
    data = ImportData.get()
    assert (data.job_id, data.content, data.plan) == (started.id, "Company\nFjällbo AB",
                                                      '{"creates": []}')
    assert not ImportData.select().where(ImportData.job == ended.id).exists()
