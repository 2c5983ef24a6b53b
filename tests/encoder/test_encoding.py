"""Vectors: unit length, deterministic, and equal to plain open_clip for every optimised path.

The ONNX towers, the EOT-trimmed text tower and the de-duplication are the same code the service
runs for ViT-B-32; here they run with the tiny checkpoint.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from services.encoder import tower_modules, towers
from services.encoder.encoding import ClipEncoder, build_encoder, eot_positions, plan_text_batches
from services.encoder.images import probe_pixels, to_pixels
from tests.encoder.conftest import photo, settings_for

TEXTS = [
    "a melancholic, calm, slow acoustic neo soul ballad from the 1970s",
    "an euphoric, intense, fast electronic big room EDM track from the late 2010s",
    "rain",
    "a cheerful pop song",
    "a cheerful pop song",  # duplicate on purpose
    " ".join(["very long text"] * 60),  # longer than 77 tokens: truncated exactly like open_clip
    "a wistful, mellow, mid-tempo danceable Latin track from the early 2000s",
]


def plain_text_vectors(model, encoder: ClipEncoder, texts: list[str]) -> np.ndarray:
    with torch.inference_mode():
        return model.encode_text(encoder.clip.tokenizer(texts), normalize=True).numpy()


def plain_image_vectors(model, pixels: list[np.ndarray]) -> np.ndarray:
    with torch.inference_mode():
        batch = torch.from_numpy(np.stack(pixels))
        return model.encode_image(batch, normalize=True).numpy()


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


@pytest.mark.parametrize("runtime", ["onnx_encoder", "torch_encoder"])
def test_text_vectors_match_open_clip(runtime: str, request: pytest.FixtureRequest, plain_model) -> None:
    encoder: ClipEncoder = request.getfixturevalue(runtime)
    ours = encoder.encode_texts(TEXTS)
    assert ours.shape == (len(TEXTS), encoder.dim)
    assert cosines(ours, plain_text_vectors(plain_model, encoder, TEXTS)).min() >= 0.9999


@pytest.mark.parametrize("runtime", ["onnx_encoder", "torch_encoder"])
def test_image_vectors_match_open_clip(runtime: str, request: pytest.FixtureRequest, plain_model) -> None:
    encoder: ClipEncoder = request.getfixturevalue(runtime)
    pixels = [
        to_pixels(photo(size, seed=i), encoder.clip.preprocess)
        for i, size in enumerate([(640, 480), (300, 500), (224, 224), (90, 120)])
    ]
    ours = encoder.encode_pixels(pixels)
    assert cosines(ours, plain_image_vectors(plain_model, pixels)).min() >= 0.999


def test_trimmed_batches_equal_full_length_rows(torch_encoder: ClipEncoder) -> None:
    """The trimming claim itself: cutting after the batch's longest EOT leaves every vector unchanged."""
    short = [t for t in TEXTS if len(t) < 100]
    short_tokens = torch_encoder.tokenize(short)
    cut = int(eot_positions(short_tokens).max()) + 1
    assert cut < short_tokens.shape[1]  # the test really trims something
    full = torch_encoder.towers.text(short_tokens)
    trimmed = torch_encoder.towers.text(np.ascontiguousarray(short_tokens[:, :cut]))
    assert cosines(full, trimmed).min() >= 0.9999


def test_duplicates_are_encoded_once_and_order_is_kept(onnx_encoder: ClipEncoder) -> None:
    before = onnx_encoder.stats.texts_encoded
    vectors = onnx_encoder.encode_texts(["b", "a", "b", "b", "c"])
    assert onnx_encoder.stats.texts_encoded - before == 3
    np.testing.assert_array_equal(vectors[0], vectors[2])
    single = onnx_encoder.encode_texts(["a"])[0]
    assert cosines(vectors[1:2], single[None])[0] >= 0.99999


def test_small_text_batches_give_the_same_vectors(tiny_model_dir, encoder_data_dir) -> None:
    """Batch size only changes grouping: batch 2 (many trimmed passes) equals batch 64."""
    from services.encoder.encoding import build_encoder

    small = build_encoder(settings_for(tiny_model_dir, encoder_data_dir, text_batch_size=2))
    big = build_encoder(settings_for(tiny_model_dir, encoder_data_dir, text_batch_size=64))
    a, b = small.encode_texts(TEXTS), big.encode_texts(TEXTS)
    assert small.stats.text_passes == 3 and big.stats.text_passes == 1  # 6 unique texts
    assert cosines(a, b).min() >= 0.9999


