"""Lead status administration (R5, R6): names per language, order, initial, retire, audit."""
import pytest

from models import (Actor, AuditLog, Category, Contact, History, LeadStatus, RuleViolation, User,
                    add_lead_status, create_company, create_contact, make_initial_status,
                    reorder_lead_statuses, restore_lead_status, retire_lead_status,
                    save_lead_status, set_lead_status)
from models.audit import audit_changes


def status(name):
    return LeadStatus.get(LeadStatus.name == name)


def names():
    return [s.name for s in LeadStatus.ordered()]


def names_with_retired():
    return [s.name for s in LeadStatus.ordered(include_retired=True)]


def snapshot():
    return [(s.id, s.name, s.description, s.sort_order, s.is_initial, s.retired, s.name_sv)
            for s in LeadStatus.select().order_by(LeadStatus.id)]


@pytest.fixture
def admin(db):
    user = User(email="ada@example.test", name="Ada Admin", role="admin")
    user.set_password("secret")
    user.save()
    return Actor(user)


@pytest.fixture
def lead_company(admin):
    return create_company(admin, name="Fjällbo AB", category=Category.get(name="Lead"))


def test_r5_rename_and_describe_is_audited(admin):
    nurture = status("Nurture")
    save_lead_status(nurture, admin, name="Re-nurture",
                     description="Came back after a pause; warm up again.")
    renamed = LeadStatus.get_by_id(nurture.id)
    assert (renamed.name, renamed.description) == ("Re-nurture",
                                                   "Came back after a pause; warm up again.")
    entry = AuditLog.get(AuditLog.area == "lead_statuses")
    assert (entry.action, entry.subject, entry.actor_id) == ("changed", "Re-nurture",
                                                             admin.user.id)
    assert ("name", "Nurture", "Re-nurture") in audit_changes(entry.details)


def test_r5_saving_without_a_change_writes_no_audit_entry(admin):
    nurture = status("Nurture")
    save_lead_status(nurture, admin, name="Nurture", description=nurture.description)
    assert AuditLog.select().count() == 0


def test_r5_new_status_goes_after_the_chosen_one(admin):
    booked = save_lead_status(None, admin, name="Meeting booked",
                              description="A first meeting is in the calendar.",
                              position_after=status("Contacting").id)
    assert names() == ["Open", "Contacting", "Meeting booked", "Qualified", "Disqualified",
                       "Nurture"]
    assert not booked.is_initial and not booked.retired
    entry = AuditLog.get(AuditLog.action == "created")
    assert entry.subject == "Meeting booked" and "A first meeting" in entry.details


def test_r5_new_status_goes_last_without_a_position(admin):
    add_lead_status("Meeting booked", actor=admin)
    assert names()[-1] == "Meeting booked"


def test_r5_new_status_after_a_vanished_status_is_refused(admin):
    before = snapshot()
    with pytest.raises(RuleViolation, match="changed meanwhile"):
        save_lead_status(None, admin, name="Meeting booked", position_after=4242)
    assert snapshot() == before


@pytest.mark.parametrize("name, message", [
    ("", "needs a name"),
    ("   ", "needs a name"),
    ("nurture", "already exists"),
    ("QUALIFIED ", "already exists"),
    ("x" * 101, "at most 100"),
])
def test_r5_names_are_required_short_and_unique_case_insensitively(admin, name, message):
    before = snapshot()
    with pytest.raises(RuleViolation, match=message):
        save_lead_status(None, admin, name=name)
    with pytest.raises(RuleViolation, match=message):
        save_lead_status(status("Open"), admin, name=name)
    assert snapshot() == before
    assert AuditLog.select().count() == 0


def test_r5_a_retired_status_still_holds_its_name(admin):
    retire_lead_status(status("Nurture"), admin)
    with pytest.raises(RuleViolation, match="already exists"):
        save_lead_status(None, admin, name="NURTURE")


def test_r5_uniqueness_ignores_case_beyond_ascii(admin):
    save_lead_status(status("Nurture"), admin, name="Återbearbetning")
    with pytest.raises(RuleViolation, match="already exists"):
        save_lead_status(None, admin, name="återBEARBETNING")


def test_r5_names_and_descriptions_per_language_fall_back_to_the_default(admin):
    nurture = save_lead_status(status("Nurture"), admin, name="Nurture",
                               description="Not ready now, may become relevant later.",
                               translations={"name_sv": "Återbearbetat",
                                             "description_sv": "Inte redo nu.",
                                             "name_nb": " ", "description_nb": ""})
    assert nurture.name_in("sv") == "Återbearbetat"
    assert nurture.description_in("sv") == "Inte redo nu."
    assert nurture.name_in("nb") == "Nurture"
    assert nurture.description_in("nb") == "Not ready now, may become relevant later."
    assert nurture.name_in("en") == "Nurture"
    assert ("name_sv", "Återbearbetning", "Återbearbetat") in audit_changes(AuditLog.get().details)


def test_r5_fields_left_out_of_the_translations_keep_their_value(admin):
    nurture = status("Nurture")
    save_lead_status(nurture, admin, name="Nurture", translations={"name_sv": "Återbearbetning"})
    save_lead_status(status("Nurture"), admin, name="Re-nurture",
                     translations={"name_nb": "Oppfølging senere"})
    again = status("Re-nurture")
    assert (again.name_sv, again.name_nb) == ("Återbearbetning", "Oppfølging senere")


