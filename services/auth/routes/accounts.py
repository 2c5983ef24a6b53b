"""Sign-up, sign-in, sign-out, the caller's account, and token validation for other services."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from services.auth.db import Database
from services.auth.deps import (
    AddressDep,
    CurrentAuth,
    DbDep,
    MailerDep,
    NowDep,
    SettingsDep,
    session_lifetimes,
)
from services.auth.devices import remember_device
from services.auth.guard import Throttle, assess, confirm_password, count_failure, refuse_if_locked
from services.auth.mailer import already_registered_mail, confirm_mail, deliver, username_taken_mail
from services.auth.passwords import burn_verification, hash_password, verify_password
from services.auth.policy import PolicyError, check_email, check_password, check_username
from services.auth.registrations import claim_registration, start_registration
from services.auth.sessions import authenticate, create_session, revoke_session
from services.auth.settings import AuthSettings
from services.auth.throttle import ThrottleKey, clear, record_failure, retry_after
from services.auth.users import AccountTaken, UserRecord, create_user, delete_user, find_by_login
from services.common.contracts.auth import (
    ConfirmRequest,
    DeleteAccountRequest,
    LoginRequest,
    LoginResponse,
    Message,
    RegisterRequest,
    RegisterResponse,
    User,
    ValidateRequest,
)
from services.common.deps import Internal

router = APIRouter(tags=["accounts"])

# One message for "no such account" and "wrong password", so neither reveals which it was.
BAD_CREDENTIALS = "wrong username/e-mail or password"


CONFIRM_SENT = "check your e-mail: it holds a code that finishes creating your account"
BAD_CONFIRM_CODE = "this confirmation code is invalid or expired; register again"


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisterResponse,
    responses={202: {"model": Message, "description": "a confirmation code was mailed (not in dev_mode)"}},
)
def register(
    body: RegisterRequest,
    request: Request,
    background: BackgroundTasks,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
    mailer: MailerDep,
    address: AddressDep,
) -> RegisterResponse | JSONResponse:
    """Register. 422 when a rule is broken; 429 past register_max_per_address attempts from one
    address (checked before any hashing). Then 202 with the same words whatever the address and
    username: a code is mailed, and ``/register/confirm`` creates the account. In ``dev_mode``
    (the run command) the account is created at once: 201, or 409 when a name is taken."""
    try:
        username = check_username(body.username)
        email = check_email(body.email)
        check_password(body.password, username=username, email=email, max_chars=settings.password_max_chars)
    except PolicyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    refuse_registration_flood(db, settings, address, now)
    password_hash = bounded_hash(request, body.password, settings)  # before borrowing a connection
    if settings.dev_mode:
        return create_account(db, username, email, password_hash, now)
    minutes = settings.register_code_minutes
    with db.connection() as conn:
        owner = find_by_login(conn, email)
        name_taken = owner is None and find_by_login(conn, username) is not None
        if owner is not None:
            mail = already_registered_mail(owner.username, owner.email, now, owner.id)
        elif name_taken:
            mail = username_taken_mail(username, email, now)
        else:
            code = start_registration(conn, username, email, password_hash, now, timedelta(minutes=minutes))
            mail = confirm_mail(username, email, code, minutes, now)
    background.add_task(deliver, mailer, mail)  # after the answer: its timing says nothing
    return JSONResponse({"detail": CONFIRM_SENT}, status_code=status.HTTP_202_ACCEPTED)


@router.post("/register/confirm", status_code=status.HTTP_201_CREATED, response_model=RegisterResponse)
def confirm_registration(body: ConfirmRequest, db: DbDep, now: NowDep) -> RegisterResponse:
    """Create the account behind a mailed code. 400 for an unknown or expired code, 409 when the
    username or e-mail was taken meanwhile (only the code's holder learns that)."""
    with db.connection() as conn:
        pending = claim_registration(conn, body.code.strip(), now)
    if pending is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, BAD_CONFIRM_CODE)
    return create_account(db, pending.username, pending.email, pending.password_hash, now)


