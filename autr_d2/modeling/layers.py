"""Pure-torch transformer building blocks (batch-first), attention through
`torch.nn.functional.scaled_dot_product_attention`: no custom op, same code on CPU and any GPU."""

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.precision import cpu_bf16_autocast

__all__ = [
    "Attention",
    "AttentionLayer",
    "FFNLayer",
    "GroupNorm",
    "MLP",
    "sine_position_embedding",
]


class GroupNorm(nn.GroupNorm):
    """``nn.GroupNorm`` (same parameters, same state dict) that runs in float32 under CPU bf16
    autocast and returns the input's dtype. On a CPU with AVX-512 BF16 the bf16 kernel's
    backward takes 3x the float32 one (3.9 against 1.3 ms per call in the paper config's
    training step); elsewhere it is plain ``nn.GroupNorm``. ``[B,C,...]`` -> same shape."""

    def forward(self, x):
        if x.device.type == "cpu" and cpu_bf16_autocast():
            with torch.autocast("cpu", enabled=False):
                return super().forward(x.float()).to(x.dtype)
        return super().forward(x)


def _sdpa(q, k, v, bias, p):
    """``scaled_dot_product_attention``; in float32 under CPU bf16 autocast, where the bf16
    flash-attention kernel is slower than float32's (forward 6.9 against 2.4 ms per call in the
    paper config's training step on an AVX-512 BF16 CPU). Returns the float32 result there."""
    if q.device.type == "cpu" and cpu_bf16_autocast():
        with torch.autocast("cpu", enabled=False):
            q, k, v = q.float(), k.float(), v.float()
            bias = None if bias is None else bias.float()
            return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)


class Attention(nn.Module):
    """Multi-head attention. q ``[B,Lq,D]``, k/v ``[B,Lk,D]`` -> ``[B,Lq,D]``.

    With ``return_weights=True`` it also returns the head-averaged weights ``[B,Lq,Lk]`` (computed
    explicitly; used only for visualisation). ``key_padding_mask`` ``[B,Lk]`` bool (True = not
    attended) leaves keys out, e.g. the audio tokens of a clip's padded seconds.

    When there are few keys (``heads * Lk < D``, e.g. 56x56 visual tokens attending to a clip's 5
    audio tokens) the query and output projections are folded into the keys and values, so the
    many queries never go through a D x D projection: the same function at a fraction of the cost.
    Likewise with few queries and many keys (``heads * Lq < D``, e.g. 5 object queries attending
    to a 28x28 memory): the key and value projections are folded into the queries, so the many
    keys are never projected.
    """

    def __init__(self, dim, num_heads, dropout=0.0):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.q_proj = nn.Linear(dim, dim)
        self.k_proj = nn.Linear(dim, dim)
        self.v_proj = nn.Linear(dim, dim)
        self.out_proj = nn.Linear(dim, dim)
        self.dropout = dropout

    def _heads(self, x):
        b, n, d = x.shape
        return x.view(b, n, self.num_heads, d // self.num_heads).transpose(1, 2)

    def _few_keys(self, q, k, v, key_padding_mask=None):
        """(q W_q^T + b_q) k_h^T == q (k_h W_q,h)^T + b_q,h k_h^T; attn (v_h W_o,h^T) likewise.

        The scores are laid out keys first, ``[B,H,Lk,Lq]``: the softmax over a few keys then
        runs along the long, contiguous query axis (vectorised; 8x faster than over a last axis
        of 5 elements on a CPU)."""
        b, lq, d = q.shape
        h, dh = self.num_heads, d // self.num_heads
        kh, vh = self._heads(self.k_proj(k)), self._heads(self.v_proj(v))  # [B,H,Lk,dh]
        scale = 1.0 / math.sqrt(dh)
        wq = self.q_proj.weight.view(h, dh, d)
        k_fold = torch.einsum("bhkc,hcd->bhkd", kh, wq).flatten(1, 2) * scale  # [B,H*Lk,D]
        s_bias = torch.einsum("bhkc,hc->bhk", kh, self.q_proj.bias.view(h, dh)).flatten(1) * scale
        scores = torch.baddbmm(s_bias[..., None], k_fold, q.transpose(1, 2))  # [B,H*Lk,Lq]
        scores = scores.view(b, h, -1, lq)
        if key_padding_mask is not None:
            scores = scores.masked_fill(key_padding_mask[:, None, :, None], float("-inf"))
        attn = scores.softmax(2)
        if self.training and self.dropout:
            attn = F.dropout(attn, self.dropout)
        wo = self.out_proj.weight.view(d, h, dh)
        v_fold = torch.einsum("bhkc,dhc->bhkd", vh, wo).flatten(1, 2)  # [B,H*Lk,D]
        return torch.baddbmm(self.out_proj.bias, attn.view(b, -1, lq).transpose(1, 2), v_fold)

    def _few_queries(self, q, k, v, key_padding_mask=None):
        """(q_h W_k,h)(k)^T + const; attn_h (v W_v,h^T + b_v,h) == (attn_h v) W_v,h^T + b_v,h.

        The key bias adds the same score to every key of a query (softmax ignores it) and the
        value bias passes through weights that sum to one."""
        b, lq, d = q.shape
        h, dh = self.num_heads, d // self.num_heads
        qh = self._heads(self.q_proj(q)) / math.sqrt(dh)  # [B,H,Lq,dh]
        wk = self.k_proj.weight.view(h, dh, d)
        q_fold = torch.einsum("bhqc,hcd->bhqd", qh, wk).flatten(1, 2)  # [B,H*Lq,D]
        scores = q_fold @ k.transpose(1, 2)  # [B,H*Lq,Lk]
        if key_padding_mask is not None:
            scores = scores.view(b, h, lq, -1).masked_fill(
                key_padding_mask[:, None, None], float("-inf")
            )
        attn = scores.reshape(b, h * lq, -1).softmax(-1)
        if self.training and self.dropout:
            attn = F.dropout(attn, self.dropout)
        mixed = (attn @ v).view(b, h, lq, d)  # [B,H,Lq,D]: each head's mix of raw values
        wv = self.v_proj.weight.view(h, dh, d)
        out = torch.einsum("bhqd,hcd->bqhc", mixed, wv).reshape(b, lq, d) + self.v_proj.bias
        return self.out_proj(out)

    def forward(self, q, k, v, return_weights=False, key_padding_mask=None):
        b, lq, d = q.shape
        if not return_weights and self.num_heads * k.shape[1] < d:
            return self._few_keys(q, k, v, key_padding_mask), None
        if not return_weights and self.num_heads * lq < d:
            return self._few_queries(q, k, v, key_padding_mask), None
        bias = None
        if key_padding_mask is not None:  # additive, [B,1,1,Lk]
            bias = torch.zeros(key_padding_mask.shape, dtype=q.dtype, device=q.device)
            bias = bias.masked_fill(key_padding_mask, float("-inf"))[:, None, None]
        q, k, v = (
            self._heads(self.q_proj(q)),
            self._heads(self.k_proj(k)),
            self._heads(self.v_proj(v)),
        )
        weights = None
        if return_weights:
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            attn = (scores if bias is None else scores + bias).softmax(-1)
            out = attn @ v
            weights = attn.mean(1)
        else:
            p = self.dropout if self.training else 0.0
            out = _sdpa(q, k, v, bias, p)
        out = out.transpose(1, 2).reshape(b, lq, d)
        return self.out_proj(out), weights


class AttentionLayer(nn.Module):
    """Post-norm attention block: x + Attn(x + pos_q, mem + pos_k, mem), then LayerNorm."""

    def __init__(self, dim, num_heads, dropout=0.0):
        super().__init__()
        self.attn = Attention(dim, num_heads, dropout)
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(
        self, x, memory=None, pos_q=None, pos_k=None, return_weights=False, key_padding_mask=None
    ):
        memory = x if memory is None else memory
        q = x if pos_q is None else x + pos_q
        k = memory if pos_k is None else memory + pos_k
        out, w = self.attn(q, k, memory, return_weights, key_padding_mask)
        return self.norm(x + self.drop(out)), w


class FFNLayer(nn.Module):
    def __init__(self, dim, hidden, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, dim),
        )
        self.norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.norm(x + self.drop(self.net(x)))


