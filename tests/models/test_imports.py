"""CSV import: many leads at once by the rules of R9, R17, R20, R21 (lead source) and R22."""
import codecs
import json
from collections import Counter

import pytest

from models import Actor, Category, Company, Contact, History, LeadStatus, RuleViolation, User
from models import create_company, create_contact
from models.categorization import save_rules
from models.distribution import save_flow
from models.imports import (ImportData, ImportJob, ImportMapping, create_job, decode_upload,
                            detect_delimiter, guess_mapping, preview, read_table, run_import,
                            set_mapping)
from models.schema import CategorySuggestion
from models.search import ContactSearch, search_contacts

# Rows 3, 6 and 7 have problems, row 5 is blank, row 8 repeats row 2's e-mail
# in other letter case.
NORDIC = """Företag;Förnamn;Efternamn;E-post;Telefon;Ort;utm_source;utm_campaign
Fjällbo AB;Åsa;Öberg;asa@fjallbo.se;070-123 45 67;Göteborg;linkedin;spring
Kundgården AB;Bo;Ek;bo@@kund;;Malmö;;
Nordljus AS;Øystein;Ås;oystein@nordljus.no;+47 22 33 44 55;Tromsø;google;brand
;;;;;;;
;;;;;Oslo;;
Ek & Son;Per;Ek;per@ekson.se;ring mig;Växjö;;
Fjällbo AB;Åsa;Öberg;ASA@FJALLBO.SE;;;newsletter;may
"""
REFUSED = {
    (3, "bo@@kund is not a valid e-mail address."),
    (6, "The row has neither a company name nor a contact."),
    (7, "The phone number ring mig may hold digits, spaces and + ( ) - only."),
}


def make_user(email, role="rep"):
    user = User(email=email, name=email.split("@")[0].title(), role=role)
    user.set_password("secret password")
    user.save()
    return user


@pytest.fixture
def manager(db):
    return make_user("maja@example.test", "manager")


def snapshot():
    return (Company.select().count(), Contact.select().count(), History.select().count(),
            CategorySuggestion.select().count())


def imported(manager, data, filename="leads.csv", flow=None, category=None, mapping=None):
    """Upload, map (the guessed mapping unless given) and run an import; the finished job."""
    job = create_job(manager, filename, data)
    set_mapping(job, Actor(manager), mapping or job.columns,
                category.id if category else None, flow.id if flow else None)
    return run_import(job.id)


def report_messages(job):
    return {(entry["line"], entry["message"] % entry["params"]) for entry in job.report_rows}


# --- Reading files as Nordic spreadsheet programs write them -------------------------------

@pytest.mark.parametrize("encode, encoding", [
    (lambda text: text.encode("cp1252"), "Windows-1252"),
    (lambda text: codecs.BOM_UTF8 + text.encode("utf-8"), "UTF-8 (BOM)"),
    (lambda text: text.encode("utf-8"), "UTF-8"),
    (lambda text: text.encode("utf-16"), "UTF-16"),
])
def test_encodings_are_recognised(encode, encoding):
    text = "Företag;Ort\r\nFjällbo AB;Göteborg\r\n"
    assert decode_upload(encode(text)) == (text, encoding)


@pytest.mark.parametrize("text, delimiter", [
    ("Företag;Ort;Namn\nA, B och C;X;Y\n", ";"),
    ("Company,City,Name\n\"Ek; Son\",Oslo,Per\n", ","),
    ("Company\tCity\nEk\tOslo\n", "\t"),
])
def test_delimiter_is_recognised(text, delimiter):
    assert detect_delimiter(text) == delimiter


def test_spreadsheet_files_and_garbage_are_refused(manager):
    with pytest.raises(RuleViolation, match="spreadsheet file, not CSV"):
        create_job(manager, "leads.xlsx", b"PK\x03\x04rest")
    with pytest.raises(RuleViolation, match="could not be read"):
        create_job(manager, "x.csv", codecs.BOM_UTF8 + b"a;b\n\xff\xfe;x\n")
    with pytest.raises(RuleViolation, match="empty"):
        create_job(manager, "x.csv", b"")
    with pytest.raises(RuleViolation, match="at least one row"):
        create_job(manager, "x.csv", b"Company;City\n")
    assert ImportJob.select().count() == 0


