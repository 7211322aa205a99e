"""Webhooks (admins, R31): subscriptions, their delivery log and a test event."""
from flask import Blueprint, redirect, request, url_for
from flask_login import current_user

from models import RuleViolation
from models.webhooks import (EVENTS, STATES, Webhook, create_webhook, deliveries_of,
                             delete_webhook, send_test)

from .common import admin_only, get_or_404, render, rule_message

bp = admin_only(Blueprint("webhooks", __name__, url_prefix="/settings/webhooks"))


def send_soon():
    """Ask a job worker to send what is due now instead of at the next minute."""
    from models.tasks import webhooks_now
    webhooks_now()


@bp.get("/")
def index(error=None, status=200):
    """Subscriptions and a form for a new one."""
    hooks = list(Webhook.select().order_by(Webhook.id))
    return render("webhooks/index.html", hooks=hooks, events=EVENTS, error=error,
                  url=request.form.get("url", ""), chosen=request.form.getlist("events"),
                  status=status)


@bp.post("/")
def create():
    """Subscribe a URL to some events; it gets the changes made from now on."""
    try:
        hook = create_webhook(request.form.get("url", ""), request.form.getlist("events"),
                              current_user._get_current_object())
    except RuleViolation as error:
        return index(error=rule_message(error), status=422)
    return redirect(url_for("webhooks.show", webhook_id=hook.id))


@bp.get("/<int:webhook_id>")
def show(webhook_id):
    """A subscription: its secret, and its delivery log with each answer."""
    hook = get_or_404(Webhook, webhook_id)
    return render("webhooks/show.html", hook=hook, events=EVENTS, states=STATES,
                  deliveries=list(deliveries_of(hook)))


@bp.post("/<int:webhook_id>/test")
def test(webhook_id):
    """Send the subscriber a test event (after what is already waiting for it)."""
    hook = get_or_404(Webhook, webhook_id)
    send_test(hook)
    send_soon()
    return redirect(url_for("webhooks.show", webhook_id=hook.id))


@bp.post("/<int:webhook_id>/delete")
def delete(webhook_id):
    """End a subscription."""
    delete_webhook(get_or_404(Webhook, webhook_id), current_user._get_current_object())
    return redirect(url_for("webhooks.index"))