class MLP(nn.Module):
    """Plain MLP with ReLU between layers."""

    def __init__(self, in_dim, hidden, out_dim, num_layers):
        super().__init__()
        dims = [in_dim] + [hidden] * (num_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


def sine_position_embedding(h, w, dim, device, dtype=torch.float32, temperature=10000.0):
    """2-D sine/cosine position embedding of a normalised h x w grid -> ``[h*w, dim]``.

    Computed once per (size, device, dtype) and shared: callers must not modify it in place."""
    if dim % 4:
        raise ValueError(f"sine position embedding needs dim divisible by 4, got {dim}")
    if torch.compiler.is_compiling():  # torch.export / compile trace the computation itself
        return _sine_position_embedding(h, w, dim, device, dtype, temperature)
    return _cached_sine_position_embedding(h, w, dim, torch.device(device), dtype, temperature)


def _sine_position_embedding(h, w, dim, device, dtype, temperature):
    y = (torch.arange(h, device=device, dtype=torch.float32) + 0.5) / h * 2 * math.pi
    x = (torch.arange(w, device=device, dtype=torch.float32) + 0.5) / w * 2 * math.pi
    yy, xx = torch.meshgrid(y, x, indexing="ij")
    n = dim // 4
    freq = temperature ** (torch.arange(n, device=device, dtype=torch.float32) / n)
    py, px = yy.reshape(-1, 1) / freq, xx.reshape(-1, 1) / freq
    pos = torch.cat([py.sin(), py.cos(), px.sin(), px.cos()], dim=1)
    return pos.to(dtype)


@functools.lru_cache(maxsize=64)
def _cached_sine_position_embedding(h, w, dim, device, dtype, temperature):
    with torch.inference_mode(False), torch.no_grad():
        return _sine_position_embedding(h, w, dim, device, dtype, temperature)
