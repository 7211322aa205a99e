"""Web forms: R21 (a submission creates a lead with its UTM source), with R9, R17, R22."""
import datetime
import json

import pytest

import models
from models import Actor, Category, Company, Contact, History, LeadStatus, RuleViolation, User
from models import create_company, create_contact
from models.categorization import save_rules
from models.feed import changes_after, latest_change_id
from models.schema import CategorySuggestion
from models.search import ContactSearch, parse_criteria, run_criteria, search_contacts
from models.webforms import (FormClosed, InvalidSubmission, LooksAutomated, TooManySubmissions,
                             WebForm, WebFormSubmission, clean_submission, company_name_for,
                             default_field_config, renew_token, save_web_form,
                             set_web_form_enabled, split_name, submit_web_form)
from models.distribution import save_flow

SPRING = {"utm_source": "linkedin", "utm_campaign": "spring-webinar"}


def make_user(email, role="rep"):
    user = User(email=email, name=email.split("@")[0].title(), role=role)
    user.set_password("secret password")
    user.save()
    return user


@pytest.fixture
def admin(db):
    return Actor(make_user("admin@example.test", "admin"))


@pytest.fixture
def rep(db):
    return make_user("rita@example.test")


def all_fields():
    """Every field asked; name and e-mail required."""
    config = default_field_config()
    config["phone"]["ask"] = True
    return config


@pytest.fixture
def form(admin, rep):
    flow = save_flow(None, admin, "Nordics", "round_robin", True, [rep.id])
    return save_web_form(None, admin, "Spring webinar", Category.get(name="Lead").id, flow.id,
                         all_fields())


def submit(form, ip="visitor", **data):
    return submit_web_form(form, clean_submission(form, data), ip_hash=ip)


def anna(**extra):
    return {"name": "Anna Berg", "email": "anna@fjallbo.se", "company": "Fjällbo AB",
            "phone": "+46 70 123 45 67", "message": "Tell me more", **SPRING, **extra}


def snapshot():
    return (Company.select().count(), Contact.select().count(), History.select().count(),
            WebFormSubmission.select().count(), CategorySuggestion.select().count())


def test_r21_r9_r22_submission_creates_an_open_lead_with_source_and_owner(form, rep):
    submission = submit(form, **anna())
    contact = Contact.get()
    company = Company.get()
    assert (company.name, company.category.name, company.owner_id) == ("Fjällbo AB", "Lead",
                                                                      rep.id)
    assert (contact.first_name, contact.last_name, contact.email, contact.phone) == (
        "Anna", "Berg", "anna@fjallbo.se", "+46 70 123 45 67")
    assert contact.lead_status == LeadStatus.initial()  # R9
    assert (contact.utm_source, contact.utm_campaign) == ("linkedin", "spring-webinar")
    assert contact.lead_source == "linkedin / spring-webinar"
    assert contact.owner_id == rep.id  # R22
    assert (submission.contact_id, submission.company_id, submission.created_contact) == (
        contact.id, company.id, True)
    assert submission.values["message"] == "Tell me more"
    assert (submission.utm_source, submission.utm_campaign) == ("linkedin", "spring-webinar")


def test_r20_history_says_created_from_web_form(form):
    submit(form, **anna())
    rows = list(History.select().order_by(History.id))
    # the message became a note on the lead (R24): its row tells the live feed
    assert [r.kind for r in rows] == ["category", "lead_status", "owner", "activity"]
    assert {(r.source, r.source_label) for r in rows} == {("form", "Web form: Spring webinar")}


def test_live_feed_carries_a_form_created_lead(form):
    """The live feed reads history rows newer than the last id a page saw."""
    seen = latest_change_id()
    submit(form, **anna())
    contact = Contact.get()
    changes = changes_after(seen)
    assert {row[3] for row in changes} >= {contact.id}
    assert {row[2] for row in changes} == {contact.company_id}
    new_rows = History.select().where(History.id > seen)
    assert {row.source for row in new_rows} == {"form"}


def test_r21_same_email_again_records_the_submission_on_the_existing_contact(form):
    first = submit(form, **anna())
    second = submit(form, **anna(email="ANNA@Fjallbo.se", utm_source="newsletter",
                                 utm_campaign="may", name="Anna B. Berg"))
    assert Contact.select().count() == 1 and Company.select().count() == 1
    contact = Contact.get()
    assert second.contact_id == first.contact_id == contact.id
    assert second.created_contact is False
    # First touch stays on the contact; every submission keeps its own.
    assert (contact.utm_source, contact.utm_campaign) == ("linkedin", "spring-webinar")
    assert (second.utm_source, second.utm_campaign) == ("newsletter", "may")
    assert contact.full_name == "Anna Berg"


