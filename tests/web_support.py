"""Signing a test client in through the web form, as a browser does: the sign-in page's token
(which its cookie repeats) sent back, and the site's own Origin on every later request."""

import re

from fastapi.testclient import TestClient

ORIGIN = "http://testserver"  # TestClient's base URL


def login_token(client: TestClient) -> str:
    page = client.get("/login")
    found = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def web_sign_in(client: TestClient, username: str, password: str) -> TestClient:
    """Sign ``client`` in through the form; it then sends this site's Origin, as a browser
    does on the forms it posts."""
    client.headers["Origin"] = ORIGIN
    response = client.post(
        "/login",
        data={"username": username, "password": password, "login_token": login_token(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def csrf_of(page_text: str) -> str:
    """The anti-forgery token a signed-in page publishes (for the sign-out form and scripts)."""
    found = re.search(r'name="csrf-token" content="([^"]+)"', page_text)
    assert found, page_text
    return found.group(1)
