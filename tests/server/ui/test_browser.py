"""The web UI in a real browser (Debian's Chromium through Playwright): the dashboard,
a run started from the form that completes with its output appearing live, a slow run
cancelled, a form's validation errors, and signing in with a wrong then a right token."""

from __future__ import annotations

import re

from _ui_project import PLANTED_SECRET
from playwright.sync_api import Page, expect

from _agent_helpers import AgentProcess
from _server_fixtures import TOKEN
from shipway.store import Store

RUN_URL = re.compile(r"/flow-runs/[0-9a-f-]{36}$")
AGENT_SECONDS = 60_000  # ms: an interpreter may take a while to start on a loaded machine


def test_dashboard_shows_chart_runs_agents_and_queues(
    page: Page, open_server: str, agent: AgentProcess
) -> None:
    page.goto(open_server + "/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("img", name="Flow runs per hour, by state")).to_be_visible()
    expect(page.get_by_role("heading", name="Recent runs")).to_be_visible()
    expect(page.get_by_role("heading", name="Agents")).to_be_visible()
    expect(page.get_by_role("heading", name="Work queues")).to_be_visible()
    page.get_by_role("link", name="Deployments").first.click()
    expect(page.get_by_role("link", name="greet")).to_be_visible()


def test_run_from_the_form_completes_and_its_output_appears_live(
    page: Page, open_server: str, agent: AgentProcess, ui_store: Store
) -> None:
    page.goto(open_server + "/deployments/greet")
    expect(page.locator("body")).not_to_contain_text(PLANTED_SECRET)
    page.locator("#param-name").fill("browser")
    page.get_by_role("button", name="Run").click()
    expect(page).to_have_url(RUN_URL)
    run_id = page.url.rsplit("/", 1)[1]
    assert ui_store.get_flow_run(run_id).parameters["name"] == "browser"
    # The run was created a moment ago: no agent has run it yet, so its line can only
    # arrive through the stream, into this very document (a reload would drop the mark).
    page.evaluate("window.stillTheSamePage = true")
    logs = page.locator("#logs")
    expect(logs).to_contain_text("Hello, browser!", timeout=AGENT_SECONDS)
    assert page.evaluate("window.stillTheSamePage === true")
    expect(page.locator("#run-state")).to_have_text("Completed", timeout=AGENT_SECONDS)
    expect(page.locator("#exit-code")).to_have_text("0")
    expect(logs).to_contain_text("done")


def test_cancel_a_slow_run(page: Page, open_server: str, agent: AgentProcess) -> None:
    page.goto(open_server + "/deployments/sleeper")
    page.get_by_role("button", name="Run").click()
    expect(page).to_have_url(RUN_URL)
    expect(page.locator("#logs")).to_contain_text("started", timeout=AGENT_SECONDS)
    expect(page.locator("#run-state")).to_have_text("Running")
    page.get_by_role("button", name="Cancel").click()
    expect(page.locator("#run-state")).to_have_text("Cancelled", timeout=AGENT_SECONDS)
    expect(page.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.get_by_role("button", name="Run again")).to_be_visible()


def test_form_validation_errors_are_shown_beside_each_field(
    page: Page, open_server: str, ui_store: Store
) -> None:
    before = ui_store.count_flow_runs(deployment="greet")
    page.goto(open_server + "/deployments/greet")
    page.locator("#param-name").fill("")
    page.locator("#param-pause").fill("soon")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#error-name")).to_have_text("required")
    expect(page.locator("#error-pause")).to_have_text("must be a number, not 'soon'")
    expect(page.locator("#param-pause")).to_have_value("soon")  # what was typed stays
    assert ui_store.count_flow_runs(deployment="greet") == before  # nothing was created


def test_sign_in_with_a_wrong_then_the_right_token(page: Page, token_server: str) -> None:
    page.goto(token_server + "/flow-runs")
    expect(page).to_have_url(re.compile(r"/login\?next=/flow-runs$"))
    page.get_by_label("Token").fill("w" * 40)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error")).to_contain_text("not this server's")
    page.get_by_label("Token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(token_server + "/flow-runs")
    expect(page.get_by_role("heading", name="Flow runs")).to_be_visible()
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert TOKEN not in cookie["value"]
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile("/login"))
    page.goto(token_server + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
