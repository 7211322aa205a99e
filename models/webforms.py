"""Web forms (R21): a public form on a web page creates a lead.

A submission is judged by `clean_submission` (required fields, e-mail and
phone format, lengths, the honeypot) and stored by `submit_web_form` in one
transaction: the rate limit, the contact found by e-mail or the company and
contact created through the rules of `models.rules` (R9: the contact starts
at the initial status), the owner chosen by the form's distribution flow
(R22), the lead categorization rules run without a user at hand (R17), and
the submission record with its UTM values. Nothing is written when any of
it is refused.

The rules run on the event "lead status set" for the initial status the new
contact gets (R15 rule 4 for Open). A lead arriving through a form is the
moment marketing wants to act on ("a web lead becomes an MQL"), and the
status is set without a user at hand, so a rule asking for confirmation
leaves a pending suggestion on the company instead of a dialog (R17). The
category change a rule makes does not run any rule again (R19). A repeat
submission by a known contact changes no status, so no rule runs for it.
"""
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from peewee import (JOIN, BooleanField, CharField, DateTimeField, ForeignKeyField,
                    IntegerField, TextField, fn)

from . import engine
from .activities import add_activity
from .audit import describe_changes, record_audit
from .db import BaseModel, database, is_sqlite
from .distribution import DistributionFlow, next_owners, record_assignment
from .rules import Actor, RuleViolation, create_company, create_contact
from .schema import N_, POTENTIAL, Category, Company, Contact, RecordKey, name_key, now
from .values import (PHONE_PATTERN, clean_name, clean_text, clean_url, has_visible_character,
                     is_valid_email)

AREA = "web_forms"

# The fields a form may ask, in the order a form shows them.
FORM_FIELDS = {
    "name": N_("Name"),
    "email": N_("E-mail"),
    "company": N_("Company"),
    "phone": N_("Phone"),
    "message": N_("Message"),
}
FIELD_LIMITS = {"name": 200, "email": 200, "company": 200, "phone": 40, "message": 5000}
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
UTM_MAX = 100  # longer campaign tags are cut, never a reason to lose a lead
NAME_MAX = 100
URL_MAX = 2000
THANK_YOU_MAX = 5000
# A field people do not see; a bot that fills every input fills it too.
HONEYPOT = "homepage"
DEFAULT_RATE_LIMIT = 5  # submissions per minute from one address
RATE_LIMIT_MAX = 1000
# Control characters other than tab and line breaks (C0, DEL, C1): never typed by a person.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Mail providers whose domain says nothing about the person's company.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "hotmail.com", "hotmail.se", "hotmail.no", "outlook.com",
    "live.com", "live.se", "msn.com", "yahoo.com", "yahoo.se", "icloud.com", "me.com",
    "mac.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "mail.com",
    "telia.com", "online.no", "spray.se", "bredband.net", "comhem.se",
})


def new_token():
    """An unguessable address part: the form's only protection against forged posts."""
    return secrets.token_urlsafe(24)


def default_field_config():
    return {"name": {"ask": True, "required": True},
            "email": {"ask": True, "required": True},
            "company": {"ask": True, "required": False},
            "phone": {"ask": False, "required": False},
            "message": {"ask": True, "required": False}}


