"""The benchmark harness (bench/run.py) at a tiny scale: every page is timed,
its SQL replayed, and the drop really moves the card. No timing asserts."""
import json

from bench import run

PAGES = ["contact card", "contact card, 200 activities", "company card", "search: live count",
         "search: page", "board: my leads by next step",
         "board: my leads", "board: everyone's leads", "drop", "whole dashboard", "CSV export"]
TILES = ["status_counts", "category_counts", "new_leads", "funnel", "median_days", "utm",
         "stale", "suggestions", "rep_status"]


def test_harness_times_every_page(database_url, tmp_path):
    out = tmp_path / "results"
    report = run.main(["--database-url", database_url, "--contacts", "300", "--runs", "2",
                       "--export-rows", "200", "--import-rows", "200", "--out", str(out)])

    backend = "postgresql" if database_url.startswith("postgres") else "sqlite"
    saved = json.loads((out / f"{backend}-300.json").read_text())
    assert saved["pages"] == report["pages"]
    assert (out / f"{backend}-300.md").read_text().count("\n| ") == \
        len(saved["pages"]) + 1 + len(saved["jobs"]) + 1
    names = list(saved["pages"])
    for page in PAGES + [f"tile {kind}" for kind in TILES]:
        assert any(name.startswith(page) for name in names), page
    for kind in TILES:  # the computed rows really compute: the cache is emptied first
        cached, computed = (saved["pages"][f"tile {kind}{how} (manager)"]
                            for how in ("", ", computed"))
        assert computed["queries"] > cached["queries"], kind
    for name, result in saved["pages"].items():
        assert result["runs"] >= 1 and result["queries"] > 0, name
        assert result["page_ms"]["p50"] > 0 and result["sql_ms"]["p50"] > 0, name
        assert isinstance(result["pass"], bool), name
    for key in ("cpu", "cores", "ram_gb", "os", "python", "sqlite", "postgresql"):
        assert key in saved["machine"]
    assert saved["commit"] and saved["date"] and saved["build_seconds"] > 0

    jobs = saved["jobs"]
    assert jobs["bulk update: lead status of all contacts"]["updated"] > 0
    assert jobs["drop while the bulk job runs"]["samples"] >= 0
    assert jobs["import of 200 rows"]["created"] == 200
    assert "Through the job queue" in (out / f"{backend}-300.md").read_text()

    drop = saved["checks"]["drop"]
    assert drop["from_status"] != drop["to_status"]
    assert drop["status_after_move"] == drop["to_status"]
    # Put back before the job rows (which change every contact) run.
    assert drop["status_at_end"] == drop["from_status"], "the card is put back at the end"
