"""Lead categorization (R15-R19): sales, the events they raise, suggestions, settings.

The rules that answer an event live once, on sets of companies, in
`engine.py` (a sale event is `engine.sale_event`, a lead status set is part
of `engine.set_lead_status`); here the events of one sale or one contact go
through them and their answer comes back as an `Outcome`: nothing, a change
now, or a proposal to show the user (R17). A category change made by a rule
goes through `engine.move_companies` exactly like a manual one (R19), and no
rule listens to category changes, so rules never trigger each other.
"""
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from peewee import JOIN

from . import engine
from .audit import describe_changes, record_audit
from .db import database
from .engine import KEEP, StaleRecord, find_rule, rule_label, rule_outcomes
from .rules import Actor, RuleViolation, change_lead_status, move_company, update_contact
from .sales import record_sale_event
from .schema import (CURRENCIES, N_, SALE_STATUSES, TRIGGERS, CategorizationRule, Category,
                     CategorySuggestion, Company, Contact, LeadStatus, Sale, SaleEvent, User,
                     now)
from .values import clean_name

TITLE_MAX = 200
SALE_EVENTS = {"sold": "sale_sold", "lost": "sale_lost"}


@dataclass(frozen=True)
class Event:
    trigger: str
    company: Company
    lead_status: LeadStatus | None = None


@dataclass(frozen=True)
class Outcome:
    """What a rule decided: action is "none", "change" or "propose"."""
    action: str
    rule: CategorizationRule | None = None
    category: Category | None = None
    suggestion: CategorySuggestion | None = None

    NONE = None  # set below


Outcome.NONE = Outcome("none")


def evaluate(event):
    """R15, R16: the outcome of `event` for its company, without changing anything."""
    company = event.company
    categories = {c.id: c for c in Category.select()}
    if event.trigger == "status_set":
        rule = find_rule("status_set", event.lead_status)
    else:
        rule = find_rule(event.trigger)
    current = categories[company.category_id]
    if event.trigger == "status_set" and not current.lead_status_active:
        return Outcome.NONE  # R16: rule 4 needs lead status active (R8)
    outcome = rule_outcomes(rule, {current.id}, categories).get(current.id)
    if outcome is None:
        return Outcome.NONE
    action, rule, target = outcome
    return Outcome(action, rule, target)


def outcome_of(report):
    """The Outcome of a change of one record, from the engine's report."""
    if report is None:
        return Outcome.NONE
    if report.moved:
        company = Company.get_by_id(report.moved[0])
        return Outcome("change", category=Category.get_by_id(company.category_id))
    if report.proposal is not None:
        suggestion = report.proposal
        return Outcome("propose", suggestion.rule,
                       Category.get_by_id(suggestion.proposed_category_id), suggestion)
    return Outcome.NONE


# --- Events from the app ------------------------------------------------------

def set_lead_status_with_rules(contact, status, actor):
    """R8 + R15 rule 4: set the status and let the rules answer, in one transaction."""
    with database.atomic():
        return outcome_of(change_lead_status(contact, status, actor))


def change_contact(contact, actor, version=None, fields=None, owner=KEEP, status=None):
    """A contact's fields, owner and lead status changed at once, all or nothing (the API).

    `version` is the contact's version its writer last saw: StaleRecord when
    it has changed since. The status goes through the same rules as a drag
    (R8, R15 rule 4, R16, R17); returns the Outcome of the status change.
    """
    with database.atomic():
        if version is not None and Contact.get_by_id(contact.id).version != version:
            raise StaleRecord(contact.id)
        if fields or owner is not KEEP:
            # The fields not given stay as they are (a contact keeps a name or an e-mail).
            kept = {name: getattr(contact, name) for name in ("first_name", "last_name", "email")}
            update_contact(contact, actor, contact.owner if owner is KEEP else owner,
                           **{**kept, **(fields or {})})
        if status is None:
            return Outcome.NONE
        return outcome_of(change_lead_status(contact, status, actor))


def _sale_event(trigger, company, actor):
    return outcome_of(engine.sale_event(trigger, [company.id], actor))


