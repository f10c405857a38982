"""A real SMTP server for tests: aiosmtpd on loopback, keeping every message it receives."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time

from aiosmtpd.controller import Controller

from tests.support.site import free_port

from tests.support.site import free_port


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


class SmtpSink:
    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.lock = threading.Lock()
        # A free port chosen here: aiosmtpd's controller cannot start on port 0 (it connects to its own
        # port to check that the server is up).
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()

    def stop(self):
        self.controller.stop()

    def wait_for(self, recipient: str, *, subject_contains: str = "", timeout: float = 20.0, after: int = 0):
        """The first message to ``recipient`` (received after the first ``after`` messages)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for recipients, message in self.messages[after:]:
                    if recipient in recipients and subject_contains in str(message["Subject"]):
                        return message
            time.sleep(0.05)
        raise AssertionError(f"no message to {recipient} within {timeout}s")

    @staticmethod
    def text(message) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @classmethod
    def link(cls, message, pattern: str) -> str:
        found = re.search(pattern, cls.text(message))
        if not found:
            raise AssertionError(f"no link matching {pattern} in:\n{cls.text(message)}")
        return found.group(0)
