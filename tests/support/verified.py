"""Helpers for the verified-signing tests: shared RSA keys (generating one costs 0.1–0.5 s), the
Python client wired to Django's test client, and reading codes from the emails the worker sends.

    from tests.support.verified import fast_keys, signer  # noqa: F401 (fixtures)
"""

from __future__ import annotations

import itertools
import json
import re

import pytest

from undersigned.lib import blindrsa
from undersigned.verification import keys
from undersigned.verification.client import SigningClient

_POOL: list = []


def key_pool(n: int = 4) -> list:
    while len(_POOL) < n:
        _POOL.append(blindrsa.generate_private_key(2048))
    return _POOL[:n]


@pytest.fixture
def fast_keys(monkeypatch):
    """New token keys come from a pool generated once per run (each test's database starts empty)."""
    pool = itertools.cycle(key_pool())
    monkeypatch.setattr(keys, "generate_private_key", lambda bits=2048: next(pool))
    return key_pool()


def client_for(django_client, letter_slug: str) -> SigningClient:
    def get(path):
        response = django_client.get(path)
        return response.status_code, response.json()

    def post(path, body):
        response = django_client.post(path, json.dumps(body), content_type="application/json")
        try:
            data = response.json()
        except ValueError:
            data = {}
        return response.status_code, data

    return SigningClient(site="http://testserver", letter=letter_slug, get=get, post=post)


def code_in(message) -> str:
    found = re.search(r"\b(\d{8})\b", message.body)
    assert found, message.body
    return found.group(1)


class Signer:
    """One person signing through the API, in process: email → code → token → signature."""

    def __init__(self, client, letter, mailbox):
        self.api = client_for(client, letter.slug)
        self.mailbox = mailbox

    def code_for(self, email: str) -> str:
        self.api.request_code(email)
        return code_in(self.mailbox.deliver_one(email))

    def token(self, email: str) -> dict:
        return self.api.token_with_code(email, self.code_for(email))

    def sign(self, email: str, **display) -> dict:
        return self.api.submit(self.token(email), **display)


@pytest.fixture
def signer(client, letter, mailbox, fast_keys) -> Signer:
    return Signer(client, letter, mailbox)
