"""External channels: how a message leaves the app. E-mail is the first; others plug in here.

The interface every channel keeps (services/delivery.py drives it):

    class Channel:
        name: str                                  # the outbox's `channel` column: "email", "sms", …
        def address(self, user) -> str | None      # where this person is reached, None: not on it
        def open(self) -> None                     # before a run's first message (a connection)
        def send(self, message: Outgoing) -> None  # one message; raises DeliveryFailure
        def close(self) -> None                    # after the run

`send` raises `DeliveryFailure(permanent=True)` when retrying cannot help (an address the
server refuses) — the outbox row is then failed at once, and shown to admins — and
`DeliveryFailure(permanent=False)` for what may pass (a server down, a timeout): the row is
retried with back-off. A message is plain text in the person's language, made by the delivery
run; a channel only carries it.

SMS (a provider's HTTP API with a signed template id and parameters) and WeChat subscription
messages (订阅消息: a template id the person has agreed to receive, sent through the WeChat API
with the person's openid) are not built: each would be a class here with its `address` (a
phone number, an openid kept on the user), registered in `CHANNELS`, plus the person's
consent. Nothing pretends to send them.
"""
import smtplib
import socket
from dataclasses import dataclass

from ..extensions import mail


@dataclass
class Outgoing:
    """One message to one person: a notification, or a digest of several."""

    user_id: int
    address: str
    subject: str
    body: str
    language: str


class DeliveryFailure(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


class EmailChannel:
    """E-mail through Flask-Mailman's SMTP backend (BAODAO_SMTP_URL), one connection per run."""

    name = "email"

    def __init__(self, sender: str):
        self.sender = sender
        self._connection = None

    def address(self, user) -> str | None:
        return (user.email or None) if user is not None else None

    def open(self) -> None:
        self._connection = mail.get_connection(fail_silently=False)

    def send(self, message: Outgoing) -> None:
        from flask_mailman import EmailMessage

        if self._connection is None:
            self.open()
        email = EmailMessage(subject=message.subject, body=message.body, from_email=self.sender,
                             to=[message.address], connection=self._connection)
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailure(f"address refused: {_first(exc.recipients)}", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            # 5xx: the server will say the same next time; 4xx: try again later.
            self._reset()
            detail = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            raise DeliveryFailure(f"SMTP {exc.smtp_code}: {detail}", permanent=500 <= exc.smtp_code < 600) \
                from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            self._reset()
            raise DeliveryFailure(f"{type(exc).__name__}: {exc}", permanent=False) from None

    def _reset(self) -> None:
        """After an error the connection may be half-closed: start a new one for the next message."""
        try:
            if self._connection is not None:
                self._connection.close()
        except (smtplib.SMTPException, OSError):
            pass
        self._connection = None

    def close(self) -> None:
        self._reset()


def _first(recipients) -> str:
    for address, (code, text) in (recipients or {}).items():
        detail = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        return f"{address} ({code} {detail})"
    return ""
