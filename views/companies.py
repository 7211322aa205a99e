"""Companies: the list, the company card with its contacts tab and timeline, forms."""
from itertools import groupby

from flask import Blueprint, abort, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from peewee import JOIN

from models import (CATEGORY_GROUPS, Actor, Category, Company, Contact, RuleViolation, User, create_company, move_company, paginate, update_company)
from models.categorization import pending_suggestions
from models.merge import duplicate_companies, merged_into
from models.schema import N_, SALE_STATUSES, Sale
from models.search import (CompanySearch, ContactSearch, group_counts, grouped,
                           search_companies, search_contacts)

from .activities import activity_context, parse_before
from .common import (get_or_404, int_arg, int_list, page_number, render, rule_message,
                     show_refusal)
from .errors import error_response
from .forms import CompanyForm, form_values
from .i18n import request_vocabulary, status_name

bp = Blueprint("companies", __name__)

# The contacts tab's optional columns, in display order, and the default set.
CONTACT_COLUMNS = {
    "title": N_("Title"),
    "email": N_("E-mail"),
    "phone": N_("Phone"),
    "category": N_("Category"),
    "group": N_("Category group"),
    "status": N_("Lead status"),
    "owner": N_("Owner"),
    "source": N_("Source"),
    "created": N_("Created"),
}
DEFAULT_COLUMNS = ["title", "email", "status", "owner", "source"]
GROUP_BY = {"": N_("No grouping"), "status": N_("Lead status"), "owner": N_("Owner"),
            "source": N_("Source")}
CONTACTS_PER_PAGE = 50


def company_query():
    """A company with its category and owner, in one query."""
    return (Company.select(Company, Category, User)
            .join(Category)
            .join_from(Company, User, on=(Company.owner == User.id), attr="owner",
                       join_type=JOIN.LEFT_OUTER))


# The companies list's sortable columns, in display order (keys of COMPANY_SORTS).
LIST_SORTS = ("name", "category", "owner", "contacts", "changed")


@bp.get("/companies")
@login_required
def index():
    """Companies, searched by name, filtered by category group, category and owner,
    sorted by a column (?sort=, "-" first for descending) and paged."""
    sort = request.args.get("sort", "")
    criteria = CompanySearch(text=request.args.get("q", "")[:200],
                             category_groups=[g for g in request.args.getlist("group")
                                              if g in CATEGORY_GROUPS],
                             category_ids=int_list("category"), owner_ids=int_list("owner"),
                             sort=sort if sort.lstrip("-") in LIST_SORTS else "name")
    page = paginate(search_companies(criteria), page_number(), per_page=25)
    vocabulary = request_vocabulary()  # read once: the rows' category names use it too
    return render("companies/index.html", "results", criteria=criteria, page=page,
                  sorts=LIST_SORTS,
                  categories=[c for c in vocabulary.categories.values() if not c.retired],
                  owners=[u for u in vocabulary.users.values() if u.active],
                  args=dict(q=criteria.text, group=criteria.category_groups,
                            category=criteria.category_ids, owner=criteria.owner_ids))


def contacts_tab_state(company):
    """The contacts tab as the query string asks: columns, filter, grouping, page."""
    chosen = [c for c in request.args.getlist("col") if c in CONTACT_COLUMNS]
    columns = chosen if "cols" in request.args else DEFAULT_COLUMNS
    grouping = request.args.get("group_by", "")
    grouping = grouping if grouping in GROUP_BY else ""
    criteria = ContactSearch(company_id=company.id, text=request.args.get("q", "")[:200],
                             lead_status_ids=int_list("status"), owner_ids=int_list("owner"))
    query = search_contacts(criteria)
    page = paginate(grouped(query, grouping), page_number(), per_page=CONTACTS_PER_PAGE)
    groups = []
    if grouping:
        counts = group_counts(query, grouping)
        for key, rows in groupby(page.items, key=lambda c: group_key(c, grouping)):
            rows = list(rows)  # read once: naming the group must not use up its first row
            groups.append((key, group_title(key, grouping, rows[0]), rows, counts.get(key, 0)))
    return {"columns": columns, "grouping": grouping, "criteria": criteria, "page": page,
            "groups": groups}


def group_key(contact, grouping):
    return {"status": contact.lead_status_id, "owner": contact.owner_id,
            "source": contact.utm_source}[grouping]


def group_title(key, grouping, first):
    """A group's heading, named from its first row."""
    if grouping == "status":
        return status_name(key) if key else gettext("No lead status")
    if grouping == "owner":
        return first.owner.name if key else gettext("No owner")
    return key or gettext("Direct / unknown")


