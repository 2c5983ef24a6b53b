"""FastAPI dependencies: the settings, and the loaded encoder and its batchers built in the app's lifespan."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated

import numpy as np
from fastapi import Depends, HTTPException, Request

from services.common.deps import app_settings
from services.encoder.batching import MicroBatcher
from services.encoder.encoding import ClipEncoder
from services.encoder.settings import EncoderSettings


@dataclass
class EncoderState:
    """Everything the routes need once the model is loaded."""

    encoder: ClipEncoder
    images: MicroBatcher[np.ndarray, np.ndarray]
    texts: MicroBatcher[list[str], np.ndarray]
    decode_slots: asyncio.Semaphore  # images decoded at once (decode memory is per image)


def get_state(request: Request) -> EncoderState:
    state: EncoderState | None = getattr(request.app.state, "encoder", None)
    if state is None:
        raise HTTPException(503, "The model is not loaded yet.", headers={"Retry-After": "5"})
    return state


State = Annotated[EncoderState, Depends(get_state)]
SettingsDep = Annotated[EncoderSettings, Depends(app_settings)]
