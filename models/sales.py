"""Sales beside the rules (R14): the currency a company's country uses, and the
sale events the timelines show. Registering and marking sales, with the lead
categorization they cause, are in models/categorization.py."""
from peewee import JOIN

from .prepared import PreparedShapes, whose
from .schema import Sale, SaleEvent, User, now

# The currency of a company's country, by the names people type for it
# (English, Swedish, Norwegian, Danish, Finnish, German) and ISO codes.
COUNTRY_CURRENCIES = {
    "SEK": ("se", "swe", "sweden", "sverige", "ruotsi", "schweden"),
    "NOK": ("no", "nor", "norway", "norge", "noreg", "norja", "norwegen"),
    "DKK": ("dk", "dnk", "denmark", "danmark", "tanska", "dänemark"),
    "EUR": ("fi", "fin", "finland", "suomi", "finnland", "de", "deu", "germany", "tyskland",
            "deutschland", "saksa", "nl", "netherlands", "nederländerna", "nederland",
            "alankomaat", "niederlande", "ee", "estonia", "estland", "viro", "ie", "ireland",
            "irland", "irlanti", "fr", "france", "frankrike", "frankrig", "ranska",
            "frankreich", "es", "spain", "spanien", "spania", "espanja", "it", "italy",
            "italien", "italia", "at", "austria", "österrike", "østerrike", "østrig",
            "itävalta", "österreich", "be", "belgium", "belgien", "belgia", "lt",
            "lithuania", "litauen", "liettua", "lv", "latvia", "lettland", "latvija", "pt",
            "portugal", "portugali", "ax", "åland", "ahvenanmaa"),
}
CURRENCY_BY_COUNTRY = {name: currency for currency, names in COUNTRY_CURRENCIES.items()
                       for name in names}
CURRENCY_BY_LANGUAGE = {"sv": "SEK", "nb": "NOK", "en": "EUR"}


def currency_for(country, language="en"):
    """The currency a new sale of a company in `country` starts in; for a country not
    known here, the one of the user's language."""
    return CURRENCY_BY_COUNTRY.get((country or "").strip().casefold(),
                                   CURRENCY_BY_LANGUAGE.get(language, "SEK"))


def record_sale_event(sale, kind, actor):
    """A sale registered (kind "registered"), or its status set ("sold", "lost", "open").

    Call it in the transaction of the change.
    """
    SaleEvent.create(sale=sale, company=sale.company_id, kind=kind,
                     actor=actor.user if actor is not None else None, created_at=now())


def sale_events(company=None, contact=None, limit=30, before=None):
    """The newest sale events of a company, or of the sales of one contact (older than
    `before` when given), with their sale and who made them."""
    return _SALE_EVENTS(*whose(contact, company), limit, before)


def _sale_events_query(by_contact, key_id, limit, before):
    query = (SaleEvent.select(SaleEvent, Sale, User)
             .join_from(SaleEvent, Sale)
             .join_from(SaleEvent, User, JOIN.LEFT_OUTER, on=(SaleEvent.actor == User.id),
                        attr="actor")
             .where((Sale.contact if by_contact else SaleEvent.company) == key_id)
             .order_by(SaleEvent.created_at.desc(), SaleEvent.id.desc()).limit(limit))
    return query.where(SaleEvent.created_at < before) if before is not None else query


_SALE_EVENTS = PreparedShapes(_sale_events_query)
