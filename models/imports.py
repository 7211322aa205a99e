"""CSV import of companies and contacts: many leads at once, by the same rules.

An import is a job in the database, in steps:

1. `create_job` keeps the uploaded file as text (ImportData, beside the job's
   row of progress, until the import has ended): its encoding is read from
   the bytes (UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1252,
   which Nordic spreadsheet programs write) and its delimiter (`,`, `;` or
   tab) from the first lines.
2. `set_mapping` says which column holds which field, the category of new
   companies and the distribution flow that gives new contacts an owner
   (R22); a mapping can be remembered under a name for the next file.
3. `preview` checks the first rows and names each row's problems.
4. `start_import` queues the import as a job (models/jobs.py); the
   consumer runs `run_import`: it checks every row (rows with problems are
   refused one by one and reported with their reasons), plans once what
   each good row does, then writes the plan a chunk of about 1,000 records per
   transaction, each chunk committing the import's cursor with it. A run
   stopped by a restart or a failure leaves whole chunks only and goes on
   from its cursor when run again; on SQLite no chunk holds the write lock
   long, so everyone else keeps working during a large import.

Duplicates are updated, not repeated: a contact is matched by e-mail (any
letter case), a company by name; a filled cell overwrites, an empty cell
never erases. A known contact stays at its company and keeps its lead
source (the first touch) and owner.

This module parses and maps; the records are created by the set rules of
`engine.py` like every other change: R9 (a new contact under a company
whose category has lead status active starts at the initial status), R20
(history rows with source "import"), R22 (owners from the flow, recorded as
"owner" history rows) and R15-R17 (the initial status is an event for rule
4; a rule asking for confirmation leaves a pending suggestion on each
company, as nobody is at hand).
"""
import codecs
import csv
import io
import json
from dataclasses import dataclass, field

from peewee import JOIN, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from . import engine
from .db import BaseModel, database
from .distribution import DistributionFlow, next_owners
from .reminders import count_assignments, send_soon, tell_assigned
from .rules import Actor, RuleViolation
from .schema import N_, Category, Company, Contact, User, now
from .schema import name_key as matching_key
from .selections import STATIC, Selection, add_imported
from .values import PHONE_PATTERN, clean_email, clean_name, clean_url, has_visible_character
from .webforms import (CONTROL_CHARACTERS, UTM_FIELDS, UTM_MAX, category_for,
                       company_name_for, find_company_by_name, find_contact_by_email,
                       single_line, split_name)

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 100_000
PREVIEW_ROWS = 20
PROGRESS_EVERY = 2000
REPORT_MAX = 1000  # rows listed in a report; the counts cover all rows
BATCH = 1000

# Target fields, in the order the mapping screen offers them, with limits.
IMPORT_FIELDS = {
    "company_name": N_("Company: name"),
    "company_phone": N_("Company: phone"),
    "company_email": N_("Company: e-mail"),
    "company_website": N_("Company: website"),
    "company_city": N_("Company: city"),
    "company_country": N_("Company: country"),
    "full_name": N_("Contact: full name"),
    "first_name": N_("Contact: first name"),
    "last_name": N_("Contact: last name"),
    "title": N_("Contact: title"),
    "email": N_("Contact: e-mail"),
    "phone": N_("Contact: phone"),
    "utm_source": N_("Lead source: utm_source"),
    "utm_medium": N_("Lead source: utm_medium"),
    "utm_campaign": N_("Lead source: utm_campaign"),
    "utm_term": N_("Lead source: utm_term"),
    "utm_content": N_("Lead source: utm_content"),
}
LIMITS = {"company_name": 200, "company_phone": 40, "company_email": 200,
          "company_website": 200, "company_city": 100, "company_country": 100,
          "full_name": 200, "first_name": 100, "last_name": 100, "title": 100, "email": 200,
          "phone": 40}
COMPANY_FIELDS = {"company_phone": "phone", "company_email": "email",
                  "company_website": "website", "company_city": "city",
                  "company_country": "country"}
