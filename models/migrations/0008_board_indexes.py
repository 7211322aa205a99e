"""Indexes for the lead board at 100,000+ contacts.

Each column is read in name order (or by time in status) within one lead
status, optionally for one owner; the counts group the contacts of the
companies in lead-status categories by status. These indexes let SQLite
and PostgreSQL read the first 50 cards of a column in index order, and
count from the index alone.
"""


def up(migrator, db):
    migrator.migrate(
        migrator.add_index("contact", ("lead_status_id", "last_name", "first_name", "id")),
        migrator.add_index("contact", ("owner_id", "lead_status_id", "last_name", "first_name",
                                       "id")),
        migrator.add_index("contact", ("lead_status_id", "status_changed_at")),
        migrator.add_index("contact", ("owner_id", "lead_status_id", "status_changed_at")),
        migrator.add_index("contact", ("lead_status_id", "company_id")),
        migrator.add_index("contact", ("owner_id", "lead_status_id", "company_id")),
        migrator.add_index("company", ("category_id", "id")),
    )


def down(migrator, db):
    for table, columns in (
            ("contact", ("lead_status_id", "last_name", "first_name", "id")),
            ("contact", ("owner_id", "lead_status_id", "last_name", "first_name", "id")),
            ("contact", ("lead_status_id", "status_changed_at")),
            ("contact", ("owner_id", "lead_status_id", "status_changed_at")),
            ("contact", ("lead_status_id", "company_id")),
            ("contact", ("owner_id", "lead_status_id", "company_id")),
            ("company", ("category_id", "id"))):
        migrator.migrate(migrator.drop_index(table, "_".join((table,) + columns)))
