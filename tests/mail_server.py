"""A real SMTP server for the tests (aiosmtpd, in a thread on a free 127.0.0.1 port) that keeps
every message it received, and can refuse recipients or go down like a real one."""
import email
import socket
from email.header import decode_header, make_header
from email.policy import default as default_policy

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Received:
    """One message as the server got it: envelope recipients, decoded subject and text body."""

    def __init__(self, envelope):
        self.rcpt_tos = list(envelope.rcpt_tos)
        self.message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        self.subject = str(make_header(decode_header(self.message["Subject"])))
        self.body = self.message.get_body(preferencelist=("plain",)).get_content()

    def __repr__(self):
        return f"<mail to {self.rcpt_tos}: {self.subject}>"


class Mailbox:
    """aiosmtpd handler: accepts everything except the addresses in `refuse` (550)."""

    def __init__(self):
        self.received: list[Received] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(Received(envelope))
        return "250 Message accepted for delivery"

    def to(self, address) -> list[Received]:
        return [m for m in self.received if address in m.rcpt_tos]


class SmtpServer:
    def __init__(self, port: int):
        self.port = port
        self.mailbox = Mailbox()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=port)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()
