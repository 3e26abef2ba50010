"""The user's path in headless Chromium: register, sign in, add a task by chat, complete it in the
list, and the backend agrees; then add and delete one by hand, and sign out."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from .servers import ServerProcess

pytestmark = pytest.mark.browser

EMAIL = "milk@example.com"
PASSWORD = "browser-pass-7391"


def backend_tasks(backend: ServerProcess) -> list[dict]:
    """The tasks as the backend itself reports them (not through the frontend)."""
    login = httpx.post(f"{backend.url}/api/auth/login", json={"email": EMAIL, "password": PASSWORD})
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    response = httpx.get(f"{backend.url}/api/tasks", headers=headers)
    response.raise_for_status()
    return response.json()


def register_and_sign_in(page: Page, frontend: ServerProcess) -> None:
    page.goto(f"{frontend.url}/")
    expect(page).to_have_url(re.compile(r"/login$"))  # signed out: sent to sign in

    page.get_by_test_id("auth-switch").click()
    expect(page.get_by_test_id("auth-form")).to_have_attribute("data-mode", "register")
    page.get_by_test_id("auth-email").fill(EMAIL)
    page.get_by_test_id("auth-password").fill(PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("auth-notice")).to_contain_text("Account created")
    expect(page.get_by_test_id("auth-form")).to_have_attribute("data-mode", "signin")

    page.get_by_test_id("auth-password").fill("wrong-password-1")
    page.get_by_test_id("auth-submit").click()
    expect(page.get_by_test_id("auth-error")).to_contain_text("Incorrect email or password")

    page.get_by_test_id("auth-password").fill(PASSWORD)
    page.get_by_test_id("auth-submit").click()
    expect(page).to_have_url(f"{frontend.url}/")
    expect(page.get_by_test_id("user-email")).to_have_text(EMAIL)
    expect(page.get_by_test_id("task-empty")).to_be_visible()


def test_register_chat_add_complete_delete(page: Page, backend: ServerProcess, frontend: ServerProcess) -> None:
    register_and_sign_in(page, frontend)

    # Add a task through the chat; the list refreshes on its own.
    page.get_by_test_id("chat-input").fill("add buy milk")
    page.get_by_test_id("chat-send").click()
    expect(page.locator('[data-testid="chat-message"][data-role="user"]')).to_have_text(["add buy milk"])
    expect(page.locator('[data-testid="chat-message"][data-role="assistant"]')).to_contain_text(["buy milk"])
    items = page.get_by_test_id("task-item")
    expect(items).to_have_count(1)
    milk = items.filter(has_text="buy milk")
    expect(milk).to_have_attribute("data-completed", "false")
    assert [(t["title"], t["completed"]) for t in backend_tasks(backend)] == [("buy milk", False)]

    # Complete it with its checkbox; the backend agrees.
    milk.get_by_test_id("task-toggle").check()
    expect(milk).to_have_attribute("data-completed", "true")
    expect(milk).to_have_attribute("data-saving", "false")  # the server has answered
    expect(milk.get_by_test_id("task-toggle")).to_be_checked()
    assert [(t["title"], t["completed"]) for t in backend_tasks(backend)] == [("buy milk", True)]

    # Add one by hand and delete it again.
    page.get_by_test_id("task-new-title").fill("walk the dog")
    page.get_by_test_id("task-add").click()
    expect(items).to_have_count(2)
    assert sorted(t["title"] for t in backend_tasks(backend)) == ["buy milk", "walk the dog"]
    items.filter(has_text="walk the dog").get_by_test_id("task-delete").click()
    expect(items).to_have_count(1)
    assert [t["title"] for t in backend_tasks(backend)] == ["buy milk"]

    # The chat sees the same list; a reload keeps the session; signing out ends it.
    page.get_by_test_id("chat-input").fill("list my tasks")
    page.get_by_test_id("chat-send").click()
    expect(page.locator('[data-testid="chat-message"][data-role="assistant"]')).to_have_count(2)
    expect(page.locator('[data-testid="chat-message"][data-role="assistant"]').last).to_contain_text("buy milk")
    page.reload()
    expect(page.get_by_test_id("task-item")).to_have_count(1)
    page.get_by_test_id("sign-out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(f"{frontend.url}/")
    expect(page).to_have_url(re.compile(r"/login$"))


def test_rejected_token_signs_out(page: Page, frontend: ServerProcess) -> None:
    page.goto(f"{frontend.url}/login")
    page.evaluate("window.localStorage.setItem('todo.token', 'not-a-valid-token')")
    page.goto(f"{frontend.url}/")
    expect(page).to_have_url(re.compile(r"/login$"))
    assert page.evaluate("window.localStorage.getItem('todo.token')") is None
