"""Company categories and their groups as admins configure them (R1, R2, R4, R10, R11),
named per language (R23)."""
from peewee import fn

from .audit import describe_changes, record_audit
from .db import database
from .engine import reset_to_initial_status
from .names import (NAME_FIELDS, NAME_MAX, TRANSLATION_FIELDS, check_names_unique,
                    clean_translations)
from .rules import Actor, RuleViolation
from .schema import CATEGORY_GROUPS, N_, POTENTIAL, Category, CategoryGroup, Company, Contact
from .values import clean_name, clean_text

AREA = "categories"
DESCRIPTION_MAX = 1000
AUDITED_FIELDS = ("name", "group", "lead_status_enabled", "description") + TRANSLATION_FIELDS


def _check_group(group):
    if group not in CATEGORY_GROUPS:
        raise RuleViolation(N_("Unknown category group."), field="group")


def _check_lead_status_flag(group, enabled):
    """R2: *Enable lead status* only in the group Potential customer."""
    if enabled and group != POTENTIAL:
        raise RuleViolation(
            N_("Lead status can only be enabled on a category in the group Potential customer."),
            field="lead_status_enabled")


def _check_name(name, translations, category):
    """R4, R23: a name, unique by default and in every language (`translations` as they
    will be saved)."""
    name = clean_name(name, NAME_MAX, missing=N_("A category needs a name."),
                      too_long=N_("A category name can be at most 100 characters."))
    shown = {field: getattr(category, field) for field in NAME_FIELDS}
    shown.update({k: v for k, v in translations.items() if k in NAME_FIELDS})
    check_names_unique(name, shown, [c for c in Category.select() if c.id != category.id],
                       N_("A category named %(name)s already exists."),
                       N_("Another category is already called %(name)s in %(language)s."))
    return name


def lead_board_category_ids(include_inactive=False):
    """R8: the categories whose contacts have an active lead status (with
    `include_inactive`, every Potential customer category)."""
    query = Category.select(Category.id).where(Category.group == POTENTIAL)
    if not include_inactive:
        query = query.where(Category.lead_status_enabled == True)  # noqa: E712
    return [c.id for c in query]


def _companies_in(category):
    return Company.select(Company.id).where(Company.category == category)


def set_category_group(category, group, actor=None):
    """R1: every category belongs to exactly one of the fixed groups."""
    return save_category(category, actor, name=category.name, group=group,
                         description=category.description, translations={},
                         # R2: leaving Potential customer takes the flag with it.
                         lead_status_enabled=category.lead_status_enabled and group == POTENTIAL)


def set_lead_status_enabled(category, enabled, actor=None):
    """R2: *Enable lead status* can only be set on a Potential customer category."""
    return save_category(category, actor, name=category.name, group=category.group,
                         description=category.description, lead_status_enabled=enabled,
                         translations={})


def deactivation_impact(category, group, lead_status_enabled):
    """R11: what saving would hide: (companies, contacts with a status) losing an active status.

    (0, 0) when the change keeps lead status active or it was not active before.
    """
    if not category.id or not category.lead_status_active:
        return 0, 0
    if group == POTENTIAL and lead_status_enabled:
        return 0, 0
    companies = _companies_in(category).count()
    contacts = (Contact.select()
                .where(Contact.company.in_(_companies_in(category))
                       & Contact.lead_status.is_null(False))
                .count())
    return companies, contacts


def _snapshot(category):
    return {field: getattr(category, field) for field in AUDITED_FIELDS}