def validate_sale(title, amount, currency, sale_date, status):
    """R14: a title, an amount of zero or more, a known currency and status, a date."""
    clean_name(title, TITLE_MAX, field="title", missing=N_("A sale needs a title."))
    try:
        amount = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise RuleViolation(N_("The amount must be a number.")) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise RuleViolation(N_("The amount must be zero or more."))
    if currency not in CURRENCIES:
        raise RuleViolation(N_("Unknown currency."))
    if status not in SALE_STATUSES:
        raise RuleViolation(N_("Unknown sale status."))
    if sale_date is None:
        raise RuleViolation(N_("A sale needs a date."))
    return amount.quantize(Decimal("0.01"))


def register_sale(company, actor, title, amount, currency, sale_date, owner=None, contact=None,
                  status="open"):
    """R14: register a sale; rule 3 (and 1 or 2 when it is already Sold or Lost) may answer."""
    amount = validate_sale(title, amount, currency, sale_date, status)
    if contact is not None and contact.company_id != company.id:
        raise RuleViolation(N_("The contact does not work at this company."))
    with database.atomic():
        sale = Sale.create(company=company, contact=contact, title=title.strip(), amount=amount,
                           currency=currency, sale_date=sale_date, owner=owner, status=status)
        record_sale_event(sale, SaleEvent.REGISTERED, actor)
        if status != "open":
            record_sale_event(sale, status, actor)
        outcome = _sale_event("sale_registered", company, actor)
        if status in SALE_EVENTS and outcome.action == "none":
            outcome = _sale_event(SALE_EVENTS[status], company, actor)
    return sale, outcome


def update_sale(sale, actor, title, amount, currency, sale_date, owner=None, contact=None,
                status=None):
    """Edit a sale; a change of status to Sold or Lost is an event like marking it."""
    status = status or sale.status
    amount = validate_sale(title, amount, currency, sale_date, status)
    if contact is not None and contact.company_id != sale.company_id:
        raise RuleViolation(N_("The contact does not work at this company."))
    with database.atomic():
        previous = sale.status
        sale.title, sale.amount, sale.currency = title.strip(), amount, currency
        sale.sale_date, sale.owner, sale.contact = sale_date, owner, contact
        sale.status, sale.updated_at = status, now()
        sale.save()
        if status != previous:
            record_sale_event(sale, status, actor)
        if status != previous and status in SALE_EVENTS:
            return sale, _sale_event(SALE_EVENTS[status], sale.company, actor)
    return sale, Outcome.NONE


def mark_sale(sale, status, actor):
    """R14: mark a sale Open, Sold or Lost; Sold and Lost are events (rules 1, 2)."""
    if status not in SALE_STATUSES:
        raise RuleViolation(N_("Unknown sale status."))
    if status == sale.status:
        return Outcome.NONE
    with database.atomic():
        sale.status, sale.updated_at = status, now()
        sale.save()
        record_sale_event(sale, status, actor)
        if status in SALE_EVENTS:
            return _sale_event(SALE_EVENTS[status], sale.company, actor)
    return Outcome.NONE


# --- Suggestions (R17) ----------------------------------------------------------

def pending_suggestions(company):
    """A company's open proposals with their categories, newest first."""
    Proposed, From = Category.alias(), Category.alias()
    return (CategorySuggestion
            .select(CategorySuggestion, Proposed, From, CategorizationRule, LeadStatus, User)
            .join_from(CategorySuggestion, Proposed,
                       on=(CategorySuggestion.proposed_category == Proposed.id),
                       attr="proposed_category")
            .join_from(CategorySuggestion, From,
                       on=(CategorySuggestion.from_category == From.id), attr="from_category")
            .join_from(CategorySuggestion, CategorizationRule, JOIN.LEFT_OUTER)
            .join_from(CategorizationRule, LeadStatus, JOIN.LEFT_OUTER)
            .join_from(CategorySuggestion, User, JOIN.LEFT_OUTER,
                       on=(CategorySuggestion.caused_by == User.id), attr="caused_by")
            .where(CategorySuggestion.company == company,
                   CategorySuggestion.state == CategorySuggestion.PENDING)
            .order_by(CategorySuggestion.created_at.desc(), CategorySuggestion.id.desc()))


