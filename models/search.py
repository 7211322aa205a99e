"""The one place that turns search criteria into contact and company queries.

Two ways in, one set of conditions:

- `ContactSearch` / `search_contacts`: the simple filter of a contacts list
  (the company card's contacts tab, the board's filter bar);
- versioned criteria (`parse_criteria`, `run_criteria`): the Search screen,
  saved selections, the bulk update, the CSV export and the dashboards.

Stored criteria are JSON with a version, an entity and a list of
conditions that must all hold:

    {"version": 1, "entity": "contacts",
     "criteria": [{"field": "lead_status", "op": "in", "value": [1, 2]},
                  {"field": "category_group", "op": "in", "value": ["potential"]},
                  {"field": "owner", "op": "in", "value": ["me"]},
                  {"field": "utm_campaign", "op": "eq", "value": "spring-webinar"}]}

"me" stands for whoever runs the search, so a shared selection "My open
leads" shows each user their own. Every condition only reads the contact
and its company (anything else is a subquery), so the same conditions
serve a lean count, a page of rows with their relations and a streamed
export.
"""
import datetime
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from peewee import JOIN, Desc, PostgresqlDatabase, fn

from .db import database
from .pagination import Page
from .prepared import Prepared
from .rules import RuleViolation
from .schema import (CATEGORY_GROUPS, N_, Category, CategoryGroup, CategorySuggestion, Company,
                     Contact, LeadStatus, User)
from .values import as_int, has_control_character

# --- The simple contact filter (contacts tab, board) -------------------------

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


_CONTACT = Prepared(lambda contact_id: contacts_with_relations()
                    .where(Contact.id == contact_id).limit(1))


def contact_with_relations(contact_id):
    """The live contact of this id with its company, category, status and owner, or
    None: every contact page starts with it, so its SQL is written once."""
    found = _CONTACT(contact_id)
    return found[0] if found else None


def search_contacts(criteria):
    """R11, R12: contacts matching `criteria`; a contact is found by its company's category."""
    query = contacts_with_relations()
    c = criteria
    if c.company_id is not None:
        query = query.where(Contact.company == c.company_id)
    if c.text.strip():
        needle = c.text.strip()
        query = query.where(Contact.first_name.contains(needle)
                            | Contact.last_name.contains(needle)
                            | Contact.email.contains(needle)
                            | Contact.title.contains(needle))
    # The status value counts even where it is hidden (R11).
    if c.lead_status_ids and c.without_status:
        query = query.where(Contact.lead_status.in_(c.lead_status_ids)
                            | Contact.lead_status.is_null())
    elif c.without_status:
        query = query.where(Contact.lead_status.is_null())
    wanted = [("lead_status", "in", c.lead_status_ids if not c.without_status else []),
              ("lead_status", "not_in", c.lead_status_not_ids),
              ("category", "in", c.category_ids),
              ("category", "not_in", c.category_not_ids),
              ("category_group", "in", c.category_groups),
              ("category_group", "not_in", c.category_groups_not),
              ("owner", "in", c.owner_ids)]
    for name, op, value in wanted:
        if value:
            query = query.where(_contact_condition(Criterion(name, op, list(value))))
    if c.created_from or c.created_to:
        period = {"from": c.created_from and c.created_from.isoformat(),
                  "to": c.created_to and c.created_to.isoformat()}
        query = query.where(_contact_condition(Criterion("created", "between", period)))
    for name in ("utm_source", "utm_medium", "utm_campaign"):
        value = getattr(c, name).strip()
        if value:
            query = query.where(_contact_condition(Criterion(name, "eq", value)))
    return query.order_by(*SORTS.get(c.sort, SORTS["name"]))


@dataclass
class CompanySearch:
    text: str = ""
    category_ids: list = field(default_factory=list)
    category_groups: list = field(default_factory=list)
    owner_ids: list = field(default_factory=list)
    sort: str = "name"  # a key of COMPANY_SORTS, "-" before it for descending


def _contact_count():
    # A correlated subquery counts contacts only for the rows of the page
    # that is fetched, instead of grouping every contact in the database.
    return Contact.select(fn.COUNT(Contact.id)).where(Contact.company == Company.id)


