"""Demo data: users, Nordic companies and contacts with lead statuses, lead
sources and a history, so every screen has something to show.

The rows are built in memory from one seeded random generator and written
with chunked multi-row INSERTs and explicit ids, which keeps 100,000 contacts
fast. The result looks as if people had worked the leads through the rules
of models/rules.py: R7-R11 hold, and every status and category change is in
the history (R20).

Every timestamp lies in the nine months before `today`, strictly before its
midnight, so nothing is ever in the future and the same seed and `today`
always give the same data.
"""
import datetime
import random

from peewee import PostgresqlDatabase, chunked, fn
from werkzeug.security import generate_password_hash

from .activities import add_activity
from .db import database
from .distribution import save_flow
from .rules import Actor
from .schema import Category, Company, Contact, History, LeadStatus, User, name_key
from .webforms import WebForm, default_field_config, save_web_form

DEMO_PASSWORD = "tavla-demo"

# (email, name, role, language)
DEMO_USERS = [
    ("admin@tavla.test", "Astrid Lindqvist", "admin", "en"),
    ("manager@tavla.test", "Henrik Solberg", "manager", "en"),
    ("rep@tavla.test", "Emma Virtanen", "rep", "en"),
    ("saljare@tavla.test", "Erik Johansson", "rep", "sv"),
    ("selger@tavla.test", "Ingrid Haugen", "rep", "nb"),
    ("mikko@tavla.test", "Mikko Laine", "rep", "en"),
    ("freja@tavla.test", "Freja Mortensen", "rep", "sv"),
    ("lars@tavla.test", "Lars Brekke", "rep", "nb"),
]

FORM_NAME = "Website contact"
FORM_LABEL = f"Web form: {FORM_NAME}"  # as WebForm.label names the form in the history
FLOW_NAME = "Inbound leads"
CHUNK_ROWS = 1000  # 1,000 rows x 17 columns stays under SQLite's 32,766 variables
DAYS_BACK = 270
WORKDAY = (7 * 3600 + 1800, 17 * 3600 + 1800)  # companies are created 07:30-17:30

# --- Word lists --------------------------------------------------------------

