"""Create or upgrade the schema, and give a new database its default lists."""
import os

from playhouse.migrations import Runner

from .schema import Category, LeadStatus

MIGRATIONS_DIR = os.path.join(os.path.dirname(__file__), "migrations")

# R3 and R5 in each interface language. Statuses are listed in R5 order;
# categories as (name, group, lead status enabled).
DEFAULT_LISTS = {
    "en": {
        "statuses": [
            ("Open", "No sales contact made yet."),
            ("Contacting", "Sales is actively trying to reach the lead."),
            ("Qualified", "Meets the requirements to move on in the sales process."),
            ("Disqualified", "Does not meet the criteria."),
            ("Nurture", "Not ready now, may become relevant later."),
        ],
        "categories": [
            ("Lead", "potential", True),
            ("Marketing qualified lead (MQL)", "potential", True),
            ("Opportunity", "potential", False),
            ("Lost opportunity", "potential", False),
            ("Customer", "customer", False),
            ("Partner", "partner", False),
        ],
    },
    "sv": {
        "statuses": [
            ("Öppen", "Ingen säljkontakt har tagits ännu."),
            ("Kontaktar", "Sälj försöker aktivt nå leadet."),
            ("Kvalificerad", "Uppfyller kraven för att gå vidare i säljprocessen."),
            ("Diskvalificerad", "Uppfyller inte kriterierna."),
            ("Återbearbetning", "Inte redo nu, kan bli aktuell senare."),
        ],
        "categories": [
            ("Lead", "potential", True),
            ("Marknadskvalificerat lead (MQL)", "potential", True),
            ("Affärsmöjlighet", "potential", False),
            ("Förlorad affärsmöjlighet", "potential", False),
            ("Kund", "customer", False),
            ("Partner", "partner", False),
        ],
    },
    "nb": {
        "statuses": [
            ("Åpen", "Ingen salgskontakt er tatt ennå."),
            ("Kontakter", "Salg prøver aktivt å nå leadet."),
            ("Kvalifisert", "Oppfyller kravene for å gå videre i salgsprosessen."),
            ("Diskvalifisert", "Oppfyller ikke kriteriene."),
            ("Oppfølging senere", "Ikke klar nå, kan bli aktuell senere."),
        ],
        "categories": [
            ("Lead", "potential", True),
            ("Markedskvalifisert lead (MQL)", "potential", True),
            ("Salgsmulighet", "potential", False),
            ("Tapt salgsmulighet", "potential", False),
            ("Kunde", "customer", False),
            ("Partner", "partner", False),
        ],
    },
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


def create_default_lists(db, language="en"):
    """R3 + R5: the default categories, and the statuses in the chosen language."""
    lists = DEFAULT_LISTS.get(language, DEFAULT_LISTS["en"])
    with db.atomic():
        statuses = list(LeadStatus.ordered(include_retired=True))
        for status, (name, description) in zip(statuses, lists["statuses"]):
            status.name, status.description = name, description
            status.save()
        Category.insert_many([
            {"name": name, "group": group, "lead_status_enabled": enabled,
             "sort_order": order}
            for order, (name, group, enabled) in enumerate(lists["categories"])
        ]).execute()
