"""The one place that turns search criteria into a contact query.

The company card's contacts tab uses it now; search, selections, the board,
dashboards and CSV export build on the same function.
"""
from dataclasses import dataclass, field
from datetime import date, timedelta

from peewee import JOIN, fn

from .schema import Category, Company, Contact, LeadStatus, User

SORTS = {
    "name": (Contact.last_name, Contact.first_name, Contact.id),
    "status": (LeadStatus.sort_order, Contact.last_name, Contact.id),
    "newest": (Contact.created_at.desc(), Contact.id.desc()),
    "company": (Company.name, Contact.last_name, Contact.id),
}


@dataclass
class ContactSearch:
    text: str = ""
    company_id: int | None = None
    lead_status_ids: list = field(default_factory=list)
    lead_status_not_ids: list = field(default_factory=list)
    without_status: bool = False
    category_ids: list = field(default_factory=list)
    category_not_ids: list = field(default_factory=list)
    category_groups: list = field(default_factory=list)
    category_groups_not: list = field(default_factory=list)
    owner_ids: list = field(default_factory=list)
    created_from: date | None = None
    created_to: date | None = None
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    sort: str = "name"


def contacts_with_relations():
    """Contacts with company, category, status and owner fetched in the same query."""
    return (Contact
            .select(Contact, Company, Category, LeadStatus, User)
            .join(Company)
            .join(Category)
            .join_from(Contact, LeadStatus, JOIN.LEFT_OUTER)
            .join_from(Contact, User, JOIN.LEFT_OUTER, on=(Contact.owner == User.id),
                       attr="owner"))


def search_contacts(criteria):
    """R11, R12: contacts matching `criteria`; a contact is found by its company's category."""
    query = contacts_with_relations()
    c = criteria
    if c.company_id is not None:
        query = query.where(Contact.company == c.company_id)
    if c.text.strip():
        needle = f"%{c.text.strip()}%"
        query = query.where(Contact.first_name ** needle
                            | Contact.last_name ** needle
                            | Contact.email ** needle
                            | Contact.title ** needle)
    # The status value counts even where it is hidden (R11).
    if c.lead_status_ids and c.without_status:
        query = query.where(Contact.lead_status.in_(c.lead_status_ids)
                            | Contact.lead_status.is_null())
    elif c.lead_status_ids:
        query = query.where(Contact.lead_status.in_(c.lead_status_ids))
    elif c.without_status:
        query = query.where(Contact.lead_status.is_null())
    if c.lead_status_not_ids:
        query = query.where(Contact.lead_status.is_null()
                            | Contact.lead_status.not_in(c.lead_status_not_ids))
    if c.category_ids:
        query = query.where(Company.category.in_(c.category_ids))
    if c.category_not_ids:
        query = query.where(Company.category.not_in(c.category_not_ids))
    if c.category_groups:
        query = query.where(Category.group.in_(c.category_groups))
    if c.category_groups_not:
        query = query.where(Category.group.not_in(c.category_groups_not))
    if c.owner_ids:
        query = query.where(Contact.owner.in_(c.owner_ids))
    if c.created_from:
        query = query.where(Contact.created_at >= c.created_from)
    if c.created_to:
        query = query.where(Contact.created_at < c.created_to + timedelta(days=1))
    for name in ("utm_source", "utm_medium", "utm_campaign"):
        value = getattr(c, name).strip()
        if value:
            query = query.where(getattr(Contact, name) == value)
    return query.order_by(*SORTS.get(c.sort, SORTS["name"]))


@dataclass
class CompanySearch:
    text: str = ""
    category_ids: list = field(default_factory=list)
    category_groups: list = field(default_factory=list)
    owner_ids: list = field(default_factory=list)


def search_companies(criteria):
    """Companies with category, owner and their number of contacts, by name."""
    # A correlated subquery counts contacts only for the rows of the page
    # that is fetched, instead of grouping every contact in the database.
    contact_count = (Contact.select(fn.COUNT(Contact.id))
                     .where(Contact.company == Company.id))
    query = (Company
             .select(Company, Category, User, contact_count.alias("contact_count"))
             .join(Category)
             .join_from(Company, User, JOIN.LEFT_OUTER, on=(Company.owner == User.id),
                        attr="owner")
             .order_by(Company.name, Company.id))
    c = criteria
    if c.text.strip():
        query = query.where(Company.name ** f"%{c.text.strip()}%")
    if c.category_ids:
        query = query.where(Company.category.in_(c.category_ids))
    if c.category_groups:
        query = query.where(Category.group.in_(c.category_groups))
    if c.owner_ids:
        query = query.where(Company.owner.in_(c.owner_ids))
    return query


# Group-by choices of a contact list: the sort that keeps a group together,
# and the expression naming the group (used by group_counts).
GROUPINGS = {
    "status": (LeadStatus.sort_order, LeadStatus.id),
    "owner": (User.name, User.id),
    "source": (Contact.utm_source, Contact.utm_source),
}


def grouped(query, grouping):
    """Order `query` so rows of one group are together, the group's sort first."""
    if grouping not in GROUPINGS:
        return query
    sort, _ = GROUPINGS[grouping]
    return query.order_by(sort, *query._order_by)


def group_counts(query, grouping):
    """{group key: number of rows} over the whole `query`, in one GROUP BY."""
    if grouping not in GROUPINGS:
        return {}
    _, key = GROUPINGS[grouping]
    rows = query.select(key.alias("key"), fn.COUNT(Contact.id).alias("n")).order_by() \
        .group_by(key).tuples()
    return dict(rows)