CONTACT_FIELDS = ("first_name", "last_name", "title", "email", "phone")
# Header words (lower case, without spaces, dashes, dots and underscores) in
# English, Swedish, Norwegian and Danish, for a first guess of the mapping.
HEADER_WORDS = {
    "company_name": ("company", "companyname", "organisation", "organization", "account",
                     "foretag", "företag", "företagsnamn", "firma", "firmanamn", "firmanavn",
                     "bedrift", "bedriftsnavn", "selskap", "virksomhed", "organisasjon"),
    "company_phone": ("companyphone", "switchboard", "växel", "vaxel", "sentralbord",
                      "företagstelefon", "firmatelefon"),
    "company_email": ("companyemail", "företagsepost", "firmaepost"),
    "company_website": ("website", "web", "url", "homepage", "webbplats", "hemsida",
                        "nettside", "hjemmeside", "webside"),
    "company_city": ("city", "town", "ort", "stad", "postort", "sted", "poststed", "by"),
    "company_country": ("country", "land"),
    "full_name": ("name", "fullname", "contact", "contactname", "namn", "navn", "kontakt",
                  "kontaktperson", "person"),
    "first_name": ("firstname", "givenname", "förnamn", "fornamn", "fornavn"),
    "last_name": ("lastname", "surname", "familyname", "efternamn", "etternavn", "efternavn"),
    "title": ("title", "jobtitle", "position", "titel", "tittel", "befattning", "stilling",
              "roll", "rolle"),
    "email": ("email", "mail", "emailaddress", "epost", "epostadress", "mejl", "mejladress"),
    "phone": ("phone", "telephone", "mobile", "mobilephone", "cell", "telefon", "mobil",
              "mobiltelefon", "mobilnummer", "telefonnummer", "tlf", "tel"),
    "utm_source": ("utmsource", "source", "leadsource", "källa", "kalla", "kilde"),
    "utm_medium": ("utmmedium", "medium"),
    "utm_campaign": ("utmcampaign", "campaign", "kampanj", "kampanje"),
    "utm_term": ("utmterm", "term"),
    "utm_content": ("utmcontent", "content"),
}
STATES = {
    "uploaded": N_("Waiting for its mapping"),
    "mapped": N_("Ready to import"),
    "queued": N_("Starting"),
    "checking": N_("Checking rows"),
    "saving": N_("Saving"),
    "done": N_("Done"),
    "failed": N_("Failed"),
}
RUNNING = ("queued", "checking", "saving")


class ImportMapping(BaseModel):
    """A remembered mapping: {column header: field}, offered again for files with those headers."""
    name = CharField(unique=True)
    mapping = TextField(default="{}")
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=now)

    @property
    def columns(self):
        try:
            return json.loads(self.mapping or "{}")
        except ValueError:
            return {}


class ImportJob(BaseModel):
    """One uploaded file on its way in, with its progress and, at the end, its report."""
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=now)
    filename = CharField(default="")
    encoding = CharField(default="")
    delimiter = CharField(default=",")
    mapping = TextField(default="{}")
    category = ForeignKeyField(Category, null=True, backref="+", on_delete="SET NULL")
    flow = ForeignKeyField(DistributionFlow, null=True, backref="+", on_delete="SET NULL")
    state = CharField(default="uploaded")
    total_rows = IntegerField(default=0)
    processed_rows = IntegerField(default=0)
    created_count = IntegerField(default=0)
    updated_count = IntegerField(default=0)
    unchanged_count = IntegerField(default=0)
    refused_count = IntegerField(default=0)
    report = TextField(default="[]")
    error = TextField(default="")
    started_at = DateTimeField(null=True)
    heartbeat_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    # How many chunks of the plan (ImportData) are saved: a stopped run goes on
    # from there. The leads they gave each owner (R22) are told at the end (R26),
    # once per owner: {owner id: [count, first contact ids]}.
    saved_items = IntegerField(default=0)
    assigned = TextField(default="{}")
    # The static selection of the contacts this import created or updated (its
    # owner's, made with the first chunk saved), which the report links to.
    selection_id = IntegerField(null=True)

    @property
    def columns(self):
        try:
            return json.loads(self.mapping or "{}")
        except ValueError:
            return {}

    @property
    def report_rows(self):
        try:
            return json.loads(self.report or "[]")
        except ValueError:
            return []

    @property
    def running(self):
        return self.state in RUNNING

    @property
    def state_label(self):
        return STATES.get(self.state, self.state)

    @property
    def label(self):
        """How the history names this import as the author of a change (R20)."""
        return f"Import: {self.filename}"[:255]