def _check_pending(suggestion, company):
    if suggestion.state != CategorySuggestion.PENDING:
        raise RuleViolation(N_("This suggestion has already been answered."))
    if company.category_id != suggestion.from_category_id:
        raise RuleViolation(N_("The company's category has changed since this was suggested; "
                               "nothing was changed."))


def accept_suggestion(suggestion, actor, category=None):
    """R17: accept the proposed category, or pick another one; recorded like any move."""
    company = Company.get_by_id(suggestion.company_id)
    _check_pending(suggestion, company)
    chosen = category or Category.get_by_id(suggestion.proposed_category_id)
    if chosen.retired:
        raise RuleViolation(N_("The category %(category)s is retired."), category=chosen.name)
    rule = (CategorizationRule.get_or_none(CategorizationRule.id == suggestion.rule_id)
            if suggestion.rule_id else None)
    # The proposal accepted as it stands is the rule's change, confirmed by
    # the user; another category is the user's own choice.
    as_proposed = chosen.id == suggestion.proposed_category_id and rule is not None
    mover = Actor(actor.user, source="rule", label=rule_label(rule)) if as_proposed else actor
    with database.atomic():
        move_company(company, chosen, mover)
        suggestion.state = CategorySuggestion.ACCEPTED
        suggestion.chosen_category = chosen
        suggestion.resolved_by, suggestion.resolved_at = actor.user, now()
        suggestion.save()
    return company


def decline_suggestion(suggestion, actor):
    """R17: decline; the company keeps its category and the answer is kept."""
    if suggestion.state != CategorySuggestion.PENDING:
        raise RuleViolation(N_("This suggestion has already been answered."))
    suggestion.state = CategorySuggestion.DECLINED
    suggestion.resolved_by, suggestion.resolved_at = actor.user, now()
    suggestion.save()


# --- Settings (R15, R18) ---------------------------------------------------------

def rules_for_settings():
    """The three sale rules, then rule 4 for every lead status in list order.

    Rule 4 rows that do not exist yet are returned unsaved, switched off.
    """
    rules = {(r.trigger, r.lead_status_id): r for r in CategorizationRule.select()}
    rows = [rules.get((t, None)) or CategorizationRule(trigger=t)
            for t in ("sale_sold", "sale_lost", "sale_registered")]
    for status in LeadStatus.ordered():
        rows.append(rules.get(("status_set", status.id))
                    or CategorizationRule(trigger="status_set", lead_status=status))
    return rows


def save_rules(settings, actor):
    """R18: store all rules at once; a switched-on rule without a target refuses the save.

    `settings` maps (trigger, lead_status_id or None) to a dict with
    enabled, target_category_id, ask_confirm.
    """
    valid_statuses = {s.id: s for s in LeadStatus.ordered()}
    categories = {c.id: c for c in Category.select()}
    for (trigger, status_id), values in settings.items():
        if trigger not in TRIGGERS:
            raise RuleViolation(N_("Unknown trigger."))
        if (trigger == "status_set") != (status_id is not None):
            raise RuleViolation(N_("Unknown trigger."))
        if status_id is not None and status_id not in valid_statuses:
            raise RuleViolation(N_("Unknown lead status."))
        target = values.get("target_category_id")
        if target is not None and target not in categories:
            raise RuleViolation(N_("Unknown category."))
        if values.get("enabled") and target is None:
            raise RuleViolation(N_("Choose a category for every rule that is switched on."))
    with database.atomic():
        existing = {(r.trigger, r.lead_status_id): r for r in CategorizationRule.select()}
        for key, values in settings.items():
            rule = existing.get(key) or CategorizationRule(trigger=key[0], lead_status=key[1])
            before = {"enabled": rule.enabled, "target": rule.target_category_id,
                      "ask_confirm": rule.ask_confirm}
            rule.enabled = bool(values.get("enabled"))
            rule.target_category = values.get("target_category_id")
            rule.ask_confirm = bool(values.get("ask_confirm"))
            after = {"enabled": rule.enabled, "target": rule.target_category_id,
                     "ask_confirm": rule.ask_confirm}
            if before != after or rule.id is None:
                rule.save()
                if before != after:
                    name = rule_label(rule, valid_statuses[key[1]].name if key[1] else None)
                    record_audit(actor, "workflow", "changed", name,
                                 describe_changes(before, after))
