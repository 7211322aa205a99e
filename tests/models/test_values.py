"""The checks every writer applies (models.values): ids, names, e-mail and web addresses."""
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from models import Actor, Category, Company, Contact, RuleViolation, create_company
from models import create_contact, update_company
from models.imports import clean_row
from models.users import create_user
from models.values import (as_int, clean_email, clean_name, clean_text, clean_url,
                           has_visible_character, is_web_url)
from models.webforms import (InvalidSubmission, WebForm, clean_submission,
                             default_field_config)


@pytest.mark.parametrize("value, number", [
    ("12", 12), (" 7 ", 7), (42, 42), ("9" * 18, int("9" * 18)), (2 ** 63 - 1, 2 ** 63 - 1),
    ("9" * 19, None), ("99999999999999999999", None), (2 ** 63, None), ("\u00b2", None),
    ("\u0663", None), ("-1", None), ("1e3", None), ("", None), (None, None), (True, None),
    ("1" * 5000, None), ([1], None)])
def test_as_int_takes_ascii_digits_within_64_bits(value, number):
    assert as_int(value) == number


@pytest.mark.parametrize("url, stored", [
    ("https://fjallbo.se", "https://fjallbo.se"), ("http://fjallbo.se/om-oss?a=1", None),
    ("www.fjallbo.se", "https://www.fjallbo.se"),
    ("fjallbo.se/kontakt", "https://fjallbo.se/kontakt"),
    ("  HTTPS://Fjallbo.se  ", "HTTPS://Fjallbo.se"), ("", "")])
def test_web_addresses_are_http_or_https(url, stored):
    assert clean_url(url) == (stored if stored is not None else url)


@pytest.mark.parametrize("url", [
    "javascript:alert(document.domain)", "JavaScript:alert(1)", "java\tscript:alert(1)",
    " javascript:alert(1)", "data:text/html,<script>alert(1)</script>", "vbscript:x",
    "ftp://fjallbo.se", "https://", "https://nordvik", "nordvik", "https://a b.se",
    "https://fjallbo.se:port", "https://bank.example@evil.example/", "//evil.example",
    "https://fjallbo.se/" + "x" * 300, "https://fjallbo.se/\x00"])
def test_other_addresses_are_refused(url):
    with pytest.raises(RuleViolation) as refused:
        clean_url(url)
    assert refused.value.params["field"] == "website"


@pytest.mark.parametrize("url, shown", [
    ("https://fjallbo.se", True), ("HTTP://x.se", True), ("javascript:alert(1)", False),
    ("java\tscript:alert(1)", False), (" https://x.se", False), ("https://", False),
    ("data:text/html,x", False), (None, False)])
def test_only_http_addresses_are_shown_as_links(url, shown):
    assert is_web_url(url) is shown


@pytest.mark.parametrize("email", ["anna..berg@x.se", ".anna@x.se", "anna.@x.se", "anna@x",
                                   "anna@@x.se", "anna berg@x.se", "anna@x..se", "@x.se",
                                   "anna@localhost", "a\x00@x.se", "x" * 190 + "@fjallbo.se"])
def test_email_validator_refuses_what_the_old_pattern_let_through(email):
    with pytest.raises(RuleViolation):
        clean_email(email)


def validator_says(text):
    try:
        return validate_email(text.strip(), check_deliverability=False,
                              test_environment=True).normalized
    except EmailNotValidError:
        return None


def cleaned(text):
    try:
        return clean_email(text, required=True)
    except RuleViolation:
        return None