class ImportData(BaseModel):
    """An import's uploaded text, and what each good row does (its plan, worked out
    once when the rows are checked). Kept beside the ImportJob row, not in it: the
    job's progress is written after every chunk, and SQLite rewrites a whole row
    for any change (these hold megabytes). Gone once the import has ended."""
    job = ForeignKeyField(ImportJob, primary_key=True, backref="+", on_delete="CASCADE")
    content = TextField(default="")
    plan = TextField(default="")


# --- Reading the file ------------------------------------------------------------------

def decode_upload(data):
    """(text, encoding name) of an uploaded file, or RuleViolation for what is no CSV text."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RuleViolation(N_("This is a spreadsheet file, not CSV. Save it as CSV "
                               "(comma or semicolon separated) and upload that."))
    try:
        if data.startswith(codecs.BOM_UTF8):
            text, encoding = data[len(codecs.BOM_UTF8):].decode("utf-8"), "UTF-8 (BOM)"
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text, encoding = data.decode("utf-16"), "UTF-16"
        else:
            try:
                text, encoding = data.decode("utf-8"), "UTF-8"
            except UnicodeDecodeError:
                text, encoding = data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        raise RuleViolation(N_("The file's characters could not be read. Save it as "
                               "CSV UTF-8 and try again.")) from None
    if "\x00" in text:
        raise RuleViolation(N_("This does not look like a CSV file."))
    return text, encoding


def detect_delimiter(text):
    """`;`, `,` or tab: the one that splits the first lines into the same number of columns."""
    sample = text[:64 * 1024]
    lines = sample.splitlines()[:20]
    if len(lines) > 1 and len(sample) == 64 * 1024:
        lines = lines[:-1]  # the last line of a cut sample may be cut too
    best, best_score = ",", (0, 0)
    for delimiter in (";", ",", "\t"):
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        score = (sum(1 for n in counts if n == counts[0]), counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_table(text, delimiter):
    """(headers, rows): the first row names the columns; blank rows are skipped.

    Each row is (row number as a spreadsheet shows it, list of cells).
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers, rows = None, []
    try:
        for number, cells in enumerate(reader, start=1):
            if headers is None:
                headers = _headers(cells)
                continue
            if any(cell.strip() for cell in cells):
                rows.append((number, cells))
    except csv.Error as error:
        raise RuleViolation(N_("The file could not be read as CSV: %(error)s"),
                            error=str(error)[:200]) from None
    return headers or [], rows


def _headers(cells):
    """Column names: stripped, and unique (an empty or repeated one gets its position)."""
    names = []
    for index, cell in enumerate(cells, start=1):
        name = single_line(cell)[:100]
        if not name or name in names:
            name = f"Column {index}" if not name else f"{name} ({index})"
        names.append(name)
    return names


def _header_key(header):
    return "".join(ch for ch in header.lower() if ch not in " -_.:/()")


def guess_mapping(headers):
    """{header: field} from the header words; unknown columns are left out."""
    mapping, taken = {}, set()
    for header in headers:
        key = _header_key(header)
        for target, words in HEADER_WORDS.items():
            if target not in taken and key in words:
                mapping[header] = target
                taken.add(target)
                break
    return mapping


def saved_mapping_for(headers):
    """The remembered mapping that fits these headers best (all its columns present), or None."""
    best, best_size = None, 0
    for saved in ImportMapping.select().order_by(ImportMapping.created_at.desc()):
        columns = saved.columns
        if columns and set(columns) <= set(headers) and len(columns) > best_size:
            best, best_size = saved, len(columns)
    return best


# --- Steps of a job ------------------------------------------------------------------------

