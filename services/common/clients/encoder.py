"""Typed client for the encoder service (``services/encoder``): CLIP vectors over HTTP.

Used by the search service (query vectors) and the indexing job (song text vectors). Errors follow
``ServiceClient``: a 4xx raises ``ServiceError`` with the encoder's message, an unreachable or failing
encoder raises ``ServiceUnavailable`` after the retries.
"""

from __future__ import annotations

from services.common.contracts import request_body
from services.common.contracts.encoder import ImageVector, ModelInfo, TextsRequest, TextVectors
from services.common.http import ServiceClient

# The encoder's default per-request limit (EncoderSettings.max_texts, checked by a test).
TEXTS_PER_REQUEST = 256


class EncoderClient(ServiceClient):
    """``EncoderClient(settings.encoder_url)``; vectors come back L2-normalised."""

    service = "encoder"
    url_setting = "encoder_url"

    def info(self) -> ModelInfo:
        return ModelInfo.model_validate(self.get_json("/info"))

    def image_vector(
        self, data: bytes, filename: str = "image", content_type: str = "application/octet-stream"
    ) -> ImageVector:
        """One image (JPEG/PNG/WebP bytes) → its vector and the id of the model that made it. The
        server checks the type by content."""
        answer = self.request("POST", "/encode/image", files={"file": (filename, data, content_type)})
        return ImageVector.model_validate(answer.json())

    def text_vectors(self, texts: list[str]) -> TextVectors:
        """Texts → one vector each and the model id, in one request (at most ``TEXTS_PER_REQUEST``)."""
        return TextVectors.model_validate(
            self.post_json("/encode/texts", request_body(TextsRequest, texts=texts))
        )

    def encode_image(
        self, data: bytes, filename: str = "image", content_type: str = "application/octet-stream"
    ) -> list[float]:
        """One image → its vector."""
        return self.image_vector(data, filename, content_type).vector

    def encode_texts(self, texts: list[str], chunk_size: int | None = None) -> list[list[float]]:
        """Texts → one vector each, in order. Long lists are sent in chunks of at most
        ``TEXTS_PER_REQUEST`` (the server's limit), so the indexer can pass the whole catalog."""
        size = max(1, chunk_size or TEXTS_PER_REQUEST)
        vectors: list[list[float]] = []
        for start in range(0, len(texts), size):
            vectors.extend(self.text_vectors(texts[start : start + size]).vectors)
        return vectors
