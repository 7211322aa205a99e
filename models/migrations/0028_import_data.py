"""`import_data`: an import's uploaded text and plan move out of its `import_job` row.

The job's progress is written after every chunk it saves, and SQLite rewrites a
whole row for any change: with the file and the plan of 50,000 rows in it,
each chunk of a 50,000-row import rewrote megabytes (2.8 s of the import).
`import_job.assigned` counts the leads its chunks gave each owner, who are told
once when it ends (a notice and a mail per chunk were 100 of each for 50,000 rows).
"""
from peewee import ForeignKeyField, Model, TextField


def up(migrator, db):
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class ImportJob(Base):
        class Meta:
            table_name = "import_job"

    class ImportData(Base):
        job = ForeignKeyField(ImportJob, primary_key=True, on_delete="CASCADE")
        content = TextField(default="")
        plan = TextField(default="")

    db.create_tables([ImportData])
    db.execute_sql("INSERT INTO import_data (job_id, content, plan) "
                   "SELECT id, content, plan FROM import_job "
                   "WHERE content != '' OR plan != ''")
    migrator.migrate(migrator.drop_column("import_job", "content"),
                     migrator.drop_column("import_job", "plan"),
                     migrator.add_column("import_job", "assigned", TextField(default="{}")))


def down(migrator, db):
    migrator.migrate(migrator.add_column("import_job", "content", TextField(default="")),
                     migrator.add_column("import_job", "plan", TextField(default="")),
                     migrator.drop_column("import_job", "assigned"))
    db.execute_sql("UPDATE import_job SET content = d.content, plan = d.plan "
                   "FROM import_data AS d WHERE d.job_id = import_job.id")
    db.execute_sql("DROP TABLE import_data")