def test_r21_known_contact_without_source_gets_the_first_touch(form, admin):
    company = create_company(admin, name="Fjällbo AB", category=Category.get(name="Customer"))
    known = create_contact(company, admin, first_name="Anna", last_name="Berg",
                           email="anna@fjallbo.se")
    submit(form, **anna())
    known = Contact.get_by_id(known.id)
    assert Contact.select().count() == 1
    assert (known.utm_source, known.utm_campaign) == ("linkedin", "spring-webinar")
    # The known contact had no owner: the flow gives it one, and the history says so.
    assert known.owner_id is not None
    assert History.select().where(History.kind == "owner", History.contact == known).exists()


def test_r21_new_contact_joins_a_known_company_of_the_same_name(form, admin):
    company = create_company(admin, name="Fjällbo AB", category=Category.get(name="Customer"))
    submit(form, **anna(company="fjällbo ab"))
    assert Company.select().count() == 1
    contact = Contact.get()
    assert contact.company_id == company.id
    # R9: a customer's category has no lead status, so none is set.
    assert contact.lead_status_id is None


def test_r21_company_from_email_domain_or_the_person(form):
    assert company_name_for("", "anna@fjallbo.se", "Anna Berg") == "fjallbo.se"
    assert company_name_for("", "anna@gmail.com", "Anna Berg") == "Anna Berg"
    assert company_name_for(" Fjällbo  AB ", "anna@gmail.com", "x") == "Fjällbo AB"
    assert split_name("Anna Maria  Berg") == ("Anna Maria", "Berg")
    assert split_name("Cher") == ("Cher", "")


def test_r21_category_of_the_form_and_fallback_when_retired(admin, rep):
    mql = Category.get(name="Marketing qualified lead (MQL)")
    form = save_web_form(None, admin, "Demo", mql.id, None, default_field_config())
    submit(form, **anna())
    assert Company.get().category_id == mql.id
    mql.retired = True
    mql.save()
    submit(form, **anna(email="bo@ek.se", company="Ek AB", name="Bo Ek"), ip="other")
    assert Company.get(name="Ek AB").category.name == "Lead"


def test_r21_utm_values_are_searchable(form):
    submit(form, **anna())
    submit(form, **anna(email="bo@ek.se", company="Ek AB", name="Bo Ek", utm_source="google",
                        utm_medium="cpc", utm_campaign="brand"), ip="second")
    found = [c.email for c in search_contacts(ContactSearch(utm_source="linkedin"))]
    assert found == ["anna@fjallbo.se"]
    found = [c.email for c in search_contacts(ContactSearch(utm_campaign="brand"))]
    assert found == ["bo@ek.se"]
    criteria = parse_criteria({"version": 1, "entity": "contacts", "criteria": [
        {"field": "utm_campaign", "op": "eq", "value": "spring-webinar"}]})
    assert [c.email for c in run_criteria(criteria).query()] == ["anna@fjallbo.se"]


def rule(trigger_status, target, confirm):
    status = LeadStatus.get(name=trigger_status)
    save_rules({("status_set", status.id): {
        "enabled": True, "target_category_id": Category.get(name=target).id,
        "ask_confirm": confirm}}, Actor())


def test_r17_confirm_rule_becomes_a_pending_suggestion_without_a_user(form):
    rule("Open", "Marketing qualified lead (MQL)", confirm=True)
    submit(form, **anna())
    company = Company.get()
    assert company.category.name == "Lead"
    suggestion = CategorySuggestion.get()
    assert (suggestion.company_id, suggestion.proposed_category.name, suggestion.state,
            suggestion.source, suggestion.source_label, suggestion.caused_by_id) == (
        company.id, "Marketing qualified lead (MQL)", "pending", "form",
        "Web form: Spring webinar", None)


def test_r15_r19_rule_without_confirmation_moves_the_company_once(form):
    rule("Open", "Marketing qualified lead (MQL)", confirm=False)
    rule("Qualified", "Opportunity", confirm=False)
    submit(form, **anna())
    company = Company.get()
    assert company.category.name == "Marketing qualified lead (MQL)"
    move = History.get(History.kind == "category", History.from_category.is_null(False))
    assert (move.source, move.source_label) == ("rule", "Lead status set to %(status)s" %
                                                {"status": "Open"})


def test_repeat_submission_runs_no_rule(form):
    submit(form, **anna())
    rule("Open", "Marketing qualified lead (MQL)", confirm=True)
    submit(form, **anna())
    assert CategorySuggestion.select().count() == 0


# --- Bad input: a clear refusal and nothing written --------------------------------------

