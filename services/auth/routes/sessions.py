"""The caller's sessions (devices): list and revoke."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, HTTPException, Response, status

from services.auth.deps import CurrentAuth, DbDep, NowDep
from services.auth.sessions import list_sessions, revoke_session
from services.common.contracts.auth import SessionInfo, SessionList

router = APIRouter(prefix="/sessions", tags=["sessions"])


@router.get("", response_model=SessionList)
def sessions(auth: CurrentAuth, db: DbDep, now: NowDep) -> SessionList:
    """Live sessions, most recently used first; ``current`` marks the one asking."""
    with db.connection() as conn:
        records = list_sessions(conn, auth.user.id, now)
    return SessionList(sessions=[SessionInfo(**vars(r), current=r.id == auth.session_id) for r in records])


@router.delete("/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(session_id: UUID, auth: CurrentAuth, db: DbDep) -> Response:
    """Sign one session out (404 when it is not one of the caller's)."""
    with db.connection() as conn:
        revoked = revoke_session(conn, auth.user.id, session_id)
    if not revoked:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such session")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
