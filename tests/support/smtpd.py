"""The SMTP server of the tests: Debian's aiosmtpd, keeping every message in a Maildir.

Run as `python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c smtpd.Recorder MAILDIR [RCPT_DELAY_SECONDS
[AFTER_DATA]]` with this folder on PYTHONPATH. A delay before accepting each recipient makes a
worker spend its time inside the SMTP conversation, so a test can stop it there. AFTER_DATA is what
the server does once it has the whole message: `reply` (250, the default), `silent` (keeps it and
never replies) or `drop` (keeps it and closes the connection without a reply) — a server whose
reply is lost, so that the client cannot know the message arrived.
"""

import asyncio

from aiosmtpd.handlers import Mailbox


class Recorder(Mailbox):
    def __init__(self, maildir, rcpt_delay=0.0, after_data="reply"):
        super().__init__(maildir)
        self.rcpt_delay = rcpt_delay
        self.after_data = after_data

    @classmethod
    def from_cli(cls, parser, *args):
        if not args:
            parser.error("a Maildir path is required")
        delay = float(args[1]) if len(args) > 1 else 0.0
        return cls(args[0], delay, args[2] if len(args) > 2 else "reply")

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if self.after_data == "silent":
            await asyncio.sleep(3600)
        elif self.after_data == "drop":
            server.transport.close()
            await asyncio.sleep(3600)
        return reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"
