"""E-mail, the first external channel (the interface: workflow/services/channels.py), through
Flask-Mailman's SMTP backend configured from BAODAO_SMTP_URL. `flask --app wsgi notify deliver`
hands it to workflow.services.delivery.deliver."""
import smtplib
import socket

from flask_mailman import EmailMessage

from workflow.extensions import mail
from workflow.services.channels import DeliveryFailure, Outgoing


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