class WebForm(BaseModel):
    name = CharField()
    token = CharField(unique=True, default=new_token)
    # {"name": {"ask": true, "required": true}, ...} for each of FORM_FIELDS
    field_config = TextField(default=lambda: json.dumps(default_field_config()))
    # The category new companies get; empty or retired means the default lead category.
    category = ForeignKeyField(Category, null=True, backref="+", on_delete="SET NULL")
    flow = ForeignKeyField(DistributionFlow, null=True, backref="web_forms", on_delete="SET NULL")
    redirect_url = TextField(default="")
    thank_you = TextField(default="")
    # Origins (scheme://host[:port]) whose pages may post to the form, one per line.
    allowed_origins = TextField(default="")
    rate_limit = IntegerField(default=DEFAULT_RATE_LIMIT)
    enabled = BooleanField(default=True)
    created_at = DateTimeField(default=now)

    @property
    def fields(self):
        """The field configuration, every known field present."""
        config = default_field_config()
        try:
            stored = json.loads(self.field_config or "{}")
        except ValueError:
            stored = {}
        for name in FORM_FIELDS:
            if isinstance(stored.get(name), dict):
                config[name] = {"ask": bool(stored[name].get("ask")),
                                "required": bool(stored[name].get("ask")
                                                 and stored[name].get("required"))}
        return config

    @property
    def asked_fields(self):
        """[(name, required)] of the fields the form shows, in form order."""
        return [(name, spec["required"]) for name, spec in self.fields.items() if spec["ask"]]

    @property
    def origins(self):
        return [line for line in (self.allowed_origins or "").split() if line]

    def allows_origin(self, origin):
        return bool(origin) and origin.lower().rstrip("/") in self.origins

    @property
    def label(self):
        """How the history names this form as the author of a change (R20)."""
        return f"Web form: {self.name}"[:255]


class WebFormSubmission(BaseModel):
    """One submission, kept with its own UTM values even when the contact existed."""
    form = ForeignKeyField(WebForm, backref="submissions", on_delete="CASCADE")
    contact = RecordKey(Contact, null=True, backref="+", on_delete="SET NULL")
    company = RecordKey(Company, null=True, backref="+", on_delete="SET NULL")
    created_contact = BooleanField(default=False)
    payload = TextField(default="{}")
    utm_source = CharField(default="")
    utm_medium = CharField(default="")
    utm_campaign = CharField(default="")
    utm_term = CharField(default="")
    utm_content = CharField(default="")
    # A keyed hash of the client address: enough for the rate limit, not the address.
    ip_hash = CharField(default="")
    created_at = DateTimeField(default=now)

    class Meta:
        indexes = ((("form", "ip_hash", "created_at"), False),
                   (("form", "created_at"), False))

    @property
    def values(self):
        try:
            return json.loads(self.payload or "{}")
        except ValueError:
            return {}

    @property
    def lead_source(self):
        return " / ".join(p for p in (self.utm_source, self.utm_medium, self.utm_campaign) if p)


# --- Refusals: each says what went wrong; the views turn them into a status ---------

class SubmissionRefused(RuleViolation):
    status = 400


class FormClosed(SubmissionRefused):
    status = 410


class TooManySubmissions(SubmissionRefused):
    status = 429


class LooksAutomated(SubmissionRefused):
    status = 400


class InvalidSubmission(SubmissionRefused):
    """Field by field problems: `errors` maps a field to (translatable message, params)."""
    status = 422

    def __init__(self, errors):
        super().__init__(N_("Please correct the errors and try again."))
        self.errors = errors


# --- Shared with the CSV import -------------------------------------------------------

def single_line(value):
    """A value as one stripped line."""
    return " ".join(str(value or "").split())


def split_name(full_name):
    """"Anna Maria Berg" → ("Anna Maria", "Berg"); a single word is the first name."""
    parts = single_line(full_name).rsplit(" ", 1)
    return (parts[0], parts[1]) if len(parts) == 2 else (parts[0], "")


def company_name_for(company, email, full_name):
    """The company of a new lead: as given, else the e-mail's domain, else the person's name.

    A free-mail domain (gmail.com...) says nothing about the employer, so
    the person is their own company then, as a private lead.
    """
    company = single_line(company)
    if company:
        return company
    domain = (email or "").rpartition("@")[2].lower()
    if domain and domain not in FREE_MAIL_DOMAINS:
        return domain
    return single_line(full_name) or email


def find_contact_by_email(email):
    """The oldest contact with this e-mail address, any letter case."""
    if not email:
        return None
    return (Contact.select()
            .where(fn.LOWER(Contact.email) == email.lower())
            .order_by(Contact.id).first())


