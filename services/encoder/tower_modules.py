"""open_clip's two towers as plain, exportable ``nn.Module``s, with the same weights and math.

The text tower accepts token rows cut to any length L that still holds every row's end-of-text
token: CLIP's text attention is causal and only the EOT position is read, so the padding after it
never influences the result (parity is tested against open_clip). The image tower runs the last
block on the class token only. Attention is written out as tensor ops so the traced ONNX graph
keeps its lengths symbolic.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


class TextTower(nn.Module):
    """open_clip ``CLIP.encode_text`` (un-normalised) for token rows of any length L ≤ context.

    Same modules and weights. The positional embedding and causal mask are sliced to L, and the
    attention is written out (same math as ``nn.MultiheadAttention``) because the traced
    ``nn.MultiheadAttention`` bakes the example's sequence length into the ONNX graph.
    """

    def __init__(self, clip: nn.Module):
        super().__init__()
        self.token_embedding = clip.token_embedding
        self.positional_embedding = clip.positional_embedding
        self.blocks = clip.transformer.resblocks
        self.ln_final = clip.ln_final
        self.text_projection = clip.text_projection
        self.register_buffer("attn_mask", clip.attn_mask, persistent=False)
        self.pool_type = clip.text_pool_type
        self.eos_token_id = getattr(clip, "text_eos_id", None)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        from open_clip.model import text_global_pool

        length = tokens.shape[1]
        x = self.token_embedding(tokens)
        x = x + self.positional_embedding[:length]
        mask = self.attn_mask[:length, :length]
        for block in self.blocks:
            x = x + block.ls_1(masked_self_attention(block.attn, block.ln_1(x), mask))
            x = x + block.ls_2(block.mlp(block.ln_2(x)))
        x = self.ln_final(x)
        x = text_global_pool(x, tokens, self.pool_type, eos_token_id=self.eos_token_id)
        if isinstance(self.text_projection, nn.Linear):
            return self.text_projection(x)
        return x @ self.text_projection


def masked_self_attention(
    attn: nn.MultiheadAttention, x: torch.Tensor, mask: torch.Tensor | None
) -> torch.Tensor:
    """``attn(x, x, x, attn_mask=mask)`` for batch-first x [B, L, D], as plain tensor ops."""
    batch, width = x.shape[0], x.shape[2]
    heads = attn.num_heads
    qkv = nn.functional.linear(x, attn.in_proj_weight, attn.in_proj_bias)
    # [B, L, 3, H, d] -> 3 x [B, H, L, d]; -1 keeps the length symbolic in the exported graph.
    qkv = qkv.reshape(batch, -1, 3, heads, width // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scores = (q * (width // heads) ** -0.5) @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores + mask
    out = scores.softmax(dim=-1) @ v  # [B, H, L, d]
    out = out.transpose(1, 2).reshape(batch, -1, width)
    return attn.out_proj(out)


class ImageTower(nn.Module):
    """open_clip ``VisionTransformer.forward`` for 'tok' pooling, with the last block on the class token only.

    Only the class token's output is read, so the last block needs keys and values for every
    token but queries, attention output, out-projection and MLP for that one token: the same
    numbers with about 1/14 less arithmetic (ViT-B-32: 50 tokens → 1 in 82 % of the last block).
    """

    def __init__(self, visual: nn.Module):
        super().__init__()
        self.visual = visual
        self.blocks = visual.transformer.resblocks

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        visual = self.visual
        x = visual._embeds(pixels)
        for block in self.blocks[:-1]:
            x = x + block.ls_1(masked_self_attention(block.attn, block.ln_1(x), None))
            x = x + block.ls_2(block.mlp(block.ln_2(x)))
        last = self.blocks[-1]
        x = x[:, :1] + last.ls_1(class_token_attention(last.attn, last.ln_1(x)))
        x = x + last.ls_2(last.mlp(last.ln_2(x)))
        pooled = visual.ln_post(x[:, 0])  # LayerNorm is per token: before or after pooling is the same
        return pooled @ visual.proj


def class_token_attention(attn: nn.MultiheadAttention, x: torch.Tensor) -> torch.Tensor:
    """Row 0 of ``masked_self_attention(attn, x, None)``: [B, 1, D], queries from token 0 only."""
    batch, width = x.shape[0], x.shape[2]
    heads, head_dim = attn.num_heads, width // attn.num_heads
    w_q, w_kv = attn.in_proj_weight.split([width, 2 * width])
    b_q, b_kv = attn.in_proj_bias.split([width, 2 * width])
    q = nn.functional.linear(x[:, :1], w_q, b_q).reshape(batch, 1, heads, head_dim).transpose(1, 2)
    kv = nn.functional.linear(x, w_kv, b_kv).reshape(batch, -1, 2, heads, head_dim).permute(2, 0, 3, 1, 4)
    scores = (q * head_dim**-0.5) @ kv[0].transpose(-2, -1)  # [B, H, 1, L]
    out = (scores.softmax(dim=-1) @ kv[1]).transpose(1, 2).reshape(batch, 1, width)
    return attn.out_proj(out)


def image_tower(visual: nn.Module) -> nn.Module:
    """``ImageTower`` for a plain CLIP ViT with class-token pooling, else the model's own visual tower."""
    plain_vit = (
        all(hasattr(visual, a) for a in ("_embeds", "transformer", "ln_post", "proj"))
        and getattr(visual, "pool_type", None) == "tok"
        and getattr(visual, "attn_pool", None) is None
        and not getattr(visual, "output_tokens", False)
        and visual.proj is not None
        and getattr(visual.transformer, "batch_first", False)
        and all(plain_block(block) for block in visual.transformer.resblocks)
    )
    return ImageTower(visual).eval() if plain_vit else visual.eval()