COUNTRIES = {
    "SE": {
        "name": "Sweden", "tld": "se", "weight": 40, "suffixes": ["AB"],
        "phones": ["+46 8 ### ## ##", "+46 31 ### ## ##", "+46 70 ### ## ##",
                   "+46 73 ### ## ##"],
        "cities": ["Stockholm", "Göteborg", "Malmö", "Uppsala", "Västerås", "Örebro",
                   "Linköping", "Helsingborg", "Jönköping", "Umeå", "Luleå", "Sundsvall",
                   "Karlstad", "Växjö", "Gävle"],
        "stems": ["Fjällström", "Bergqvist", "Lindholm", "Sjöberg", "Ekdahl", "Åkerlund",
                  "Hällström", "Granlund", "Björkman", "Strömberg", "Lövgren", "Norrby",
                  "Wikström", "Dahlberg", "Sandell", "Forsgren", "Hedberg", "Lundmark",
                  "Almqvist", "Ekholm"],
        "places": ["Norrlands", "Västkust", "Mälardalens", "Roslagens", "Öresunds",
                   "Bergslagens", "Skärgårdens", "Dala", "Gotlands", "Vätterns", "Siljans",
                   "Höga Kusten"],
        "industries": ["Bygg", "Maskin", "Konsult", "Logistik", "Data", "El", "Fastigheter",
                       "Media", "Trä", "Verkstad", "Design", "Transport", "Energi", "Miljö",
                       "Rör", "Måleri", "Teknik", "Revision", "Bemanning", "Livsmedel"],
        "first_names": ["Anna", "Erik", "Lars", "Karin", "Maria", "Johan", "Anders", "Eva",
                        "Sara", "Magnus", "Emma", "Oskar", "Linnea", "Fredrik", "Elin", "Per",
                        "Ingrid", "Mats", "Sofia", "Henrik", "Maja", "Gustav", "Ebba", "Nils",
                        "Klara", "Viktor", "Wilma", "Axel", "Ida", "Jonas"],
        "last_names": ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson",
                       "Larsson", "Olsson", "Persson", "Svensson", "Gustafsson", "Pettersson",
                       "Lindqvist", "Lindberg", "Bergström", "Lundgren", "Sjöberg", "Holmberg",
                       "Åberg", "Ekström", "Hedlund", "Sandberg", "Engström", "Forsberg",
                       "Nyström", "Wallin", "Lindholm", "Björk", "Sundström", "Öberg",
                       "Dahlgren"],
    },
    "NO": {
        "name": "Norway", "tld": "no", "weight": 30, "suffixes": ["AS"],
        "phones": ["+47 ### ## ###", "+47 22 ## ## ##", "+47 55 ## ## ##"],
        "cities": ["Oslo", "Bergen", "Trondheim", "Stavanger", "Kristiansand", "Tromsø",
                   "Drammen", "Fredrikstad", "Bodø", "Ålesund", "Hamar", "Molde"],
        "stems": ["Nordvik", "Haugland", "Solheim", "Fjeldstad", "Bakke", "Strandli", "Lien",
                  "Aasen", "Vikhammer", "Dahle", "Brekke", "Tangen", "Skogheim", "Rønning",
                  "Mjøen", "Sandvik", "Hovland", "Myrvold", "Grønli", "Ødegård"],
        "places": ["Vestlandet", "Nordland", "Trønder", "Fjord", "Sørlandet", "Hardanger",
                   "Lofoten", "Romsdal", "Hedmark", "Finnmark", "Oslofjord", "Telemark"],
        "industries": ["Bygg", "Maskin", "Entreprenør", "Sjømat", "Elektro", "Eiendom",
                       "Regnskap", "Rådgivning", "Teknikk", "Transport", "Havbruk", "Rør",
                       "Marine", "Data", "Media", "Energi", "Tre", "Verksted", "Design",
                       "Bemanning"],
        "first_names": ["Ola", "Kari", "Ingrid", "Lars", "Sigrid", "Håkon", "Nora", "Magnus",
                        "Ingeborg", "Sindre", "Silje", "Eirik", "Marit", "Torbjørn",
                        "Solveig", "Knut", "Ragnhild", "Jon", "Hilde", "Espen", "Tone",
                        "Øyvind", "Astrid", "Bjørn", "Live", "Trond", "Maren", "Vegard",
                        "Synnøve", "Kjetil"],
        "last_names": ["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen",
                       "Nilsen", "Kristiansen", "Jensen", "Karlsen", "Haugen", "Berg",
                       "Bakken", "Solberg", "Dahl", "Hagen", "Lie", "Strand", "Eide", "Brekke",
                       "Moen", "Halvorsen", "Haugland", "Nygård", "Aasen", "Lien", "Solheim",
                       "Sæther", "Fjeld", "Økland"],
    },
    "FI": {
        "name": "Finland", "tld": "fi", "weight": 15, "suffixes": ["Oy"],
        "phones": ["+358 40 ### ####", "+358 50 ### ####", "+358 9 ### ####"],
        "cities": ["Helsinki", "Espoo", "Tampere", "Vantaa", "Turku", "Oulu", "Jyväskylä",
                   "Lahti", "Kuopio", "Vaasa", "Pori", "Rovaniemi"],
        "stems": ["Saari", "Virta", "Korpela", "Mäki", "Niemi", "Lahti", "Järvi", "Koski",
                  "Kallio", "Salo", "Rinne", "Aalto", "Harju", "Vaara", "Laakso", "Mattila",
                  "Peltonen", "Kivi", "Hakala", "Ranta"],
        "places": ["Pohjola", "Savo", "Karjala", "Häme", "Lappi", "Suomi", "Uusimaa",
                   "Pirkan", "Kainuu", "Satakunta", "Pohjanmaa", "Saimaa"],
        "industries": ["Logistics", "Rakennus", "Kone", "Tekniikka", "Sähkö", "Metsä", "Data",
                       "Consulting", "Kuljetus", "Energia", "Media", "Design", "Systems",
                       "Solutions", "Puu", "Talotekniikka", "Tilitoimisto", "Digital",
                       "Engineering", "Group"],
        "first_names": ["Mikko", "Anna", "Juha", "Laura", "Antti", "Aino", "Jukka", "Sanna",
                        "Timo", "Emilia", "Matti", "Helmi", "Pekka", "Johanna", "Ville",
                        "Riikka", "Tuomas", "Kaisa", "Janne", "Elina", "Sami", "Noora",
                        "Heikki", "Minna", "Oskari", "Veera", "Eero", "Liisa", "Lauri", "Satu"],
        "last_names": ["Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen",
                       "Laine", "Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Lehtinen",
                       "Saarinen", "Salminen", "Heinonen", "Niemi", "Heikkilä", "Kinnunen",
                       "Salonen", "Turunen", "Salo", "Laitinen", "Tuominen", "Rantanen",
                       "Karjalainen", "Jokinen", "Mattila", "Savolainen", "Lahtinen", "Ahonen"],
    },
    "DK": {
        "name": "Denmark", "tld": "dk", "weight": 15, "suffixes": ["ApS", "ApS", "A/S"],
        "phones": ["+45 ## ## ## ##"],
        "cities": ["København", "Aarhus", "Odense", "Aalborg", "Esbjerg", "Randers", "Kolding",
                   "Horsens", "Vejle", "Roskilde", "Herning", "Silkeborg"],
        "stems": ["Dalgaard", "Kjærgaard", "Vestergaard", "Møllgaard", "Holmgaard", "Bech",
                  "Juhl", "Skovby", "Thygesen", "Bruun", "Lindholt", "Østergaard", "Nørgaard",
                  "Krogh", "Bisgaard", "Mortensen", "Søndergaard", "Hvidt", "Rosendahl", "Ravn"],
        "places": ["Jysk", "Fyns", "Sjællands", "Nordsø", "Limfjords", "Vestjysk", "Øresunds",
                   "Bornholms", "Himmerlands", "Djurs", "Lolland", "Kattegat"],
        "industries": ["Design", "Byg", "Maskiner", "Rådgivning", "Teknik", "Logistik",
                       "Energi", "Medie", "El", "VVS", "Tømrer", "Transport", "Data",
                       "Revision", "Ejendomme", "Automation", "Emballage", "Marine",
                       "Software", "Kommunikation"],
        "first_names": ["Mette", "Søren", "Anne", "Jens", "Camilla", "Mads", "Louise",
                        "Rasmus", "Sofie", "Frederik", "Ida", "Christian", "Maja", "Kasper",
                        "Line", "Mikkel", "Freja", "Thomas", "Julie", "Anders", "Signe",
                        "Morten", "Katrine", "Niels", "Astrid", "Jesper", "Pernille",
                        "Henrik", "Karoline", "Lasse"],
        "last_names": ["Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen",
                       "Larsen", "Sørensen", "Rasmussen", "Jørgensen", "Petersen", "Madsen",
                       "Kristensen", "Olsen", "Thomsen", "Poulsen", "Johansen", "Møller",
                       "Mortensen", "Dalgaard", "Kjærgaard", "Vestergaard", "Bech", "Bruun",
                       "Holm", "Skov", "Juhl", "Lund", "Mikkelsen", "Frederiksen"],
    },
}