def save_category(category, actor, name, group, description="", lead_status_enabled=False,
                  translations=None):
    """Create (category=None) or change a category, checking R1, R2 and unique names.

    `translations` maps name_sv, description_nb, ... to text (R23); an empty
    text means "use the default" and a field left out keeps its value.
    Switching lead status on for a category in use applies R10 to its
    companies at once; switching it off keeps every value (R11).
    """
    actor = actor or Actor.system()
    _check_group(group)
    _check_lead_status_flag(group, lead_status_enabled)
    translations = clean_translations(translations)
    is_new = category is None
    category = category or Category()
    name = _check_name(name, translations, category)
    description = clean_text(description, DESCRIPTION_MAX, "description", multiline=True)
    before = dict.fromkeys(AUDITED_FIELDS) if is_new else _snapshot(category)
    was_active = not is_new and category.lead_status_active
    with database.atomic():
        category.name = name
        category.group = group
        category.description = description
        category.lead_status_enabled = bool(lead_status_enabled)
        for field, value in translations.items():
            setattr(category, field, value)
        if is_new:
            last = Category.select(fn.MAX(Category.sort_order)).scalar()
            category.sort_order = (last or 0) + 1
        category.save()
        if not is_new and category.lead_status_active and not was_active:
            reset_to_initial_status(Contact.company.in_(_companies_in(category)), actor)
        after = _snapshot(category)
        if is_new:
            record_audit(actor, AREA, "created", name, describe_changes(before, after))
        elif before != after:
            record_audit(actor, AREA, "changed", name, describe_changes(before, after))
    return category


def save_group_names(code, actor, name, translations=None):
    """R23: name a category group, by default and per language (the groups are fixed, R1)."""
    group = CategoryGroup.get_or_none(CategoryGroup.code == code)
    if group is None:
        raise RuleViolation(N_("Unknown category group."))
    translations = {k: v for k, v in clean_translations(translations).items()
                    if k in NAME_FIELDS}
    name = (name or "").strip()
    if not name:
        raise RuleViolation(N_("A category group needs a name."), field="name")
    if len(name) > NAME_MAX:
        raise RuleViolation(N_("A category group name can be at most 100 characters."),
                            field="name")
    shown = {field: getattr(group, field) for field in NAME_FIELDS}
    shown.update(translations)
    check_names_unique(name, shown, [g for g in CategoryGroup.select() if g.id != group.id],
                       N_("A category group named %(name)s already exists."),
                       N_("Another category group is already called %(name)s in "
                          "%(language)s."))
    fields = ("name",) + NAME_FIELDS
    before = {field: getattr(group, field) for field in fields}
    with database.atomic():
        group.name = name
        for field, value in translations.items():
            setattr(group, field, value)
        after = {field: getattr(group, field) for field in fields}
        if before != after:
            group.save()
            record_audit(actor, AREA, "changed", name, describe_changes(before, after))
    return group


def reorder_categories(category_ids, actor=None):
    """R4: put the categories of `category_ids` first, in that order.

    Categories not in the list (the retired ones, when the admin hides
    them) keep their relative order after them.
    """
    current = [c.id for c in Category.ordered(include_retired=True)]
    if len(set(category_ids)) != len(category_ids) or not set(category_ids) <= set(current):
        raise RuleViolation(N_("The list has changed meanwhile; reload and try again."))
    order = list(category_ids) + [i for i in current if i not in set(category_ids)]
    with database.atomic():
        for position, category_id in enumerate(order):
            Category.update(sort_order=position).where(Category.id == category_id).execute()
        record_audit(actor, AREA, "reordered", "",
                     describe_changes({"order": current}, {"order": order}))


def retire_category(category, actor=None):
    """R4: a category is retired (hidden from choosers), never deleted with its companies."""
    with database.atomic():
        category.retired = True
        category.save()
        record_audit(actor, AREA, "retired", category.name)


def restore_category(category, actor=None):
    """R4: a retired category comes back into the choosers."""
    with database.atomic():
        category.retired = False
        category.save()
        record_audit(actor, AREA, "restored", category.name)


def delete_category(category, actor=None):
    """R4: only a category no company uses may be deleted; others are retired."""
    # Deleted companies (R27) still use it until they are purged: they may be restored.
    if Company.everything().where(Company.category == category).exists():
        raise RuleViolation(N_("This category is in use; retire it instead."))
    with database.atomic():
        name = category.name
        category.delete_instance()
        record_audit(actor, AREA, "deleted", name)
