"""A prepared query answers as the query it was written from, with each run's values."""
import pytest
from playhouse.test_utils import count_queries

from models import Actor, Category, Contact, User, create_company, create_contact
from models.prepared import Prepared, PreparedShapes, row_by_id
from models.search import contact_with_relations, contacts_with_relations
from models.users import user_for_session


@pytest.fixture
def people(db):
    rep = User(email="rep@example.test", name="Rita Rep", role="rep")
    rep.set_password("secret")
    rep.save()
    actor = Actor(rep)
    company = create_company(actor, name="Fjällbo AB", category=Category.get(name="Lead"))
    anna = create_contact(company, actor, first_name="Anna", last_name="Berg", owner=rep)
    bo = create_contact(company, actor, first_name="Bo", last_name="Ek")
    return rep, anna, bo


def test_each_run_answers_for_its_own_values_with_the_sql_written_once(people):
    rep, anna, bo = people
    written = []

    def build(contact_id, limit):
        written.append((contact_id, limit))
        return contacts_with_relations().where(Contact.id >= contact_id).order_by(
            Contact.id).limit(limit)
    prepared = Prepared(build, 2)
    assert [c.id for c in prepared(anna.id, 1)] == [anna.id]
    assert [c.id for c in prepared(anna.id, 5)] == [anna.id, bo.id]
    assert [c.id for c in prepared(bo.id, 5)] == [bo.id]
    assert prepared(bo.id + 1, 5) == []
    assert len(written) == 1
    # The joined rows come with it, as from the query itself.
    first = prepared(anna.id, 1)[0]
    assert (first.company.name, first.company.category.name, first.owner.name,
            first.lead_status.name) == ("Fjällbo AB", "Lead", "Rita Rep", "Open")


def test_a_value_that_does_not_reach_the_sql_is_refused(people):
    prepared = Prepared(lambda contact_id: Contact.select().where(Contact.id == 1))
    with pytest.raises(ValueError):
        prepared(5)


def test_the_contact_pages_and_the_session_read_one_statement_each(people):
    rep, anna, bo = people
    with count_queries() as counter:
        assert contact_with_relations(bo.id).company.name == "Fjällbo AB"
        assert contact_with_relations(bo.id + 100) is None
        assert user_for_session(f"{rep.id}.{rep.session_version}").id == rep.id
        assert user_for_session(f"{rep.id}.{rep.session_version + 1}") is None
    assert counter.count == 4
    # Deleted contacts and deactivated users are found no more.
    Contact.update(deleted_at=Contact.created_at).where(Contact.id == bo.id).execute()
    User.update(active=False).where(User.id == rep.id).execute()
    assert contact_with_relations(bo.id) is None
    assert user_for_session(f"{rep.id}.{rep.session_version}") is None


def test_each_shape_and_each_missing_value_has_its_own_sql(people):
    """Of a contact or of a company, with an owner or without (None: no condition)."""
    rep, anna, bo = people
    written = []

    def build(by_contact, key_id, owner_id):
        written.append((by_contact, owner_id is None))
        query = Contact.select().where(
            (Contact.id if by_contact else Contact.company) == key_id).order_by(Contact.id)
        return query.where(Contact.owner == owner_id) if owner_id is not None else query
    shapes = PreparedShapes(build)
    assert [c.id for c in shapes(False, anna.company_id, None)] == [anna.id, bo.id]
    assert [c.id for c in shapes(False, anna.company_id, rep.id)] == [anna.id]
    assert [c.id for c in shapes(True, bo.id, None)] == [bo.id]
    assert [c.id for c in shapes(True, bo.id, rep.id)] == []
    assert [c.id for c in shapes(False, anna.company_id + 1, None)] == []
    assert sorted(written) == [(False, False), (False, True), (True, False), (True, True)]


def test_a_row_by_id_is_what_the_model_select_finds(people):
    """get_or_404's read: a deleted contact is not found (Contact.select() leaves it
    out), nor is an unknown id; each model has its own query."""
    rep, anna, bo = people
    assert row_by_id(Contact, anna.id).full_name == "Anna Berg"
    assert row_by_id(User, rep.id).email == "rep@example.test"
    assert row_by_id(Contact, 10**12) is None
    Contact.update(deleted_at=Contact.created_at).where(Contact.id == bo.id).execute()
    assert row_by_id(Contact, bo.id) is None
    assert Contact.everything().where(Contact.id == bo.id).exists()
