"""The JSON API (R31) at /api/v1/: companies, contacts, sales, lists, selections, users.

Only a token authenticates it (`Authorization: Bearer tav_...`), never the
session cookie, so it needs no CSRF token. A request acts as the token's
user, with that user's rights; a read token only reads. Every write goes
through the same functions of `models/` the screens use, so the rules fire
exactly as on a drag or a form. Errors are `{"error": {"code", "message",
"field"}}` (views.errors.api_error).

Each resource is a few small views below; `RESOURCES` in views/openapi.py
describes them, and a test holds the two together.
"""
import datetime
import json

from flask import Blueprint, g, jsonify, request

from models import Actor, Category, Company, Contact, LeadStatus, RuleViolation, User
from models.activities import (NotAllowed, add_activity, complete_activity, delete_activity,
                               edit_activity, parse_due)
from models.api_tokens import TooManyRequests, authenticate_token
from models.categorization import change_contact, mark_sale, register_sale, update_sale
from models.engine import KEEP, StaleRecord
from models.rules import change_company, create_company, create_contact
from models.schema import N_, Activity, Sale
from models.search import CRITERIA_VERSION, Criteria, CriteriaError, parse_criteria, run_criteria
from models.selections import selection_matches, visible_selection, visible_selections
from models.trash import delete_company, delete_contact, may_delete
from models.values import as_int

from .common import rule_message
from .errors import api_error

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
COMPANY_TEXT = ("name", "phone", "email", "website", "city", "country")
CONTACT_TEXT = ("first_name", "last_name", "title", "email", "phone", "utm_source",
                "utm_medium", "utm_campaign", "utm_term", "utm_content")


class ApiRefusal(Exception):
    """A request the API refuses: its status, code, message (a msgid) and field."""

    def __init__(self, status, message, field=None, **params):
        super().__init__(message)
        self.status, self.message, self.field, self.params = status, message, field, params


@bp.before_request
def authenticate():
    """A valid, live token in the Authorization header, or 401; a read token only reads."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return api_error(401, N_("Send an API token as Authorization: Bearer <token>."))
    try:
        token = authenticate_token(secret.strip())
    except TooManyRequests as error:
        response = api_error(429, error.message, **error.params)
        response.headers["Retry-After"] = str(error.retry_after)
        return response
    if token is None:
        return api_error(401, N_("The API token is unknown or revoked."))
    g.api_token = token
    if request.method in WRITE_METHODS and not token.can_write:
        return api_error(403, N_("This token may only read."))
    return None


@bp.errorhandler(ApiRefusal)
def refused(error):
    return api_error(error.status, error.message, field=error.field, **error.params)


@bp.errorhandler(RuleViolation)
def rule_refused(error):
    status = 409 if isinstance(error, StaleRecord) else 403 if isinstance(error, NotAllowed) \
        else 422
    refusal = getattr(error, "refusals", [error])[0]
    return api_error(status, message=None, text=rule_message(refusal),
                     field=refusal.params.get("field") or getattr(refusal, "field", None))


@bp.after_request
def never_cached(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def actor():
    return Actor(g.api_token.user)


# --- Reading requests ------------------------------------------------------------

def body():
    """The request's JSON object, or a 400 naming what is wrong with it."""
    if request.mimetype != "application/json":
        raise ApiRefusal(400, N_("Send the body as JSON (Content-Type: application/json)."))
    try:
        data = json.loads(request.get_data(cache=False) or b"null")
    except (ValueError, RecursionError):
        raise ApiRefusal(400, N_("The body is not valid JSON.")) from None
    if not isinstance(data, dict):
        raise ApiRefusal(400, N_("The body must be a JSON object."))
    return data


def only(data, allowed):
    """Refuse fields the resource does not have, so a typo is not silently ignored."""
    for name in data:
        if name not in allowed:
            raise ApiRefusal(422, N_("Unknown field: %(name)s."), field=str(name)[:60],
                             name=str(name)[:60])
    return data


def text_fields(data, names):
    values = {}
    for name in names:
        if name in data:
            if not isinstance(data[name], str):
                raise ApiRefusal(422, N_("This field must be a string."), field=name)
            values[name] = data[name]
    return values


def record_id(data, name):
    """An id field: a whole number (or null, which the caller decides about)."""
    value = data.get(name)
    if value is None:
        return None
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if number is None or as_int(str(number)) is None:
        raise ApiRefusal(422, N_("This field must be an id."), field=name)
    return number