# Brand-style names ("Nordlys Analytics AS") that any of the countries may use.
BRANDS = ["Nordlys", "Polaris", "Aurora", "Midnattsol", "Havbris", "Fjelltopp", "Tundra",
          "Isbre", "Granskog", "Stjernfall", "Nordkap", "Kompass", "Ankare", "Fyrtårn",
          "Vinterhav", "Sølvtind", "Kuura", "Revontuli", "Saga", "Runa"]
BRAND_INDUSTRIES = ["Tech", "Software", "Solutions", "Analytics", "Labs", "Systems",
                    "Consulting", "Group", "Logistics", "Digital", "Robotics", "Health",
                    "Energy", "Cloud", "Security"]

TITLES = ["CEO", "Managing Director", "CFO", "CTO", "COO", "Head of Sales", "Sales Manager",
          "Key Account Manager", "Marketing Manager", "Head of Marketing",
          "Purchasing Manager", "Procurement Specialist", "IT Manager", "Project Manager",
          "Operations Manager", "Office Manager", "HR Manager", "Business Developer",
          "Product Owner", "Customer Success Manager", "Logistics Manager", "Site Manager",
          "Controller"]

# Lead sources: utm_source -> [(utm_medium, weight, campaigns, terms, contents)].
# Campaign names are templates filled from the contact's creation date, so
# they stay plausible whatever `today` is.
UTM_SOURCES = {
    "google": [
        ("cpc", 7, ["brand-search-{year}", "crm-keywords-{season}-{year}",
                    "competitor-search-{year}"],
         ["crm system", "lead management", "sales pipeline", "crm software nordic",
          "kundregister", "säljstöd", "crm-system pris"],
         ["ad-a", "ad-b", "text-ad-1"]),
        ("organic", 3, [""], [""], [""]),
    ],
    "linkedin": [
        ("social", 6, ["{season}-webinar-{year}", "thought-leadership-{year}",
                       "abm-nordics-{year}"], [""], ["carousel", "video", "lead-gen-form", ""]),
        ("cpc", 4, ["sponsored-content-{season}-{year}"], [""], ["single-image", "video"]),
    ],
    "facebook": [
        ("social", 5, ["{season}-campaign-{year}"], [""], ["post", ""]),
        ("cpc", 5, ["retargeting-{year}", "{season}-campaign-{year}"], [""],
         ["carousel", "video"]),
    ],
    "newsletter": [
        ("email", 1, ["newsletter-{year}-{month}"], [""], ["header-link", "cta-button", ""]),
    ],
    "webinar": [
        ("email", 1, ["{season}-webinar-{year}"], [""], ["invitation", "reminder", ""]),
    ],
    "referral": [
        ("referral", 1, ["partner-program-{year}", ""], [""], [""]),
    ],
    "event": [
        ("event", 1, ["nordic-sales-summit-{year}", "trade-fair-{season}-{year}",
                      "breakfast-seminar-{season}-{year}"], [""], [""]),
    ],
}
UTM_SOURCE_WEIGHTS = {"google": 25, "linkedin": 15, "newsletter": 10, "webinar": 8,
                      "facebook": 8, "referral": 8, "event": 6, "": 20}

