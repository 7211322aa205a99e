"""The Content-Security-Policy in a real browser: htmx, its SSE extension and SortableJS
work under it, and nothing on the busiest pages is refused by it."""
from playwright.sync_api import expect

from .conftest import htmx_settled
from .test_board import column, open_board, setup_board, sign_in
from .test_settings import drag

# Recorded in the page before any of its own script runs (an init script is
# the browser's own, not the page's, so the policy does not apply to it).
RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
// Mark the page when an event stream the SSE extension opens is connected.
var Original = window.EventSource;
window.EventSource = function (url, options) {
  var source = new Original(url, options);
  source.addEventListener("open", function () {
    document.documentElement.setAttribute("data-stream-open", url);
  });
  return source;
};
window.EventSource.CONNECTING = 0; window.EventSource.OPEN = 1; window.EventSource.CLOSED = 2;
"""


def violations(page):
    return page.evaluate("window.cspViolations")


def test_board_dashboard_and_search_run_under_the_policy(page):
    anna, _, _ = setup_board()
    console = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)
    sign_in(page)
    response = page.goto("/board")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    open_board(page)
    # SortableJS's drag and htmx's swap of the dropped card.
    drag(page, page.locator(f"#card-{anna.id} .card-company"),
         column(page, "Contacting").locator("ol"))
    expect(column(page, "Contacting").locator(f"#card-{anna.id}")).to_be_visible()
    expect(page.locator("#toasts")).to_contain_text("Anna Berg moved to Contacting")
    assert violations(page) == []
    # The dashboard: tiles loaded by htmx, the live stream through the SSE extension.
    page.goto("/dashboards")
    expect(page.locator(".tile").first).to_be_visible()
    htmx_settled(page)
    expect(page.locator("html")).to_have_attribute("data-stream-open", "/events")
    assert violations(page) == []
    # The search screen: the criteria editor and the live count.
    page.goto("/search")
    page.get_by_label("Add criterion").select_option("lead_status")
    expect(page.locator(".criterion")).to_have_count(1)
    htmx_settled(page)
    assert violations(page) == []
    assert not [text for text in console if "Content Security Policy" in text]