def companies_with_relations():
    """Companies with category, owner and their number of contacts."""
    return (Company
            .select(Company, Category, User, _contact_count().alias("contact_count"))
            .join(Category)
            .join_from(Company, User, JOIN.LEFT_OUTER, on=(Company.owner == User.id),
                       attr="owner"))


def search_companies(criteria):
    """Companies with category, owner and their number of contacts, in the criteria's
    sort (by name unless it names a column of COMPANY_SORTS)."""
    query = companies_with_relations().order_by(*sort_keys("companies", criteria.sort))
    c = criteria
    if c.text.strip():
        query = query.where(Company.name.contains(c.text.strip()))
    for name, value in (("category", c.category_ids), ("category_group", c.category_groups),
                        ("owner", c.owner_ids)):
        if value:
            query = query.where(_company_condition(Criterion(name, "in", list(value))))
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


# --- Versioned criteria ---------------------------------------------------------

CRITERIA_VERSION = 1
MAX_CRITERIA = 20
MAX_VALUES = 200
MAX_TEXT = 200
MAX_DAYS = 3650
ME = "me"

ENTITIES = {"contacts": N_("Contacts"), "companies": N_("Companies")}

OPERATORS = {
    "in": N_("is one of"),
    "not_in": N_("is not one of"),
    "empty": N_("is empty"),
    "eq": N_("is"),
    "contains": N_("contains"),
    "between": N_("between"),
    "last_days": N_("in the last days"),
    "is": N_("is"),
}


@dataclass(frozen=True)
class FieldSpec:
    """A searchable field: its label, the kind of value it takes, its operators."""
    label: str
    kind: str
    ops: tuple
    entities: tuple = ("contacts", "companies")


# The kinds of value: "statuses", "categories", "owners" (lists of ids, owners
# also "me"), "groups" (category group codes), "period" ({"from", "to"} ISO
# dates for between, a number of days for last_days), "text", "flag" (bool).
# On companies, lead status means "has a contact whose lead status ...".
FIELDS = {
    "lead_status": FieldSpec(N_("Lead status"), "statuses", ("in", "not_in", "empty")),
    "category": FieldSpec(N_("Category"), "categories", ("in", "not_in")),
    "category_group": FieldSpec(N_("Category group"), "groups", ("in", "not_in")),
    "owner": FieldSpec(N_("Owner"), "owners", ("in", "not_in", "empty")),
    "created": FieldSpec(N_("Created"), "period", ("between", "last_days")),
    "name": FieldSpec(N_("Name"), "text", ("contains",)),
    "email": FieldSpec(N_("E-mail"), "text", ("contains", "empty")),
    "utm_source": FieldSpec(N_("UTM source"), "text", ("eq", "contains", "empty"),
                            ("contacts",)),
    "utm_medium": FieldSpec(N_("UTM medium"), "text", ("eq", "contains", "empty"),
                            ("contacts",)),
    "utm_campaign": FieldSpec(N_("UTM campaign"), "text", ("eq", "contains", "empty"),
                              ("contacts",)),
    "pending_suggestion": FieldSpec(N_("Pending category suggestion"), "flag", ("is",)),
    # R24, R25: read from the contact's kept next step and last activity.
    "open_follow_up": FieldSpec(N_("Open follow-up"), "flag", ("is",), ("contacts",)),
    "last_activity": FieldSpec(N_("Last activity"), "period", ("between", "last_days"),
                               ("contacts",)),
}


def fields_for(entity):
    """{name: FieldSpec} of the fields that can be searched on `entity`, in menu order."""
    return {name: spec for name, spec in FIELDS.items() if entity in spec.entities}


class CriteriaError(RuleViolation):
    """Criteria that cannot be run; `field` and `index` point at the culprit, if any.

    The message may name the field as %(field)s: its label (a msgid, for
    the view to translate) is filled in from `field`, which validation sets
    once it knows which row failed.
    """

    def __init__(self, message, field=None, index=None, **params):
        Exception.__init__(self, message)
        self.message, self.field, self.index = message, field, index
        self._params = params

    @property
    def params(self):
        spec = FIELDS.get(self.field)
        return {**self._params, "field": spec.label if spec else (self.field or "")}

    def __str__(self):
        return self.message % self.params