class FullTextTower(nn.Module):
    """Fallback for text towers whose output may depend on padding (e.g. 'last' pooling)."""

    def __init__(self, clip: nn.Module):
        super().__init__()
        self.clip = clip

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.clip.encode_text(tokens)


def text_tower(clip: nn.Module) -> tuple[nn.Module, bool]:
    """(module, can_trim): the EOT-trimmed tower when the model allows it, else the full one."""
    trimmable = (
        all(hasattr(clip, a) for a in ("token_embedding", "positional_embedding", "attn_mask", "transformer"))
        and getattr(clip, "text_pool_type", None) in ("argmax", "eos")
        and clip.attn_mask is not None
        and getattr(clip.transformer, "batch_first", False)
        and all(plain_block(block) for block in clip.transformer.resblocks)
    )
    return (TextTower(clip).eval(), True) if trimmable else (FullTextTower(clip).eval(), False)


def plain_block(block: nn.Module) -> bool:
    """A standard CLIP residual block (what ``TextTower`` re-implements): packed qkv, no extras."""
    attn = getattr(block, "attn", None)
    return (
        isinstance(attn, nn.MultiheadAttention)
        and attn.in_proj_weight is not None
        and attn.batch_first
        and not hasattr(block, "ln_1_kv")
        and isinstance(getattr(block, "ln_attn", nn.Identity()), nn.Identity)
        and all(hasattr(block, a) for a in ("ln_1", "ls_1", "ln_2", "mlp", "ls_2"))
    )


@contextmanager
def plain_attention(blocks: nn.Module) -> Iterator[None]:
    """While exporting, route each standard block's attention through ``masked_self_attention``.

    Same math and weights (cosine 1 - 1e-7); the traced graph is leaner than the one from
    ``nn.MultiheadAttention``, so the exported image tower runs faster.
    """
    patched = [block for block in blocks if plain_block(block)]

    def attention(self, q_x, k_x=None, v_x=None, attn_mask=None):
        return masked_self_attention(self.attn, q_x, attn_mask)

    for block in patched:
        block.attention = types.MethodType(attention, block)
    try:
        yield
    finally:
        for block in patched:
            del block.attention  # back to the class's method
