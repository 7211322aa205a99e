"""The rules of SPEC.md on sets of records: one function per kind of change.

Each function takes a SET of contacts or companies (their ids), applies every
rule that answers the change in a few statements, and returns a `Report`:
what changed, what was left alone and why, and what the lead categorization
rules did. The single change of a drag or a card is the same function on a
set of one; bulk updates, the CSV import, web forms, distribution (R22),
sales events and undo call them too. Nothing else writes History rows, and
the counter rows (lead_tally, lead_daily) follow by database triggers.

Every function runs in one transaction (a savepoint inside the caller's),
so a change and everything the rules do with it commit together.

- `set_lead_status`: R6 (retired), R8 (active only), R30 (bulk: a rep's own
  leads), R20 (history), then R15 rule 4 per company (R16, R17, R19).
- `move_companies`: R4 (retired), R10 (reset when moving into lead status),
  R11 (kept when moving out), R20.
- `set_owner`: a deactivated user takes no leads; R30; history for contacts; the
  new owner is told (R26, models/reminders.py).
- `sale_event`: R15 rules 1-3 for the companies of a sale event (R16-R19).
- `create_companies`, `create_contacts`: R9 (initial status), R20, R22 owner
  history, and for leads that arrive without a user at hand (form, import)
  R15 rule 4 for the initial status.

Rules answer per company, in contact id order, exactly as if the contacts
had been changed one by one (tests/models/test_engine.py proves it): when
rule 4 moves a company out of lead status after its first changed contact,
its other contacts are skipped (R8), and a proposal waiting on a company is
not made twice.
"""
import datetime
import itertools
from dataclasses import dataclass, field

from peewee import (JOIN, AutoField, CharField, DateTimeField, ForeignKeyField, IntegerField,
                    TextField, chunked)

from .db import among, database, is_sqlite
from .errors import RuleViolation  # noqa: F401 - the rules raise it; callers import it here too
from .reminders import notify_assignments, send_soon
from .schema import (N_, POTENTIAL, TRIGGERS, CategorizationRule, Category, CategorySuggestion,
                     Company, Contact, History, LeadStatus, name_key, now)

BATCH = 500  # rows per multi-row INSERT (SQLite allows 32,766 parameters)

# Why a record was left alone (the report names them; views translate them).
NOT_ACTIVE = "not_active"
NOT_YOURS = "not_yours"
REASONS = {
    NOT_ACTIVE: N_("lead status not active"),
    NOT_YOURS: N_("someone else's"),
}


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user, or a rule / form / import with a label (R20)."""
    user: object = None
    source: str = "user"
    label: str = ""

    @classmethod
    def system(cls, label=""):
        return cls(source="system", label=label)

    @property
    def user_id(self):
        return self.user.id if self.user is not None else None


@dataclass
class Report:
    """What one change of a set did.

    `changed`: ids of the records changed, in id order; `unchanged`: how many
    already were so; `skipped`: (id, reason) of the ones the rules refused;
    `moved`: companies a rule moved to another category (R15, R19);
    `suggestions`: pending suggestions made (R17); `proposal`: for a set of
    one, the suggestion to show its user as a dialog (new or already waiting).
    """
    changed: list = field(default_factory=list)
    unchanged: int = 0
    skipped: list = field(default_factory=list)
    moved: list = field(default_factory=list)
    suggestions: list = field(default_factory=list)
    proposal: CategorySuggestion | None = None
    before: dict = field(default_factory=dict)  # lead status: {id: (status, category, version)}
    stamp: object = None

    def add(self, other):
        """Fold another report (of a later chunk) into this one."""
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.skipped += other.skipped
        self.moved += other.moved
        self.suggestions += other.suggestions
        return self


def is_bulk_restricted(actor):
    """R30: a rep changes other people's records one at a time, never in bulk."""
    return actor.user is not None and actor.user.role not in ("admin", "manager")


def _among(field, ids):
    """`field IN ids` for a list of ids or a query selecting them (left to the database)."""
    return field.in_(ids) if hasattr(ids, "sql") else among(field, ids)


def _categories():
    return {c.id: c for c in Category.select()}


