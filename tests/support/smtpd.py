"""The SMTP server of the tests: Debian's aiosmtpd, keeping every message in a Maildir.

Run as `python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c smtpd.Recorder MAILDIR [RCPT_DELAY_SECONDS]`
with this folder on PYTHONPATH. A delay before accepting each recipient makes a worker spend its
time inside the SMTP conversation, so a test can stop it there.
"""

import asyncio

from aiosmtpd.handlers import Mailbox


class Recorder(Mailbox):
    def __init__(self, maildir, rcpt_delay=0.0):
        super().__init__(maildir)
        self.rcpt_delay = rcpt_delay

    @classmethod
    def from_cli(cls, parser, *args):
        if not args:
            parser.error("a Maildir path is required")
        return cls(args[0], float(args[1]) if len(args) > 1 else 0.0)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"