# How likely each lead status is as a contact's current one, by where its
# company stands. Positions follow [initial, first working status, the
# others in list order] -- with the default lists: Open, Contacting,
# Qualified, Disqualified, Nurture. Statuses an admin added get EXTRA_WEIGHT.
STATUS_WEIGHTS = {
    "lead": [35, 25, 12, 13, 15],       # in the entry category (Lead)
    "mql": [12, 30, 35, 8, 15],         # moved on to another active one (MQL)
    "converted": [5, 12, 70, 3, 10],    # went on to Opportunity, Customer, ...
    "lost": [5, 10, 15, 55, 15],        # ended in the Lost group
}
EXTRA_WEIGHT = 5

# Where the companies go: active categories hold most of them so the lead
# board is full. The second value is how many of the companies in a
# category without lead status came there through the lead funnel.
GROUP_WEIGHTS = {"potential": (8, 1.0), "customer": (12, 0.7), "partner": (4, 0.25),
                 "lost": (3, 1.0), "other": (3, 0.3)}
ENTRY_WEIGHT, OTHER_ACTIVE_WEIGHT = 45, 20

_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "ø": "o", "æ": "ae", "ü": "u",
                       "é": "e"})


def database_is_empty():
    """True when the database has neither companies nor users (a fresh install)."""
    return not Company.select().exists() and not User.select().exists()


