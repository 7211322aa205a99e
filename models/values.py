"""What a value must look like before it is stored or looked up.

One function per kind of value, called by every writer alike (the web
screens, the CSV import, the public web forms, the command line, later the
API): ids and numbers, names and other text, e-mail addresses, web
addresses. A refusal is a RuleViolation naming the form field it is about.
"""
import re
import unicodedata
from urllib.parse import urlsplit

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from .errors import RuleViolation
from .schema import N_

# Ids and numbers: the largest value both databases take in a BIGINT column.
# A longer string of digits is no id of ours, and looking it up would make
# SQLite raise OverflowError.
MAX_INT = 2 ** 63 - 1
MAX_DIGITS = 18


def as_int(value):
    """An int from an int or a string of ASCII digits (not a bool, not beyond 64 bits).

    None for anything else: "²" and "٣" are digits to str.isdigit() but not
    to int() or to a database, and twenty digits overflow SQLite.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if -MAX_INT <= value <= MAX_INT else None
    if isinstance(value, str):
        value = value.strip()
        if value.isascii() and value.isdigit() and len(value) <= MAX_DIGITS:
            return int(value)
    return None


# --- Text ------------------------------------------------------------------------

# Characters nobody sees: controls, format characters (zero-width space,
# joiners, direction marks, soft hyphen), separators, unassigned code points,
# combining marks without a base, and the filler letters of Hangul and Braille.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zs", "Zl", "Zp", "Mn", "Me"})
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
LINE_BREAKS = "\n\r\t"


def has_control_character(text, multiline=False):
    """True when `text` holds a control character (NUL, escape...) a person never types.

    A multi-line text may hold line breaks and tabs.
    """
    return any(unicodedata.category(c) == "Cc" and not (multiline and c in LINE_BREAKS)
               for c in text)


def has_visible_character(text):
    return any(unicodedata.category(c) not in INVISIBLE_CATEGORIES
               and c not in INVISIBLE_LETTERS for c in text)


def clean_text(value, limit, field, multiline=False, too_long=N_("At most %(limit)s characters."),
               **params):
    """Stripped text without control characters (NUL is never stored), at most `limit` long.

    `too_long` is the message for a longer text; it may name %(limit)s (or
    %(max)s) and `params`.
    """
    text = str(value or "").strip()
    if has_control_character(text, multiline):
        raise RuleViolation(N_("This text contains characters that are not allowed."),
                            field=field)
    if len(text) > limit:
        raise RuleViolation(too_long, limit=limit, max=limit, field=field, **params)
    return text


def clean_name(value, limit, field="name", missing=N_("Enter a name."), required=True,
               **messages):
    """A name as clean_text, which must show: one made only of invisible characters
    (zero-width spaces, control or format characters) is refused. An empty
    name is refused with `missing` unless `required` is False."""
    name = clean_text(value, limit, field, **messages)
    if not name:
        if required:
            raise RuleViolation(missing, field=field)
        return name
    if not has_visible_character(name):
        raise RuleViolation(N_("The name holds only invisible characters."), field=field)
    return name


# Telephone numbers as people write them: "+46 (0)8-123 45 67".
PHONE_PATTERN = re.compile(r"^[0-9+() .\-]*$")
PHONE_MAX = 40


def clean_phone(value, field="phone"):
    phone = clean_text(value, PHONE_MAX, field)
    if not PHONE_PATTERN.match(phone):
        raise RuleViolation(N_("Use digits, spaces and + ( ) - only."), field=field)
    return phone


# --- E-mail addresses --------------------------------------------------------------

EMAIL_MAX = 200
# The addresses nearly everyone has: ASCII letters, digits and ._%+- before the @,
# host names of letters, digits and single hyphens after it, and a top-level domain of
# letters. email-validator accepts each of these as it is, with the domain in lower
# case; checking them here is ten times quicker (an import of 50,000 rows spent 6 s in
# it). Anything else, and the reserved names, go to email-validator.
PLAIN_EMAIL = re.compile(r"(?P<local>[A-Za-z0-9_%+-]{1,64}(?:\.[A-Za-z0-9_%+-]+)*)@"
                         r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
                         r"(?P<top>[A-Za-z]{2,63}))")


def clean_email(value, field="email", required=False):
    """A well-formed e-mail address as email-validator normalises it, or "" when
    empty and not `required`. Whether the mailbox exists is not checked (no
    DNS look-up)."""
    text = str(value or "").strip()
    if not text:
        if required:
            raise RuleViolation(N_("Enter an e-mail address."), field=field)
        return ""
    if len(text) > EMAIL_MAX:
        raise RuleViolation(N_("An e-mail address can be at most %(limit)s characters."),
                            limit=EMAIL_MAX, field=field)
    plain = PLAIN_EMAIL.fullmatch(text)
    if plain and len(plain["local"]) <= 64 and "--" not in plain["domain"] and \
            plain["top"].lower() not in SPECIAL_USE_DOMAIN_NAMES:
        return f"{plain['local']}@{plain['domain'].lower()}"
    try:
        # test_environment lets the reserved .test domain through: the demo
        # users and the tests sign in with such addresses.
        address = validate_email(text, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        raise RuleViolation(N_("%(email)s is not a valid e-mail address."), email=text[:100],
                            field=field) from None
    return address.normalized


def is_valid_email(value):
    try:
        clean_email(value, required=True)
    except RuleViolation:
        return False
    return True


# --- Web addresses -----------------------------------------------------------------

URL_MAX = 200
WEB_SCHEMES = ("http", "https")
# "www.example.se" or "example.se/about": a web address typed without its scheme.
BARE_DOMAIN = re.compile(r"^[^\s/:@]+\.[^\s/:@]+(/|$)")


def clean_url(value, field="website", limit=URL_MAX):
    """An http or https address with a host, or "" for none.

    The one rule for every stored web address (a company's website, a web
    form's thank-you redirect): `javascript:`, `data:` and every other
    scheme are refused, so no stored address can run script when clicked.
    An address typed without a scheme ("www.example.se") gets https://.
    """
    url = str(value or "").strip()
    if not url:
        return ""
    if "://" not in url and BARE_DOMAIN.match(url):
        url = "https://" + url
    host = urlsplit(url).hostname if is_web_url(url) else None
    # A host with a dot, and no "user:password@" part ("https://bank.example@evil.example").
    if len(url) > limit or not host or "." not in host or "@" in urlsplit(url).netloc:
        raise RuleViolation(N_("Enter a full address, like https://example.com"), field=field)
    return url


def is_web_url(value):
    """True for an http(s) address with a host: the only addresses shown as links.

    Strict on purpose: the scheme must open the text, and no whitespace or
    control character may hide in it (browsers drop tabs and line breaks
    from a link, so "java\\tscript:" would run as "javascript:").
    """
    if not isinstance(value, str) or not value.isprintable() or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.hostname) \
        and value.lower().startswith(tuple(f"{s}://" for s in WEB_SCHEMES))