@pytest.mark.parametrize("translations, message", [
    ({"name_de": "Pflege"}, "English, Swedish and Norwegian"),
    ({"name": "Sneaky"}, "English, Swedish and Norwegian"),
    ({"retired": True}, "English, Swedish and Norwegian"),
    ({"name_sv": "x" * 101}, "Svenska name can be at most 100"),
    ({"description_nb": "x" * 1001}, "description can be at most 1000"),
    ({"name_sv": "öppen"}, "Another lead status is already called öppen in Svenska"),
])
def test_r5_translations_only_for_known_languages_and_unique(admin, translations, message):
    save_lead_status(status("Open"), admin, name="Open", translations={"name_sv": "Öppen"})
    before = snapshot()
    with pytest.raises(RuleViolation, match=message):
        save_lead_status(status("Nurture"), admin, name="Nurture", translations=translations)
    assert snapshot() == before


def test_r5_a_default_name_may_not_clash_with_a_translated_one(admin):
    save_lead_status(status("Open"), admin, name="Open", translations={"name_sv": "Öppen"})
    with pytest.raises(RuleViolation, match="already called Öppen in Svenska"):
        save_lead_status(None, admin, name="Öppen")


def test_r5_refusals_name_the_form_field(admin):
    with pytest.raises(RuleViolation) as refused:
        save_lead_status(None, admin, name="Fine", translations={"name_nb": "x" * 101})
    assert refused.value.params["field"] == "name_nb"
    with pytest.raises(RuleViolation) as refused:
        save_lead_status(None, admin, name="Fine", position_after=4242)
    assert refused.value.params["field"] == "position_after"


def test_r5_reorder_persists_and_is_audited(admin):
    ids = [s.id for s in LeadStatus.ordered()]
    reorder_lead_statuses(list(reversed(ids)), admin)
    assert [s.id for s in LeadStatus.ordered()] == list(reversed(ids))
    entry = AuditLog.get(AuditLog.action == "reordered")
    assert audit_changes(entry.details) == [("order", ids, list(reversed(ids)))]


def test_r5_reordering_the_shown_statuses_keeps_retired_ones_after_them(admin):
    retire_lead_status(status("Qualified"), admin)
    shown = [s.id for s in LeadStatus.ordered()]
    reorder_lead_statuses([shown[-1]] + shown[:-1], admin)
    assert names_with_retired() == ["Nurture", "Open", "Contacting", "Disqualified",
                                    "Qualified"]


@pytest.mark.parametrize("ids", [[1, 1], [4242], [1, 2, 4242]])
def test_r5_forged_reorders_change_nothing(admin, ids):
    before = snapshot()
    with pytest.raises(RuleViolation, match="changed meanwhile"):
        reorder_lead_statuses(ids, admin)
    assert snapshot() == before
    assert AuditLog.select().count() == 0


def test_r6_initial_status_cannot_be_retired(admin):
    with pytest.raises(RuleViolation, match="initial lead status cannot be retired"):
        retire_lead_status(LeadStatus.initial(), admin)
    assert not LeadStatus.initial().retired
    assert AuditLog.select().count() == 0


def test_r6_exactly_one_initial_and_it_moves_with_an_audit_entry(admin):
    make_initial_status(status("Contacting"), admin)
    initial = LeadStatus.select().where(LeadStatus.is_initial == True)  # noqa: E712
    assert [s.name for s in initial] == ["Contacting"]
    entry = AuditLog.get(AuditLog.action == "made initial")
    assert entry.subject == "Contacting"
    assert audit_changes(entry.details) == [("initial", status("Open").id, status("Contacting").id)]
    # Open can now be retired, Contacting cannot.
    retire_lead_status(status("Open"), admin)
    with pytest.raises(RuleViolation):
        retire_lead_status(status("Contacting"), admin)


def test_r6_a_retired_status_cannot_become_initial(admin):
    retire_lead_status(status("Nurture"), admin)
    with pytest.raises(RuleViolation, match="retired lead status cannot be the initial"):
        make_initial_status(status("Nurture"), admin)
    assert LeadStatus.initial().name == "Open"


def test_r6_r9_new_contacts_start_in_the_new_initial_status(admin, lead_company):
    make_initial_status(status("Contacting"), admin)
    contact = create_contact(lead_company, admin, first_name="Ola", last_name="Nordmann")
    assert contact.lead_status.name == "Contacting"


def test_r6_retire_and_restore_keep_contacts_and_history(admin, lead_company):
    anna = create_contact(lead_company, admin, first_name="Anna", last_name="Berg")
    set_lead_status(anna, status("Nurture"), admin)
    history = [(h.id, h.from_status_id, h.to_status_id) for h in History.select()]
    nurture = status("Nurture")
    retire_lead_status(nurture, admin)
    assert "Nurture" not in names() and "Nurture" in names_with_retired()
    assert Contact.get_by_id(anna.id).lead_status_id == nurture.id
    assert [(h.id, h.from_status_id, h.to_status_id) for h in History.select()] == history
    restore_lead_status(status("Nurture"), admin)
    assert names()[-1] == "Nurture"
    assert Contact.get_by_id(anna.id).lead_status_id == nurture.id
    assert [(h.id, h.from_status_id, h.to_status_id) for h in History.select()] == history
    assert [e.action for e in AuditLog.select().order_by(AuditLog.id)] == ["retired",
                                                                           "restored"]


def test_r6_retiring_twice_or_restoring_an_offered_status_records_nothing(admin):
    restore_lead_status(status("Nurture"), admin)
    retire_lead_status(status("Nurture"), admin)
    retire_lead_status(status("Nurture"), admin)
    assert [e.action for e in AuditLog.select()] == ["retired"]


def test_r5_functions_work_without_an_actor(db):
    """Callers that predate the audit log (CLI, older tests) pass no actor: the system acts."""
    booked = add_lead_status("Meeting booked", "A first meeting is in the calendar.")
    retire_lead_status(booked)
    restore_lead_status(booked)
    assert {e.actor_id for e in AuditLog.select()} == {None}
