"""Lead statuses as admins configure them (R5, R6): names per language, order, initial, retire.

Every change runs in one transaction together with its audit entry. A
refused save names the form field it is about in the `field` parameter of
its RuleViolation (the message ignores it).
"""
from peewee import fn

from .audit import describe_changes, record_audit
from .db import database
from .rules import RuleViolation
from .names import (DESCRIPTION_MAX, NAME_FIELDS, NAME_MAX, TRANSLATION_FIELDS,
                    check_names_unique, clean_translations)
from .schema import N_, LeadStatus
from .values import clean_name, clean_text

AREA = "lead_statuses"
AUDITED_FIELDS = ("name", "description") + TRANSLATION_FIELDS


def _clean_text(value, limit, message, field=None, **params):
    return clean_text(value, limit, field, multiline=True, too_long=message, **params)


def _check_names(name, translations, status):
    """R5, R23: the default name is required and unique, and so is the name shown in
    each language (`translations` as they will be saved)."""
    name = clean_name(name, NAME_MAX, missing=N_("A lead status needs a name."),
                      too_long=N_("A lead status name can be at most %(limit)s characters."))
    shown = {field: getattr(status, field) for field in NAME_FIELDS}
    shown.update({k: v for k, v in translations.items() if k in NAME_FIELDS})
    check_names_unique(name, shown, [s for s in LeadStatus.select() if s.id != status.id],
                       N_("A lead status named %(name)s already exists."),
                       N_("Another lead status is already called %(name)s in %(language)s."))
    return name


def _ordered_ids():
    return [s.id for s in LeadStatus.ordered(include_retired=True)]


def _renumber(status_ids):
    """Give the statuses of `status_ids` the sort orders 0, 1, 2, ... in that order."""
    for position, status_id in enumerate(status_ids):
        LeadStatus.update(sort_order=position).where(LeadStatus.id == status_id).execute()


def _snapshot(status):
    return {field: getattr(status, field) for field in AUDITED_FIELDS}


def save_lead_status(status, actor, name, description="", translations=None,
                     position_after=None):
    """R5: create (status=None) or change a status's name, description and translations.

    `translations` maps name_sv, description_nb, ... to text; an empty text
    means "use the default" and a field left out keeps its value. A new
    status goes right after the status with id `position_after`, or last.
    """
    translations = clean_translations(translations)
    is_new = status is None
    status = status or LeadStatus()
    name = _check_names(name, translations, status)
    description = _clean_text(description, DESCRIPTION_MAX,
                              N_("A description can be at most %(limit)s characters."),
                              field="description")
    order = _ordered_ids()
    if is_new and position_after is not None and position_after not in order:
        raise RuleViolation(N_("The list has changed meanwhile; reload and try again."),
                            field="position_after")
    before = {field: None for field in AUDITED_FIELDS} if is_new else _snapshot(status)
    with database.atomic():
        status.name = name
        status.description = description
        for field, value in translations.items():
            setattr(status, field, value)
        if is_new:
            last = LeadStatus.select(fn.MAX(LeadStatus.sort_order)).scalar()
            status.sort_order = (last or 0) + 1
        status.save()
        if is_new and position_after is not None:
            order.insert(order.index(position_after) + 1, status.id)
            _renumber(order)
            status.sort_order = order.index(status.id)
        after = _snapshot(status)
        if is_new:
            record_audit(actor, AREA, "created", name, describe_changes(before, after))
        elif before != after:
            record_audit(actor, AREA, "changed", name, describe_changes(before, after))
    return status


def add_lead_status(name, description="", actor=None, translations=None, position_after=None):
    """R5: a new status, last in the list unless placed after another one."""
    return save_lead_status(None, actor, name, description, translations, position_after)


def reorder_lead_statuses(status_ids, actor=None):
    """R5: put the statuses of `status_ids` first, in that order.

    The ids are those the admin saw; the others (the retired ones, when
    hidden) keep their relative order after them.
    """
    current = _ordered_ids()
    if len(set(status_ids)) != len(status_ids) or not set(status_ids) <= set(current):
        raise RuleViolation(N_("The list has changed meanwhile; reload and try again."))
    shown = set(status_ids)
    order = list(status_ids) + [i for i in current if i not in shown]
    with database.atomic():
        _renumber(order)
        record_audit(actor, AREA, "reordered", "",
                     describe_changes({"order": current}, {"order": order}))


def retire_lead_status(status, actor=None):
    """R6: hide a status from choosers; its contacts and history keep it. Not the initial one."""
    if status.is_initial:
        raise RuleViolation(N_("The initial lead status cannot be retired."))
    if status.retired:
        return
    with database.atomic():
        status.retired = True
        status.save()
        record_audit(actor, AREA, "retired", status.name)


def restore_lead_status(status, actor=None):
    """R6: retiring is reversible; the status is offered again."""
    if not status.retired:
        return
    with database.atomic():
        status.retired = False
        status.save()
        record_audit(actor, AREA, "restored", status.name)


def make_initial_status(status, actor=None):
    """R6: exactly one status is initial, and it must be one that is offered (not retired)."""
    if status.retired:
        raise RuleViolation(N_("A retired lead status cannot be the initial one."))
    if status.is_initial:
        return
    previous = LeadStatus.get_or_none(LeadStatus.is_initial == True)  # noqa: E712
    with database.atomic():
        # One statement flips the flag on every row, so there is never zero or two.
        LeadStatus.update(is_initial=(LeadStatus.id == status.id)).execute()
        status.is_initial = True
        record_audit(actor, AREA, "made initial", status.name,
                     describe_changes({"initial": previous.id if previous else None},
                                      {"initial": status.id}))