def find_company_by_name(name):
    """The oldest company with this name, any letter case (Å and å too)."""
    return (Company.select()
            .where(Company.name_key == name_key(name))
            .order_by(Company.id).first())


def default_lead_category():
    """Where new leads go when nothing else is chosen: the first lead-status category (R3)."""
    candidates = Category.ordered()
    return (candidates.where(Category.group == POTENTIAL,
                             Category.lead_status_enabled == True).first()  # noqa: E712
            or candidates.first())


def category_for(form):
    """The category the form's new companies get: the chosen one while it is not retired."""
    if form.category_id:
        category = Category.get_or_none(Category.id == form.category_id)
        if category is not None and not category.retired:
            return category
    return default_lead_category()


# --- Submissions ------------------------------------------------------------------------

@dataclass
class Submission:
    """A visitor's input after cleaning: the asked fields and the UTM values."""
    values: dict = field(default_factory=dict)
    utm: dict = field(default_factory=dict)

    @property
    def email(self):
        return self.values.get("email", "")


def clean_submission(form, data):
    """R21: the visitor's input checked against the form, or InvalidSubmission / LooksAutomated.

    `data` maps names to strings (the view decodes the body). Fields the form
    does not ask are ignored; text is kept as typed (never as HTML).
    """
    if single_line(data.get(HONEYPOT, "")):
        raise LooksAutomated(N_("This submission looks automated and was not accepted."))
    values, errors = {}, {}
    for name, spec in form.fields.items():
        if not spec["ask"]:
            continue
        raw = str(data.get(name) or "")
        if CONTROL_CHARACTERS.search(raw):
            errors[name] = (N_("This field contains characters that are not allowed."), {})
            continue
        value = raw.strip() if name == "message" else single_line(raw)
        values[name] = value
        if not value:
            if spec["required"]:
                errors[name] = (N_("This field is required."), {})
            continue
        if len(value) > FIELD_LIMITS[name]:
            errors[name] = (N_("At most %(limit)s characters."), {"limit": FIELD_LIMITS[name]})
        elif name in ("name", "company") and not has_visible_character(value):
            errors[name] = (N_("The name holds only invisible characters."), {})
        elif name == "email" and not is_valid_email(value):
            errors[name] = (N_("Enter a valid e-mail address."), {})
        elif name == "phone" and not PHONE_PATTERN.match(value):
            errors[name] = (N_("Use digits, spaces and + ( ) - only."), {})
    if not errors and not values.get("name") and not values.get("email"):
        errors["name" if form.fields["name"]["ask"] else "email"] = \
            (N_("Fill in your name or your e-mail address."), {})
    if errors:
        raise InvalidSubmission(errors)
    utm = {name: CONTROL_CHARACTERS.sub("", single_line(data.get(name, "")))[:UTM_MAX]
           for name in UTM_FIELDS}
    return Submission(values, utm)


def _locked_form(form):
    """The form row re-read inside the transaction; locked on PostgreSQL so the
    rate limit and the turn of its flow hold under concurrent submissions."""
    query = WebForm.select().where(WebForm.id == form.id)
    if not is_sqlite():
        query = query.for_update()
    return query.get()


def _check_rate(form, ip_hash, at):
    recent = (WebFormSubmission.select()
              .where(WebFormSubmission.form == form,
                     WebFormSubmission.ip_hash == ip_hash,
                     WebFormSubmission.created_at > at - timedelta(minutes=1))
              .count())
    if recent >= form.rate_limit:
        raise TooManySubmissions(
            N_("Too many submissions from your address. Please wait a minute and try again."))


def _first_touch(contact, utm):
    """The contact keeps the UTM values of its first known visit; fill them only when empty."""
    if any(getattr(contact, name) for name in UTM_FIELDS) or not any(utm.values()):
        return False
    for name in UTM_FIELDS:
        setattr(contact, name, utm[name])
    return True


