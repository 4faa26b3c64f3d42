"""Django's SMTP backend, with a hook at SMTP's point of no return.

A mail server takes responsibility for a message when it has read the final ``.`` of DATA
(RFC 5321, 4.1.1.4). A sender that records "sent" after the server's 250 reply can die between
the two, and on a retry send the message twice; one that records it before the transaction can
die before the server has it, and lose it. This backend calls the message's
``before_end_of_data()`` after the message's content has gone out and right before the final
``.``: what the hook commits there, the server either never saw or is about to accept. The
interval in doubt is one ``send()`` of three bytes (docs/security.md, "Faults").

Set ``EMAIL_BACKEND = "patron.core.mail.SMTPBackend"`` (the default in settings).
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Callable
from typing import Any

from django.core.mail.backends.smtp import EmailBackend


class _HandOver:
    """The DATA command of smtplib, split before its final line."""

    before_end_of_data: Callable[[], None] | None = None

    def data(self, msg: Any) -> tuple[int, bytes]:
        hook = self.before_end_of_data
        if hook is None:
            return super().data(msg)  # type: ignore[misc]
        smtp: Any = self
        smtp.putcmd("data")
        code, reply = smtp.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if isinstance(msg, str):
            msg = re.sub(r"(?:\r\n|\n|\r(?!\n))", "\r\n", msg).encode("ascii")
        # Dot-stuffing, as smtplib does: a line starting with "." gets another.
        content = re.sub(rb"(?m)^\.", b"..", msg)
        if not content.endswith(b"\r\n"):
            content += b"\r\n"
        smtp.send(content)
        try:
            hook()
        except BaseException:
            # The server never gets the end of the data and keeps nothing; the session is left
            # mid-DATA, so it is dropped (no QUIT: the server would read it as data).
            smtp.close()
            raise
        smtp.send(b".\r\n")
        code, reply = smtp.getreply()
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        return code, reply


class _SMTP(_HandOver, smtplib.SMTP):
    pass


class _SMTP_SSL(_HandOver, smtplib.SMTP_SSL):
    pass


class SMTPBackend(EmailBackend):
    """Calls ``message.before_end_of_data()``, if the message has one, at the point of no return."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return _SMTP_SSL if self.use_ssl else _SMTP

    def _send(self, email_message: Any) -> bool:
        # Django's per-message step (private, but stable since Django 1.x): the connection is open.
        connection: Any = self.connection
        if connection is not None:
            connection.before_end_of_data = getattr(email_message, "before_end_of_data", None)
        try:
            return bool(super()._send(email_message))  # type: ignore[misc]
        finally:
            if connection is not None:
                connection.before_end_of_data = None
                if connection.sock is None:  # dropped after a hook failed: the next send reconnects
                    self.connection = None


def hands_over(backend: Any) -> bool:
    """Whether ``backend`` calls ``before_end_of_data`` (other backends send at once)."""
    return isinstance(backend, SMTPBackend)