def test_headers_guess_the_mapping_in_nordic_languages():
    headers, rows = read_table(NORDIC, ";")
    assert guess_mapping(headers) == {
        "Företag": "company_name", "Förnamn": "first_name", "Efternamn": "last_name",
        "E-post": "email", "Telefon": "phone", "Ort": "company_city",
        "utm_source": "utm_source", "utm_campaign": "utm_campaign"}
    assert guess_mapping(["Firmanavn", "Navn", "Mobil", "Kampanje"]) == {
        "Firmanavn": "company_name", "Navn": "full_name", "Mobil": "phone",
        "Kampanje": "utm_campaign"}
    assert [line for line, _ in rows] == [2, 3, 4, 6, 7, 8]  # the blank row 5 is skipped


# --- The import -----------------------------------------------------------------------------

def test_r21_mixed_good_and_bad_rows_semicolons_windows_1252(manager):
    """Good rows come in with their lead source, bad rows are refused with reasons."""
    job = imported(manager, NORDIC.encode("cp1252"))
    assert job.state == "done", job.error
    assert (job.created_count, job.updated_count, job.unchanged_count, job.refused_count) == (
        2, 1, 0, 3)
    assert report_messages(job) == REFUSED | {(8, "Same e-mail address as row 2: merged into it.")}
    asa = Contact.get(Contact.email == "asa@fjallbo.se")
    assert (asa.first_name, asa.last_name, asa.company.name, asa.company.city) == (
        "Åsa", "Öberg", "Fjällbo AB", "Göteborg")
    # The first touch is the source (R21); the repeat did not change it.
    assert (asa.utm_source, asa.utm_campaign) == ("linkedin", "spring")
    assert {c.name for c in Company.select()} == {"Fjällbo AB", "Nordljus AS"}
    assert [c.email for c in search_contacts(ContactSearch(utm_source="google"))] == [
        "oystein@nordljus.no"]


def test_row_without_company_or_contact_is_refused_not_ignored(manager):
    job = imported(manager, b"Company;City;E-mail\n;Oslo;\nEk AB;Oslo;\n")
    assert (job.created_count, job.refused_count) == (1, 1)
    assert report_messages(job) == {(2, "The row has neither a company name nor a contact.")}


def test_r9_r20_new_contacts_start_open_and_history_says_import(manager):
    job = imported(manager, NORDIC.encode("utf-8"))
    contacts = list(Contact.select())
    assert {c.lead_status_id for c in contacts} == {LeadStatus.initial().id}
    assert all(c.status_changed_at for c in contacts)
    rows = list(History.select())
    assert Counter(r.kind for r in rows) == {"category": 2, "lead_status": 2}
    assert {(r.source, r.source_label) for r in rows} == {("import", "Import: leads.csv")}
    assert job.label == "Import: leads.csv"


def test_r9_contact_added_to_a_customer_gets_no_status(manager):
    customer = create_company(Actor(manager), name="Fjällbo AB",
                              category=Category.get(name="Customer"))
    imported(manager, NORDIC.encode("utf-8"))
    asa = Contact.get(Contact.email == "asa@fjallbo.se")
    assert asa.company_id == customer.id and asa.lead_status_id is None
    assert Company.select().where(Company.name == "Fjällbo AB").count() == 1


def test_category_of_new_companies_can_be_chosen(manager):
    mql = Category.get(name="Marketing qualified lead (MQL)")
    imported(manager, NORDIC.encode("utf-8"), category=mql)
    assert {c.category_id for c in Company.select()} == {mql.id}