def submit_web_form(form, submission, ip_hash="", at=None):
    """R21, R9, R17, R22: store one cleaned submission as a lead, all or nothing.

    A known e-mail address records the submission on the existing contact
    (filling in its lead source and owner when it has none); otherwise the
    company (found by name or created in the form's category) and the
    contact are created through the rules, and the form's flow picks the
    owner. Raises FormClosed or TooManySubmissions.
    """
    at = at or now()
    with database.atomic():
        form = _locked_form(form)
        if not form.enabled:
            raise FormClosed(N_("This form is closed."))
        _check_rate(form, ip_hash, at)
        actor = Actor(source="form", label=form.label)
        flow = DistributionFlow.get_or_none(DistributionFlow.id == form.flow_id) \
            if form.flow_id else None
        values = submission.values
        contact = find_contact_by_email(submission.email)
        created = contact is None
        if not created:
            company = Company.get_by_id(contact.company_id)
            changed = _first_touch(contact, submission.utm)
            if not contact.phone and values.get("phone"):
                contact.phone, changed = values["phone"], True
            owner = next(iter(next_owners(flow)), None) if contact.owner_id is None else None
            if changed:
                contact.updated_at = now()
                contact.save()
            if owner is not None:
                record_assignment(contact, owner, actor)
        else:
            contact, company = _create_lead(form, values, submission.utm, flow, actor)
        if values.get("message"):
            # R24: what the visitor wrote is a note on the lead, in its timeline.
            add_activity(actor, "note", values["message"], contact=contact, created_at=at)
        return WebFormSubmission.create(
            form=form, contact=contact, company=company,
            created_contact=created,
            payload=json.dumps(values, ensure_ascii=False), ip_hash=ip_hash, created_at=at,
            **submission.utm)


def _create_lead(form, values, utm, flow, actor):
    """A new contact (and company when none has the name) from a submission."""
    first_name, last_name = split_name(values.get("name", ""))
    email = values.get("email", "")
    if not first_name:
        first_name = email.partition("@")[0]
    company_name = company_name_for(values.get("company"), email, values.get("name"))
    owner = next(iter(next_owners(flow)), None)
    company = find_company_by_name(company_name)
    if company is None:
        company = create_company(actor, name=company_name[:FIELD_LIMITS["company"]],
                                 category=category_for(form), owner=owner)
    contact = create_contact(company, actor, first_name=first_name[:NAME_MAX],
                             last_name=last_name[:NAME_MAX], email=email,
                             phone=values.get("phone", ""), **utm)
    if owner is not None:
        record_assignment(contact, owner, actor)
    if contact.lead_status_id:
        engine.status_event(contact.lead_status, {company.id: company.category_id}, actor)
    return Contact.get_by_id(contact.id), company


def submissions_of(form):
    """A form's submissions, newest first, with their contact and company."""
    return (WebFormSubmission
            .select(WebFormSubmission, Contact, Company)
            .join_from(WebFormSubmission, Contact, join_type=JOIN.LEFT_OUTER,
                       on=(WebFormSubmission.contact == Contact.id), attr="contact")
            .join_from(WebFormSubmission, Company, join_type=JOIN.LEFT_OUTER,
                       on=(WebFormSubmission.company == Company.id), attr="company")
            .where(WebFormSubmission.form == form)
            .order_by(WebFormSubmission.created_at.desc(), WebFormSubmission.id.desc()))


def forms_with_counts():
    """Every form with its number of submissions and its category, enabled forms first."""
    count = (WebFormSubmission.select(fn.COUNT(WebFormSubmission.id))
             .where(WebFormSubmission.form == WebForm.id))
    return (WebForm
            .select(WebForm, Category, DistributionFlow, count.alias("submission_count"))
            .join_from(WebForm, Category, join_type=JOIN.LEFT_OUTER,
                       on=(WebForm.category == Category.id), attr="category")
            .join_from(WebForm, DistributionFlow, join_type=JOIN.LEFT_OUTER,
                       on=(WebForm.flow == DistributionFlow.id), attr="flow")
            .order_by(WebForm.enabled.desc(), WebForm.name, WebForm.id))