@dataclass(frozen=True)
class Criterion:
    field: str
    op: str
    value: object = None

    def to_data(self):
        return {"field": self.field, "op": self.op, "value": self.value}


@dataclass(frozen=True)
class Criteria:
    """What to search for: an entity and conditions that must all hold."""
    entity: str = "contacts"
    items: tuple = ()

    def to_data(self):
        return {"version": CRITERIA_VERSION, "entity": self.entity,
                "criteria": [item.to_data() for item in self.items]}

    def to_json(self):
        return json.dumps(self.to_data(), ensure_ascii=False, separators=(",", ":"))


class Vocabulary:
    """The lists criteria refer to, each read once: statuses, categories, users, groups.

    The search screen shows them as choices and validation checks ids
    against them, so one page needs three small queries whatever it shows.
    """

    def __init__(self):
        self._cache = {}

    def _load(self, name, query):
        if name not in self._cache:
            self._cache[name] = {row.id: row for row in query}
        return self._cache[name]

    @property
    def statuses(self):
        """Every lead status, retired ones too: their values still count (R6, R11)."""
        return self._load("statuses", LeadStatus.ordered(include_retired=True))

    @property
    def categories(self):
        return self._load("categories", Category.ordered(include_retired=True))

    @property
    def users(self):
        """Every user, former ones too: their leads are still theirs."""
        return self._load("users", User.select().order_by(User.name))

    @property
    def groups(self):
        """The category groups by code, with their names per language (R23)."""
        if "groups" not in self._cache:
            self._cache["groups"] = {row.code: row for row in CategoryGroup.select()}
        return self._cache["groups"]