def test_duplicates_by_email_and_company_name_are_updated_not_repeated(manager):
    actor = Actor(manager)
    fjallbo = create_company(actor, name="Fjällbo AB",
                             category=Category.get(name="Lead"), city="")
    known = create_contact(fjallbo, actor, first_name="Åsa", last_name="Gammal",
                           email="Asa@Fjallbo.se", phone="031-11 22 33", utm_source="fair")
    job = imported(manager, NORDIC.encode("utf-8"))
    assert (job.created_count, job.updated_count, job.refused_count) == (1, 2, 3)
    known = Contact.get_by_id(known.id)
    assert Contact.select().where(Contact.email ** "asa@fjallbo.se").count() == 1
    # Filled cells overwrite, the known lead source (first touch) stays.
    assert (known.last_name, known.phone, known.utm_source) == (
        "Öberg", "070-123 45 67", "fair")
    assert Company.get_by_id(fjallbo.id).city == "Göteborg"
    assert Company.select().where(Company.name == "Fjällbo AB").count() == 1


def test_importing_the_same_file_twice_changes_nothing_the_second_time(manager):
    imported(manager, NORDIC.encode("utf-8"))
    before = snapshot()
    job = imported(manager, NORDIC.encode("utf-8"))
    assert (job.created_count, job.updated_count, job.unchanged_count, job.refused_count) == (
        0, 0, 3, 3)
    assert snapshot() == before


def test_empty_cells_never_erase(manager):
    imported(manager, b"Company;Name;E-mail;Phone;Title\nEk AB;Per Ek;per@ek.se;070-1;CEO\n")
    imported(manager, b"Company;Name;E-mail;Phone;Title\nEk AB;;per@ek.se;;\n")
    imported(manager, b"E-mail;Phone\nper@ek.se;070-2\n")
    per = Contact.get()
    assert (per.first_name, per.last_name, per.phone, per.title) == ("Per", "Ek", "070-2",
                                                                     "CEO")


def test_contact_with_only_an_email_is_named_after_it(manager):
    imported(manager, b"Company;E-mail\nEk AB;per.ek@ek.se\n")
    assert Contact.get().first_name == "per.ek"


def test_company_only_rows(manager):
    job = imported(manager, "Company;City\nEk AB;Oslo\nEk AB;Bergen\nNy AS;\n".encode())
    assert (job.created_count, job.updated_count) == (2, 1)
    assert Company.get(name="Ek AB").city == "Bergen"
    assert Contact.select().count() == 0


def test_full_name_column_and_derived_company(manager):
    data = "Name;E-mail\nAnna Maria Berg;anna@fjallbo.se\nBo Ek;bo@gmail.com\n".encode()
    imported(manager, data)
    anna = Contact.get(Contact.email == "anna@fjallbo.se")
    assert (anna.first_name, anna.last_name, anna.company.name) == ("Anna Maria", "Berg",
                                                                    "fjallbo.se")
    assert Contact.get(Contact.email == "bo@gmail.com").company.name == "Bo Ek"


def test_r22_a_flow_assigns_owners_round_robin_and_history_records_it(manager):
    reps = [make_user(f"rep{n}@example.test") for n in range(3)]
    reps[1].active = False
    reps[1].save()
    flow = save_flow(None, Actor(manager), "Nordics", "round_robin", True,
                     [u.id for u in reps])
    lines = ["Company;E-mail"] + [f"Firma {n};p{n}@firma{n}.se" for n in range(10)]
    imported(manager, "\n".join(lines).encode(), flow=flow)
    owners = Counter(c.owner_id for c in Contact.select())
    assert owners == {reps[0].id: 5, reps[2].id: 5}
    assert all(c.owner_id for c in Company.select())
    assert History.select().where(History.kind == "owner", History.source == "import").count() \
        == 10
    # The turn moved on in the database: the next lead goes on from there.
    imported(manager, b"Company;E-mail\nNy AB;ny@ny.se\n", flow=flow)
    assert Contact.get(Contact.email == "ny@ny.se").owner_id == reps[0].id