def lookup(model, data, name, required=False, query=None):
    """The row an id field names, None for null, 422 for an unknown id."""
    number = record_id(data, name)
    if number is None:
        if required:
            raise ApiRefusal(422, N_("This field is required."), field=name)
        return None
    row = (query or model.select()).where(model.id == number).first()
    if row is None:
        raise ApiRefusal(422, N_("No such record."), field=name)
    return row


def expected_version(data=None):
    """The version the client last read, from the body's `version` or an If-Match header
    ("3", as the ETag of a GET); None when it sent neither (no check)."""
    if data and "version" in data:
        return record_id(data, "version")
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return None
    version = as_int(header.removeprefix("W/").strip('"'))
    if version is None:
        raise ApiRefusal(400, N_("If-Match must be a version, as the ETag of the record."),
                         field="If-Match")
    return version


def delete_body(allowed=("version",)):
    """A DELETE needs no body; one that is sent holds only `allowed` fields (a body
    meant for something else is refused, not ignored)."""
    return only(body(), set(allowed)) if request.get_data(cache=True) else {}


def with_etag(response, record):
    """A read answer with the record's version as its ETag (for If-Match)."""
    response.headers["ETag"] = f'"{record.version}"'
    return response


def found(query, object_id):
    row = query.where(query.model.id == object_id).first()
    if row is None:
        raise ApiRefusal(404, N_("We could not find that page or record."))
    return row