def test_vectors_are_unit_length_and_deterministic(onnx_encoder: ClipEncoder) -> None:
    first = onnx_encoder.encode_texts(TEXTS)
    second = onnx_encoder.encode_texts(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first, second)
    pixels = [to_pixels(photo(seed=3), onnx_encoder.clip.preprocess)]
    image = onnx_encoder.encode_pixels(pixels)
    np.testing.assert_allclose(np.linalg.norm(image, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(image, onnx_encoder.encode_pixels(pixels))


def test_image_in_a_batch_equals_image_alone(onnx_encoder: ClipEncoder) -> None:
    pixels = [to_pixels(photo(seed=i), onnx_encoder.clip.preprocess) for i in range(5)]
    together = onnx_encoder.encode_pixels(pixels)
    alone = np.concatenate([onnx_encoder.encode_pixels([p]) for p in pixels])
    assert cosines(together, alone).min() >= 0.99999


def test_int8_option_runs_and_stays_close(tiny_model_dir, encoder_data_dir, onnx_encoder) -> None:
    """int8 is opt-in and lossy; its drift is reported in docs/benchmarks.md. Here: it works and
    still points the same way (a broken quantisation gives cosines near 0)."""
    int8 = build_encoder(settings_for(tiny_model_dir, encoder_data_dir, quantize="int8"))
    assert int8.runtime == "onnx-int8"
    assert cosines(int8.encode_texts(TEXTS), onnx_encoder.encode_texts(TEXTS)).min() >= 0.95
    pixels = [to_pixels(photo(seed=i), int8.clip.preprocess) for i in range(3)]
    assert cosines(int8.encode_pixels(pixels), onnx_encoder.encode_pixels(pixels)).min() >= 0.95


def test_onnx_export_is_cached_per_model(onnx_encoder: ClipEncoder, encoder_data_dir) -> None:
    files = sorted(p.name for p in (encoder_data_dir / "encoder" / "onnx").rglob("*.onnx"))
    assert "image.onnx" in files and "text.onnx" in files
    folder = next((encoder_data_dir / "encoder" / "onnx").iterdir())
    assert onnx_encoder.model_id.split(":")[-1] in folder.name  # keyed by the weights' hash


def test_plan_groups_by_length_and_trims_each_pass() -> None:
    eot = np.array([5, 20, 3, 9, 4, 30])
    batches = plan_text_batches(eot, batch_size=2, context=77, can_trim=True)
    assert [sorted(eot[b.rows].tolist()) for b in batches] == [[3, 4], [5, 9], [20, 30]]
    assert [b.length for b in batches] == [5, 10, 31]
    untrimmed = plan_text_batches(eot, batch_size=4, context=77, can_trim=False)
    assert [b.length for b in untrimmed] == [77, 77]
    assert sorted(np.concatenate([b.rows for b in batches]).tolist()) == list(range(6))


def test_jpeg_draft_upload_path_stays_within_parity(onnx_encoder: ClipEncoder, plain_model) -> None:
    """The service's default upload path (JPEG draft decoding) vs plain open_clip on the full image."""
    import io

    import open_clip
    from PIL import Image

    from services.encoder.images import prepare_upload
    from tests.encoder.conftest import encode

    transform = open_clip.image_transform(224, is_train=False)
    for i, size in enumerate([(1600, 1200), (1024, 768), (640, 480), (500, 900)]):
        data = encode(photo(size, seed=i), "JPEG", quality=90)
        ours = onnx_encoder.encode_pixels([prepare_upload(data, onnx_encoder.clip.preprocess, 10**7, 10**8)])
        with torch.inference_mode():
            reference = plain_model.encode_image(
                transform(Image.open(io.BytesIO(data)))[None], normalize=True
            ).numpy()
        assert cosines(ours, reference)[0] >= 0.999


def test_class_token_tower_equals_the_visual_tower(onnx_encoder: ClipEncoder, plain_model) -> None:
    """The exported image tower runs the last block on the class token only: same numbers."""
    visual = plain_model.visual
    module = tower_modules.image_tower(visual)
    assert isinstance(module, tower_modules.ImageTower)
    pixels = torch.from_numpy(probe_pixels(onnx_encoder.clip.preprocess, count=3))
    with torch.inference_mode():
        np.testing.assert_allclose(module(pixels).numpy(), visual(pixels).numpy(), rtol=1e-4, atol=1e-5)


def test_other_visual_towers_are_exported_whole(plain_model, monkeypatch) -> None:
    visual = plain_model.visual
    monkeypatch.setattr(visual, "pool_type", "avg")  # mean pooling reads every token
    assert tower_modules.image_tower(visual) is visual


def test_the_onnx_encoder_lets_go_of_its_torch_model(tiny_model_dir, tmp_path) -> None:
    """Once the ONNX towers serve, the torch model is freed (not merely unreferenced by the
    encoder): nothing keeps it alive, and the encoder still encodes."""
    import weakref

    from services.encoder import encoding
    from services.encoder.model_loading import load_clip

    kept: list[weakref.ref] = []

    def load_and_watch(settings):
        clip = load_clip(settings)
        kept.append(weakref.ref(clip.model))
        return clip

    settings = settings_for(tiny_model_dir, tmp_path, runtime="onnx", quantize="none")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(encoding, "load_clip", load_and_watch)
        encoder = build_encoder(settings)
    assert encoder.clip.model is None
    assert kept[0]() is None
    assert encoder.encode_texts(["rain"]).shape == (1, encoder.dim)
    torch_encoder = build_encoder(settings.model_copy(update={"runtime": "torch"}))
    assert torch_encoder.clip.model is not None  # the torch runtime runs on it


def test_cpu_flags_decide_vnni() -> None:
    assert towers.cpu_has_vnni("flags : fpu avx2 avx512f avx512_vnni avx512_bf16")
    assert towers.cpu_has_vnni("flags : fpu avx2 avx_vnni")
    assert not towers.cpu_has_vnni("flags : fpu avx2 fma avx512f avx512vl")


def auto_encoder(tiny_model_dir, data_dir, monkeypatch, vnni: bool, **overrides) -> ClipEncoder:
    monkeypatch.setattr(towers, "cpu_has_vnni", lambda cpuinfo=None: vnni)
    return build_encoder(settings_for(tiny_model_dir, data_dir, quantize="auto", **overrides))


def onnx_files(data_dir) -> set[str]:
    return {p.name for p in (data_dir / "encoder" / "onnx").rglob("*.onnx")}


def test_auto_runs_the_image_tower_int8_when_it_keeps_parity(
    tiny_model_dir, encoder_data_dir, onnx_encoder, plain_model, monkeypatch
) -> None:
    auto = auto_encoder(tiny_model_dir, encoder_data_dir, monkeypatch, vnni=True)
    assert auto.runtime == "onnx-int8-image"
    assert "image-int8-s8.onnx" in onnx_files(encoder_data_dir)
    pixels = [
        to_pixels(photo(size, seed=i), auto.clip.preprocess)
        for i, size in enumerate([(640, 480), (300, 500), (224, 224)])
    ]
    image = auto.encode_pixels(pixels)
    assert cosines(image, plain_image_vectors(plain_model, pixels)).min() >= 0.999
    assert cosines(image, onnx_encoder.encode_pixels(pixels)).min() < 1 - 1e-7  # really int8
    # The text tower (the catalog index) stays fp32: the same vectors as the fp32 encoder.
    np.testing.assert_allclose(auto.encode_texts(TEXTS), onnx_encoder.encode_texts(TEXTS), atol=1e-6)


def test_auto_keeps_fp32_when_int8_drifts_too_far(
    tiny_model_dir, encoder_data_dir, onnx_encoder, monkeypatch
) -> None:
    auto = auto_encoder(tiny_model_dir, encoder_data_dir, monkeypatch, vnni=True, int8_min_cosine=1.0)
    assert auto.runtime == "onnx"
    pixels = [to_pixels(photo(seed=i), auto.clip.preprocess) for i in range(2)]
    np.testing.assert_allclose(auto.encode_pixels(pixels), onnx_encoder.encode_pixels(pixels), atol=1e-6)


def test_auto_keeps_fp32_without_vnni(tiny_model_dir, tmp_path, monkeypatch) -> None:
    auto = auto_encoder(tiny_model_dir, tmp_path, monkeypatch, vnni=False)
    assert auto.runtime == "onnx"
    assert onnx_files(tmp_path) == {"image.onnx", "text.onnx"}  # nothing quantised


def test_auto_keeps_fp32_when_quantisation_fails(tiny_model_dir, tmp_path, monkeypatch) -> None:
    def broken(path, signed):
        raise RuntimeError("unsupported op")

    monkeypatch.setattr(towers, "quantized", broken)
    auto = auto_encoder(tiny_model_dir, tmp_path, monkeypatch, vnni=True)
    assert auto.runtime == "onnx"
    assert auto.encode_texts(["still works"]).shape == (1, auto.dim)
