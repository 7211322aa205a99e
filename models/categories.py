"""Company categories and their groups as admins configure them (R1, R2, R4, R10, R11)."""
from peewee import fn

from .audit import describe_changes, record_audit
from .db import database
from .engine import reset_to_initial_status
from .rules import Actor, RuleViolation
from .schema import CATEGORY_GROUPS, N_, POTENTIAL, Category, Company, Contact
from .values import clean_name, clean_text

AREA = "categories"
DESCRIPTION_MAX = 1000


def _check_group(group):
    if group not in CATEGORY_GROUPS:
        raise RuleViolation(N_("Unknown category group."), field="group")


def _check_lead_status_flag(group, enabled):
    """R2: *Enable lead status* only in the group Potential customer."""
    if enabled and group != POTENTIAL:
        raise RuleViolation(
            N_("Lead status can only be enabled on a category in the group Potential customer."),
            field="lead_status_enabled")


def _check_name(name, category_id=None):
    name = clean_name(name, 100, missing=N_("A category needs a name."),
                      too_long=N_("A category name can be at most 100 characters."))
    same = Category.select().where(fn.LOWER(Category.name) == name.lower())
    if category_id is not None:
        same = same.where(Category.id != category_id)
    if same.exists():
        raise RuleViolation(N_("A category named %(name)s already exists."), name=name,
                            field="name")
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
                         description=category.description,
                         # R2: leaving Potential customer takes the flag with it.
                         lead_status_enabled=category.lead_status_enabled and group == POTENTIAL)


def set_lead_status_enabled(category, enabled, actor=None):
    """R2: *Enable lead status* can only be set on a Potential customer category."""
    return save_category(category, actor, name=category.name, group=category.group,
                         description=category.description, lead_status_enabled=enabled)


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


def save_category(category, actor, name, group, description="", lead_status_enabled=False):
    """Create (category=None) or change a category, checking R1, R2 and unique names.

    Switching lead status on for a category in use applies R10 to its
    companies at once; switching it off keeps every value (R11).
    """
    actor = actor or Actor.system()
    _check_group(group)
    _check_lead_status_flag(group, lead_status_enabled)
    is_new = category is None
    category = category or Category()
    name = _check_name(name, None if is_new else category.id)
    description = clean_text(description, DESCRIPTION_MAX, "description", multiline=True)
    before = {"name": category.name, "group": category.group,
              "lead_status_enabled": category.lead_status_enabled,
              "description": category.description}
    was_active = not is_new and category.lead_status_active
    with database.atomic():
        category.name = name
        category.group = group
        category.description = description
        category.lead_status_enabled = bool(lead_status_enabled)
        if is_new:
            last = Category.select(fn.MAX(Category.sort_order)).scalar()
            category.sort_order = (last or 0) + 1
        category.save()
        if not is_new and category.lead_status_active and not was_active:
            reset_to_initial_status(Contact.company.in_(_companies_in(category)), actor)
        after = {"name": category.name, "group": category.group,
                 "lead_status_enabled": category.lead_status_enabled,
                 "description": category.description}
        if is_new:
            record_audit(actor, AREA, "created", name, describe_changes(
                {k: None for k in after}, after))
        elif before != after:
            record_audit(actor, AREA, "changed", name, describe_changes(before, after))
    return category


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
        names = [c.name for c in Category.ordered(include_retired=True)]
        record_audit(actor, AREA, "reordered", "", " → ".join(names))


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
    if Company.select().where(Company.category == category).exists():
        raise RuleViolation(N_("This category is in use; retire it instead."))
    with database.atomic():
        name = category.name
        category.delete_instance()
        record_audit(actor, AREA, "deleted", name)
