"""Sign-up, sign-in, sign-out, the caller's account, and token validation for other services."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from services.auth.deps import AddressDep, CurrentAuth, DbDep, NowDep, SettingsDep, require_service_token
from services.auth.guard import confirm_password, throttle_keys
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
from services.auth.throttle import clear, record_failure, retry_after
from services.auth.users import AccountTaken, create_user, delete_user, find_by_login

router = APIRouter(tags=["accounts"])

# One message for "no such account" and "wrong password", so neither reveals which it was.
BAD_CREDENTIALS = "wrong username/e-mail or password"
TOO_MANY_FAILURES = "too many failed sign-in attempts; try again later"


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=RegisterResponse)
def register(body: RegisterRequest, db: DbDep, now: NowDep, settings: SettingsDep) -> RegisterResponse:
    """Create an account. 422 when a rule is broken, 409 when the username or e-mail is taken."""
    try:
        username = check_username(body.username)
        email = check_email(body.email)
        check_password(body.password, username=username, email=email, max_chars=settings.password_max_chars)
    except PolicyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    password_hash = hash_password(body.password, settings.bcrypt_rounds)  # before borrowing a connection
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
def login(
    body: LoginRequest, request: Request, db: DbDep, now: NowDep, settings: SettingsDep, address: AddressDep
) -> LoginResponse:
    """A new session token. 401 for any bad credentials, 429 (+ Retry-After) while throttled."""
    window = timedelta(seconds=settings.login_window_s)
    with db.connection() as conn:
        user = find_by_login(conn, body.login)
        keys = throttle_keys(settings, user, body.login, address)
        wait = retry_after(conn, keys, now, window)
    if wait is not None:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY_FAILURES, headers={"Retry-After": str(wait)}
        )
    if user is None:
        burn_verification(body.password, settings.bcrypt_rounds)  # same cost as a real check
        valid = False
    else:
        valid = verify_password(body.password, user.password_hash)
    with db.connection() as conn:
        if not valid:
            record_failure(conn, keys, now, window)
        else:
            clear(conn, keys[0])
            token, session = create_session(
                conn,
                user.id,
                now,
                timedelta(days=settings.session_days),
                request.headers.get("user-agent"),
                address,
            )
    if not valid:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, BAD_CREDENTIALS)
    return LoginResponse(token=token, expires_at=session.expires_at, user=User.model_validate(user))


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
        auth = authenticate(conn, body.token, now, timedelta(days=settings.session_days))
    if auth is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "session expired or revoked")
    return User.model_validate(auth.user)