def load_demo(contacts=1000, seed=7, today=None):
    """Fill a migrated database that has the default lists with demo data.

    Creates the DEMO_USERS that do not exist yet (password DEMO_PASSWORD),
    max(1, contacts // 5) companies and exactly `contacts` contacts, with
    their history. Returns the counts of the rows it created.
    """
    if contacts < 1:
        raise ValueError("contacts must be at least 1")
    today = today or datetime.date.today()
    rng = random.Random(seed)
    with database.atomic():
        users, created_users = _ensure_users()
        generator = _Generator(rng, today, users)
        writer = _Writer()
        generator.generate(max(1, contacts // 5), contacts, writer)
        writer.finish()
        _ensure_web_form(users, generator.entry)
        activities = _demo_activities(rng, users, today)
    return {"users": created_users, **writer.counts, "activities": activities}


# Per rep language: (a call's note, a follow-up's next step), a few of each.
DEMO_WORDS = {
    "en": [("Called, interested, wants a demo.", "Demo"),
           ("Left a voicemail.", "Call again"),
           ("Sent the price list by e-mail.", "Follow up on the offer")],
    "sv": [("Ringde, intresserad, vill se en demo.", "Demo"),
           ("Lämnade ett röstmeddelande.", "Ring igen"),
           ("Skickade prislistan via e-post.", "Följ upp offerten")],
    "nb": [("Ringte, interessert, vil se en demo.", "Demo"),
           ("La igjen en talemelding.", "Ring igjen"),
           ("Sendte prislisten på e-post.", "Følg opp tilbudet")],
}
DEMO_LEADS_PER_REP = 12


def _demo_activities(rng, users, today):
    """A call and a follow-up on a dozen leads of each rep: some follow-ups overdue,
    some due today, the rest in the coming days (R24, R25); the rest of the leads
    have no next step. Written through the one function that records activities."""
    count = 0
    start = datetime.datetime.combine(today, datetime.time(9, 0))
    for user_id, role in users:
        if role != "rep":
            continue
        rep = User.get_by_id(user_id)
        words = DEMO_WORDS.get(rep.language, DEMO_WORDS["en"])
        leads = (Contact.select(Contact.id).where(Contact.owner == user_id,
                                                  Contact.lead_status.is_null(False))
                 .order_by(Contact.id).limit(DEMO_LEADS_PER_REP))
        for number, contact in enumerate(leads):
            note, step = words[number % len(words)]
            add_activity(rep, "call", note, contact=contact.id,
                         created_at=start - datetime.timedelta(days=rng.randint(1, 20)))
            # Overdue (a few), due today, then over the next days.
            offset = (-rng.randint(1, 5) * 24 if number < 3 else 0 if number < 6
                      else rng.randint(1, 10) * 24) + rng.choice((0, 1, 2, 5, 6))
            add_activity(rep, "follow_up", step, contact=contact.id,
                         due_at=start + datetime.timedelta(hours=offset),
                         created_at=start - datetime.timedelta(hours=rng.randint(1, 20)))
            count += 2
    return count


def _ensure_web_form(users, category):
    """The web form the demo's web leads came in through, with a distribution flow
    handing each new lead to the next rep in turn (R21, R22)."""
    if category is None or WebForm.select().where(WebForm.name == FORM_NAME).exists():
        return
    reps = [user_id for user_id, role in users if role == "rep"]
    flow = save_flow(None, Actor.system(), FLOW_NAME, "round_robin", True, reps)
    save_web_form(None, Actor.system(), FORM_NAME, category.id, flow.id,
                  default_field_config())


def _ensure_users():
    """The demo users by email; missing ones are created with one shared hash."""
    password_hash = generate_password_hash(DEMO_PASSWORD)
    existing = {u.email: u.id for u in User.select().where(
        User.email.in_([email for email, *_ in DEMO_USERS]))}
    created = 0
    users = []
    for email, name, role, language in DEMO_USERS:
        if email not in existing:
            existing[email] = (User.insert(email=email, name=name, role=role,
                                           language=language, password_hash=password_hash)
                               .execute())
            created += 1
        users.append((existing[email], role))
    return users, created


class _Writer:
    """Buffers rows per table and writes them with explicit ids in chunks.

    Everything is written whenever a thousand contacts are buffered, tables
    in foreign-key order, so each row's company or contact already exists.
    """
    TABLES = {
        "companies": (Company, [Company.id, Company.name, Company.name_key, Company.category,
                                Company.owner,
                                Company.phone, Company.email, Company.website, Company.city,
                                Company.country, Company.created_at, Company.updated_at,
                                Company.version]),
        "contacts": (Contact, [Contact.id, Contact.company, Contact.first_name,
                               Contact.last_name, Contact.title, Contact.email, Contact.phone,
                               Contact.owner, Contact.lead_status, Contact.status_changed_at,
                               Contact.utm_source, Contact.utm_medium, Contact.utm_campaign,
                               Contact.utm_term, Contact.utm_content, Contact.created_at,
                               Contact.updated_at, Contact.version, Contact.next_step_text]),
        "history": (History, [History.id, History.kind, History.created_at, History.company,
                              History.contact, History.from_status, History.to_status,
                              History.from_category, History.to_category, History.actor,
                              History.source, History.source_label, History.activity_action]),
    }
    # Every field with a default is in the statement (peewee adds the ones left out);
    # these last ones get the same value on every demo row.
    TRAILING = {"companies": (0,), "history": ("",)}

    def __init__(self):
        self.buffers = {name: [] for name in self.TABLES}
        self.counts = {name: 0 for name in self.TABLES}
        self.next_ids = {name: (model.select(fn.MAX(model.id)).scalar() or 0) + 1
                         for name, (model, _) in self.TABLES.items()}
        self.statements = {}

    def add(self, table, *values):
        """Buffer one row (without its id) and return the id it will get."""
        row_id = self.next_ids[table]
        self.next_ids[table] += 1
        self.buffers[table].append((row_id, *values, *self.TRAILING.get(table, ())))
        if table == "contacts" and len(self.buffers[table]) >= CHUNK_ROWS:
            self.flush()
        return row_id

    def flush(self):
        """Write every buffer, in chunks of at most CHUNK_ROWS rows."""
        for name, rows in self.buffers.items():
            for chunk in chunked(rows, CHUNK_ROWS):
                self._insert(name, chunk)
            self.counts[name] += len(rows)
            self.buffers[name] = []

    def _insert(self, name, rows):
        """One multi-row INSERT built by insert_many.

        Peewee takes several times longer to build a statement of a thousand
        rows than SQLite takes to run it, so the SQL of each table and row
        count is built once and re-run with the next rows' values (the
        values are all plain parameters, already in their database form).
        """
        key = (name, len(rows))
        if key not in self.statements:
            model, fields = self.TABLES[name]
            self.statements[key] = model.insert_many(rows, fields=fields).sql()[0]
        database.execute_sql(self.statements[key], [value for row in rows for value in row])

    def finish(self):
        """Write what is left and let the database hand out ids after ours."""
        self.flush()
        if isinstance(database.obj, PostgresqlDatabase):
            # Explicit ids leave PostgreSQL's sequences behind; move them on
            # so the next ordinary INSERT does not collide.
            for model, _ in self.TABLES.values():
                table = model._meta.table_name
                database.execute_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT MAX(id) FROM {table}))")