def parse_criteria(data, vocabulary=None):
    """Validate stored or submitted criteria (a dict or its JSON) into `Criteria`.

    Raises CriteriaError (a RuleViolation) with a message a user can read
    for anything unknown: version, entity, field, operator or value.
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError:
            raise CriteriaError(N_("The search criteria could not be read.")) from None
        except RecursionError:
            raise CriteriaError(N_("The search criteria are nested too deeply.")) from None
    if not isinstance(data, dict) or not isinstance(data.get("criteria", []), list):
        raise CriteriaError(N_("The search criteria could not be read."))
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CriteriaError(N_("The search criteria could not be read."))
    if version > CRITERIA_VERSION:
        raise CriteriaError(N_("These criteria were saved by a newer version of Tavla."))
    entity = data.get("entity", "contacts")
    if not isinstance(entity, str) or entity not in ENTITIES:
        raise CriteriaError(N_("Unknown kind of search: %(entity)s."), entity=str(entity)[:40])
    rows = data.get("criteria", [])
    if len(rows) > MAX_CRITERIA:
        raise CriteriaError(N_("Use at most %(max)s criteria."), max=MAX_CRITERIA)
    vocabulary = vocabulary or Vocabulary()
    items = tuple(_parse_criterion(row, index, entity, vocabulary)
                  for index, row in enumerate(rows))
    return Criteria(entity, items)


def _parse_criterion(row, index, entity, vocabulary):
    if not isinstance(row, dict):
        raise CriteriaError(N_("The search criteria could not be read."), index=index)
    name, op = row.get("field"), row.get("op")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise CriteriaError(N_("Unknown search field: %(name)s."), index=index,
                            name=str(name)[:40])
    if entity not in spec.entities:
        raise CriteriaError(N_("%(field)s cannot be searched on %(entity)s."), field=name,
                            index=index, entity=entity)
    if op not in spec.ops:
        raise CriteriaError(N_("Unknown operator for %(field)s: %(op)s."), field=name,
                            index=index, op=str(op)[:40])
    try:
        value = _parse_value(spec, op, row.get("value"), vocabulary)
    except CriteriaError as error:
        error.field, error.index = name, index
        raise
    return Criterion(name, op, value)


def _parse_value(spec, op, value, vocabulary):
    """The value of one criterion in its stored form, or CriteriaError."""
    if op == "empty":
        return None
    kind = spec.kind
    if kind == "flag":
        if value in (True, "true", "1", "yes", 1):
            return True
        if value in (False, "false", "0", "no", 0):
            return False
        raise CriteriaError(N_("Choose yes or no for %(field)s."))
    if kind == "text":
        if not isinstance(value, str) or not value.strip():
            raise CriteriaError(N_("Enter a text for %(field)s."))
        if len(value) > MAX_TEXT:
            raise CriteriaError(N_("The text for %(field)s is too long."))
        if has_control_character(value):
            # NUL and other control characters: PostgreSQL cannot even compare them.
            raise CriteriaError(N_("The text for %(field)s contains characters that are not "
                                   "allowed."))
        return value.strip()
    if kind == "period":
        return _parse_period(op, value)
    return _parse_list(kind, value, vocabulary)


def _parse_list(kind, value, vocabulary):
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        raise CriteriaError(N_("Choose at least one value for %(field)s."))
    if len(value) > MAX_VALUES:
        raise CriteriaError(N_("Too many values for %(field)s."))
    if kind == "groups":
        for code in value:
            if not isinstance(code, str) or code not in CATEGORY_GROUPS:
                raise CriteriaError(N_("Unknown category group: %(value)s."),
                                    value=str(code)[:40])
        return list(dict.fromkeys(value))
    known, message = {
        "statuses": (lambda: vocabulary.statuses, N_("Unknown lead status: %(value)s.")),
        "categories": (lambda: vocabulary.categories, N_("Unknown category: %(value)s.")),
        "owners": (lambda: vocabulary.users, N_("Unknown user: %(value)s.")),
    }[kind]
    result = []
    for item in value:
        if kind == "owners" and item == ME:
            result.append(ME)
            continue
        number = as_int(item)
        if number is None or number not in known():
            raise CriteriaError(message, value=str(item)[:40])
        result.append(number)
    return list(dict.fromkeys(result))


def _parse_period(op, value):
    if op == "last_days":
        days = as_int(value)
        if days is None or not 1 <= days <= MAX_DAYS:
            raise CriteriaError(N_("The number of days must be a whole number from 1 to "
                                   "%(max)s."), max=MAX_DAYS)
        return days
    if not isinstance(value, dict):
        raise CriteriaError(N_("Enter a start or an end date for %(field)s."))
    ends = {}
    for end in ("from", "to"):
        raw = value.get(end)
        if raw in (None, ""):
            ends[end] = None
            continue
        try:
            ends[end] = date.fromisoformat(raw).isoformat() if isinstance(raw, str) else None
        except ValueError:
            ends[end] = None
        if ends[end] is None:
            raise CriteriaError(N_("Write dates as YYYY-MM-DD."))
    if not ends["from"] and not ends["to"]:
        raise CriteriaError(N_("Enter a start or an end date for %(field)s."))
    if ends["from"] and ends["to"] and ends["from"] > ends["to"]:
        raise CriteriaError(N_("The period starts after it ends."))
    return ends


# --- From criteria to conditions ------------------------------------------------

def pending_suggestion_companies():
    """Ids of the companies with a category suggestion waiting for an answer (R17)."""
    return (CategorySuggestion.select(CategorySuggestion.company)
            .where(CategorySuggestion.state == CategorySuggestion.PENDING))


def _group_categories(codes):
    return Category.select(Category.id).where(Category.group.in_(codes))


def _owner_ids(value, user):
    ids = [v for v in value if v != ME]
    if ME in value:
        if user is None:
            raise CriteriaError(N_("“Owner is me” needs a signed-in user."), field="owner")
        ids.append(user.id)
    return ids


def _period(criterion, column, today):
    if criterion.op == "last_days":
        # "The last 7 days" is today and the six days before it.
        return column >= _midnight(today - timedelta(days=criterion.value - 1))
    ends = criterion.value
    # Every row has a creation time: the condition of a period open at both ends.
    condition = column.is_null(False)
    if ends.get("from"):
        condition = column >= _midnight(date.fromisoformat(ends["from"]))
    if ends.get("to") and date.fromisoformat(ends["to"]) < date.max:
        # The end date is inclusive: everything before the next midnight. The
        # last day there is (9999-12-31) has no next one: no end, then.
        condition &= column < _midnight(date.fromisoformat(ends["to"]) + timedelta(days=1))
    return condition


def _midnight(day):
    return datetime.datetime.combine(day, datetime.time())


def _in_list(column, op, values, null_counts_as_not=True):
    """is one of / is not one of / is empty; "not one of" includes empty values."""
    if op == "in":
        return column.in_(values)
    if op == "not_in":
        return (column.is_null() | column.not_in(values)) if null_counts_as_not \
            else column.not_in(values)
    return column.is_null()


def _text(column, criterion):
    if criterion.op == "eq":
        return column == criterion.value
    if criterion.op == "contains":
        return column.contains(criterion.value)
    return (column == "") | column.is_null()


def _contact_condition(criterion, user=None, today=None):
    """One criterion as a condition on Contact joined to its Company."""
    name, op, value = criterion.field, criterion.op, criterion.value
    if name == "lead_status":
        # R11: the value counts even where lead status is not active.
        return _in_list(Contact.lead_status, op, value)
    if name == "category":
        return _in_list(Company.category, op, value, null_counts_as_not=False)
    if name == "category_group":
        # R12: a contact is searched by its company's category group.
        return _in_list(Company.category, op, _group_categories(value),
                        null_counts_as_not=False)
    if name == "owner":
        return _in_list(Contact.owner, op, _owner_ids(value, user) if value else None)
    if name == "created":
        return _period(criterion, Contact.created_at, today or date.today())
    if name == "name":
        full_name = Contact.first_name.concat(" ").concat(Contact.last_name)
        return full_name.contains(value)
    if name == "email":
        return _text(Contact.email, criterion)
    if name in ("utm_source", "utm_medium", "utm_campaign"):
        return _text(getattr(Contact, name), criterion)
    if name == "pending_suggestion":
        companies = pending_suggestion_companies()
        return Contact.company.in_(companies) if value else Contact.company.not_in(companies)
    if name == "open_follow_up":
        # A contact has a next step exactly while it has an open follow-up.
        return Contact.next_step_at.is_null(not value)
    if name == "last_activity":
        return _period(criterion, Contact.last_activity_at, today or date.today())
    raise CriteriaError(N_("Unknown search field: %(name)s."), name=name)


def _company_condition(criterion, user=None, today=None):
    """One criterion as a condition on Company."""
    name, op, value = criterion.field, criterion.op, criterion.value
    if name == "lead_status":
        # A company matches by its contacts: "has a contact whose status is one
        # of", "has no contact whose status is one of", "no contact has a status".
        having = Contact.select(Contact.company).where(
            Contact.lead_status.in_(value) if op != "empty" else Contact.lead_status.is_null(
                False))
        return Company.id.in_(having) if op == "in" else Company.id.not_in(having)
    if name == "category":
        return _in_list(Company.category, op, value, null_counts_as_not=False)
    if name == "category_group":
        return _in_list(Company.category, op, _group_categories(value),
                        null_counts_as_not=False)
    if name == "owner":
        return _in_list(Company.owner, op, _owner_ids(value, user) if value else None)
    if name == "created":
        return _period(criterion, Company.created_at, today or date.today())
    if name == "name":
        return Company.name.contains(value)
    if name == "email":
        return _text(Company.email, criterion)
    if name == "pending_suggestion":
        companies = pending_suggestion_companies()
        return Company.id.in_(companies) if value else Company.id.not_in(companies)
    raise CriteriaError(N_("Unknown search field: %(name)s."), name=name)


def criteria_conditions(criteria, user=None, today=None):
    """The where-conditions of `criteria` for `user` ("me"), on the entity and its company."""
    condition = _contact_condition if criteria.entity == "contacts" else _company_condition
    return [condition(item, user, today) for item in criteria.items]


# --- Running a search --------------------------------------------------------------

# Sortable columns of a result list, each with the tie-breaker that makes
# paging stable. "-key" sorts descending.
CONTACT_SORTS = {
    "name": (Contact.last_name, Contact.first_name),
    "company": (Company.name,),
    "title": (Contact.title,),
    "email": (Contact.email,),
    "category": (Category.name,),
    "group": (Category.group,),
    "status": (LeadStatus.sort_order,),
    "owner": (User.name,),
    "source": (Contact.utm_source, Contact.utm_medium, Contact.utm_campaign),
    "created": (Contact.created_at,),
    "next_step": (Contact.next_step_at,),
    "last_activity": (Contact.last_activity_at,),
}
COMPANY_SORTS = {
    "name": (Company.name,),
    "category": (Category.name,),
    "group": (Category.group,),
    "owner": (User.name,),
    "city": (Company.city,),
    "country": (Company.country,),
    "created": (Company.created_at,),
    "changed": (Company.updated_at,),
    # Counted per row by the same correlated subquery the lists show.
    "contacts": (_contact_count(),),
}


def sort_keys(entity, sort):
    """The ORDER BY of `sort` ("name", "-created", ...); unknown sorts sort by name."""
    sorts, model = (CONTACT_SORTS, Contact) if entity == "contacts" else (COMPANY_SORTS, Company)
    descending = sort.startswith("-") if sort else False
    keys = sorts.get((sort or "").lstrip("-"), sorts["name"])
    if descending:
        return [Desc(key) for key in keys] + [model.id.desc()]  # Desc: a subquery too
    return list(keys) + [model.id]


def _sort_joins(query, entity, sort):
    """Join to a lean query (the entity and at most its company) what `sort` orders by."""
    column = (sort or "").lstrip("-")
    model = Contact if entity == "contacts" else Company
    if column in ("category", "group"):
        return query.join_from(Company, Category)
    if column == "status" and model is Contact:
        return query.join_from(Contact, LeadStatus, JOIN.LEFT_OUTER)
    if column == "owner":
        return query.join_from(model, User, JOIN.LEFT_OUTER, on=(model.owner == User.id))
    return query


def normal_sort(entity, sort):
    """`sort` when it names a sortable column, else "name"."""
    sorts = CONTACT_SORTS if entity == "contacts" else COMPANY_SORTS
    return sort if sort and sort.lstrip("-") in sorts else "name"


class Matches:
    """The contacts or companies matching some conditions.

    One object answers every use: a lean count, the ids, a page of rows with
    their relations, every row in a sort, and streamed export rows. The
    conditions read only the entity and its company (see criteria_conditions),
    so the lean queries join nothing else.
    """

    def __init__(self, entity, conditions):
        self.entity = entity
        self.conditions = list(conditions)
        self.model = Contact if entity == "contacts" else Company

    def narrow(self, query):
        """`query` (of the entity, joined to its company) limited to the matching rows."""
        return query.where(*self.conditions) if self.conditions else query

    def ids(self):
        """SELECT id of the matching rows, joined only as the conditions need."""
        if self.entity == "contacts":
            return self.narrow(Contact.select(Contact.id).join(Company))
        return self.narrow(Company.select(Company.id))

    def count(self):
        return self.ids().count()

    def query(self, sort="name"):
        """Every matching row with its relations (company, category, status, owner)."""
        base = contacts_with_relations() if self.entity == "contacts" \
            else companies_with_relations()
        return self.narrow(base).order_by(*sort_keys(self.entity, sort))

    def page(self, number=1, per_page=50, sort="name", vocabulary=None):
        """One page of rows with their relations, and the total (two queries).

        The page's ids are sorted and cut in a subquery that carries no wide
        columns; only those rows are then read. With a `vocabulary` (the
        screen has read the lists already) status, category and owner come
        from it instead of from joins.
        """
        total = self.count()
        pages = max(1, -(-total // per_page))
        number = min(max(1, number), pages)
        keys = sort_keys(self.entity, sort)
        page_ids = _sort_joins(self.ids(), self.entity, sort)
        page_ids = page_ids.order_by(*keys).paginate(number, per_page)
        if not total:
            return Page([], number, per_page, total)
        if vocabulary is None:
            base = contacts_with_relations() if self.entity == "contacts" \
                else companies_with_relations()
        elif self.entity == "contacts":
            base = _sort_joins(Contact.select(Contact, Company).join(Company), "contacts", sort)
        else:
            base = _sort_joins(Company.select(Company, _contact_count().alias("contact_count")),
                               "companies", sort)
        # The outer query looks the page's rows up by id only: repeating the
        # conditions there would make the database walk every match again.
        items = list(base.where(self.model.id.in_(page_ids)).order_by(*keys))
        if vocabulary is not None:
            _name_from(vocabulary, items, self.entity)
        return Page(items, number, per_page, total)

    def restricted_to(self, ids):
        """The same matches, only among `ids` (the ticked rows)."""
        return Matches(self.entity, self.conditions + [self.model.id.in_(list(ids))])


def _name_from(vocabulary, rows, entity):
    """Give rows their category, owner and status objects from `vocabulary`.

    These lists are short and the screen has read them already; building
    three more models per row from joins costs more than the query itself.
    """
    for row in rows:
        company = row.company if entity == "contacts" else row
        company.category = vocabulary.categories[company.category_id]
        row.owner = vocabulary.users.get(row.owner_id)
        if entity == "contacts":
            row.lead_status = vocabulary.statuses.get(row.lead_status_id)


def run_criteria(criteria, user=None, today=None):
    """Matches of `criteria` as `user` sees them ("me" is that user)."""
    return Matches(criteria.entity, criteria_conditions(criteria, user, today))


# --- Export ---------------------------------------------------------------------

# The columns an export can hold, each as the expressions it reads. Lookups
# (status, category, owner) are read as ids and named from a Vocabulary, so
# the export query joins nothing but the company.
EXPORT_COLUMNS = {
    "contacts": {
        "name": (Contact.first_name, Contact.last_name),
        "company": (Company.name,),
        "title": (Contact.title,),
        "email": (Contact.email,),
        "phone": (Contact.phone,),
        "category": (Company.category,),
        "group": (Company.category,),
        "status": (Contact.lead_status,),
        "owner": (Contact.owner,),
        "source": (Contact.utm_source, Contact.utm_medium, Contact.utm_campaign),
        "created": (Contact.created_at,),
        # R25: the next step and the latest activity, kept on the contact's row.
        "next_step": (Contact.next_step_at, Contact.next_step_text),
        "last_activity": (Contact.last_activity_at,),
    },
    "companies": {
        "name": (Company.name,),
        "category": (Company.category,),
        "group": (Company.category,),
        "owner": (Company.owner,),
        "city": (Company.city,),
        "country": (Company.country,),
        "email": (Company.email,),
        "phone": (Company.phone,),
        "website": (Company.website,),
        "created": (Company.created_at,),
    },
}


def export_rows(matches, columns, sort="name", vocabulary=None, chunk_size=2000):
    """Yield one tuple per matching row: per column, its value or values.

    Status, category and owner come as objects from `vocabulary` (so the
    caller can name them in the user's language), the group as its code,
    "source" and "name" as tuples of their parts. The rows are streamed
    from the database, never all held in memory.
    """
    vocabulary = vocabulary or Vocabulary()
    spec = EXPORT_COLUMNS[matches.entity]
    columns = [c for c in columns if c in spec]
    selected, slices = [], []
    for column in columns:
        slices.append((column, len(selected), len(selected) + len(spec[column])))
        selected.extend(spec[column])
    if not selected:
        selected = [matches.model.id]
    model = matches.model
    query = model.select(*selected).join(Company) if model is Contact else model.select(*selected)
    query = _sort_joins(query, matches.entity, sort)
    query = matches.narrow(query).order_by(*sort_keys(matches.entity, sort))
    lookups = {"category": vocabulary.categories, "group": vocabulary.categories,
               "status": vocabulary.statuses, "owner": vocabulary.users}
    for row in stream_tuples(query, chunk_size):
        values = []
        for column, start, end in slices:
            parts = row[start:end]
            if column in lookups:
                found = lookups[column].get(parts[0])
                values.append(found.group if column == "group" and found else found)
            elif end - start > 1:
                values.append(parts)
            else:
                values.append(parts[0])
        yield tuple(values)


def stream_tuples(query, chunk_size=2000):
    """The rows of `query` as tuples, read in chunks instead of all at once.

    SQLite's cursor already hands out rows as they are read. psycopg reads a
    whole result into memory, so on PostgreSQL a server-side (named) cursor
    fetches `chunk_size` rows at a time.
    """
    if not isinstance(database.obj, PostgresqlDatabase):
        yield from query.tuples().iterator()
        return
    sql, params = query.sql()
    # peewee's adapter opens a named cursor WITH HOLD, usable outside a transaction.
    cursor = database.obj._adapter.server_side_cursor(database.connection())
    cursor.itersize = chunk_size
    try:
        cursor.execute(sql, params)
        yield from cursor
    finally:
        cursor.close()
