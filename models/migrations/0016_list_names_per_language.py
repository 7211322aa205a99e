"""R23: categories and category groups named per language, and the default
lists of an existing database named in every interface language; sale events
and the indexes the timelines read web-form messages by.

Categories get a name and a description per language, like lead statuses
(0003); the fixed category groups get a table of their own holding their
names. Then every status and category that still carries a default name
(in any language, the words used before this migration included, such as
"Kontaktar") gets the seeds' words for the other languages in its empty
per-language columns, and a default name or description in the words used
before is corrected to the seeds' own. An entry an admin renamed is left
alone, and so is every per-language name an admin gave.

The words are copied here rather than imported, so that this migration
does the same thing whatever later versions of models/setup.py say.
"""
import datetime

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model, TextField

LANGUAGES = ("en", "sv", "nb")

# Per entry: the seeds' words per language as (name, description), then the
# words of earlier versions per language, which count as "not renamed".
STATUSES = [
    ({"en": ("Open", "No sales contact made yet."),
      "sv": ("Öppen", "Ingen säljkontakt har tagits ännu."),
      "nb": ("Åpen", "Ingen salgskontakt er gjort ennå.")},
     {"nb": ("Åpen", "Ingen salgskontakt er tatt ennå.")}),
    ({"en": ("Contacting", "Sales is actively trying to reach the lead."),
      "sv": ("Kontakt tas", "Du försöker nå leadden."),
      "nb": ("Kontakter", "Salg prøver aktivt å nå leadden.")},
     {"sv": ("Kontaktar", "Sälj försöker aktivt nå leadet."),
      "nb": ("Kontakter", "Salg prøver aktivt å nå leadet.")}),
    ({"en": ("Qualified", "Meets the requirements to move on in the sales process."),
      "sv": ("Kvalificerad", "Leadden har rätt profil och intresse."),
      "nb": ("Kvalifisert", "Oppfyller alle krav til å gå videre i salgsprosessen.")},
     {"sv": ("Kvalificerad", "Uppfyller kraven för att gå vidare i säljprocessen."),
      "nb": ("Kvalifisert", "Oppfyller kravene for å gå videre i salgsprosessen.")}),
    ({"en": ("Disqualified", "Does not meet the criteria."),
      "sv": ("Diskvalificerad", "Leadden är inte relevant."),
      "nb": ("Diskvalifisert", "Leadden oppfyller ikke kriteriene.")},
     {"sv": ("Diskvalificerad", "Uppfyller inte kriterierna."),
      "nb": ("Diskvalifisert", "Oppfyller ikke kriteriene.")}),
    ({"en": ("Nurture", "Not ready now, may become relevant later."),
      "sv": ("Återbearbetning", "Följ upp senare."),
      "nb": ("Varmes opp igjen", "Ikke klar nå, men kan bli aktuell senere.")},
     {"sv": ("Återbearbetning", "Inte redo nu, kan bli aktuell senare."),
      "nb": ("Oppfølging senere", "Ikke klar nå, kan bli aktuell senere.")}),
]

CATEGORIES = [
    ({"en": ("Lead", "First interest."),
      "sv": ("Lead", "Första intresse."),
      "nb": ("Lead", "Innledende interesse.")},
     {}),
    ({"en": ("Marketing qualified lead (MQL)",
             "Matches the target group or asks to be contacted."),
      "sv": ("Marknadsföringskvalificerat lead (MQL)",
             "Matchar målgruppen eller ber om fortsatt kontakt."),
      "nb": ("Markedsføringskvalifisert lead (MQL)",
             "Matcher målgruppen eller ber om videre kontakt.")},
     {"sv": ("Marknadskvalificerat lead (MQL)", ""),
      "nb": ("Markedskvalifisert lead (MQL)", "")}),
    ({"en": ("Opportunity", "An active sales process."),
      "sv": ("Affärsmöjlighet", "Aktiv säljprocess."),
      "nb": ("Mulighet", "Aktiv salgsprosess.")},
     {"nb": ("Salgsmulighet", "")}),
    ({"en": ("Lost opportunity", "A potential customer whose sales were lost."),
      "sv": ("Förlorad möjlighet", "En potentiell kund med förlorade affärer."),
      "nb": ("Tapt mulighet", "En potensiell kunde med tapte salg.")},
     {"sv": ("Förlorad affärsmöjlighet", ""),
      "nb": ("Tapt salgsmulighet", "")}),
    ({"en": ("Customer", "Buys from us."),
      "sv": ("Kund", "Köper av oss."),
      "nb": ("Kunde", "Kjøper fra oss.")},
     {}),
    ({"en": ("Partner", "Works with us."),
      "sv": ("Partner", "Samarbetar med oss."),
      "nb": ("Partner", "Samarbeider med oss.")},
     {}),
]

