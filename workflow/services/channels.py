"""External channels: how a message leaves the app. E-mail is the first (api/email_channel.py,
on Flask-Mailman); others plug in the same way.

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
with the person's openid) are not built: each would be a class like EmailChannel with its
`address` (a phone number, an openid kept on the user), handed to `delivery.deliver` by the
`notify deliver` command, plus the person's consent. Nothing pretends to send them.
"""
from dataclasses import dataclass


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