def company_sales(company):
    """The company's sales, newest first, with contact and owner in the same query."""
    return (Sale.select(Sale, Contact, User)
            .join_from(Sale, Contact, JOIN.LEFT_OUTER)
            .join_from(Sale, User, JOIN.LEFT_OUTER, on=(Sale.owner == User.id), attr="owner")
            .where(Sale.company == company)
            .order_by(Sale.sale_date.desc(), Sale.id.desc()))


def proposal_from_request(suggestions):
    """The suggestion named by ?suggestion=<id>, shown as a dialog when it is still pending."""
    wanted = int_arg("suggestion")
    return next((s for s in suggestions if s.id == wanted), None)


def company_card(company, status=200, **extra):
    """Render the company card or the part of it an htmx request targets."""
    blocks = extra.pop("blocks", None)
    suggestions = list(pending_suggestions(company))
    context = dict(
        company=company,
        sales=list(company_sales(company)),
        suggestions=suggestions,
        proposal=proposal_from_request(suggestions),
        sale_statuses=SALE_STATUSES,
        # From the request's lists, which also name them (R23): no query of their own.
        categories=[c for c in request_vocabulary().categories.values() if not c.retired],
        statuses=list(request_vocabulary().statuses.values()),
        owners=list(User.active_users()),
        column_labels=CONTACT_COLUMNS,
        group_by_labels=GROUP_BY,
        **contacts_tab_state(company),
    )
    if "timeline" not in extra:
        extra.update(activity_context(company=company, before=parse_before(
            request.args.get("before"))))
    context.update(extra)
    blocks = blocks or {"contacts-tab": "contacts_tab"}.get(request.headers.get("HX-Target"))
    if not blocks and request.args.get("before"):
        blocks = "timeline_page"
    return render("companies/show.html", blocks, status=status, **context)


@bp.get("/companies/<int:company_id>")
@login_required
def show(company_id):
    """The company card: category, contacts tab, timeline."""
    company = company_query().where(Company.id == company_id).first()
    if company is None:
        # R28: a merged-away company's address leads to the survivor.
        survivor = merged_into("companies", company_id)
        if survivor is None:
            abort(404)
        return redirect(url_for("companies.show", company_id=survivor), 301)
    return company_card(company, duplicates=list(duplicate_companies(company)))


@bp.post("/companies/<int:company_id>/category")
@login_required
def move(company_id):
    """Move the company to another category (R10, R11) and refresh the card's parts."""
    company = get_or_404(company_query(), company_id)
    category = Category.get_or_none(Category.id == int_arg("category", values=request.form))
    if category is None:
        return error_response(422, gettext("Choose a category from the list."))
    try:
        move_company(company, category, Actor(current_user._get_current_object()))
    except RuleViolation as error:
        return error_response(409, rule_message(error))
    if not request.headers.get("HX-Request"):
        return redirect(url_for("companies.show", company_id=company.id))
    company = get_or_404(company_query(), company_id)
    return company_card(company, blocks=["category_panel", "contacts_tab", "timeline",
                                         "suggestions"])


@bp.route("/companies/new", methods=["GET", "POST"])
@login_required
def create():
    """A new company; errors are shown next to their fields."""
    form = CompanyForm().fill_choices()
    if request.method == "GET":
        form.owner.data = current_user.id
    if form.validate_on_submit():
        try:
            company = create_company(Actor(current_user._get_current_object()),
                                     **form_values(form))
        except RuleViolation as error:
            show_refusal(form, error)
        else:
            return redirect(url_for("companies.show", company_id=company.id))
    return render("companies/form.html", "form", status=422 if form.errors else 200,
                  form=form, company=None)


@bp.route("/companies/<int:company_id>/edit", methods=["GET", "POST"])
@login_required
def edit(company_id):
    """Edit a company's name and details; the category is changed on the card."""
    company = get_or_404(company_query(), company_id)
    form = CompanyForm(obj=company).fill_choices(company)
    del form.category
    if request.method == "GET":
        form.owner.data = company.owner_id or 0
    if form.validate_on_submit():
        try:
            update_company(company, Actor(current_user._get_current_object()),
                           **form_values(form))
        except RuleViolation as error:
            show_refusal(form, error)
        else:
            return redirect(url_for("companies.show", company_id=company.id))
    return render("companies/form.html", "form", status=422 if form.errors else 200,
                  form=form, company=company)