GROUPS = {
    "potential": {"en": "Potential customer", "sv": "Potentiell kund",
                  "nb": "Potensiell kunde"},
    "customer": {"en": "Customer", "sv": "Kund", "nb": "Kunde"},
    "partner": {"en": "Partner", "sv": "Partner", "nb": "Partner"},
    "lost": {"en": "Lost", "sv": "Förlorad", "nb": "Tapt"},
    "other": {"en": "Other", "sv": "Övrigt", "nb": "Annet"},
}


def _models(db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class CategoryGroup(Base):
        code = CharField(unique=True)
        name = CharField()
        name_en = CharField(default="")
        name_sv = CharField(default="")
        name_nb = CharField(default="")

    class Category(Base):
        name = CharField()
        description = TextField(default="")
        sort_order = IntegerField(default=0)

    class LeadStatus(Base):
        name = CharField()
        description = TextField(default="")

    for model in (Category, LeadStatus):
        for language in LANGUAGES:
            model._meta.add_field(f"name_{language}", CharField(default=""))
            model._meta.add_field(f"description_{language}", TextField(default=""))
    class User(Base):
        email = CharField(unique=True)

    class Company(Base):
        name = CharField()

    class Sale(Base):
        title = CharField()

    class SaleEvent(Base):
        """R14: a sale registered, marked Sold, Lost or open again."""
        kind = CharField()
        sale = ForeignKeyField(Sale, backref="events", on_delete="CASCADE")
        company = ForeignKeyField(Company, backref="+", on_delete="CASCADE")
        actor = ForeignKeyField(User, null=True, backref="+")
        created_at = DateTimeField(default=datetime.datetime.now)

        class Meta:
            indexes = ((("company", "created_at"), False),)

    return CategoryGroup, Category, LeadStatus, SaleEvent


def _languages_of(name, entry):
    """The languages in which `name` is one of `entry`'s default names, now or before."""
    words, before = entry
    return [language for language in LANGUAGES
            if name in (words[language][0], before.get(language, ("",))[0])]


def database_language(statuses):
    """The language the default statuses were created in: the one most of their names are in."""
    votes = dict.fromkeys(LANGUAGES, 0)
    for status in statuses:
        for entry in STATUSES:
            languages = _languages_of(status.name, entry)
            if len(languages) == 1:
                votes[languages[0]] += 1
    best = max(LANGUAGES, key=lambda language: votes[language])
    return best if votes[best] else "en"


def name_defaults(rows, entries, default_language):
    """Give every row still named as a default entry the seeds' words (see the docstring)."""
    for row in rows:
        for entry in entries:
            languages = _languages_of(row.name, entry)
            if not languages:
                continue
            words, before = entry
            language = default_language if default_language in languages else languages[0]
            # An empty description was the default of categories before.
            known = {""} | {pair[1] for pair in list(words.values()) + list(before.values())}
            default_description = row.description in known
            row.name = words[language][0]
            if default_description:
                row.description = words[language][1]
            for other in LANGUAGES:
                if other == language:
                    continue
                if not getattr(row, f"name_{other}"):
                    setattr(row, f"name_{other}", words[other][0])
                if default_description and not getattr(row, f"description_{other}"):
                    setattr(row, f"description_{other}", words[other][1])
            row.save()
            break


def up(migrator, db):
    CategoryGroup, Category, LeadStatus, SaleEvent = _models(db)
    migrator.migrate(*[
        migrator.add_column("category", f"{kind}_{language}",
                            CharField(default="") if kind == "name" else TextField(default=""))
        for language in LANGUAGES for kind in ("name", "description")],
        # The contact and company cards read their web-form messages by these.
        migrator.add_index("web_form_submission", ("contact_id", "created_at")),
        migrator.add_index("web_form_submission", ("company_id", "created_at")))
    db.create_tables([CategoryGroup, SaleEvent])
    statuses = list(LeadStatus.select().order_by(LeadStatus.id))
    language = database_language(statuses)
    CategoryGroup.insert_many([
        {"code": code, "name": words[language],
         **{f"name_{other}": words[other] for other in LANGUAGES if other != language}}
        for code, words in GROUPS.items()]).execute()
    name_defaults(statuses, STATUSES, language)
    name_defaults(Category.select().order_by(Category.id), CATEGORIES, language)


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS "sale_event"')
    db.execute_sql('DROP TABLE IF EXISTS "category_group"')
    migrator.migrate(
        migrator.drop_index("web_form_submission", "web_form_submission_company_id_created_at"),
        migrator.drop_index("web_form_submission", "web_form_submission_contact_id_created_at"),
        *[migrator.drop_column("category", f"{kind}_{language}")
          for language in LANGUAGES for kind in ("name", "description")])
