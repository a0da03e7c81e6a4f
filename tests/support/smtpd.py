"""The SMTP server of the tests: Debian's aiosmtpd, keeping every message in a Maildir.

Run as `python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c smtpd.Recorder MAILDIR [HOLD_RECIPIENT
[AFTER_DATA]]` with this folder on PYTHONPATH. HOLD_RECIPIENT (1-based, 0 for none) is a recipient
the server never answers, writing it to MAILDIR/held instead: the worker sending it is then known
to be inside its SMTP conversation, before any data went out, so a test can stop it there. AFTER_DATA is what
the server does once it has the whole message: `reply` (250, the default), `silent` (keeps it and
never replies) or `drop` (keeps it and closes the connection without a reply) — a server whose
reply is lost, so that the client cannot know the message arrived.
"""

import asyncio
import os

from aiosmtpd.handlers import Mailbox


class Recorder(Mailbox):
    def __init__(self, maildir, hold_recipient=0, after_data="reply"):
        super().__init__(maildir)
        self.maildir_path = maildir
        self.hold_recipient = hold_recipient
        self.recipients = 0
        self.after_data = after_data

    @classmethod
    def from_cli(cls, parser, *args):
        if not args:
            parser.error("a Maildir path is required")
        hold = int(args[1]) if len(args) > 1 else 0
        return cls(args[0], hold, args[2] if len(args) > 2 else "reply")

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if self.after_data == "silent":
            await asyncio.sleep(3600)
        elif self.after_data == "drop":
            server.transport.close()
            await asyncio.sleep(3600)
        return reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.recipients += 1
        if self.recipients == self.hold_recipient:
            with open(os.path.join(self.maildir_path, "held.tmp"), "w") as marker:
                marker.write(address)
            os.replace(os.path.join(self.maildir_path, "held.tmp"), os.path.join(self.maildir_path, "held"))
            await asyncio.sleep(3600)
        envelope.rcpt_tos.append(address)
        return "250 OK"
