"""The request and response models of each service's HTTP API, one module per service.

A service declares its routes with these models and the typed clients in
``services/common/clients/`` return them, so both sides of a call read the same definition.
``songs`` holds the song itself, which every service passes around.
"""

from typing import Any

from pydantic import BaseModel


def request_body(model: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """A request as JSON in the contract's shape, for a client to send. Not validated here: the
    service is the one place that checks a request, so a bad value gets its own 4xx message.
    Fields left out (or ``None``) take the service's defaults."""
    return model.model_construct(**fields).model_dump(mode="json", exclude_none=True, warnings=False)
