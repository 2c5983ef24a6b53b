"""Request and response bodies of the encoder API (see docs/encoder.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ModelInfo(BaseModel):
    model: str = Field(description="Architecture, or 'local-dir:<name>' for a checkpoint folder")
    pretrained: str | None = Field(description="open_clip pretrained tag, when weights came from one")
    checkpoint: str | None = Field(description="Local checkpoint folder or file, when one is used")
    is_pretrained: bool = Field(description="False for demo checkpoints with random weights")
    dim: int = Field(description="Vector length, read from the model")
    model_id: str = Field(description="Stable id of the weights; vectors from different ids don't mix")
    runtime: str = Field(description="'onnx', 'onnx-int8' or 'torch'")


class ImageVector(BaseModel):
    vector: list[float]
    dim: int
    model_id: str


class TextsRequest(BaseModel):
    texts: list[str] = Field(description="Non-empty texts; limits: settings max_texts and max_text_chars")


class TextVectors(BaseModel):
    vectors: list[list[float]]
    dim: int
    model_id: str