def test_r26_each_owner_hears_once_of_the_leads_a_whole_import_gave_them(manager, monkeypatch):
    """One notice and one mail per owner when the import ends, however many chunks it
    wrote (a notice per chunk was a hundred mails for a 50,000-row file)."""
    import models.imports
    from models.reminders import Mail, Notice
    monkeypatch.setattr(models.imports, "CHUNK_ROWS", 4)
    reps = [make_user(f"rep{n}@example.test") for n in range(2)]
    flow = save_flow(None, Actor(manager), "Nordics", "round_robin", True, [u.id for u in reps])
    lines = ["Company;E-mail"] + [f"Firma {n};p{n}@firma{n}.se" for n in range(30)]
    job = imported(manager, "\n".join(lines).encode(), flow=flow)
    assert job.saved_items > 4
    notices = {n.user_id: json.loads(n.payload) for n in Notice.select()}
    assert sorted(notices) == sorted(u.id for u in reps)
    assert [notices[u.id]["count"] for u in reps] == [15, 15]
    assert all(len(n["contacts"]) == 10 and n["by"] == "Import: leads.csv"
               for n in notices.values())
    assert Mail.select().count() == 2


def test_r26_an_import_that_fails_tells_the_owners_of_what_it_saved(manager, monkeypatch):
    import models.imports
    from models.imports import fail_import
    from models.reminders import Notice
    monkeypatch.setattr(models.imports, "CHUNK_ROWS", 2)
    rep = make_user("rep@example.test")
    flow = save_flow(None, Actor(manager), "Nordics", "round_robin", True, [rep.id])
    lines = ["Company;E-mail"] + [f"Firma {n};p{n}@firma{n}.se" for n in range(10)]
    job = create_job(manager, "leads.csv", "\n".join(lines).encode())
    set_mapping(job, Actor(manager), job.columns, None, flow.id)

    def crash(index):
        if index == 2:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run_import(job.id, on_chunk=crash)
    assert not Notice.select().exists()  # nothing is told while it runs
    fail_import(job.id, "disk full")
    notice = Notice.get()
    assert (notice.user_id, json.loads(notice.payload)["count"]) == (rep.id, 2)


def test_r17_confirm_rule_leaves_pending_suggestions_no_user_at_hand(manager):
    open_status = LeadStatus.initial()
    save_rules({("status_set", open_status.id): {
        "enabled": True, "target_category_id": Category.get(name="Opportunity").id,
        "ask_confirm": True}}, Actor())
    imported(manager, NORDIC.encode("utf-8"))
    suggestions = list(CategorySuggestion.select())
    assert len(suggestions) == 2
    assert {(s.state, s.source, s.source_label, s.proposed_category.name)
            for s in suggestions} == {("pending", "import", "Import: leads.csv", "Opportunity")}
    assert {c.category.name for c in Company.select()} == {"Lead"}


def test_r15_r19_rule_without_confirmation_moves_the_new_companies_once(manager):
    statuses = {s.name: s for s in LeadStatus.select()}
    save_rules({("status_set", statuses["Open"].id): {
        "enabled": True, "target_category_id": Category.get(name="Opportunity").id,
        "ask_confirm": False}}, Actor())
    imported(manager, NORDIC.encode("utf-8"))
    assert {c.category.name for c in Company.select()} == {"Opportunity"}
    moves = list(History.select().where(History.from_category.is_null(False)))
    assert len(moves) == 2
    assert {(m.source, m.source_label) for m in moves} == {
        ("rule", "Lead status set to Open")}
    # R11: the status stays although Opportunity has no lead status.
    assert {c.lead_status.name for c in Contact.select()} == {"Open"}


def test_a_failure_stops_at_a_whole_chunk_and_the_next_run_goes_on_from_it(manager,
                                                                            monkeypatch):
    """Saved a chunk per transaction: a failure leaves whole chunks only, and running
    the import again finishes it with nothing written twice."""
    import models.imports
    monkeypatch.setattr(models.imports, "CHUNK_ROWS", 2)
    create_company(Actor(manager), name="Fjällbo AB", category=Category.get(name="Lead"))
    lines = ["Company;E-mail"] + [f"Firma {n};p{n}@firma{n}.se" for n in range(10)]
    job = create_job(manager, "leads.csv", "\n".join(lines).encode())
    set_mapping(job, Actor(manager), job.columns)

    def crash(index):
        if index == 3:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run_import(job.id, on_chunk=crash)
    job = ImportJob.get_by_id(job.id)
    assert job.saved_items == 3 and job.state == "saving"
    # Three whole chunks of one company and its contact each, nothing of the fourth.
    assert Contact.select().count() == 3 and Company.select().count() == 4
    assert History.select().where(History.kind == "lead_status").count() == 3

    job = run_import(job.id)
    assert job.state == "done" and job.created_count == 10
    assert Contact.select().count() == 10 and Company.select().count() == 11
    assert History.select().where(History.kind == "lead_status").count() == 10
    # The file and the plan go with the end of the import.
    assert not ImportData.select().where(ImportData.job == job.id).exists()


