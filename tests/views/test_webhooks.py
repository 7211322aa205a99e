"""R31: the webhooks screens (admins only): subscribe, delivery log, send test."""
from models import AuditLog
from models.webhooks import Webhook, WebhookDelivery


def test_r31_only_admins_see_webhooks(client, admin_client):
    assert client.get("/settings/webhooks/").status_code == 403
    assert client.post("/settings/webhooks/", data={"url": "https://example.com/h",
                                                    "events": "owner_changed"}).status_code == 403
    assert Webhook.select().count() == 0
    assert admin_client.get("/settings/webhooks/").status_code == 200


def test_r31_bad_address_is_refused_and_nothing_saved(admin_client):
    response = admin_client.post("/settings/webhooks/", data={"url": "javascript:alert(1)",
                                                              "events": "owner_changed"})
    assert response.status_code == 422 and "https://example.com" in response.data.decode()
    response = admin_client.post("/settings/webhooks/", data={"url": "https://example.com/h"})
    assert response.status_code == 422
    assert Webhook.select().count() == 0


def test_r31_subscribe_send_test_and_see_the_log(admin_client):
    response = admin_client.post("/settings/webhooks/", data={
        "url": "https://example.com/hook", "events": ["owner_changed", "category_changed"]})
    hook = Webhook.get()
    assert response.status_code == 302 and hook.event_list == ["category_changed",
                                                               "owner_changed"]
    page = admin_client.get(f"/settings/webhooks/{hook.id}").data.decode()
    assert hook.secret in page and "Nothing sent yet." in page
    admin_client.post(f"/settings/webhooks/{hook.id}/test")
    delivery = WebhookDelivery.get()
    assert delivery.event == "test" and delivery.state == "pending"
    page = admin_client.get(f"/settings/webhooks/{hook.id}").data.decode()
    assert "Waiting" in page
    admin_client.post(f"/settings/webhooks/{hook.id}/delete")
    assert Webhook.select().count() == WebhookDelivery.select().count() == 0
    assert [entry.action for entry in AuditLog.select().where(AuditLog.area == "webhooks")
            .order_by(AuditLog.id)] == ["created", "deleted"]


def test_r31_delivery_log_makes_the_same_queries_for_one_or_many(admin_client, users):
    from playhouse.test_utils import count_queries

    from models.webhooks import create_webhook, send_test
    hook = create_webhook("https://example.com/hook", ["owner_changed"], users["admin"])
    send_test(hook)
    with count_queries() as one:
        admin_client.get(f"/settings/webhooks/{hook.id}")
    for _ in range(10):
        send_test(hook)
    with count_queries() as many:
        admin_client.get(f"/settings/webhooks/{hook.id}")
    assert many.count == one.count