def listing(query, serialize):
    """One page of `query` after the `after` id, in id order: `{"data", "next_after"}`."""
    after = as_int(request.args.get("after")) if "after" in request.args else 0
    limit = as_int(request.args.get("limit")) if "limit" in request.args else DEFAULT_LIMIT
    if after is None or after < 0:
        raise ApiRefusal(400, N_("after must be an id."), field="after")
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise ApiRefusal(400, N_("limit must be between 1 and %(max)s."), field="limit",
                         max=MAX_LIMIT)
    model = query.model
    rows = list(query.where(model.id > after).order_by(model.id).limit(limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonify(data=[serialize(row) for row in rows],
                   next_after=rows[-1].id if more else None)


def criteria_arg(entity):
    """The `criteria` query argument: the Search screen's conditions as a JSON list."""
    raw = request.args.get("criteria")
    if not raw:
        return Criteria(entity, ())
    try:
        rows = json.loads(raw)
    except (ValueError, RecursionError):
        raise ApiRefusal(400, N_("criteria must be a JSON list."), field="criteria") from None
    if not isinstance(rows, list):
        raise ApiRefusal(400, N_("criteria must be a JSON list."), field="criteria")
    try:
        return parse_criteria({"version": CRITERIA_VERSION, "entity": entity, "criteria": rows})
    except CriteriaError as error:
        raise ApiRefusal(400, None, field="criteria", text=rule_message(error)) from None


# --- Shapes ------------------------------------------------------------------------

def stamp(value):
    return value.isoformat() if value else None


def company_json(company):
    return {"id": company.id, **{name: getattr(company, name) for name in COMPANY_TEXT},
            "category_id": company.category_id, "owner_id": company.owner_id,
            "created_at": stamp(company.created_at), "updated_at": stamp(company.updated_at),
            "version": company.version}


def contact_json(contact):
    return {"id": contact.id, "company_id": contact.company_id,
            **{name: getattr(contact, name) for name in CONTACT_TEXT},
            "owner_id": contact.owner_id, "lead_status_id": contact.lead_status_id,
            "status_changed_at": stamp(contact.status_changed_at),
            "created_at": stamp(contact.created_at), "updated_at": stamp(contact.updated_at),
            "version": contact.version}


def activity_json(activity):
    return {"id": activity.id, "contact_id": activity.contact_id,
            "company_id": activity.company_id, "kind": activity.kind, "text": activity.text,
            "due_at": stamp(activity.due_at), "owner_id": activity.owner_id,
            "done_at": stamp(activity.done_at), "done_by_id": activity.done_by_id,
            "author_id": activity.author_id, "created_at": stamp(activity.created_at),
            "updated_at": stamp(activity.updated_at)}


def sale_json(sale):
    return {"id": sale.id, "company_id": sale.company_id, "contact_id": sale.contact_id,
            "title": sale.title, "amount": f"{sale.amount:.2f}", "currency": sale.currency,
            "sale_date": sale.sale_date.isoformat(), "owner_id": sale.owner_id,
            "status": sale.status, "created_at": stamp(sale.created_at),
            "updated_at": stamp(sale.updated_at)}


def status_json(status):
    language = g.api_token.user.language
    return {"id": status.id, "name": status.name_in(language),
            "description": status.description_in(language), "sort_order": status.sort_order,
            "is_initial": status.is_initial, "retired": status.retired}


def category_json(category):
    language = g.api_token.user.language
    return {"id": category.id, "name": category.name_in(language),
            "description": category.description_in(language), "group": category.group,
            "lead_status_active": category.lead_status_active,
            "sort_order": category.sort_order, "retired": category.retired}


def user_json(user):
    shown = {"id": user.id, "name": user.name, "role": user.role, "active": user.active}
    if g.api_token.user.is_admin or user.id == g.api_token.user_id:
        shown["email"] = user.email
    return shown


def selection_json(selection):
    return {"id": selection.id, "name": selection.name, "entity": selection.entity,
            "kind": selection.kind, "shared": selection.shared, "owner_id": selection.owner_id,
            "criteria": json.loads(selection.criteria or "null") if not selection.is_static
            else None}


def outcome_json(outcome):
    """What the categorization rules did: nothing, moved the company, or proposed a move."""
    return {"action": outcome.action,
            "category_id": outcome.category.id if outcome.category else None,
            "suggestion_id": outcome.suggestion.id if outcome.suggestion else None}


# --- Companies -----------------------------------------------------------------------

@bp.get("/companies")
def companies_list():
    """Companies in id order, narrowed by search criteria."""
    matches = run_criteria(criteria_arg("companies"), g.api_token.user)
    return listing(matches.narrow(Company.select()), company_json)


@bp.get("/companies/<int:company_id>")
def companies_get(company_id):
    """One company, with its version (also its ETag) for optimistic updates."""
    company = found(Company.select(), company_id)
    return with_etag(jsonify(company_json(company)), company)


@bp.post("/companies")
def companies_create():
    """A new company (its first category in its history, R20)."""
    data = only(body(), {*COMPANY_TEXT, "category_id", "owner_id"})
    category = lookup(Category, data, "category_id", required=True)
    owner = lookup(User, data, "owner_id")
    company = create_company(actor(), category=category, owner=owner,
                             **text_fields(data, COMPANY_TEXT))
    return jsonify(company_json(Company.get_by_id(company.id))), 201


@bp.patch("/companies/<int:company_id>")
def companies_update(company_id):
    """Change a company's fields; a new category_id moves it as a drag does (R10, R11)."""
    company = found(Company.select(), company_id)
    data = only(body(), {*COMPANY_TEXT, "category_id", "version"})
    version = expected_version(data)
    category = lookup(Category, data, "category_id") if "category_id" in data else None
    if "category_id" in data and category is None:
        raise ApiRefusal(422, N_("This field is required."), field="category_id")
    change_company(company, actor(), text_fields(data, COMPANY_TEXT), category,
                   version=version)
    company = Company.get_by_id(company.id)
    return with_etag(jsonify(company_json(company)), company)


@bp.delete("/companies/<int:company_id>")
def companies_delete(company_id):
    """Delete a company with its contacts (R27: restorable for 30 days; managers, admins)."""
    company = found(Company.select(), company_id)
    if not may_delete(g.api_token.user):
        raise ApiRefusal(403, N_("Only managers and admins can delete and restore records."))
    delete_company(company.id, actor(), version=expected_version(delete_body()))
    return "", 204


# --- Contacts ----------------------------------------------------------------------

@bp.get("/contacts")
def contacts_list():
    """Contacts in id order, narrowed by search criteria."""
    matches = run_criteria(criteria_arg("contacts"), g.api_token.user)
    return listing(matches.narrow(Contact.select().join(Company)), contact_json)


@bp.get("/contacts/<int:contact_id>")
def contacts_get(contact_id):
    """One contact, with its version (also its ETag) for optimistic updates."""
    contact = found(Contact.select(), contact_id)
    return with_etag(jsonify(contact_json(contact)), contact)


@bp.post("/contacts")
def contacts_create():
    """A new contact under a company, at the initial status where lead status is active (R9)."""
    data = only(body(), {*CONTACT_TEXT, "company_id", "owner_id"})
    company = lookup(Company, data, "company_id", required=True)
    owner = lookup(User, data, "owner_id")
    contact = create_contact(company, actor(), owner=owner, **text_fields(data, CONTACT_TEXT))
    return jsonify(contact_json(Contact.get_by_id(contact.id))), 201


@bp.patch("/contacts/<int:contact_id>")
def contacts_update(contact_id):
    """Fields, owner and lead status at once (R8, R15-R17 as on a drag); 409 on a stale version."""
    contact = found(Contact.select(), contact_id)
    data = only(body(), {*CONTACT_TEXT, "owner_id", "lead_status_id", "version"})
    version = expected_version(data)
    owner = lookup(User, data, "owner_id") if "owner_id" in data else KEEP
    status = None
    if "lead_status_id" in data:
        status = lookup(LeadStatus, data, "lead_status_id", required=True)
    outcome = change_contact(contact, actor(), version=version,
                             fields=text_fields(data, CONTACT_TEXT), owner=owner, status=status)
    contact = Contact.get_by_id(contact.id)
    return with_etag(jsonify(contact=contact_json(contact), rules=outcome_json(outcome)),
                     contact)


@bp.delete("/contacts/<int:contact_id>")
def contacts_delete(contact_id):
    """Delete a contact (R27: restorable for 30 days; managers and admins)."""
    contact = found(Contact.select(), contact_id)
    if not may_delete(g.api_token.user):
        raise ApiRefusal(403, N_("Only managers and admins can delete and restore records."))
    delete_contact(contact.id, actor(), version=expected_version(delete_body()))
    return "", 204


# --- Activities (R24) --------------------------------------------------------------

ACTIVITY_INPUT = {"kind", "text", "due_at", "owner_id"}


def due_at(data, activity=None):
    """A follow-up's due time from "2026-12-03T10:00" (or a date alone: 09:00)."""
    if data.get("due_at") is None:
        return activity.due_at if activity and "due_at" not in data else None
    raw = data["due_at"]
    if not isinstance(raw, str):
        raise ApiRefusal(422, N_("Give the time as YYYY-MM-DDTHH:MM."), field="due_at")
    day, _, moment = raw.partition("T")
    try:
        return parse_due(day, moment)
    except RuleViolation as error:
        params = {k: v for k, v in error.params.items() if k != "field"}
        raise ApiRefusal(422, error.message, field="due_at", **params) from None


def contact_activities():
    """Activities on live contacts (a deleted contact's are gone with it)."""
    return Activity.select().where(Activity.contact.in_(Contact.select(Contact.id)))


@bp.get("/contacts/<int:contact_id>/activities")
def activities_list(contact_id):
    """A contact's notes, calls, meetings and follow-ups, in id order."""
    contact = found(Contact.select(), contact_id)
    return listing(Activity.select().where(Activity.contact == contact.id), activity_json)


@bp.post("/contacts/<int:contact_id>/activities")
def activities_create(contact_id):
    """Record a note, call, meeting or follow-up on a contact (R24)."""
    contact = found(Contact.select(), contact_id)
    data = only(body(), ACTIVITY_INPUT)
    texts = text_fields(data, ("kind", "text"))
    activity = add_activity(actor(), texts.get("kind", ""), texts.get("text", ""),
                            contact=contact, due_at=due_at(data),
                            owner=lookup(User, data, "owner_id"))
    return jsonify(activity_json(Activity.get_by_id(activity.id))), 201


@bp.get("/activities/<int:activity_id>")
def activities_get(activity_id):
    """One activity of a contact."""
    return jsonify(activity_json(found(contact_activities(), activity_id)))


@bp.patch("/activities/<int:activity_id>")
def activities_update(activity_id):
    """Change an activity's text, a follow-up's due time or owner (author, managers, admins)."""
    activity = found(contact_activities(), activity_id)
    data = only(body(), {"text", "due_at", "owner_id"})
    text = text_fields(data, ("text",)).get("text", activity.text)
    edit_activity(activity, actor(), text, due_at=due_at(data, activity),
                  owner=lookup(User, data, "owner_id"))
    return jsonify(activity_json(Activity.get_by_id(activity.id)))


@bp.post("/activities/<int:activity_id>/complete")
def activities_complete(activity_id):
    """Mark a follow-up done, or with {"done": false} open again."""
    activity = found(contact_activities(), activity_id)
    data = only(body(), {"done"}) if request.get_data(cache=True) else {}
    done = data.get("done", True)
    if not isinstance(done, bool):
        raise ApiRefusal(422, N_("This field must be true or false."), field="done")
    complete_activity(activity, actor(), done=done)
    return jsonify(activity_json(Activity.get_by_id(activity.id)))


@bp.delete("/activities/<int:activity_id>")
def activities_delete(activity_id):
    """Delete an activity for good (its author, managers and admins)."""
    activity = found(contact_activities(), activity_id)
    delete_body(allowed=())
    delete_activity(activity, actor())
    return "", 204


# --- Sales -------------------------------------------------------------------------

def sale_values(data, sale=None):
    """The arguments of register_sale / update_sale from `data`, over `sale`'s own."""
    amount = data.get("amount", sale.amount if sale else None)
    if isinstance(amount, bool) or not isinstance(amount, (int, float, str)):
        raise ApiRefusal(422, N_("The amount must be a number."), field="amount")
    raw_date = data.get("sale_date")
    if raw_date is None:
        sale_date = sale.sale_date if sale else datetime.date.today()
    else:
        try:
            sale_date = datetime.date.fromisoformat(raw_date)
        except (TypeError, ValueError):
            raise ApiRefusal(422, N_("Give the date as YYYY-MM-DD."), field="sale_date") from None
    texts = text_fields(data, ("title", "currency", "status"))
    company_id = sale.company_id if sale else data["company"].id
    contact = (lookup(Contact, data, "contact_id") if "contact_id" in data
               else (sale.contact if sale else None))
    if contact is not None and contact.company_id != company_id:
        raise ApiRefusal(422, N_("The contact does not work at this company."),
                         field="contact_id")
    return dict(title=texts.get("title", sale.title if sale else ""), amount=amount,
                currency=texts.get("currency", sale.currency if sale else "SEK"),
                sale_date=sale_date,
                owner=lookup(User, data, "owner_id") if "owner_id" in data
                else (sale.owner if sale else g.api_token.user),
                contact=contact,
                status=texts.get("status", sale.status if sale else "open"))


@bp.get("/sales")
def sales_list():
    """Sales in id order; `company_id` narrows to one company's."""
    query = Sale.select()
    if "company_id" in request.args:
        company_id = as_int(request.args.get("company_id"))
        if company_id is None:
            raise ApiRefusal(400, N_("company_id must be an id."), field="company_id")
        query = query.where(Sale.company == company_id)
    return listing(query, sale_json)


@bp.get("/sales/<int:sale_id>")
def sales_get(sale_id):
    """One sale."""
    return jsonify(sale_json(found(Sale.select(), sale_id)))


@bp.post("/sales")
def sales_create():
    """Register a sale (R14); the categorization rules answer as in the app (R15-R17)."""
    data = only(body(), {"company_id", "contact_id", "title", "amount", "currency",
                         "sale_date", "owner_id", "status"})
    company = lookup(Company, data, "company_id", required=True)
    sale, outcome = register_sale(company, actor(), **sale_values({**data, "company": company}))
    return jsonify(sale=sale_json(Sale.get_by_id(sale.id)), rules=outcome_json(outcome)), 201


@bp.patch("/sales/<int:sale_id>")
def sales_update(sale_id):
    """Edit a sale or mark it Sold or Lost (R14, rules 1 and 2)."""
    sale = found(Sale.select(), sale_id)
    data = only(body(), {"contact_id", "title", "amount", "currency", "sale_date", "owner_id",
                         "status"})
    if set(data) == {"status"}:
        status = text_fields(data, ("status",))["status"]
        outcome = mark_sale(sale, status, actor())
    else:
        _, outcome = update_sale(sale, actor(), **sale_values(data, sale))
    return jsonify(sale=sale_json(Sale.get_by_id(sale.id)), rules=outcome_json(outcome))


# --- Lists, users, selections (read) ---------------------------------------------------

@bp.get("/lead-statuses")
def lead_statuses_list():
    """Lead statuses in id order, retired ones too, named in the token user's language."""
    return listing(LeadStatus.select(), status_json)


@bp.get("/categories")
def categories_list():
    """Company categories in id order, retired ones too."""
    return listing(Category.select(), category_json)


@bp.get("/users")
def users_list():
    """Users in id order (e-mail addresses for admins only)."""
    return listing(User.select(), user_json)


@bp.get("/selections")
def selections_list():
    """The token user's own selections and the shared ones."""
    return listing(visible_selections(g.api_token.user).order_by(), selection_json)


@bp.get("/selections/<int:selection_id>")
def selections_get(selection_id):
    """One selection the token user may see."""
    selection = visible_selection(selection_id, g.api_token.user)
    if selection is None:
        raise ApiRefusal(404, N_("We could not find that page or record."))
    return jsonify(selection_json(selection))


@bp.get("/selections/<int:selection_id>/items")
def selections_items(selection_id):
    """What a selection holds now (its criteria run for the token user, or its members)."""
    selection = visible_selection(selection_id, g.api_token.user)
    if selection is None:
        raise ApiRefusal(404, N_("We could not find that page or record."))
    matches = selection_matches(selection, g.api_token.user)
    if selection.entity == "contacts":
        return listing(matches.narrow(Contact.select().join(Company)), contact_json)
    return listing(matches.narrow(Company.select()), company_json)