def create_account(
    db: Database, username: str, email: str, password_hash: str, now: datetime
) -> RegisterResponse:
    with db.connection() as conn:
        try:
            user = create_user(conn, username, email, password_hash, now)
        except AccountTaken as exc:
            taken = exc.field
        else:
            taken = None
    if taken is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"this {taken} is already registered")
    return RegisterResponse(user=User.model_validate(user))


def refuse_registration_flood(db: Database, settings: AuthSettings, address: str, now: datetime) -> None:
    """429 past register_max_per_address attempts in register_window_s (every attempt counts)."""
    window = timedelta(seconds=settings.register_window_s)
    key = ThrottleKey("register", address, settings.register_max_per_address)
    with db.connection() as conn:
        wait = retry_after(conn, [key], now, window)
        if wait is None:
            record_failure(conn, [key], now, window)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many new accounts from this address; try again later",
            headers={"Retry-After": str(wait)},
        )


def bounded_hash(request: Request, password: str, settings: AuthSettings) -> str:
    """bcrypt, a few at a time per process: a flood from many addresses queues here instead of
    taking every core; 503 when no slot frees up within 10 s."""
    slots = request.app.state.hash_slots
    if not slots.acquire(timeout=10):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "busy; try again", headers={"Retry-After": "5"}
        )
    try:
        return hash_password(password, settings.bcrypt_rounds)
    finally:
        slots.release()


@router.post("/login", response_model=LoginResponse)
async def login(
    body: LoginRequest, request: Request, db: DbDep, now: NowDep, settings: SettingsDep, address: AddressDep
) -> LoginResponse:
    """A new session token. 401 for any bad credentials, 429 (+ Retry-After) while this address is
    locked for this account; past the softer limits the answer only comes later."""

    def look_up() -> tuple[UserRecord | None, Throttle]:
        with db.connection() as conn:
            user = find_by_login(conn, body.login)
            return user, assess(conn, settings, user, body.login, address, now, body.device_token)

    user, throttle = await run_in_threadpool(look_up)
    refuse_if_locked(throttle)
    if throttle.delay:
        # Before the check, for right and wrong passwords alike, and without holding a thread.
        await asyncio.sleep(throttle.delay)

    def check_and_start() -> LoginResponse | None:
        if user is None:
            burn_verification(body.password, settings.bcrypt_rounds)  # same cost as a real check
            valid = False
        else:
            valid = verify_password(body.password, user.password_hash)
        with db.connection() as conn:
            if not valid or user is None:
                count_failure(conn, settings, throttle, now)
                return None
            clear(conn, throttle.account)
            clear(conn, throttle.lock)
            sliding, absolute = session_lifetimes(settings)
            token, session = create_session(
                conn, user.id, now, min(sliding, absolute), request.headers.get("user-agent"), address
            )
            device = remember_device(conn, user.id, now, timedelta(days=settings.known_device_days))
        return LoginResponse(
            token=token, expires_at=session.expires_at, user=User.model_validate(user), device_token=device
        )

    answer = await run_in_threadpool(check_and_start)
    if answer is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, BAD_CREDENTIALS)
    return answer


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(auth: CurrentAuth, db: DbDep) -> Response:
    """Revoke the session that sent this request."""
    with db.connection() as conn:
        revoke_session(conn, auth.user.id, auth.session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=User)
def me(auth: CurrentAuth) -> User:
    return User.model_validate(auth.user)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
def delete_me(
    body: DeleteAccountRequest,
    auth: CurrentAuth,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
    address: AddressDep,
) -> Response:
    """Delete the account and everything stored for it (sessions, history, reset mails)."""
    confirm_password(db, settings, auth.user, body.password, now, address)
    with db.connection() as conn:
        delete_user(conn, auth.user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/validate", response_model=User, dependencies=Internal)
def validate(body: ValidateRequest, db: DbDep, now: NowDep, settings: SettingsDep) -> User:
    """For other services: the user behind a session token (401 when it is not live)."""
    with db.connection() as conn:
        auth = authenticate(conn, body.token, now, *session_lifetimes(settings))
    if auth is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "session expired or revoked")
    return User.model_validate(auth.user)
