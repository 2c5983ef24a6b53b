"""Sign-up, sign-in, sign-out, the caller's account, and token validation for other services."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from starlette.concurrency import run_in_threadpool

from services.auth.deps import (
    AddressDep,
    CurrentAuth,
    DbDep,
    NowDep,
    SettingsDep,
    require_service_token,
    session_lifetimes,
)
from services.auth.devices import remember_device
from services.auth.guard import Throttle, assess, confirm_password, count_failure, refuse_if_locked
from services.auth.passwords import burn_verification, hash_password, verify_password
from services.auth.policy import PolicyError, check_email, check_password, check_username
from services.auth.schemas import (
    DeleteAccountRequest,
    LoginRequest,
    LoginResponse,
    RegisterRequest,
    RegisterResponse,
    User,
    ValidateRequest,
)
from services.auth.sessions import authenticate, create_session, revoke_session
from services.auth.throttle import ThrottleKey, clear, record_failure, retry_after
from services.auth.users import AccountTaken, UserRecord, create_user, delete_user, find_by_login

router = APIRouter(tags=["accounts"])

# One message for "no such account" and "wrong password", so neither reveals which it was.
BAD_CREDENTIALS = "wrong username/e-mail or password"


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=RegisterResponse)
def register(
    body: RegisterRequest,
    request: Request,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
    address: AddressDep,
) -> RegisterResponse:
    """Create an account. 422 when a rule is broken, 409 when the username or e-mail is taken,
    429 past register_max_per_address attempts from one address (checked before any hashing)."""
    try:
        username = check_username(body.username)
        email = check_email(body.email)
        check_password(body.password, username=username, email=email, max_chars=settings.password_max_chars)
    except PolicyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    window = timedelta(seconds=settings.register_window_s)
    key = ThrottleKey("register", address, settings.register_max_per_address)
    with db.connection() as conn:
        wait = retry_after(conn, [key], now, window)
        if wait is None:
            record_failure(conn, [key], now, window)  # every attempt counts, not only failures
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many new accounts from this address; try again later",
            headers={"Retry-After": str(wait)},
        )
    # A few hashes at a time per process: a flood from many addresses queues here instead of
    # taking every core (bcrypt is the expensive part of registering).
    slots = request.app.state.hash_slots
    if not slots.acquire(timeout=10):
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "busy; try again", headers={"Retry-After": "5"}
        )
    try:
        password_hash = hash_password(body.password, settings.bcrypt_rounds)  # before borrowing a connection
    finally:
        slots.release()
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


@router.post("/validate", response_model=User, dependencies=[Depends(require_service_token)])
def validate(body: ValidateRequest, db: DbDep, now: NowDep, settings: SettingsDep) -> User:
    """For other services: the user behind a session token (401 when it is not live)."""
    with db.connection() as conn:
        auth = authenticate(conn, body.token, now, *session_lifetimes(settings))
    if auth is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "session expired or revoked")
    return User.model_validate(auth.user)
