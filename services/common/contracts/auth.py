"""Request and response bodies of the auth service (the contract in docs/auth.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

HistoryKind = Literal["image", "text", "hybrid", "similar", "feedback", "moodboard"]


class User(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    username: str
    email: str
    created_at: datetime


class RegisterRequest(BaseModel):
    username: str = Field(max_length=64)
    email: str = Field(max_length=320)
    password: str = Field(max_length=4096)  # the policy's own (lower) limit gives the real message


class RegisterResponse(BaseModel):
    user: User


class ConfirmRequest(BaseModel):
    code: str = Field(min_length=1, max_length=128)


class LoginRequest(BaseModel):
    login: str = Field(min_length=1, max_length=320, description="username or e-mail")
    password: str = Field(max_length=4096)
    # From an earlier sign-in of this browser to this account: lets it through throttling.
    device_token: str | None = Field(None, max_length=128)


class LoginResponse(BaseModel):
    token: str
    expires_at: datetime
    user: User
    device_token: str = Field(description="proof that this browser signed in; send it on later logins")


class SessionInfo(BaseModel):
    id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    client_ip: str | None
    current: bool = Field(description="the session making this request")


class SessionList(BaseModel):
    sessions: list[SessionInfo]


class Message(BaseModel):
    detail: str


class ForgotRequest(BaseModel):
    login: str = Field(min_length=1, max_length=320)


class ResetRequest(BaseModel):
    token: str = Field(min_length=1, max_length=256)
    new_password: str = Field(max_length=4096)


class ChangePasswordRequest(BaseModel):
    current_password: str = Field(max_length=4096)
    new_password: str = Field(max_length=4096)


class ChangePasswordResponse(BaseModel):
    detail: str
    revoked_sessions: int


class DeleteAccountRequest(BaseModel):
    password: str = Field(max_length=4096)


class ValidateRequest(BaseModel):
    token: str = Field(min_length=1, max_length=256)


class HistoryIn(BaseModel):
    """One search as the UI saw it. Sizes are checked in the route (413) and here (422)."""

    model_config = ConfigDict(extra="forbid")

    kind: HistoryKind
    text: str | None = Field(None, max_length=2000)
    weight: float | None = Field(None, ge=0.0, le=1.0)
    filters: dict[str, Any] | None = None
    image_fingerprint: str | None = Field(None, max_length=128)
    thumbnail: str | None = Field(None, description="small data: URL (image/*)")
    source_track_id: str | None = Field(None, max_length=64)
    result_track_ids: list[str] = Field(default_factory=list)
    feedback: dict[str, Any] | None = None


class HistoryEntry(HistoryIn):
    id: UUID
    created_at: datetime


class HistoryPage(BaseModel):
    items: list[HistoryEntry]
    total: int
    offset: int
    limit: int


class HistoryCleared(BaseModel):
    deleted: int