# --- Admin changes ------------------------------------------------------------------------

def _clean_origins(text):
    """Origins one per line (or separated by spaces or commas), as scheme://host[:port]."""
    origins = []
    for item in (text or "").replace(",", " ").split():
        parts = urlsplit(item.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path \
                or parts.query or parts.fragment:
            raise RuleViolation(N_("%(origin)s is not an origin like https://www.example.com"),
                                origin=item[:100], field="allowed_origins")
        origin = f"{parts.scheme}://{parts.netloc.lower()}"
        if origin not in origins:
            origins.append(origin)
    return "\n".join(origins)


def _clean_fields(fields):
    config = {}
    for name in FORM_FIELDS:
        spec = fields.get(name) or {}
        ask = bool(spec.get("ask"))
        config[name] = {"ask": ask, "required": ask and bool(spec.get("required"))}
    if not (config["name"]["required"] or config["email"]["required"]):
        raise RuleViolation(N_("The form must require a name or an e-mail address."),
                            field="fields")
    return config


def _snapshot(form):
    return {"name": form.name, "category": form.category_id, "flow": form.flow_id,
            "fields": form.field_config, "redirect_url": form.redirect_url,
            "thank_you": form.thank_you, "allowed_origins": form.allowed_origins,
            "rate_limit": form.rate_limit, "enabled": form.enabled}


def save_web_form(form, actor, name, category_id, flow_id, fields, redirect_url="",
                  thank_you="", allowed_origins="", rate_limit=DEFAULT_RATE_LIMIT):
    """Create (form None) or change a web form; refusals name their field."""
    name = clean_name(single_line(name), NAME_MAX, missing=N_("A web form needs a name."),
                      too_long=N_("A name can be at most %(limit)s characters."))
    category = Category.get_or_none(Category.id == category_id) if category_id else None
    if category is None or (category.retired and (form is None
                                                 or form.category_id != category.id)):
        raise RuleViolation(N_("Choose a category for new companies."), field="category")
    if flow_id and DistributionFlow.get_or_none(DistributionFlow.id == flow_id) is None:
        raise RuleViolation(N_("Unknown distribution flow."), field="flow")
    config = _clean_fields(fields)
    thank_you = clean_text(thank_you, THANK_YOU_MAX, "thank_you", multiline=True)
    redirect_url = clean_url(redirect_url, field="redirect_url", limit=URL_MAX)
    origins = _clean_origins(allowed_origins)
    try:
        rate_limit = int(rate_limit)
    except (TypeError, ValueError):
        rate_limit = 0
    if not 1 <= rate_limit <= RATE_LIMIT_MAX:
        raise RuleViolation(N_("Allow between 1 and %(limit)s submissions a minute."),
                            limit=RATE_LIMIT_MAX, field="rate_limit")
    with database.atomic():
        is_new = form is None
        form = form or WebForm()
        before = _snapshot(form)
        form.name, form.category, form.flow = name, category, flow_id or None
        form.field_config = json.dumps(config)
        form.redirect_url, form.thank_you = redirect_url, thank_you
        form.allowed_origins, form.rate_limit = origins, rate_limit
        after = _snapshot(form)
        if is_new or before != after:
            form.save()
            record_audit(actor, AREA, "created" if is_new else "changed", form.name,
                         describe_changes(before if not is_new else dict.fromkeys(after),
                                          after))
    return form


def set_web_form_enabled(form, enabled, actor):
    """Open or close a form; a closed form refuses submissions with a clear message."""
    if form.enabled == bool(enabled):
        return False
    with database.atomic():
        form.enabled = bool(enabled)
        form.save(only=[WebForm.enabled])
        record_audit(actor, AREA, "enabled" if enabled else "disabled", form.name)
    return True


def renew_token(form, actor):
    """A new address for the form; the old one stops working (a leaked address is spam)."""
    with database.atomic():
        form.token = new_token()
        form.save(only=[WebForm.token])
        record_audit(actor, AREA, "new address", form.name)
    return form
