"""Forgotten-password recovery and password change."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, HTTPException, status

from services.auth.deps import AddressDep, CurrentAuth, DbDep, MailerDep, NowDep, SettingsDep
from services.auth.devices import forget_devices
from services.auth.guard import confirm_password
from services.auth.mailer import deliver, reset_mail
from services.auth.passwords import hash_password
from services.auth.policy import PolicyError, check_password
from services.auth.recovery import claim_reset_token, issue_reset_token, spend_reset_tokens
from services.auth.sessions import revoke_all
from services.auth.throttle import account_key, clear
from services.auth.users import find_by_login, get_user, set_password
from services.common.contracts.auth import (
    ChangePasswordRequest,
    ChangePasswordResponse,
    ForgotRequest,
    Message,
    ResetRequest,
)

router = APIRouter(prefix="/password", tags=["password"])

FORGOT_ACCEPTED = "if an account matches, a reset code has been sent to its e-mail address"
BAD_RESET_TOKEN = "this reset code is invalid, expired or already used; ask for a new one"


@router.post("/forgot", status_code=status.HTTP_202_ACCEPTED, response_model=Message)
def forgot(
    body: ForgotRequest,
    background: BackgroundTasks,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
    mailer: MailerDep,
) -> Message:
    """Always the same 202 body; a mail goes out only when the account exists.

    The mail is delivered after the response (background task), so a slow SMTP server cannot
    reveal through timing that the account exists.
    """
    lifetime = timedelta(minutes=settings.reset_token_minutes)
    with db.connection() as conn:
        user = find_by_login(conn, body.login)
        token = issue_reset_token(conn, user.id, now, lifetime) if user else None
    if user is not None and token is not None:
        mail = reset_mail(user.username, user.email, token, settings.reset_token_minutes, now, user.id)
        background.add_task(deliver, mailer, mail)
    return Message(detail=FORGOT_ACCEPTED)


@router.post("/reset", response_model=Message)
def reset(body: ResetRequest, db: DbDep, now: NowDep, settings: SettingsDep) -> Message:
    """Set a new password with a reset code; every session of the account is signed out."""
    with db.connection() as conn:
        user_id = claim_reset_token(conn, body.token, now)
        user = get_user(conn, user_id) if user_id else None
        if user is None:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, BAD_RESET_TOKEN)
        try:
            check_password(
                body.new_password,
                username=user.username,
                email=user.email,
                max_chars=settings.password_max_chars,
            )
        except PolicyError as exc:  # leaving the block rolls back: the code stays usable
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
        set_password(conn, user.id, hash_password(body.new_password, settings.bcrypt_rounds), now)
        spend_reset_tokens(conn, user.id, now)
        revoke_all(conn, user.id)
        forget_devices(conn, user.id)
        clear(conn, account_key(user.id, user.username, settings.login_max_failures))
    return Message(detail="password changed; sign in with the new password")


@router.post("/change", response_model=ChangePasswordResponse)
def change(
    body: ChangePasswordRequest,
    auth: CurrentAuth,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
    address: AddressDep,
) -> ChangePasswordResponse:
    """Needs the current password (403 when wrong); signs out every other session."""
    user = auth.user
    confirm_password(db, settings, user, body.current_password, now, address)
    try:
        check_password(
            body.new_password, username=user.username, email=user.email, max_chars=settings.password_max_chars
        )
    except PolicyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    password_hash = hash_password(body.new_password, settings.bcrypt_rounds)
    with db.connection() as conn:
        set_password(conn, user.id, password_hash, now)
        spend_reset_tokens(conn, user.id, now)
        revoked = revoke_all(conn, user.id, keep=auth.session_id)
    return ChangePasswordResponse(
        detail="password changed; other sessions signed out", revoked_sessions=revoked
    )