def test_preview_names_each_rows_problems_and_action(manager):
    create_company(Actor(manager), name="Nordljus AS", category=Category.get(name="Lead"))
    job = create_job(manager, "leads.csv", NORDIC.encode("cp1252"))
    set_mapping(job, Actor(manager), job.columns)
    headers, rows = preview(job)
    assert headers[0] == "Företag"
    assert [(r.row.line, r.action) for r in rows] == [
        (2, "create"), (3, "refuse"), (4, "create"), (6, "refuse"), (7, "refuse"),
        (8, "create")]
    assert rows[1].row.problems == [("%(email)s is not a valid e-mail address.",
                                     {"email": "bo@@kund"})]
    assert snapshot()[:2] == (1, 0)  # a preview writes nothing


def test_mapping_is_checked_and_can_be_remembered(manager):
    job = create_job(manager, "leads.csv", NORDIC.encode("utf-8"))
    with pytest.raises(RuleViolation, match="more than one column"):
        set_mapping(job, Actor(manager), {"Förnamn": "first_name", "Efternamn": "first_name"})
    with pytest.raises(RuleViolation, match="at least a column"):
        set_mapping(job, Actor(manager), {"Ort": "company_city"})
    with pytest.raises(RuleViolation, match="Unknown column"):
        set_mapping(job, Actor(manager), {"Nope": "email"})
    mapping = {"Företag": "company_name", "E-post": "email", "Ort": "company_country"}
    set_mapping(job, Actor(manager), mapping, remember_as="Mässlista")
    assert ImportMapping.get(name="Mässlista").columns == mapping
    # The next file with these columns gets the remembered mapping, not the guess.
    again = create_job(manager, "more.csv", NORDIC.encode("cp1252"))
    assert again.columns == mapping


def test_html_in_cells_is_kept_as_text(manager):
    imported(manager, b'Company;Name\n<script>alert(1)</script>;<b>Bo</b> Ek\n')
    assert Company.get().name == "<script>alert(1)</script>"
    assert Contact.get().first_name == "<b>Bo</b>"


def test_a_large_file_is_saved_in_chunks_with_owners_in_turn(manager, monkeypatch):
    """5,000 rows (Windows-1252, semicolons) across many chunks; the time of 50,000 is a
    row of bench/run.py."""
    import models.imports
    monkeypatch.setattr(models.imports, "CHUNK_ROWS", 700)
    reps = [make_user(f"rep{n}@example.test") for n in range(4)]
    flow = save_flow(None, Actor(manager), "Nordics", "round_robin", True,
                     [u.id for u in reps])
    lines = ["Företag;Förnamn;Efternamn;E-post;Telefon;Ort;utm_source;utm_campaign"]
    lines += [f"Företag {n // 2} AB;Åsa{n};Öberg;asa{n}@foretag{n // 2}.se;070-123 {n % 100};"
              f"Göteborg;linkedin;spring" for n in range(5_000)]
    job = imported(manager, "\r\n".join(lines).encode("cp1252"), flow=flow)
    assert job.state == "done", job.error
    assert (job.created_count, job.refused_count) == (5_000, 0)
    assert Contact.select().count() == 5_000 and Company.select().count() == 2_500
    assert sorted(Counter(c.owner_id for c in Contact.select(Contact.owner)).values()) == \
        [1_250] * 4
    assert History.select().where(History.kind == "owner").count() == 5_000
