"""Email through Django's email framework: SMTP from EMAIL_URL, the console when embedded."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from apps.notifications.transports.base import (
    Message,
    PermanentDeliveryError,
    TransientDeliveryError,
    Transport,
)

# Every network call has a timeout (a hung mail server must not hold a worker for ever).
# EMAIL_TIMEOUT, when the operator sets it, wins.
SEND_TIMEOUT_SECONDS = 10


class EmailTransport(Transport):
    """One plain-text email per message, to the destination's address or the login's."""

    max_batch = 1

    def send(self, destination, messages: list[Message]) -> None:
        recipient = destination.recipient
        if not recipient:
            raise PermanentDeliveryError(
                "No email address: set one on the destination or on your login."
            )
        timeout = getattr(settings, "EMAIL_TIMEOUT", None) or SEND_TIMEOUT_SECONDS
        connection = get_connection(fail_silently=False, timeout=timeout)
        for message in messages:
            email = EmailMessage(
                # A header cannot hold a line break; Django would refuse the whole message.
                subject=" ".join(message.subject.split()),
                body=message.body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[recipient],
                connection=connection,
            )
            try:
                email.send()
            except OSError as error:  # smtplib.SMTPException is an OSError too
                raise delivery_error(error, recipient=recipient, timeout=timeout) from error


def delivery_error(
    error: OSError, *, recipient: str, timeout: float
) -> PermanentDeliveryError | TransientDeliveryError:
    """Say what went wrong in words a trader can act on, and whether retrying can help.

    SMTP's own rule decides: a 5xx reply is final, a 4xx reply means "try again later".
    Losing the connection, or never getting one, is worth retrying.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        # Every recipient was refused (we send to one); the reply per address says why.
        code, reply = next(iter(error.recipients.values()), (0, b""))
        return _by_code(
            code, f"The mail server refused the address {recipient} {_said(code, reply)}"
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        # The sender is the desk's own DEFAULT_FROM_EMAIL: an operator's setting, not the
        # trader's destination, so it must not mark every trader's destination failing.
        return TransientDeliveryError(
            f"The mail server refused the desk's sender address {error.sender} "
            f"{_said(error.smtp_code, error.smtp_error)} The operator must fix DEFAULT_FROM_EMAIL."
        )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        # Likewise the desk's SMTP login (EMAIL_URL), not the trader's address.
        return TransientDeliveryError(
            f"The mail server refused the desk's login {_said(error.smtp_code, error.smtp_error)} "
            "The operator must fix EMAIL_URL."
        )
    if isinstance(error, smtplib.SMTPConnectError):
        said = _said(error.smtp_code, error.smtp_error)
        return TransientDeliveryError(f"The mail server would not take a connection {said}")
    if isinstance(error, smtplib.SMTPResponseException):
        said = _said(error.smtp_code, error.smtp_error)
        if 500 <= error.smtp_code < 600:
            return PermanentDeliveryError(f"The mail server rejected the message {said}")
        return TransientDeliveryError(f"The mail server could not take the message now {said}")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        if isinstance(error.__context__, TimeoutError):
            # smtplib reports a reply that never came as a lost connection.
            return _timed_out(timeout)
        return TransientDeliveryError("The mail server closed the connection unexpectedly.")
    if isinstance(error, smtplib.SMTPException):
        return TransientDeliveryError(f"Sending the email failed: {error}")
    if isinstance(error, TimeoutError):
        return _timed_out(timeout)
    reason = error.strerror or str(error) or type(error).__name__
    return TransientDeliveryError(f"Could not reach the mail server: {reason}.")


def _timed_out(timeout: float) -> TransientDeliveryError:
    return TransientDeliveryError(f"The mail server did not answer within {timeout:g} seconds.")


def _by_code(code: int, text: str) -> PermanentDeliveryError | TransientDeliveryError:
    if 500 <= code < 600:
        return PermanentDeliveryError(text)
    return TransientDeliveryError(text)


def _said(code: int, reply: bytes | str) -> str:
    """`(550 5.1.1 No such user).`: the server's own answer, in brackets."""
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    said = " ".join(f"{code} {reply}".split())
    return f"({said})."
