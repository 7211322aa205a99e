"""The Swedish and Norwegian catalogs are complete, consistent and compiled.

Pure file checks, no app: messages are extracted from the current sources the
way the README's `pybabel extract` does, then compared with the committed
views/translations/<lang>/LC_MESSAGES/messages.po and .mo files.

When one of these tests fails after you added or changed a string, run the
three commands at the top of views/translations/babel.cfg (extract, update,
compile) and translate the new entries in both .po files.
"""
import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from babel.support import Translations

ROOT = Path(__file__).parents[2]
TRANSLATIONS = ROOT / "views" / "translations"
MAPPING = TRANSLATIONS / "babel.cfg"
LOCALES = ("sv", "nb")
EXTRA_KEYWORDS = ("N_", "_l")  # on top of Babel's defaults (_ gettext ngettext lazy_gettext ...)

# printf-style conversions: %(name)s, %s, %d, %.1f ... and the escaped %%.
PLACEHOLDER = re.compile(r"%(?:\((?P<name>\w+)\))?[#0\- +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?"
                         r"[hlL]?[diouxXeEfFgGcrsa%]")


def po_path(locale):
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def load_po(locale):
    with open(po_path(locale), "rb") as handle:
        return read_po(handle, locale=locale)


def load_mo(locale):
    with open(po_path(locale).with_suffix(".mo"), "rb") as handle:
        return read_mo(handle)


def key(message):
    """How a message is looked up: its context and its msgid (the singular for plurals)."""
    msgid = message.id
    return message.context, msgid if isinstance(msgid, str) else msgid[0]


def show(message_key):
    context, msgid = message_key
    return f"{msgid!r}" + (f" (context {context!r})" if context else "")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The messages in the current sources, extracted as the README says, into a temp .pot."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    args = ["pybabel", "-q", "extract", "-F", str(MAPPING), "-o", str(pot)]
    for keyword in EXTRA_KEYWORDS:
        args += ["-k", keyword]
    CommandLineInterface().run([*args, str(ROOT)])
    with open(pot, "rb") as handle:
        template = read_po(handle)
    messages = [message for message in template if message.id]
    assert messages, "extraction found no messages; is babel.cfg right?"
    return messages


def display_time_msgids():
    """Plain strings the views translate when shown (gettext(variable), _(label)).

    Extraction cannot see them unless they are wrapped in N_(); they must be in
    the catalogs all the same.
    """
    from views.companies import CONTACT_COLUMNS, GROUP_BY
    from views.errors import MESSAGES
    from models import CATEGORY_GROUPS, ROLES
    return {(None, text) for table in (MESSAGES, CONTACT_COLUMNS, GROUP_BY, CATEGORY_GROUPS, ROLES)
            for text in table.values() if text}


def forms(message):
    """The translation as a tuple of forms (one for a singular message)."""
    string = message.string
    return (string,) if isinstance(string, str) else tuple(string)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_extracted_message_is_translated(extracted, locale):
    catalog = load_po(locale)
    problems = []
    wanted = {key(message): message for message in extracted}
    for message_key in sorted(set(wanted) | display_time_msgids(), key=show):
        message = catalog.get(message_key[1], context=message_key[0])
        if message is None:
            problems.append(f"missing: {show(message_key)}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {show(message_key)}")
        elif not all(forms(message)):
            problems.append(f"untranslated: {show(message_key)}")
        elif message_key in wanted and message.pluralizable != wanted[message_key].pluralizable:
            problems.append(f"plural/singular mismatch with the sources: {show(message_key)}")
        elif message.pluralizable and len(forms(message)) != catalog.num_plurals:
            problems.append(f"needs {catalog.num_plurals} plural forms: {show(message_key)}")
    assert not problems, (
        f"{po_path(locale).relative_to(ROOT)} is not up to date with the sources "
        f"(run extract, update, translate, compile):\n  " + "\n  ".join(problems))


@pytest.mark.parametrize("locale", LOCALES)
def test_catalog_header(locale):
    catalog = load_po(locale)
    assert str(catalog.locale) == locale
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    assert catalog.num_plurals == 2
    assert catalog.plural_expr.replace(" ", "").strip("()") == "n!=1"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match(locale):
    """A translation keeps exactly the msgid's %(name)s placeholders, and adds no stray %."""
    problems = []
    for message in load_po(locale):
        if not message.id:
            continue
        originals = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        for index, translation in enumerate(forms(message)):
            if not translation:
                continue
            original = originals[min(index, len(originals) - 1)]
            if placeholders(translation) != placeholders(original):
                problems.append(f"{original!r} -> {translation!r}: placeholders "
                                f"{sorted(placeholders(original))} vs "
                                f"{sorted(placeholders(translation))}")
            elif stray_percents(translation) != stray_percents(original):
                problems.append(f"{original!r} -> {translation!r}: a lone % (write %% "
                                f"or rephrase)")
    assert not problems, f"{po_path(locale).relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def placeholders(text):
    return {match.group(0) for match in PLACEHOLDER.finditer(text) if match.group(0) != "%%"}


def stray_percents(text):
    return PLACEHOLDER.sub("", text).count("%")


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalog_matches_po(locale):
    """The committed .mo holds exactly the .po's translations (run `pybabel compile`)."""
    po, mo = load_po(locale), load_mo(locale)
    expected = {key(m): forms(m) for m in po if m.id and all(forms(m)) and not m.fuzzy}
    compiled = {key(m): forms(m) for m in mo if m.id}
    stale = sorted((k for k in set(expected) | set(compiled)
                    if expected.get(k) != compiled.get(k)), key=show)
    assert not stale, (
        f"{po_path(locale).with_suffix('.mo').relative_to(ROOT)} is out of date; run "
        "`pybabel compile -d views/translations`. Differs: " + ", ".join(map(show, stale)))
    assert mo.plural_forms == po.plural_forms


@pytest.mark.parametrize("locale, msgid, expected", [
    ("sv", "Companies", "Företag"),
    ("nb", "Sign in", "Logg inn"),
])
def test_translations_load_from_the_configured_directory(locale, msgid, expected):
    """Flask-Babel reads BABEL_TRANSLATION_DIRECTORIES = views/translations, domain `messages`."""
    translations = Translations.load(str(TRANSLATIONS), [locale], "messages")
    assert translations.gettext(msgid) == expected
    assert translations.ngettext("%(num)s contact", "%(num)s contacts", 2) != "%(num)s contacts"


SPEC_RULE_ID = re.compile(r"\bR(?:[1-9]|[12][0-9]|3[01])\b")
JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)


def test_no_template_or_message_shows_a_spec_rule_id(extracted):
    """Rule ids (R17, ...) name rules for developers and tests; users never see one.

    Template comments may cite them; everything else in a template may reach a page.
    """
    found = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = JINJA_COMMENT.sub("", template.read_text(encoding="utf-8"))
        found += [f"{template.relative_to(ROOT)}: {match.group(0)}"
                  for match in SPEC_RULE_ID.finditer(text)]
    for message in extracted:
        for msgid in (message.id,) if isinstance(message.id, str) else message.id:
            found += [f"message {msgid!r}" for _ in SPEC_RULE_ID.finditer(msgid)]
    assert not found, "rule ids in the interface:\n  " + "\n  ".join(found)