ADDRESS_PARTS = st.lists(st.sampled_from(
    ["a", "Z", "9", ".", "-", "_", "+", "%", "--", "..", "x" * 30, "é", "å", "\"", " ", "!",
     "xn--", "@", "local", "test", "localhost", "onion", "123", "se", "COM", "ä.se"]),
    max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(ADDRESS_PARTS, ADDRESS_PARTS, st.sampled_from(["", ".se", ".Se", ".museum", ".x"]))
def test_plain_addresses_checked_quickly_get_what_email_validator_says(local, domain, top):
    """clean_email checks plain ASCII addresses itself: it must accept exactly what
    email-validator accepts, normalised the same way, and refuse the rest."""
    text = f"{local}@{domain}{top}"
    assert cleaned(text) == validator_says(text), text


@pytest.mark.parametrize("text", ["Anna.Berg@Fjallbo.SE", "a@b.co", "x%y+z_w-v@sub.ex-ample.org",
                                  "a" * 64 + "@x.se", "a" * 65 + "@x.se", "a@x.local",
                                  "a@x.invalid", "a@xn--90a.se", "a@x--y.se", "a@x.123",
                                  "a@" + "b" * 64 + ".se", "a@-x.se", "a@x-.se", "a.@x.se"])
def test_plain_addresses_at_the_edges_get_what_email_validator_says(text):
    assert cleaned(text) == validator_says(text)


def test_email_addresses_are_normalised_and_test_domains_allowed():
    assert clean_email(" Anna.Berg@Fjallbo.SE ") == "Anna.Berg@fjallbo.se"
    assert clean_email("rep@tavla.test") == "rep@tavla.test"
    assert clean_email("") == ""


@pytest.mark.parametrize("name", ["\u200b", "\u200b\u200c\u200d\u2060", "\u00ad", "\u202e",
                                  "\x01\x02", "\u3164", "\u2800", "\ufeff", "\u0301"])
def test_names_of_invisible_characters_only_are_refused(name):
    assert not has_visible_character(name)
    with pytest.raises(RuleViolation):
        clean_name(name, 100)


@pytest.mark.parametrize("name", ["Anna", "Åsa Öberg", "Ødegård", "李", "👍", "A\u200dB",
                                  "نور\u200cالدين"])
def test_visible_names_are_kept(name):
    assert clean_name(name, 100) == name


def test_nul_is_never_stored():
    for value in ("Fjällbo\x00 AB", "\x00"):
        with pytest.raises(RuleViolation):
            clean_text(value, 100, "name")
    assert clean_text("line one\nline two", 100, "description", multiline=True) \
        == "line one\nline two"
    with pytest.raises(RuleViolation):
        clean_text("line\x00two", 100, "description", multiline=True)


def test_every_company_writer_applies_the_rules(db):
    actor, lead = Actor.system(), Category.get(name="Lead")
    for fields in ({"name": "\u200b"}, {"name": "Nul\x00 AB"},
                   {"name": "Ok AB", "website": "javascript:alert(1)"},
                   {"name": "Ok AB", "email": "anna..berg@x.se"}):
        with pytest.raises(RuleViolation):
            create_company(actor, category=lead, **fields)
    assert Company.select().count() == 0
    company = create_company(actor, name="Ok AB", category=lead, website="ok.se")
    assert company.website == "https://ok.se"
    with pytest.raises(RuleViolation) as refused:
        update_company(company, actor, website="javascript:alert(1)")
    assert refused.value.params["field"] == "website"
    assert Company.get_by_id(company.id).website == "https://ok.se"


def test_every_contact_writer_applies_the_rules(db):
    actor = Actor.system()
    company = create_company(actor, name="Ok AB", category=Category.get(name="Lead"))
    for fields in ({"first_name": "\u200b", "last_name": ""}, {"email": ".anna@x.se"},
                   {"first_name": "Anna", "phone": "ring!"}, {}):
        with pytest.raises(RuleViolation):
            create_contact(company, actor, **fields)
    assert Contact.select().count() == 0
    assert create_contact(company, actor, email="anna@ok.se").email == "anna@ok.se"


def test_users_get_the_same_email_rule(db):
    with pytest.raises(RuleViolation) as refused:
        create_user(Actor.system(), "anna..berg@x.se", "Anna", "rep", "en", "long password")
    assert refused.value.params["field"] == "email"


def test_import_rows_get_the_same_rules():
    """A Website cell `javascript:...` was stored and shown as a link: now the row is refused."""
    row = clean_row(2, {"company_name": "Evil AB", "company_website": "javascript:alert(1)"})
    assert row.problems == [("%(url)s is not a web address (http or https).",
                             {"url": "javascript:alert(1)"})]
    row = clean_row(3, {"company_name": "Bra AB", "company_website": "www.bra.se",
                        "email": ".anna@bra.se"})
    assert row.company["website"] == "https://www.bra.se"
    assert row.problems == [("%(email)s is not a valid e-mail address.",
                             {"email": ".anna@bra.se"})]
    row = clean_row(4, {"company_name": "\u200b", "first_name": "Anna"})
    assert ("%(target)s holds only invisible characters.", {"target": "company_name"}) \
        in row.problems


def test_web_form_submissions_get_the_same_rules():
    form = WebForm(name="Spring", field_config=__import__("json").dumps(default_field_config()))
    for data in ({"name": "\u200b\u200b", "email": "anna@fjallbo.se"},
                 {"name": "Anna", "email": "anna..berg@fjallbo.se"},
                 {"name": "Anna\u0085", "email": "anna@fjallbo.se"}):
        with pytest.raises(InvalidSubmission):
            clean_submission(form, data)
