"""Create or upgrade the schema, and give a new database its default lists."""
import os

from playhouse.migrations import Runner

from .schema import LANGUAGES, Category, CategoryGroup, LeadStatus

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")

# R3, R5 and R23: the default lists in every interface language, in the
# seeds' own words (statuses: seed 000's list for Swedish, seed 002's table
# for Norwegian; categories: seed 002's table). Each entry maps a language
# to (name, description); statuses are in R5 order.
DEFAULT_STATUSES = [
    {"en": ("Open", "No sales contact made yet."),
     "sv": ("Öppen", "Ingen säljkontakt har tagits ännu."),
     "nb": ("Åpen", "Ingen salgskontakt er gjort ennå.")},
    {"en": ("Contacting", "Sales is actively trying to reach the lead."),
     "sv": ("Kontakt tas", "Du försöker nå leadden."),
     "nb": ("Kontakter", "Salg prøver aktivt å nå leadden.")},
    {"en": ("Qualified", "Meets the requirements to move on in the sales process."),
     "sv": ("Kvalificerad", "Leadden har rätt profil och intresse."),
     "nb": ("Kvalifisert", "Oppfyller alle krav til å gå videre i salgsprosessen.")},
    {"en": ("Disqualified", "Does not meet the criteria."),
     "sv": ("Diskvalificerad", "Leadden är inte relevant."),
     "nb": ("Diskvalifisert", "Leadden oppfyller ikke kriteriene.")},
    {"en": ("Nurture", "Not ready now, may become relevant later."),
     "sv": ("Återbearbetning", "Följ upp senare."),
     "nb": ("Varmes opp igjen", "Ikke klar nå, men kan bli aktuell senere.")},
]

# (group, lead status enabled, names and descriptions per language)
DEFAULT_CATEGORIES = [
    ("potential", True, {
        "en": ("Lead", "First interest."),
        "sv": ("Lead", "Första intresse."),
        "nb": ("Lead", "Innledende interesse.")}),
    ("potential", True, {
        "en": ("Marketing qualified lead (MQL)",
               "Matches the target group or asks to be contacted."),
        "sv": ("Marknadsföringskvalificerat lead (MQL)",
               "Matchar målgruppen eller ber om fortsatt kontakt."),
        "nb": ("Markedsføringskvalifisert lead (MQL)",
               "Matcher målgruppen eller ber om videre kontakt.")}),
    ("potential", False, {
        "en": ("Opportunity", "An active sales process."),
        "sv": ("Affärsmöjlighet", "Aktiv säljprocess."),
        "nb": ("Mulighet", "Aktiv salgsprosess.")}),
    ("potential", False, {
        "en": ("Lost opportunity", "A potential customer whose sales were lost."),
        "sv": ("Förlorad möjlighet", "En potentiell kund med förlorade affärer."),
        "nb": ("Tapt mulighet", "En potensiell kunde med tapte salg.")}),
    ("customer", False, {
        "en": ("Customer", "Buys from us."),
        "sv": ("Kund", "Köper av oss."),
        "nb": ("Kunde", "Kjøper fra oss.")}),
    ("partner", False, {
        "en": ("Partner", "Works with us."),
        "sv": ("Partner", "Samarbetar med oss."),
        "nb": ("Partner", "Samarbeider med oss.")}),
]

DEFAULT_GROUPS = {
    "potential": {"en": "Potential customer", "sv": "Potentiell kund",
                  "nb": "Potensiell kunde"},
    "customer": {"en": "Customer", "sv": "Kund", "nb": "Kunde"},
    "partner": {"en": "Partner", "sv": "Partner", "nb": "Partner"},
    "lost": {"en": "Lost", "sv": "Förlorad", "nb": "Tapt"},
    "other": {"en": "Other", "sv": "Övrigt", "nb": "Annet"},
}


def migration_runner(db):
    return Runner(db, MIGRATIONS_DIR)


def upgrade_database(db, language="en", target=None):
    """Apply pending migrations; a database that had none gets the default lists.

    Returns True when the database was new. `target` stops after the named
    migration (tests use it to build an old database).
    """
    runner = migration_runner(db)
    is_new = not runner.applied() and not db.table_exists("company")
    runner.up(target)
    if is_new and target is None:
        create_default_lists(db, language)
    return is_new


def translated(words, default_language, kinds=("name", "description")):
    """The fields of one default entry: the default name (and description) in the
    database's language, and the other languages' words in their own columns.

    The database's own language keeps its column empty, so renaming the
    default name renames it for the users of that language too.
    """
    fields = {}
    for language, entry in words.items():
        for index, kind in enumerate(kinds):
            fields[f"{kind}_{language}"] = "" if language == default_language else entry[index]
            if language == default_language:
                fields[kind] = entry[index]
    return fields


def create_default_lists(db, language="en"):
    """R3, R5, R23: the default categories, statuses and group names, named in every
    interface language, `language` being the database's own."""
    language = language if language in LANGUAGES else "en"
    with db.atomic():
        statuses = list(LeadStatus.ordered(include_retired=True))
        for status, words in zip(statuses, DEFAULT_STATUSES):
            for field, value in translated(words, language).items():
                setattr(status, field, value)
            status.save()
        Category.insert_many([
            {"group": group, "lead_status_enabled": enabled, "sort_order": order,
             **translated(words, language)}
            for order, (group, enabled, words) in enumerate(DEFAULT_CATEGORIES)
        ]).execute()
        for code, words in DEFAULT_GROUPS.items():
            names = {other: (word,) for other, word in words.items()}
            (CategoryGroup.update(**translated(names, language, ("name",)))
             .where(CategoryGroup.code == code).execute())
