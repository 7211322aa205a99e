"""Command-line tasks: `flask --app app setup | migrate | demo | worker | create-user |
api-token`."""
import time

import click
from flask import Blueprint, current_app

import models

bp = Blueprint("cli", __name__, cli_group=None)


def _database():
    return models.database.obj


@bp.cli.command("migrate")
@click.option("--language", type=click.Choice(list(models.LANGUAGES)), default=None,
              help="Language of the default lists when the database is new.")
def migrate_command(language):
    """Create the schema or apply pending migrations."""
    language = language or current_app.config["DEFAULT_LANGUAGE"]
    with _database().connection_context():
        created = models.upgrade_database(_database(), language)
    click.echo("Created a new database." if created else "Database is up to date.")


@bp.cli.command("demo")
@click.option("--contacts", default=1000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="How many contacts to create (companies: one per five contacts).")
@click.option("--seed", default=7, show_default=True, help="Random seed; same seed, same data.")
def demo_command(contacts, seed):
    """Fill an empty database with realistic, deterministic demo data."""
    from models.demo import database_is_empty, load_demo
    with _database().connection_context():
        models.upgrade_database(_database(), current_app.config["DEFAULT_LANGUAGE"])
        if not database_is_empty():
            raise click.ClickException("The database already has data; demo data needs an "
                                       "empty one.")
        started = time.perf_counter()
        summary = load_demo(contacts=contacts, seed=seed)
    click.echo(f"Demo data: {summary} in {time.perf_counter() - started:.1f} s.")


@bp.cli.command("setup")
def setup_command():
    """Migrate, and load demo data when the database is empty (first start)."""
    from models.demo import DEMO_PASSWORD, DEMO_USERS, database_is_empty, load_demo
    with _database().connection_context():
        models.upgrade_database(_database(), current_app.config["DEFAULT_LANGUAGE"])
        if database_is_empty():
            summary = load_demo()
            click.echo(f"Loaded demo data: {summary}.")
            click.echo("Sign in as one of: " + ", ".join(u[0] for u in DEMO_USERS)
                       + f" (password: {DEMO_PASSWORD}).")
        else:
            click.echo("Database is up to date.")


@bp.cli.command("worker")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Jobs run side by side.")
def worker_command(threads):
    """Run jobs from the queue (bulk updates, imports, exports) until stopped (Ctrl+C)."""
    from models.jobs import run_consumer
    click.echo(f"Job worker: {threads} threads; stop with Ctrl+C.")
    run_consumer(workers=threads)


@bp.cli.command("create-user")
@click.argument("email")
@click.argument("name")
@click.option("--role", type=click.Choice(list(models.ROLES)), default="rep", show_default=True)
@click.option("--language", type=click.Choice(list(models.LANGUAGES)), default="en")
@click.password_option()
def create_user_command(email, name, role, language, password):
    """Add a user who can sign in."""
    with _database().connection_context():
        if models.User.select().where(models.User.email == email.lower()).exists():
            raise click.ClickException(f"A user with e-mail {email} already exists.")
        user = models.User(email=email.lower(), name=name, role=role, language=language)
        user.set_password(password)
        user.save()
    click.echo(f"Created {role} {email}.")


@bp.cli.command("api-token")
@click.argument("email")
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "write"]), default="write", show_default=True)
def api_token_command(email, name, scope):
    """Make an API token for a user and print it (shown only this once)."""
    from models.api_tokens import create_token
    with _database().connection_context():
        user = models.User.get_or_none(models.User.email == email.lower())
        if user is None:
            raise click.ClickException(f"No user with e-mail {email}.")
        try:
            _, secret = create_token(user, name, scope, actor=user)
        except models.RuleViolation as error:
            raise click.ClickException(str(error)) from None
    click.echo(secret)
