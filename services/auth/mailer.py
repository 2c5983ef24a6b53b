"""Outgoing mail. SMTP when ``smtp_host`` is set; otherwise the local outbox (a table; the log
names only the mail's id).

The outbox is how a developer without a mail server finishes the password-reset flow:
``python -m scripts.outbox`` prints the latest mails (see docs/auth.md). It holds live reset
tokens in clear text, which is why it is used only when no SMTP server is configured.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol
from uuid import UUID

from services.auth.db import Database
from services.auth.settings import AuthSettings

log = logging.getLogger("pixelplay.auth.mail")
OUTBOX_KEEP = timedelta(days=7)


@dataclass(frozen=True)
class Mail:
    recipient: str
    subject: str
    body: str
    created_at: datetime
    user_id: UUID | None = None


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Deliver ``mail`` or raise; called from a background task after the response is sent."""


class SmtpMailer:
    """Plain SMTP (STARTTLS unless disabled), with a bounded timeout."""

    def __init__(self, settings: AuthSettings):
        self.settings = settings

    def send(self, mail: Mail) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = mail.recipient
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        with smtplib.SMTP(s.smtp_host or "", s.smtp_port, timeout=15) as smtp:
            if s.smtp_starttls:
                smtp.starttls()
            if s.smtp_user and s.smtp_password:
                smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
            smtp.send_message(message)
        log.info("sent mail %r to %s via SMTP", mail.subject, mail.recipient)


class OutboxMailer:
    """Stores the mail in ``mail_outbox`` and writes it to the service log."""

    def __init__(self, database: Database):
        self.database = database

    def send(self, mail: Mail) -> None:
        with self.database.connection() as conn:
            # The codes inside expire within the hour; a week of mail is plenty to read locally.
            conn.execute("DELETE FROM mail_outbox WHERE created_at < %s", (mail.created_at - OUTBOX_KEEP,))
            outbox_id = conn.execute(
                "INSERT INTO mail_outbox (user_id, recipient, subject, body, created_at)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (mail.user_id, mail.recipient, mail.subject, mail.body, mail.created_at),
            ).fetchone()["id"]
        # The id only: the body holds a live reset or confirmation code, and logs travel further
        # (collectors, support tickets) than the database does.
        log.warning(
            "no SMTP server configured: mail #%s kept in the outbox (python -m scripts.outbox)",
            outbox_id,
        )


def make_mailer(settings: AuthSettings, database: Database) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else OutboxMailer(database)


def deliver(mailer: Mailer, mail: Mail) -> None:
    """Background-task wrapper: a failed delivery is logged, never raised into the server."""
    try:
        mailer.send(mail)
    except Exception:
        log.exception("could not deliver mail %r to %s", mail.subject, mail.recipient)


def reset_mail(username: str, recipient: str, token: str, minutes: int, now: datetime, user_id: UUID) -> Mail:
    body = (
        f"Hello {username},\n\n"
        "Someone (hopefully you) asked to reset your PixelPlay password.\n"
        f"Your reset code, valid for {minutes} minutes and usable once:\n\n"
        f"    {token}\n\n"
        'Enter it in the PixelPlay "Reset password" form together with your new password.\n'
        "If you did not ask for this, ignore this mail: your password stays unchanged.\n"
    )
    return Mail(recipient, "Reset your PixelPlay password", body, now, user_id)


def confirm_mail(username: str, recipient: str, code: str, minutes: int, now: datetime) -> Mail:
    body = (
        f"Hello {username},\n\n"
        "Someone (hopefully you) asked to create a PixelPlay account with this address.\n"
        f"Your confirmation code, valid for {minutes} minutes:\n\n"
        f"    {code}\n\n"
        'Enter it in the PixelPlay "Create account" form to finish. If you did not ask for this,\n'
        "ignore this mail: no account is created.\n"
    )
    return Mail(recipient, "Confirm your PixelPlay account", body, now)


def already_registered_mail(username: str, recipient: str, now: datetime, user_id: UUID) -> Mail:
    body = (
        f"Hello {username},\n\n"
        "Someone tried to create a new PixelPlay account with this address, which already has one.\n"
        'If it was you, sign in instead, or use "Forgot password". Otherwise ignore this mail:\n'
        "nothing was changed.\n"
    )
    return Mail(recipient, "You already have a PixelPlay account", body, now, user_id)


def username_taken_mail(username: str, recipient: str, now: datetime) -> Mail:
    body = (
        "Hello,\n\n"
        f"Someone (hopefully you) asked to create a PixelPlay account named {username!r} with this\n"
        "address, but that username is taken. Register again with another username.\n"
    )
    return Mail(recipient, "Choose another PixelPlay username", body, now)