def insert_rows(model, rows, returning=False):
    """INSERT `rows` (dicts by field name; a field a row lacks gets its default) in
    multi-row statements. Returns the new ids in the rows' order when `returning`.

    The statement is written here rather than by peewee's insert_many: composing
    tens of thousands of values one by one cost peewee more than the database
    took to store them (an import of 50,000 rows). The ids come back with
    RETURNING; one statement numbers its rows in the order of its VALUES
    (SQLite's rowid and PostgreSQL's sequence both rise within a statement), so
    sorting them pairs each id with its row.
    """
    if not rows:
        return []
    if model is History:
        History.after_write()  # the raw INSERT passes by peewee's insert methods
    names = list(dict.fromkeys(itertools.chain.from_iterable(rows)))
    names += [f.name for f in model._meta.sorted_fields
              if f.name not in names and f.name != "id" and f.default is not None]
    fields = [model._meta.fields[name] for name in names]
    defaults = [f.default for f in fields]
    kept = [_kept_types(f) for f in fields]
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    one = "(" + ", ".join([database.param] * len(fields)) + ")"
    per_statement = max(1, min(BATCH, 30_000 // len(fields)))
    ids = []
    for batch in chunked(rows, per_statement):
        params = []
        for row in batch:
            for name, field_object, default, as_is in zip(names, fields, defaults, kept):
                value = row[name] if name in row else (default() if callable(default)
                                                       else default)
                params.append(value if type(value) in as_is else field_object.db_value(value))
        sql = (f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES '
               + ", ".join([one] * len(batch)))
        if returning:
            cursor = database.execute_sql(sql + ' RETURNING "id"', params)
            ids += sorted(row[0] for row in cursor.fetchall())
        else:
            database.execute_sql(sql, params)
    return ids


def _kept_types(field_object):
    """The types of value `field_object.db_value` gives back unchanged (None always):
    insert_rows passes those on without the call, a quarter of an import's time in
    Python."""
    target = field_object
    if isinstance(field_object, ForeignKeyField) and \
            type(field_object).db_value is ForeignKeyField.db_value:
        target = field_object.rel_field
    kept = {CharField: str, TextField: str, IntegerField: int, AutoField: int,
            DateTimeField: datetime.datetime}.get(type(target))
    return {kept, type(None)} if kept else {type(None)}


def _history_rows(rows):
    insert_rows(History, rows)


def _history(kind, company_id, actor, stamp, **changes):
    return dict(kind=kind, company=company_id, actor=actor.user_id, source=actor.source,
                source_label=actor.label[:255], created_at=stamp, **changes)


# --- Lead status (R6, R8, R15 rule 4, R17, R20, R30) ----------------------------------

KEEP = object()


class StaleRecord(RuleViolation):
    """A record changed since the user saw it (its version differs)."""

    def __init__(self, record_id):
        super().__init__(N_("The record was changed by someone else meanwhile."))
        self.record_id = record_id


def set_lead_status(contact_ids, status, actor, bulk=False, run_rules=True, since=KEEP,
                    expected=None):
    """Set `status` on the contacts of `contact_ids`; the rules answer per company.

    `bulk` applies R30. Undoing a move passes `run_rules=False` and `since`,
    the date the contacts had been in `status` from, so an undone drag does not
    make an old lead look fresh. Each history row keeps the date the contact
    had been in its previous status since (`from_status_since`). `expected`
    ({id: version}) refuses the change with StaleRecord when a contact changed
    since its user saw it. Raises RuleViolation for a retired status (R6).
    """
    if status.retired:
        raise RuleViolation(N_("The lead status %(status)s is retired."), status=status.name)
    stamp = now()
    report = Report(stamp=stamp)
    with database.atomic():
        # The contacts with their company's category (R8) in one read; on
        # PostgreSQL their rows stay locked until the change commits, so a
        # version checked (a drag's card) is the version written over.
        query = (Contact.select(Contact.id, Contact.company, Contact.lead_status,
                                Contact.owner, Company.category, Contact.version,
                                Category.group, Category.lead_status_enabled)
                 .join(Company).join(Category)
                 .where(_among(Contact.id, contact_ids))
                 .order_by(Contact.company, Contact.id))
        if not is_sqlite():
            query = query.for_update(of=Contact)
        rows = database.execute(query).fetchall()  # plain tuples: no value is converted
        if not rows:
            return report
        for row in rows:
            report.before[row[0]] = (row[2], row[4], row[5])
            if expected is not None and expected.get(row[0], row[5]) != row[5]:
                raise StaleRecord(row[0])
        active = {row[4]: row[6] == POTENTIAL and bool(row[7]) for row in rows}
        outcomes = _status_rule_outcomes(status, active) if run_rules else {}
        restricted = bulk and is_bulk_restricted(actor)
        changes, changed_companies = [], {}
        moved_out = set()  # companies rule 4 has moved out of lead status (R8 from then on)
        for contact_id, company_id, current, owner_id, category_id, *_ in rows:
            if restricted and owner_id != actor.user.id:
                report.skipped.append((contact_id, NOT_YOURS))
            elif company_id in moved_out or not active[category_id]:
                report.skipped.append((contact_id, NOT_ACTIVE))
            elif current == status.id:
                report.unchanged += 1
            else:
                changes.append(contact_id)
                if company_id not in changed_companies:
                    changed_companies[company_id] = category_id
                    outcome = outcomes.get(category_id)
                    if outcome and outcome[0] == "change" and \
                            not outcome[2].lead_status_active:
                        moved_out.add(company_id)
        if not changes:
            return report
        # The history rows (R20) are written from the contacts' rows as they are
        # before the change, by the database: their previous status and since when.
        changing = among(Contact.id, changes)
        (History.insert_from(
            Contact.select(Contact.company, Contact.id, Contact.lead_status,
                           Contact.status_changed_at, status.id, History.LEAD_STATUS, stamp,
                           actor.user_id, actor.source, actor.label[:255])
            .where(changing).order_by(Contact.company, Contact.id),
            [History.company, History.contact, History.from_status,
             History.from_status_since, History.to_status, History.kind, History.created_at,
             History.actor, History.source, History.source_label])
         .execute())
        (Contact.update(lead_status=status.id,
                        status_changed_at=stamp if since is KEEP else since,
                        updated_at=stamp, version=Contact.version + 1)
         .where(changing).execute())
        report.changed = sorted(changes)
        _answer_rules(changed_companies, outcomes, actor, report,
                      rule_label_for=lambda rule: rule_label(rule, status.name))
    return report


def _status_rule_outcomes(status, active):
    """R15 rule 4, R16: {category id: ("change" | "propose", rule, target)} for `status`
    set on contacts in the categories of `active` ({category id: lead status active});
    rule 4 answers only where lead status is active (R16), which is Potential customer."""
    rule = find_rule("status_set", status)
    return rule_outcomes(rule, [c for c, is_active in active.items() if is_active])


def rule_outcomes(rule, category_ids, categories=None):
    """What `rule` does to a company in each category of `category_ids`, which must be
    in the Potential customer group (R16: a customer is never touched); a retired or
    the same target does nothing."""
    if rule is None or rule.target_category is None:
        return {}
    target = rule.target_category
    outcomes = {}
    for category_id in category_ids:
        if categories is not None and categories[category_id].group != POTENTIAL:
            continue
        if target.id == category_id or target.retired:
            continue
        outcomes[category_id] = ("propose" if rule.ask_confirm else "change", rule, target)
    return outcomes


def _answer_rules(company_categories, outcomes, actor, report, rule_label_for):
    """Carry out the rules' outcomes for {company id: its category id}: moves (as the
    rule, R19) and pending suggestions (R17), one per company and rule."""
    moves, proposals = {}, {}
    for company_id, category_id in company_categories.items():
        outcome = outcomes.get(category_id)
        if outcome is None:
            continue
        action, rule, target = outcome
        group = (moves if action == "change" else proposals).setdefault(
            (rule.id, target.id), (rule, target, {}))
        group[2][company_id] = category_id
    for rule, target, companies in moves.values():
        moved = move_companies(list(companies), target,
                               Actor(actor.user, source="rule", label=rule_label_for(rule)))
        report.moved += moved.changed
    for rule, target, companies in proposals.values():
        _propose(list(companies), companies, rule.id, target.id, actor, report)


def status_event(status, company_categories, actor, report=None):
    """R15 rule 4 for `status` set on contacts of the companies {company id: category id}
    (R16, R17, R19); returns the report."""
    report = report if report is not None else Report()
    categories = _categories()
    outcomes = _status_rule_outcomes(status, {c: categories[c].lead_status_active
                                              for c in set(company_categories.values())})
    _answer_rules(company_categories, outcomes, actor, report,
                  rule_label_for=lambda rule: rule_label(rule, status.name))
    return report


def _propose(company_ids, from_categories, rule_id, target_id, actor, report):
    """Pending suggestions (R17), not repeated where the same one already waits."""
    waiting = {s.company_id: s for s in CategorySuggestion.select().where(
        CategorySuggestion.company.in_(company_ids), CategorySuggestion.rule == rule_id,
        CategorySuggestion.proposed_category == target_id,
        CategorySuggestion.state == CategorySuggestion.PENDING)}
    new_ids = [c for c in company_ids if c not in waiting]
    made = []
    for batch in chunked(new_ids, BATCH):
        made += insert_rows(CategorySuggestion, [
            dict(company=company_id, rule=rule_id, from_category=from_categories[company_id],
                 proposed_category=target_id, state=CategorySuggestion.PENDING,
                 source=actor.source, source_label=actor.label[:255],
                 caused_by=actor.user_id, created_at=now())
            for company_id in batch], returning=True)
    report.suggestions += sorted(made)
    if len(company_ids) == 1:
        report.proposal = waiting.get(company_ids[0]) or (
            CategorySuggestion.get_by_id(made[0]) if made else None)


def find_rule(trigger, lead_status=None):
    """The switched-on rule for `trigger` (and, for rule 4, the status) with its target
    category, or None."""
    query = (CategorizationRule.select(CategorizationRule, Category)
             .join(Category, JOIN.LEFT_OUTER,
                   on=(CategorizationRule.target_category == Category.id),
                   attr="target_category")
             .where(CategorizationRule.trigger == trigger,
                    CategorizationRule.enabled == True))  # noqa: E712
    if trigger == "status_set":
        query = query.where(CategorizationRule.lead_status == lead_status)
    return query.first()


def rule_label(rule, status_name=None):
    """A rule's readable name, as recorded in history (R19)."""
    if rule.trigger == "status_set":
        if status_name is None:
            status = LeadStatus.get_or_none(LeadStatus.id == rule.lead_status_id)
            status_name = status.name if status else "?"
        return TRIGGERS["status_set"] % {"status": status_name}
    return TRIGGERS[rule.trigger]


# --- Sales events (R15 rules 1-3) -----------------------------------------------------

def sale_event(trigger, company_ids, actor):
    """A sale registered, marked Sold or Lost under each company: rules 1-3 answer."""
    report = Report()
    with database.atomic():
        rule = find_rule(trigger)
        if rule is None:
            return report
        current = dict(Company.select(Company.id, Company.category)
                       .where(Company.id.in_(list(company_ids))).tuples())
        outcomes = rule_outcomes(rule, set(current.values()), _categories())
        _answer_rules(current, outcomes, actor, report, rule_label_for=rule_label)
    return report


# --- Company category (R4, R10, R11, R20) ---------------------------------------------

def move_companies(company_ids, category, actor, reset_statuses=True, bulk=False):
    """Give the companies of `company_ids` the category `category`.

    R10: a company moving into a lead-status category from one where lead
    status was not active gives its contacts the initial status; between two
    active categories the statuses stay, and moving out keeps them (R11).
    `reset_statuses=False` is for undoing a move. Raises RuleViolation for a
    retired category (R4).
    """
    if category.retired:
        raise RuleViolation(N_("The category %(category)s is retired."), category=category.name)
    stamp = now()
    report = Report()
    with database.atomic():
        rows = database.execute(Company.select(Company.id, Company.category, Company.owner)
                                .where(among(Company.id, company_ids))
                                .order_by(Company.id)).fetchall()
        restricted = bulk and is_bulk_restricted(actor)
        moving = []
        for company_id, current, owner_id in rows:
            if restricted and owner_id != actor.user.id:
                report.skipped.append((company_id, NOT_YOURS))
            elif current == category.id:
                report.unchanged += 1
            else:
                moving.append((company_id, current))
        if not moving:
            return report
        _history_rows([_history(History.CATEGORY, company_id, actor, stamp,
                                from_category=current, to_category=category.id)
                       for company_id, current in moving])
        ids = [company_id for company_id, _ in moving]
        (Company.update(category=category.id, updated_at=stamp, version=Company.version + 1)
         .where(among(Company.id, ids)).execute())
        report.changed = ids
        if reset_statuses and category.lead_status_active:
            categories = _categories()
            entering = [company_id for company_id, current in moving
                        if not categories[current].lead_status_active]
            if entering:
                reset_to_initial_status(among(Contact.company, entering), actor, stamp)
    return report


def reset_to_initial_status(which_contacts, actor, stamp=None):
    """R10: the contacts matching `which_contacts` get the initial status, each change
    recorded: one INSERT ... SELECT for the history, one UPDATE."""
    initial = LeadStatus.initial()
    stamp = stamp or now()
    (History.insert_from(
        Contact.select(Contact.company, Contact.id, Contact.lead_status,
                       Contact.status_changed_at, initial.id, History.LEAD_STATUS, stamp,
                       actor.user_id, actor.source, actor.label[:255])
        .where(which_contacts
               & ((Contact.lead_status.is_null()) | (Contact.lead_status != initial))),
        [History.company, History.contact, History.from_status, History.from_status_since,
         History.to_status, History.kind, History.created_at, History.actor, History.source,
         History.source_label])
     .execute())
    (Contact.update(lead_status=initial, status_changed_at=stamp, updated_at=stamp,
                    version=Contact.version + 1)
     .where(which_contacts)
     .execute())


# --- Owner (R20-style history, R22, R30) ------------------------------------------------

def set_owner(ids, owner, actor, model=Contact, bulk=False, notify=True):
    """Give the contacts (or companies) of `ids` to `owner` (None: nobody).

    A deactivated user takes no new leads. Contacts' changes are recorded in
    their history (open boards hear of them); companies have no owner history.
    `notify`: tell the new owner now (R26); a bulk job tells them once, at its end.
    """
    if owner is not None and not owner.active:
        raise RuleViolation(N_("%(name)s no longer works here."), name=owner.name,
                            field="owner")
    owner_id = owner.id if owner is not None else None
    stamp = now()
    report = Report()
    with database.atomic():
        company = Contact.company if model is Contact else Company.id
        rows = database.execute(model.select(model.id, model.owner, company)
                                .where(among(model.id, ids)).order_by(model.id)).fetchall()
        restricted = bulk and is_bulk_restricted(actor)
        changing = []
        for row_id, current, company_id in rows:
            if restricted and current != actor.user.id:
                report.skipped.append((row_id, NOT_YOURS))
            elif current == owner_id:
                report.unchanged += 1
            else:
                changing.append(row_id)
        if not changing:
            return report
        values = dict(owner=owner_id, updated_at=stamp)
        which = among(model.id, changing)
        if model is Contact:
            (History.insert_from(
                Contact.select(Contact.company, Contact.id, Contact.owner, owner_id,
                               History.OWNER, stamp, actor.user_id, actor.source,
                               actor.label[:255])
                .where(which).order_by(Contact.id),
                [History.company, History.contact, History.from_owner, History.to_owner,
                 History.kind, History.created_at, History.actor, History.source,
                 History.source_label])
             .execute())
        values["version"] = model.version + 1
        model.update(**values).where(which).execute()
        report.changed = changing
        # R26: the new owner is told (one notice and mail per batch), in this transaction.
        notified = notify and model is Contact and notify_assignments(
            [(row_id, owner_id) for row_id in report.changed], actor, stamp)
    if notified:
        send_soon()
    return report


# --- New records (R9, R20, R22, R15 rule 4 without a user at hand) ----------------------

def create_companies(rows, actor, stamp=None):
    """Insert companies (dicts of Company fields, `category` an id); their first category
    is recorded in their history (R20). Returns the new ids in order."""
    stamp = stamp or now()
    rows = [{"created_at": stamp, "updated_at": stamp, **row, "name_key": name_key(row["name"])}
            for row in rows]
    with database.atomic():
        ids = insert_rows(Company, rows, returning=True)
        _history_rows([_history(History.CATEGORY, company_id, actor, stamp,
                                to_category=row["category"])
                       for company_id, row in zip(ids, rows)])
    return ids


def create_contacts(rows, actor, assigned=False, run_rules=False, stamp=None, notify=True):
    """Insert contacts (dicts of Contact fields, `company` an id) by R9 and R20.

    A contact under a company whose category has lead status active starts at
    the initial status. `assigned`: their owners were chosen by a distribution
    flow (R22), which is recorded in their history. `run_rules`: the leads
    arrived without a user at hand (web form, import), and the initial status
    is an event for R15 rule 4 (a proposal waits on the company, R17).
    `notify`: tell the new owners now (R26); an import tells them once, at its end.
    Returns (new ids in order, Report of what the rules did).
    """
    stamp = stamp or now()
    report = Report()
    if not rows:
        return [], report
    with database.atomic():
        initial = LeadStatus.initial()
        categories = _categories()
        company_ids = sorted({row["company"] for row in rows})
        company_category = {}
        for batch in chunked(company_ids, BATCH):
            company_category.update(Company.select(Company.id, Company.category)
                                    .where(Company.id.in_(batch)).tuples())
        prepared = []
        for row in rows:
            active = categories[company_category[row["company"]]].lead_status_active
            prepared.append({"created_at": stamp, "updated_at": stamp, **row,
                             "lead_status": initial.id if active else None,
                             "status_changed_at": stamp if active else None})
        ids = insert_rows(Contact, prepared, returning=True)
        started = {}
        for row in prepared:
            if row["lead_status"]:
                started.setdefault(row["company"], company_category[row["company"]])
        # R20, by the database from the new rows: each one's initial status, then (a
        # flow's) owner, in contact id order.
        created = among(Contact.id, ids)
        history_fields = [History.company, History.contact, History.kind, History.created_at,
                          History.actor, History.source, History.source_label]
        for kind, column, wanted in ((History.LEAD_STATUS, Contact.lead_status, started),
                                     (History.OWNER, Contact.owner, assigned)):
            if wanted:
                (History.insert_from(
                    Contact.select(Contact.company, Contact.id, kind, stamp, actor.user_id,
                                   actor.source, actor.label[:255], column)
                    .where(created & column.is_null(False)).order_by(Contact.id),
                    history_fields + [History.to_status if kind == History.LEAD_STATUS
                                      else History.to_owner])
                 .execute())
        report.changed = ids
        if run_rules and started:
            status_event(initial, started, actor, report)
        # R26: leads created for someone else (a flow, an import, a colleague) tell them.
        notified = notify and notify_assignments(
            [(contact_id, row.get("owner")) for contact_id, row in zip(ids, prepared)], actor,
            stamp)
    if notified:
        send_soon()
    return ids, report



# --- Details no rule is about (names, phones, addresses) ---------------------------------

def update_details(model, field_names, rows, stamp=None):
    """UPDATE each row (dicts with `id` and `field_names`) with one prepared statement
    sent for all rows; `updated_at` is set to `stamp`. No rule watches these fields
    (R20 records statuses, categories and owners), so nothing else is written."""
    if not rows:
        return
    stamp = stamp or now()
    if model is Company and "name" in field_names:  # its duplicate-matching key follows
        field_names = (*field_names, "name_key")
        rows = [{**row, "name_key": name_key(row["name"])} for row in rows]
    fields = [model._meta.fields[name] for name in field_names] + [model.updated_at]
    assignments = ", ".join(f'"{f.column_name}" = {database.param}' for f in fields)
    sql = (f'UPDATE "{model._meta.table_name}" SET {assignments} '
           f'WHERE "id" = {database.param}')
    params = [[f.db_value({**row, "updated_at": stamp}[f.name]) for f in fields] + [row["id"]]
              for row in rows]
    cursor = database.cursor()
    if is_sqlite():
        cursor.executemany(sql, params)
    else:
        from psycopg2.extras import execute_batch
        execute_batch(cursor, sql, params, page_size=BATCH)