class _Generator:
    """Makes the companies, contacts and history rows from one random generator."""

    def __init__(self, rng, today, users):
        self.rng = rng
        self.end = datetime.datetime.combine(today, datetime.time())
        self.origin = self.end - datetime.timedelta(days=DAYS_BACK)
        self.reps = [user_id for user_id, role in users if role == "rep"]
        self.managers = [user_id for user_id, role in users if role == "manager"]
        self.used_names = set()
        self.countries = list(COUNTRIES.values())
        self.country_weights = [c["weight"] for c in self.countries]
        self._load_lists()

    def _load_lists(self):
        """Read the categories and statuses and decide how each is used."""
        categories = list(Category.ordered())
        active = [c for c in categories if c.lead_status_active]
        # Companies enter the funnel in the first active category (Lead).
        self.entry = active[0] if active else None
        self.categories = categories
        self.category_weights = []
        for category in categories:
            if category.lead_status_active:
                weight = ENTRY_WEIGHT if category is self.entry else OTHER_ACTIVE_WEIGHT
            else:
                weight = GROUP_WEIGHTS.get(category.group, GROUP_WEIGHTS["other"])[0]
            self.category_weights.append(weight)
        initial = LeadStatus.initial()
        others = [s.id for s in LeadStatus.ordered() if s.id != initial.id]
        self.statuses = [initial.id] + others
        self.initial = initial.id
        self.working = others[0] if others else None
        # The last status (Nurture) is where leads that go quiet wait.
        self.parking = others[-1] if len(others) > 2 else None

    # --- Companies -----------------------------------------------------------

    def generate(self, company_count, contact_count, writer):
        """Hand every row of the demo to `writer`."""
        for index, size in enumerate(self._company_sizes(company_count, contact_count)):
            # The first companies take one category each so every category is used.
            if index < len(self.categories):
                category = self.categories[index]
            else:
                category = self.rng.choices(self.categories, self.category_weights)[0]
            self._company(category, size, writer)

    def _company_sizes(self, company_count, contact_count):
        """1-10 contacts per company, adding up to exactly `contact_count`."""
        rng = self.rng
        top = max(1, min(10, round(2 * contact_count / company_count - 1)))
        sizes = [rng.randint(1, top) for _ in range(company_count)]
        missing = contact_count - sum(sizes)
        while missing:
            index = rng.randrange(company_count)
            if missing > 0 and sizes[index] < 10:
                sizes[index] += 1
                missing -= 1
            elif missing < 0 and sizes[index] > 1:
                sizes[index] -= 1
                missing += 1
        return sizes

    def _company(self, category, size, writer):
        """One company with its category history and its `size` contacts."""
        rng = self.rng
        country = rng.choices(self.countries, self.country_weights)[0]
        city = rng.choice(country["cities"])
        name, domain = self._company_name(country, city)
        owner = (rng.choice(self.managers) if self.managers and rng.random() < 0.1
                 else rng.choice(self.reps))
        funnel = self._came_through_funnel(category)
        created = self._company_created(older=funnel and not category.lead_status_active)
        moved = None
        if funnel and category.id != self.entry.id:
            span = self._seconds(self.end) - self._seconds(created)
            moved = created + datetime.timedelta(
                seconds=int(span * rng.uniform(0.15, 0.85)))
        company_id = writer.add(
            "companies", name, name_key(name), category.id, owner, self._phone(country),
            f"info@{domain}",
            f"https://www.{domain}", city, country["name"], created, moved or created)

        # Web forms create leads in the entry category (R21).
        via_form = funnel and rng.random() < 0.25
        first_category = self.entry.id if funnel else category.id
        writer.add("history", History.CATEGORY, created, company_id, None, None, None,
                   None, first_category, None if via_form else owner,
                   "form" if via_form else "user", FORM_LABEL if via_form else "")
        if moved:
            writer.add("history", History.CATEGORY, moved, company_id, None, None, None,
                       self.entry.id, category.id, owner, "user", "")
        self._contacts(category, company_id, owner, country, domain, created, moved,
                       funnel, via_form, size, writer)

    def _came_through_funnel(self, category):
        """Whether the company started in the entry category and was moved on."""
        if self.entry is None:
            return False
        if category.lead_status_active:
            return True
        share = GROUP_WEIGHTS.get(category.group, GROUP_WEIGHTS["other"])[1]
        return self.rng.random() < share

    def _company_created(self, older=False):
        """A working-day moment, more often recent; `older` keeps three weeks back."""
        rng = self.rng
        if older:
            days = rng.randint(21, DAYS_BACK)
        else:
            # The power skews creation towards recent weeks: the pipeline grows.
            days = 1 + int((DAYS_BACK - 1) * rng.random() ** 1.6)
        return (self.end - datetime.timedelta(days=days)
                + datetime.timedelta(seconds=rng.randint(*WORKDAY)))

    def _company_name(self, country, city):
        """A company name and its e-mail domain; a taken name gets its city added."""
        rng = self.rng
        for attempt in range(4):
            pattern = rng.random()
            if pattern < 0.45:
                words = [rng.choice(country["stems"]), rng.choice(country["industries"])]
            elif pattern < 0.65:
                words = [rng.choice(country["places"]), rng.choice(country["industries"])]
            elif pattern < 0.75:
                first, second = rng.sample(country["stems"], 2)
                words = [first, "&", second]
            else:
                words = [rng.choice(BRANDS), rng.choice(BRAND_INDUSTRIES)]
            if attempt == 3:
                words.append(city)
            name = " ".join(words + [rng.choice(country["suffixes"])])
            if name not in self.used_names:
                break
        self.used_names.add(name)
        domain = "".join(_ascii(word) for word in words if word != "&")
        return name, f"{domain}.{country['tld']}"

    # --- Contacts ------------------------------------------------------------

    def _contacts(self, category, company_id, owner, country, domain, created, moved,
                  funnel, via_form, size, writer):
        """The company's contacts, each with its lead status history."""
        rng = self.rng
        profile = self._status_profile(category)
        start, end = self._seconds(created), self._seconds(self.end)
        moved_at = self._seconds(moved) if moved else None
        emails = set()
        for number in range(size):
            if number == 0:
                contact_created = start + rng.randint(60, 600)
            else:
                # Most colleagues are added soon after the company, a few much later.
                contact_created = start + int((end - start) * rng.random() ** 2)
            person = rng.choice(self.countries) if rng.random() < 0.15 else country
            first = rng.choice(person["first_names"])
            last = rng.choice(person["last_names"])
            email = f"{_ascii(first)}.{_ascii(last)}"
            if email in emails:
                email += str(number + 1)
            emails.add(email)
            contact_owner = owner if rng.random() < 0.85 else rng.choice(self.reps)
            utm = self._utm(self._datetime(contact_created),
                            force=number == 0 and via_form)

            # R9: a contact gets a status only if created while lead status was
            # active for its company; after a move out it keeps it, frozen (R11).
            chain = []
            if category.lead_status_active:
                chain = self._status_chain(profile, contact_created, end - 1)
            elif funnel and contact_created < moved_at:
                chain = self._status_chain(profile, contact_created, moved_at - 1)
            status, changed = chain[-1] if chain else (None, contact_created)
            contact_id = writer.add(
                "contacts", company_id, first, last, rng.choice(TITLES),
                f"{email}@{domain}", self._phone(person), contact_owner, status,
                self._datetime(changed) if chain else None, *utm,
                self._datetime(contact_created), self._datetime(changed),
                # The version counts the contact's lead status changes; no next
                # step yet (the demo's follow-ups come after, through the model).
                len(chain), "")

            from_form = bool(utm[0]) and (number == 0 and via_form or rng.random() < 0.1)
            previous = None
            for step, (to_status, moment) in enumerate(chain):
                form_step = step == 0 and from_form
                writer.add("history", History.LEAD_STATUS, self._datetime(moment), company_id,
                           contact_id, previous, to_status, None, None,
                           None if form_step else contact_owner,
                           "form" if form_step else "user", FORM_LABEL if form_step else "")
                previous = to_status

    def _status_profile(self, category):
        """Which STATUS_WEIGHTS fit the contacts of a company in `category`."""
        if category.lead_status_active:
            return "lead" if category.id == self.entry.id else "mql"
        return "lost" if category.group == "lost" else "converted"

    def _status_chain(self, profile, start, last_moment):
        """[(status id, second)]: the initial status at `start`, then plausible
        steps to a status drawn from the profile, all by `last_moment`."""
        rng = self.rng
        weights = STATUS_WEIGHTS[profile]
        target = rng.choices(self.statuses, [
            weights[i] if i < len(weights) else EXTRA_WEIGHT
            for i in range(len(self.statuses))])[0]
        path = [self.initial]
        if target == self.working:
            path.append(target)
        elif target != self.initial:
            if self.parking not in (None, target) and rng.random() < 0.1:
                # Went quiet for a while, then came back to life.
                path += [self.working, self.parking]
            if rng.random() < 0.85:
                path.append(self.working)
            path.append(target)
        steps = len(path) - 1
        span = last_moment - start
        if steps and span < 60 * steps:
            # Created moments before the company moved on: no time to work it.
            path, steps = [self.initial], 0
        moments = [start]
        if steps:
            # Days to weeks between steps, squeezed into the time there was.
            gaps = [rng.expovariate(1 / (7 * 86400)) + 600 for _ in range(steps)]
            scale = min(1.0, 0.95 * span / sum(gaps))
            for gap in gaps:
                moments.append(moments[-1] + max(1, int(gap * scale)))
        return list(zip(path, moments))

    def _utm(self, created, force=False):
        """(source, medium, campaign, term, content); empty for direct traffic."""
        rng = self.rng
        sources, weights = list(UTM_SOURCE_WEIGHTS), list(UTM_SOURCE_WEIGHTS.values())
        if force:
            # A web form always knows where its visitor came from.
            weights = [weight if source else 0 for source, weight in zip(sources, weights)]
        source = rng.choices(sources, weights)[0]
        if not source:
            return ("", "", "", "", "")
        mediums = UTM_SOURCES[source]
        medium, _, campaigns, terms, contents = rng.choices(
            mediums, [m[1] for m in mediums])[0]
        season = ("winter", "spring", "summer", "autumn")[created.month % 12 // 3]
        campaign = rng.choice(campaigns).format(year=created.year, season=season,
                                                month=f"{created.month:02d}")
        return (source, medium, campaign, rng.choice(terms), rng.choice(contents))

    # --- Small helpers -------------------------------------------------------

    def _phone(self, country):
        pattern = self.rng.choice(country["phones"])
        return "".join(str(self.rng.randrange(10)) if ch == "#" else ch for ch in pattern)

    def _seconds(self, moment):
        """Seconds since the origin: plain integers are cheap to add and compare."""
        return int((moment - self.origin).total_seconds())

    def _datetime(self, seconds):
        return self.origin + datetime.timedelta(seconds=seconds)


def _ascii(text):
    """Lower-case a Nordic word into letters and digits fit for an address."""
    return "".join(ch for ch in text.lower().translate(_FOLD) if ch.isalnum())