def create_job(user, filename, data):
    """Step 1: keep an uploaded file as text, its encoding and delimiter recognised."""
    if not data:
        raise RuleViolation(N_("The file is empty."))
    if len(data) > MAX_BYTES:
        raise RuleViolation(N_("The file is larger than %(limit)s MB."),
                            limit=MAX_BYTES // (1024 * 1024))
    text, encoding = decode_upload(data)
    delimiter = detect_delimiter(text)
    headers, rows = read_table(text, delimiter)
    if not headers or not rows:
        raise RuleViolation(N_("The file needs a row of column names and at least one row "
                               "of data."))
    if len(rows) > MAX_ROWS:
        raise RuleViolation(N_("The file has more than %(limit)s rows; split it."),
                            limit=f"{MAX_ROWS:,}")
    saved = saved_mapping_for(headers)
    mapping = saved.columns if saved else guess_mapping(headers)
    filename = single_line(CONTROL_CHARACTERS.sub("", filename or ""))[:200]
    with database.atomic():
        job = ImportJob.create(created_by=user, filename=filename or "import.csv",
                               encoding=encoding, delimiter=delimiter,
                               mapping=json.dumps(mapping, ensure_ascii=False),
                               total_rows=len(rows))
        ImportData.create(job=job, content=text)
    return job


def _data(job_id):
    """The job's text and plan (empty ones once it has ended)."""
    return ImportData.get_or_none(ImportData.job == job_id) or ImportData(job=job_id)


def job_table(job):
    return read_table(_data(job.id).content, job.delimiter)


def set_mapping(job, actor, mapping, category_id=None, flow_id=None, remember_as=""):
    """Step 2: the columns' fields, the new companies' category and the flow (R22).

    Refused: a field chosen for two columns, no column giving a company or a
    contact, an unknown category or flow.
    """
    if job.state not in ("uploaded", "mapped"):
        raise RuleViolation(N_("This import has already run."))
    headers, _ = job_table(job)
    chosen = {}
    for header, target in mapping.items():
        if not target:
            continue
        if header not in headers or target not in IMPORT_FIELDS:
            raise RuleViolation(N_("Unknown column or field."), field="mapping")
        if target in chosen.values():
            raise RuleViolation(N_("%(target)s is chosen for more than one column."),
                                target=IMPORT_FIELDS[target], field="mapping")
        chosen[header] = target
    if not set(chosen.values()) & {"company_name", "email", "full_name", "first_name",
                                   "last_name"}:
        raise RuleViolation(N_("Choose at least a column for the company name, the contact's "
                               "name or the e-mail address."), field="mapping")
    category = Category.get_or_none(Category.id == category_id) if category_id else None
    if category_id and (category is None or category.retired):
        raise RuleViolation(N_("Choose a category for new companies."), field="category")
    if flow_id and DistributionFlow.get_or_none(DistributionFlow.id == flow_id) is None:
        raise RuleViolation(N_("Unknown distribution flow."), field="flow")
    remember_as = clean_name(single_line(remember_as)[:100], 100, "remember_as", required=False)
    with database.atomic():
        job.mapping = json.dumps(chosen, ensure_ascii=False)
        job.category, job.flow, job.state = category, flow_id or None, "mapped"
        job.save()
        if remember_as:
            saved = ImportMapping.get_or_none(ImportMapping.name == remember_as) \
                or ImportMapping(name=remember_as, created_by=actor.user)
            saved.mapping, saved.created_at = job.mapping, now()
            saved.save()
    return job


# --- Checking rows -------------------------------------------------------------------------

@dataclass
class Row:
    """One data row, cleaned: the company's and the contact's values, or its problems."""
    line: int
    company: dict = field(default_factory=dict)
    company_given: bool = False
    contact: dict | None = None
    utm: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    @property
    def label(self):
        """A short name for the row in a report: the contact, else the company."""
        if self.contact:
            name = f"{self.contact.get('first_name', '')} {self.contact.get('last_name', '')}"
            return single_line(name) or self.contact.get("email", "")
        return self.company.get("name", "")


def _cell_values(cells, positions):
    values = {}
    for target, index in positions.items():
        raw = cells[index] if index < len(cells) else ""
        values[target] = raw
    return values


def clean_row(line, values):
    """A row's values ({field: cell}) checked: a Row, with its problems when refused."""
    row = Row(line)
    clean = {}
    for target, raw in values.items():
        if CONTROL_CHARACTERS.search(raw or ""):
            row.problems.append((N_("%(target)s contains characters that are not allowed."),
                                 {"target": target}))
            continue
        value = single_line(raw)
        if target in UTM_FIELDS:
            value = value[:UTM_MAX]
        elif value and len(value) > LIMITS[target]:
            row.problems.append((N_("%(target)s is longer than %(limit)s characters."),
                                 {"target": target, "limit": LIMITS[target]}))
            continue
        clean[target] = value
    # The checks every writer applies (models.values): addresses, web addresses, names.
    for target in ("email", "company_email"):
        if clean.get(target):
            try:
                clean[target] = clean_email(clean[target], field=target)
            except RuleViolation:
                row.problems.append((N_("%(email)s is not a valid e-mail address."),
                                     {"email": clean[target]}))
    if clean.get("company_website"):
        try:
            clean["company_website"] = clean_url(clean["company_website"])
        except RuleViolation:
            row.problems.append((N_("%(url)s is not a web address (http or https)."),
                                 {"url": clean["company_website"][:100]}))
    for target in ("company_name", "full_name", "first_name", "last_name"):
        if clean.get(target) and not has_visible_character(clean[target]):
            row.problems.append((N_("%(target)s holds only invisible characters."),
                                 {"target": target}))
    for target in ("phone", "company_phone"):
        if clean.get(target) and not PHONE_PATTERN.match(clean[target]):
            row.problems.append((N_("The phone number %(phone)s may hold digits, spaces and "
                                    "+ ( ) - only."), {"phone": clean[target]}))
    first, last = clean.get("first_name", ""), clean.get("last_name", "")
    if not first and not last and clean.get("full_name"):
        first, last = split_name(clean["full_name"])
    email = clean.get("email", "")
    has_contact = any((first, last, email, clean.get("phone"), clean.get("title")))
    if has_contact:
        if not (first or last or email):
            row.problems.append((N_("A contact needs a name or an e-mail address."), {}))
        row.contact = {"first_name": first, "last_name": last,
                       "title": clean.get("title", ""), "email": email,
                       "phone": clean.get("phone", "")}
        row.utm = {name: clean.get(name, "") for name in UTM_FIELDS}
    name = clean.get("company_name", "")
    row.company_given = bool(name)
    if not name and has_contact:
        name = company_name_for("", email, f"{first} {last}")
    if not name:
        row.problems.append((N_("The row has neither a company name nor a contact."), {}))
    elif len(name) > LIMITS["company_name"]:
        name = name[:LIMITS["company_name"]]
    row.company = {"name": name, **{column: clean.get(target, "")
                                    for target, column in COMPANY_FIELDS.items()}}
    return row


def _positions(job, headers):
    """{field: column index} of the job's mapping."""
    return {target: headers.index(header) for header, target in job.columns.items()
            if header in headers}


def rows_of(job):
    """Every data row of the job's file, cleaned with its mapping."""
    headers, rows = job_table(job)
    positions = _positions(job, headers)
    for line, cells in rows:
        yield clean_row(line, _cell_values(cells, positions))


@dataclass
class PreviewRow:
    row: Row
    cells: list
    action: str  # "create", "update" or "refuse"


def preview(job, limit=PREVIEW_ROWS):
    """Step 3: the first rows with what would happen to each and their problems."""
    headers, rows = job_table(job)
    positions = _positions(job, headers)
    result = []
    for line, cells in rows[:limit]:
        row = clean_row(line, _cell_values(cells, positions))
        if row.problems:
            action = "refuse"
        else:
            action = "create"
            email = (row.contact or {}).get("email")
            if email and find_contact_by_email(email):
                action = "update"
            elif not row.contact and find_company_by_name(row.company["name"]):
                action = "update"
        result.append(PreviewRow(row, cells, action))
    return headers, result


# --- Running ---------------------------------------------------------------------------------

def start_import(job, user):
    """Step 4: queue the import as a job; the status page shows its progress."""
    from .jobs import submit
    started = (ImportJob.update(state="queued", started_at=now())
               .where(ImportJob.id == job.id, ImportJob.state == "mapped").execute())
    if not started:
        # Not mapped yet, or already started (a second click): one run per job.
        raise RuleViolation(N_("This import cannot be started now."))
    return submit("import", user, subject=job.id, total=job.total_rows * 2)


def _set(job_id, **values):
    ImportJob.update(**values).where(ImportJob.id == job_id).execute()


def run_import(job_id, on_chunk=None, progress=None):
    """Check every row, plan what each does, then write the plan a chunk at a time.

    Every chunk is one transaction that also moves the import's cursor
    (`saved_items`), so a run stopped anywhere (a restart, a failure, a
    cancel) leaves whole chunks only, and running it again goes on where it
    stopped: the plan, made once, is kept with the import. `progress(done,
    total)` is told after each step and may raise to stop the run (a cancel);
    `on_chunk(index)` is called inside each chunk's transaction (tests fail
    there on purpose). Returns the import.
    """
    job = ImportJob.get_by_id(job_id)
    if job.state == "done":
        return job
    saved_plan = _data(job.id).plan
    if saved_plan:  # a run that stopped goes on with the plan it made
        plan = json.loads(saved_plan)
    else:
        _set(job.id, state="checking", processed_rows=0)
        rows = []
        for index, row in enumerate(rows_of(job), start=1):
            rows.append(row)
            if index % PROGRESS_EVERY == 0:
                _set(job.id, processed_rows=index)
                if progress:
                    progress(index, job.total_rows * 2)
        with database.atomic():
            plan = _plan(job, rows)
            _set(job.id, state="saving", processed_rows=len(rows), saved_items=0)
            (ImportData.update(plan=json.dumps(plan, ensure_ascii=False))
             .where(ImportData.job == job.id).execute())
        job = ImportJob.get_by_id(job.id)
    actor = Actor(source="import", label=job.label)
    flow = DistributionFlow.get_or_none(DistributionFlow.id == job.flow_id) \
        if job.flow_id else None
    steps = _steps(plan)
    index = job.saved_items
    assigned = _assigned(job)
    while index < len(steps):
        with database.atomic():
            if on_chunk:
                on_chunk(index)
            touched, assignments = _save(job, plan, steps[index], actor, flow)
            _add_to_selection(job, touched)
            index += 1
            _set(job.id, saved_items=index,
                 assigned=json.dumps(count_assignments(assignments, assigned)))
        if progress:
            progress(job.total_rows + job.total_rows * index // len(steps),
                     job.total_rows * 2)
    counts = plan["counts"]
    with database.atomic():
        _set(job.id, state="done", finished_at=now(),
             report=json.dumps(plan["report"][:REPORT_MAX], ensure_ascii=False), **counts)
        ImportData.delete().where(ImportData.job == job.id).execute()
        told = tell_assigned(assigned, actor)
    if told:
        send_soon()
    return ImportJob.get_by_id(job.id)


def _assigned(job):
    return {int(owner): count for owner, count in json.loads(job.assigned or "{}").items()}


def fail_import(job_id, message):
    """The import stopped for good: what its finished chunks saved stays, the rest not
    (and the owners of the leads they gave are told of those)."""
    job = ImportJob.get_by_id(job_id)
    with database.atomic():
        _set(job_id, state="failed", error=message, finished_at=now())
        ImportData.delete().where(ImportData.job == job_id).execute()
        told = tell_assigned(_assigned(job), Actor(source="import", label=job.label))
    if told:
        send_soon()


# --- The plan: what each row does, worked out once --------------------------------------------

def _key(text):
    """Names and e-mail addresses as matching compares them (models.schema.name_key)."""
    return matching_key(text)


CHUNK_ROWS = 1000  # companies and contacts per transaction (SQLite, 50,000 rows: 83 ms p50)


def _steps(plan):
    """The plan's writes cut into chunks: (kind, first, last) index ranges."""
    steps = []
    for kind in ("contact_updates", "company_updates", "creates"):
        items = plan[kind]
        start = 0
        while start < len(items):
            end, size = start, 0
            while end < len(items) and (size == 0 or size < CHUNK_ROWS):
                size += 1 + len(items[end].get("contacts", ())) if kind == "creates" else 1
                end += 1
            steps.append((kind, start, end))
            start = end
    return steps


def _plan(job, rows):
    """Match every good row with the known records and with earlier rows of the file.

    Duplicates are updated, not repeated: a contact is matched by e-mail (any
    letter case), a company by name; a filled cell overwrites, an empty cell
    never erases. A known contact stays at its company and keeps its lead
    source (the first touch) and owner. Returns the plan: updates of known
    contacts and companies, and the new companies and contacts grouped by
    company in the order the file names them, with the counts and report.
    """
    counts = {"created_count": 0, "updated_count": 0, "unchanged_count": 0,
              "refused_count": 0}
    report = []

    def note(row, outcome, message, **params):
        report.append({"line": row.line, "outcome": outcome, "label": row.label[:100],
                       "message": message, "params": params})

    # Known rows, the oldest of each e-mail address and name (plain cursor rows: ids
    # and texts need no converting, and every known contact is read).
    contacts_by_email, companies_by_name = {}, {}
    for contact_id, email, company_id in database.execute(
            Contact.select(Contact.id, Contact.email, Contact.company)
            .where(Contact.email != "").order_by(Contact.id.desc())):
        contacts_by_email[_key(email)] = (contact_id, company_id)
    for company_id, name in database.execute(Company.select(Company.id, Company.name)
                                             .order_by(Company.id.desc())):
        companies_by_name[_key(name)] = company_id

    creates = {}  # ("new", name key) or ("id", company id) -> {"company": ..., "contacts": []}
    new_contacts_by_email = {}
    contact_changes, company_changes = {}, {}
    company_rows = []  # rows of a company alone that matched a known or earlier company

    def company_values(row):
        return {k: v for k, v in row.company.items() if v}

    for row in rows:
        if row.problems:
            counts["refused_count"] += 1
            for message, params in row.problems:
                note(row, "refused", message, **params)
            continue
        email_key = _key((row.contact or {}).get("email"))
        if row.contact and email_key in contacts_by_email:
            contact_id, company_id = contacts_by_email[email_key]
            change = contact_changes.setdefault(contact_id, {"values": {}, "utm": {},
                                                             "rows": 0})
            change["values"].update({k: v for k, v in row.contact.items() if v})
            if not change["utm"] and any(row.utm.values()):
                change["utm"] = row.utm
            change["rows"] += 1
            # A known contact stays at its company; the row's company cells
            # update it only when they are about that same company.
            if companies_by_name.get(_key(row.company["name"])) == company_id:
                company_changes.setdefault(company_id, {}).update(
                    {k: v for k, v in company_values(row).items() if k != "name"})
            elif row.company_given:
                note(row, "note", N_("The contact stays at its company; the company "
                                        "%(company)s was not changed."),
                     company=row.company["name"])
            continue
        if row.contact and email_key and email_key in new_contacts_by_email:
            earlier_line, earlier = new_contacts_by_email[email_key]
            earlier.update({k: v for k, v in row.contact.items() if v and k != "email"})
            counts["updated_count"] += 1
            note(row, "updated", N_("Same e-mail address as row %(line)s: merged into it."),
                 line=earlier_line)
            continue
        name_key = _key(row.company["name"])
        if name_key in companies_by_name:
            key = ("id", companies_by_name[name_key])
            company_changes.setdefault(key[1], {}).update(
                {k: v for k, v in company_values(row).items() if k != "name"})
            group = creates.setdefault(key, {"company": key[1], "contacts": []})
            if not row.contact:
                company_rows.append(key)
        elif ("new", name_key) in creates:
            key = ("new", name_key)
            group = creates[key]
            group["company"].update(company_values(row))
            if not row.contact:
                company_rows.append(key)
        else:
            key = ("new", name_key)
            group = creates[key] = {"company": company_values(row), "contacts": []}
            if not row.contact:
                counts["created_count"] += 1
                continue
        if row.contact:
            values = {**row.contact, **row.utm}
            if not values["first_name"] and not values["last_name"]:
                values["first_name"] = values["email"].partition("@")[0]
            group["contacts"].append(values)
            if email_key:
                new_contacts_by_email[email_key] = (row.line, values)
            counts["created_count"] += 1

    contact_updates = _contact_updates(contact_changes)
    company_updates = _company_updates(company_changes)
    for contact_id, change in contact_changes.items():
        outcome = "updated" if contact_id in contact_updates else "unchanged"
        counts[f"{outcome}_count"] += change["rows"]
    for kind, value in company_rows:
        if kind == "new" or value in company_updates:
            counts["updated_count"] += 1
        else:
            counts["unchanged_count"] += 1
    report.sort(key=lambda entry: entry["line"])
    return {"contact_updates": list(contact_updates.values()),
            "company_updates": list(company_updates.values()),
            "creates": [group for group in creates.values()
                        if isinstance(group["company"], dict) or group["contacts"]],
            "counts": counts, "report": report}


def _save(job, plan, step, actor, flow):
    """Write one chunk of the plan (inside the caller's transaction); returns the ids of
    the contacts it created or updated, and the (contact id, owner id) of those a
    distribution flow gave an owner."""
    kind, start, end = step
    items = plan[kind][start:end]
    stamp = now()
    if kind == "contact_updates":
        engine.update_details(Contact, CONTACT_FIELDS + UTM_FIELDS, items, stamp)
        return [item["id"] for item in items], []
    if kind == "company_updates":
        engine.update_details(Company, tuple(COMPANY_FIELDS.values()), items, stamp)
        return [], []
    return _create(job, items, actor, flow, stamp)


def _add_to_selection(job, contact_ids):
    """Put the contacts a chunk created or updated into the import's static selection,
    made (for the user who started the import) with the first chunk that has some."""
    if not contact_ids or job.created_by_id is None:
        return
    if job.selection_id is None:
        stamp = job.created_at.strftime("%Y-%m-%d %H:%M") if job.created_at else ""
        selection = Selection.create(name=f"{job.label} {stamp}"[:120],
                                     owner=job.created_by_id, kind=STATIC, entity="contacts")
        job.selection_id = selection.id
        _set(job.id, selection_id=selection.id)
    add_imported(job.selection_id, contact_ids)


def _create(job, groups, actor, flow, stamp):
    """New companies and contacts by the rules (R9, R20, R22 owners from the flow,
    R15-R17 for the initial status) through the set functions of `engine`."""
    count = sum(len(group["contacts"]) for group in groups)
    owners = [owner.id for owner in next_owners(flow, count)] if count else []
    owners += [None] * (count - len(owners))
    turn = iter(owners)
    category = category_for(job)
    new_companies, contacts = [], []
    for group in groups:
        group_owners = [next(turn) for _ in group["contacts"]]
        if isinstance(group["company"], dict):
            new_companies.append((group, {**group["company"], "category": category.id,
                                          "owner": group_owners[0] if group_owners else None}))
        for values, owner in zip(group["contacts"], group_owners):
            contacts.append((group, {**values, "owner": owner}))
    company_ids = engine.create_companies([row for _, row in new_companies], actor, stamp)
    for (group, _), company_id in zip(new_companies, company_ids):
        group["id"] = company_id
    ids, _ = engine.create_contacts(
        [{**row, "company": group.get("id", group["company"])} for group, row in contacts],
        actor, assigned=flow is not None, run_rules=True, stamp=stamp, notify=False)
    return ids, [(contact_id, row["owner"]) for contact_id, (_, row) in zip(ids, contacts)]


def _contact_updates(changes):
    """{id: values after} of known contacts whose values change: filled cells overwrite;
    the lead source only when it is empty (first touch, R21)."""
    fields = CONTACT_FIELDS + UTM_FIELDS
    current = {}
    ids = list(changes)
    for start in range(0, len(ids), BATCH):
        for values in (Contact.select(Contact.id, *[getattr(Contact, f) for f in fields])
                       .where(Contact.id.in_(ids[start:start + BATCH])).dicts()):
            current[values["id"]] = values
    updates = {}
    for contact_id, change in changes.items():
        before = current[contact_id]
        after = dict(before)
        after.update({k: v for k, v in change["values"].items() if k != "email"})
        if not any(before[name] for name in UTM_FIELDS) and change["utm"]:
            after.update(change["utm"])
        if after != before:
            updates[contact_id] = after
    return updates


def _company_updates(changes):
    """{id: values after} of known companies the filled cells of their rows change."""
    changes = {k: v for k, v in changes.items() if v}
    fields = tuple(COMPANY_FIELDS.values())
    current = {}
    ids = list(changes)
    for start in range(0, len(ids), BATCH):
        for values in (Company.select(Company.id, *[getattr(Company, f) for f in fields])
                       .where(Company.id.in_(ids[start:start + BATCH])).dicts()):
            current[values["id"]] = values
    updates = {}
    for company_id, values in changes.items():
        before = current[company_id]
        after = {**before, **values}
        if after != before:
            updates[company_id] = after
    return updates


# --- Reading jobs -----------------------------------------------------------------------------

def job_of_import(job):
    """The queue's job that runs this import (the latest), or None."""
    from .jobs import Job
    return (Job.select().where(Job.kind == "import", Job.subject == job.id)
            .order_by(Job.id.desc()).first())


def recent_jobs(user, limit=20):
    """The latest imports: an admin sees everyone's, others their own."""
    query = (ImportJob.select(ImportJob.id, ImportJob.filename, ImportJob.state,
                              ImportJob.created_at, ImportJob.total_rows,
                              ImportJob.created_count, ImportJob.updated_count,
                              ImportJob.unchanged_count, ImportJob.refused_count,
                              ImportJob.created_by, User)
             .join(User, join_type=JOIN.LEFT_OUTER, on=(ImportJob.created_by == User.id),
                   attr="created_by")
             .order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
             .limit(limit))
    return query if user.is_admin else query.where(ImportJob.created_by == user.id)


def saved_mappings():
    return ImportMapping.select().order_by(ImportMapping.name)

