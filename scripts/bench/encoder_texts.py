"""Encoder text vectors for catalog indexing: optimised service path vs plain open_clip.

    PYTHONPATH=. python -m scripts.bench.encoder_texts [--songs 28352] [--plain-songs 128]

ViT-B-32 with random weights ("random weights, same cost"). Plain = open_clip ``encode_text`` on
every song's sentence at the full 77-token context, batches of 64 (measured on a slice, then scaled
by song count: its cost per song is constant). Optimised = ``ClipEncoder.encode_texts`` (the code
behind POST /encode/texts) over every song: de-duplication, length-sorted batches cut after the
longest end-of-text token, ONNX Runtime. Prints both totals, the ratio and parity on the slice.
"""

from __future__ import annotations

import argparse
import time

import open_clip
import torch

from scripts.bench.encoder_common import BENCH_DIR, machine_line, vit_b32_checkpoint
from scripts.bench.results import Run
from services.common.catalog import load_catalog
from services.encoder.encoding import build_encoder, eot_positions
from services.encoder.settings import EncoderSettings, get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=0, help="songs to encode (0: the whole catalog)")
    parser.add_argument("--plain-songs", type=int, default=128, help="songs timed with plain open_clip")
    parser.add_argument("--batch", type=int, default=64, help="texts per forward pass (both sides)")
    args = parser.parse_args()

    torch.set_num_threads(2)
    checkpoint = vit_b32_checkpoint()
    settings = EncoderSettings(
        clip_checkpoint=checkpoint,
        data_dir=BENCH_DIR / "var",
        torch_threads=2,
        text_batch_size=args.batch,
    )
    fast = build_encoder(settings)
    plain_model = open_clip.create_model(f"local-dir:{checkpoint}").eval()
    tokenizer = open_clip.get_tokenizer(f"local-dir:{checkpoint}")

    songs, _ = load_catalog(get_settings().catalog_path)
    if args.songs:
        songs = songs[: args.songs]
    texts = [song.description for song in songs]
    unique = list(dict.fromkeys(texts))
    tokens = fast.tokenize(unique)
    lengths = eot_positions(tokens) + 1

    # Plain open_clip on a slice spread over the catalog (every k-th song), full context.
    step = max(1, len(texts) // args.plain_songs)
    sample = texts[::step][: args.plain_songs]
    with torch.inference_mode():
        plain_model.encode_text(tokenizer(sample[:8]))  # warm-up
        start = time.perf_counter()
        plain_vectors = []
        for i in range(0, len(sample), args.batch):
            batch = tokenizer(sample[i : i + args.batch])
            plain_vectors.append(plain_model.encode_text(batch, normalize=True))
        plain_s = time.perf_counter() - start
    plain_vectors = torch.cat(plain_vectors).numpy()
    plain_per_song = plain_s / len(sample)

    fast.encode_texts(unique[:8])  # warm-up
    start = time.perf_counter()
    vectors = fast.encode_texts(texts)
    fast_s = time.perf_counter() - start

    index = {text: i for i, text in enumerate(texts)}
    ours = vectors[[index[t] for t in sample]]
    parity = (ours * plain_vectors).sum(axis=1)
    plain_total = plain_per_song * len(texts)
    print(f"# encoder_texts — ViT-B-32, random weights, same cost; {machine_line()}")
    print(
        f"songs: {len(texts):,}; unique sentences: {len(unique):,} ({len(texts) / len(unique):.2f}x dedupe);"
        f" tokens per sentence incl. SOT/EOT: mean {lengths.mean():.1f}, max {lengths.max()} (context 77)"
    )
    print(
        f"plain open_clip: {plain_per_song * 1000:.1f} ms/song over {len(sample)} songs"
        f" (batch {args.batch}, 77 tokens)"
        f" -> {plain_total:,.0f} s for {len(texts):,} songs"
    )
    text_tower = "int8" if fast.runtime == "onnx-int8" else "fp32"  # "auto" never quantises texts
    print(
        f"optimised (service encode_texts, {text_tower} text tower, batch {args.batch})"
        f": {fast_s:,.1f} s for all"
        f" {len(texts):,} songs = {fast_s / len(unique) * 1000:.2f} ms per unique sentence"
    )
    per_sentence = plain_per_song / (fast_s / len(unique))
    print(f"RATIO plain/optimised per song: {plain_total / fast_s:.1f}x (target >= 8x)")
    print(f"RATIO per distinct sentence (without the de-duplication): {per_sentence:.1f}x")
    print(f"parity on the {len(sample)} sampled songs: min cosine {parity.min():.6f} (target >= 0.9999)")
    figures = {
        "songs": len(texts),
        "distinct_sentences": len(unique),
        "text_tower": text_tower,
        "plain_ms_per_song": round(plain_per_song * 1000, 2),
        "plain_total_s": round(plain_total, 1),
        "optimised_total_s": round(fast_s, 1),
        "optimised_ms_per_sentence": round(fast_s / len(unique) * 1000, 2),
        # Per song: the catalog as the index job sees it (de-duplication included).
        "gain_per_song": round(plain_total / fast_s, 2),
        # Per distinct sentence: the towers and batching alone.
        "gain_per_sentence": round(per_sentence, 2),
        "min_cosine": round(float(parity.min()), 6),
    }
    params = {"batch": args.batch, "plain_songs": len(sample), "songs": len(texts)}
    print(f"wrote {Run('encoder_texts', params).save(figures, {'plain_s': round(plain_s, 3)})}")


if __name__ == "__main__":
    main()
