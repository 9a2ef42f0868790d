"""Emails the auth service sends, through Django's email backend (the console by default, SMTP
when EMAIL_URL is set). Sent in the background by default: an answer that waited for the mail
server would take longer exactly when the account exists."""

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.core.mail import EmailMessage

from accounts.models import User

logger = logging.getLogger(__name__)

_senders = ThreadPoolExecutor(max_workers=2, thread_name_prefix="mail")

RESET_SUBJECT = "Reset your Media Handler password"
RESET_BODY = """Hello {name},

Someone (we hope you) asked to reset the password of your Media Handler account.
If it was not you, ignore this message: your password stays as it is.

To choose a new password, send these with it to POST /api/auth/password/reset/confirm/:

  uid:   {uid}
  token: {token}
{link}
The code works once, for {hours} hour(s), and not after the password has changed.
"""


CHANGED_SUBJECT = "Your Media Handler password was changed"
CHANGED_BODY = """Hello {name},

The password of your Media Handler account was just {how}; {signed_out}.

If this was not you, reset your password now (POST /api/auth/password/reset/ with your email
address) and check the devices signed in to your account (GET /api/auth/sessions/).
"""


EMAIL_CHANGED_SUBJECT = "The email address of your Media Handler account was changed"
EMAIL_CHANGED_BODY = """Hello {name},

The email address of your Media Handler account was just changed from this one to
{new_address}. Password resets and notices now go there.

If this was not you, someone is signed in to your account: sign in, put your address back
(PATCH /api/auth/profile/), change your password and sign the other devices out
(GET /api/auth/sessions/).
"""


def send_email_changed(*, user: User, old_address: str) -> Future | None:
    """Tells the previous address that the account's email changed: someone holding a stolen
    session would otherwise move the account to their own address, and its resets with it,
    unseen."""
    body = EMAIL_CHANGED_BODY.format(name=user.first_name or user.username, new_address=user.email)
    return send(EmailMessage(EMAIL_CHANGED_SUBJECT, body, to=[old_address]))


def send_password_changed(*, user: User, by_reset: bool) -> Future | None:
    """Tells the owner their password changed: if it was not them, they learn it at once."""
    body = CHANGED_BODY.format(
        name=user.first_name or user.username,
        how="reset with a code sent to this address" if by_reset else "changed",
        signed_out="every device was signed out"
        if by_reset
        else "your other devices were signed out",
    )
    return send(EmailMessage(CHANGED_SUBJECT, body, to=[user.email]))


def send_password_reset(*, user: User, uid: str, token: str) -> Future | None:
    link = ""
    if settings.PASSWORD_RESET_URL:
        link = "\nOr open: " + settings.PASSWORD_RESET_URL.format(uid=uid, token=token) + "\n"
    body = RESET_BODY.format(
        name=user.first_name or user.username,
        uid=uid,
        token=token,
        link=link,
        hours=max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
    )
    return send(EmailMessage(RESET_SUBJECT, body, to=[user.email]))


def send(message: EmailMessage) -> Future | None:
    """Sends now (EMAIL_IN_BACKGROUND off: the test settings), or in the background; a failure
    is logged, never raised to the request that asked for the mail."""
    if not settings.EMAIL_IN_BACKGROUND:
        _send(message)
        return None
    return _senders.submit(_send, message)


def _send(message: EmailMessage) -> None:
    try:
        message.send()
    except Exception:  # the SMTP server's or the network's: the user can ask again
        logger.exception("could not send the email %r", message.subject)