@pytest.mark.parametrize("data, field, message", [
    ({"email": "anna@fjallbo.se"}, "name", "This field is required."),
    ({"name": "Anna"}, "email", "This field is required."),
    ({"name": "Anna", "email": "anna@"}, "email", "Enter a valid e-mail address."),
    ({"name": "Anna", "email": "anna fjallbo.se"}, "email", "Enter a valid e-mail address."),
    ({"name": "Anna", "email": "a@b.se", "phone": "call me"}, "phone", "Use digits"),
    ({"name": "A" * 201, "email": "a@b.se"}, "name", "At most %(limit)s characters."),
    ({"name": "Anna\x00", "email": "a@b.se"}, "name", "not allowed"),
    ({"name": "   ", "email": "a@b.se"}, "name", "This field is required."),
])
def test_r21_invalid_fields_are_refused_and_nothing_is_created(form, data, field, message):
    form.field_config = json.dumps({"name": {"ask": True, "required": True},
                                    "email": {"ask": True, "required": True},
                                    "phone": {"ask": True, "required": False}})
    before = snapshot()
    with pytest.raises(InvalidSubmission) as refused:
        submit(form, **data)
    assert message in refused.value.errors[field][0]
    assert snapshot() == before


def test_r21_honeypot_filled_by_a_bot_is_refused(form):
    before = snapshot()
    with pytest.raises(LooksAutomated):
        submit(form, **anna(homepage="http://spam.example"))
    assert snapshot() == before


def test_r21_disabled_form_is_closed(form, admin):
    set_web_form_enabled(form, False, admin)
    before = snapshot()
    with pytest.raises(FormClosed):
        submit(WebForm.get_by_id(form.id), **anna())
    # A stale copy of the form is re-read inside the transaction and refused too.
    with pytest.raises(FormClosed):
        submit(form, **anna())
    assert snapshot() == before


def test_r21_rate_limit_per_address_and_form(form):
    for n in range(form.rate_limit):
        submit(form, **anna(email=f"p{n}@fjallbo.se"))
    before = snapshot()
    with pytest.raises(TooManySubmissions):
        submit(form, **anna(email="one.more@fjallbo.se"))
    assert snapshot() == before
    submit(form, ip="someone else", **anna(email="other@fjallbo.se"))
    # A minute later the address may submit again.
    later = datetime.datetime.now() + datetime.timedelta(minutes=1, seconds=1)
    submit_web_form(form, clean_submission(form, anna(email="later@fjallbo.se")),
                    ip_hash="visitor", at=later)


def test_r21_html_is_stored_as_text(form):
    script = '<script>alert("x")</script>'
    submit(form, **anna(name=f"Eve {script}", company=f"<b>Evil</b> AB", message=script))
    contact = Contact.get()
    assert (contact.first_name, contact.last_name) == ("Eve", script)
    assert Company.get().name == "<b>Evil</b> AB"
    assert WebFormSubmission.get().values["message"] == script


def test_r21_a_failure_half_way_leaves_nothing(form, monkeypatch):
    """All or nothing: the submission, company, contact and history share one transaction."""
    import models.webforms

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(models.webforms, "record_assignment", broken)
    before = snapshot()
    with pytest.raises(RuntimeError):
        submit(form, **anna())
    assert snapshot() == before


# --- Admin: the form's settings ---------------------------------------------------------------

@pytest.mark.parametrize("changes, field", [
    ({"name": " "}, "name"),
    ({"category_id": None}, "category"),
    ({"category_id": 999}, "category"),
    ({"flow_id": 999}, "flow"),
    ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
    ({"redirect_url": "/thanks"}, "redirect_url"),
    ({"allowed_origins": "https://ok.example https://bad.example/path"}, "allowed_origins"),
    ({"allowed_origins": "*"}, "allowed_origins"),
    ({"rate_limit": 0}, "rate_limit"),
    ({"rate_limit": "many"}, "rate_limit"),
    ({"fields": {"name": {"ask": True}, "email": {"ask": True}}}, "fields"),
])
def test_refused_form_settings_save_nothing(admin, changes, field):
    values = {"name": "Spring", "category_id": Category.get(name="Lead").id, "flow_id": None,
              "fields": default_field_config(), **changes}
    with pytest.raises(RuleViolation) as refused:
        save_web_form(None, admin, **values)
    assert refused.value.params["field"] == field
    assert WebForm.select().count() == 0


def test_form_settings_are_cleaned_and_audited(admin):
    form = save_web_form(None, admin, " Spring  webinar ", Category.get(name="Lead").id, None,
                         default_field_config(), redirect_url="https://example.com/thanks",
                         allowed_origins="https://WWW.Example.com/, http://localhost:8000",
                         thank_you=" Thanks! ")
    form = WebForm.get_by_id(form.id)
    assert (form.name, form.origins, form.thank_you) == (
        "Spring webinar", ["https://www.example.com", "http://localhost:8000"], "Thanks!")
    assert form.allows_origin("https://www.example.com") and not form.allows_origin(
        "https://evil.example")
    assert len(form.token) >= 32
    old = form.token
    renew_token(form, admin)
    assert WebForm.get_by_id(form.id).token != old
    actions = [e.action for e in models.AuditLog.select().where(
        models.AuditLog.area == "web_forms").order_by(models.AuditLog.id)]
    assert actions == ["created", "new address"]
