"""Lead statuses, categories and category groups in the reader's language (R23).

Every entry of these lists has a default name (and description) and may have
one per interface language; an empty one falls back to the default. A
`ListNames` names them for one reader: it reads each list once, on first use,
so a page naming hundreds of rows costs at most three small queries.
"""
from .rules import RuleViolation
from .schema import CATEGORY_GROUPS, LANGUAGES, N_
from .values import clean_text

NAME_MAX = 100
DESCRIPTION_MAX = 1000
# The per-language columns an admin may fill: name_en, description_en, name_sv, ...
TRANSLATION_FIELDS = tuple(f"{kind}_{language}" for language in LANGUAGES
                           for kind in ("name", "description"))
NAME_FIELDS = tuple(f"name_{language}" for language in LANGUAGES)


class ListNames:
    """Names and descriptions of the lists in `language`.

    Give it a LeadStatus, Category or id (a group as its code); rows come
    from `vocabulary` (models.search.Vocabulary), which reads each list once.
    A row not in the lists (a new, unsaved one) is named from itself.
    """

    def __init__(self, language, vocabulary=None):
        if vocabulary is None:
            from .search import Vocabulary
            vocabulary = Vocabulary()
        self.language = language if language in LANGUAGES else "en"
        self.vocabulary = vocabulary

    def _row(self, rows, value):
        """The row `value` stands for: itself when it was read whole (a join, a list),
        else the list's row of that id (the list is read on first use)."""
        if value is None or value == "":
            return None
        if hasattr(value, "name_in"):
            data = value.__data__
            if data.get("name") is not None and f"name_{self.language}" in data \
                    and "description" in data:
                return value
            return rows().get(value.id, value if value.id is None else None)
        return rows().get(value)

    def _statuses(self):
        return self.vocabulary.statuses

    def _categories(self):
        return self.vocabulary.categories

    def status(self, status):
        row = self._row(self._statuses, status)
        return row.name_in(self.language) if row else ""

    def status_description(self, status):
        row = self._row(self._statuses, status)
        return row.description_in(self.language) if row else ""

    def category(self, category):
        row = self._row(self._categories, category)
        return row.name_in(self.language) if row else ""

    def category_description(self, category):
        row = self._row(self._categories, category)
        return row.description_in(self.language) if row else ""

    def group(self, code):
        """A category group's name; an unknown code is shown as it is."""
        row = self.vocabulary.groups.get(code)
        return row.name_in(self.language) if row else str(code or "")

    def statuses(self):
        """{status id: name}, every status, for pages that name many rows."""
        return {i: s.name_in(self.language) for i, s in self.vocabulary.statuses.items()}

    def categories(self):
        """{category id: name}, every category."""
        return {i: c.name_in(self.language) for i, c in self.vocabulary.categories.items()}

    def groups(self):
        """[(code, name)] of the fixed groups, in their order (R1)."""
        return [(code, self.group(code)) for code in CATEGORY_GROUPS]


def clean_translations(translations):
    """The per-language names and descriptions an admin gave: only name_xx and
    description_xx of the interface languages, stripped and not too long.

    A refusal names the form field in its `field` parameter.
    """
    cleaned = {}
    for field, value in (translations or {}).items():
        if field not in TRANSLATION_FIELDS:
            raise RuleViolation(N_("Names and descriptions can only be given in English, "
                                   "Swedish and Norwegian."))
        language = LANGUAGES[field.rsplit("_", 1)[1]]
        if field.startswith("name_"):
            value = clean_text(value, NAME_MAX, field, too_long=N_(
                "The %(language)s name can be at most %(limit)s characters."),
                language=language)
        else:
            value = clean_text(value, DESCRIPTION_MAX, field, multiline=True, too_long=N_(
                "The %(language)s description can be at most %(limit)s characters."),
                language=language)
        cleaned[field] = value
    return cleaned


def check_names_unique(name, translations, others, taken_message, taken_in_message):
    """R23: the default name, and the name shown in each language, differ from every
    other entry's (`others`: the other rows, retired ones too, so a restored one
    cannot clash).

    Compared case-insensitively in Python: SQLite's LOWER() leaves Å and Ö alone.
    """
    if any(other.name.casefold() == name.casefold() for other in others):
        raise RuleViolation(taken_message, name=name, field="name")
    for language, label in LANGUAGES.items():
        own = translations.get(f"name_{language}")
        shown = own or name
        if any(other.name_in(language).casefold() == shown.casefold() for other in others):
            raise RuleViolation(taken_in_message, name=shown, language=label,
                                field=f"name_{language}" if own else "name")
