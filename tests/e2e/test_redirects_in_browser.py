"""A hostile ``next`` in a plain form POST keeps a real browser on this site."""

import pytest
from playwright.sync_api import expect

HOSTILE = ["/\t/evil.example", "/\n/evil.example", "/\\evil.example", "/%09/evil.example", "///evil.example"]


@pytest.mark.parametrize("target", HOSTILE, ids=["tab", "newline", "backslash", "encoded tab", "three slashes"])
def test_it_keeps_the_browser_on_this_site(watched_page, live_server, target):
    page = watched_page
    page.goto(f"{live_server.url}/wishlist")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    # The form a hostile page would have to get past the CSRF token: a plain POST with its own next.
    page.evaluate("""([token, target]) => {
        const form = document.createElement("form");
        form.method = "post";
        form.action = "/history/unreject";
        for (const [name, value] of [["csrf_token", token], ["mbid", "not-rejected"], ["next", target]]) {
            const input = document.createElement("input");
            input.type = "hidden"; input.name = name; input.value = value;
            form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
    }""", [token, target])
    expect(page).to_have_url(f"{live_server.url}/history/rejected?done=unrejected", timeout=15000)
    assert page.outside_requests == []
