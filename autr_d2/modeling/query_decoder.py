"""Audio-aware query decoder."""

from torch import nn

from .layers import AttentionLayer, FFNLayer, sine_position_embedding

__all__ = ["AudioQueryDecoder"]


class AudioQueryDecoder(nn.Module):
    """N_q queries per frame attend to the frame's multi-scale memory.

    Queries start as ``query_feat`` (learnable) plus, with ``query_init="audio"``, a projection of
    the frame's audio embedding, so each query already asks "where is *this* sound?". Every layer:
    cross-attention to one memory level (round robin, coarse first, with a level embedding and a
    sine position), self-attention among the frame's queries, FFN. Every layer's (normalised)
    output is returned for deep supervision.

    Args:
        dim, num_heads, ffn_dim, num_layers, dropout: transformer sizes.
        num_queries: N_q.
        num_levels: memory levels visited round robin.
        query_init: "audio" (AuTR) or "learned" (plain learnable queries, the ablation).
    """

    def __init__(
        self,
        dim,
        num_heads,
        ffn_dim,
        num_layers,
        dropout,
        num_queries,
        num_levels,
        query_init="audio",
    ):
        super().__init__()
        if query_init not in ("audio", "learned"):
            raise ValueError(f"query_init must be 'audio' or 'learned', got {query_init!r}")
        self.query_init = query_init
        self.query_feat = nn.Embedding(num_queries, dim)
        self.query_embed = nn.Embedding(num_queries, dim)
        if query_init == "audio":
            self.audio_to_query = nn.Sequential(
                nn.Linear(dim, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim)
            )
        self.level_embed = nn.Embedding(num_levels, dim)
        self.cross = nn.ModuleList(
            AttentionLayer(dim, num_heads, dropout) for _ in range(num_layers)
        )
        self.self_attn = nn.ModuleList(
            AttentionLayer(dim, num_heads, dropout) for _ in range(num_layers)
        )
        self.ffn = nn.ModuleList(FFNLayer(dim, ffn_dim, dropout) for _ in range(num_layers))
        self.norm = nn.LayerNorm(dim)
        self.num_levels = num_levels

    def forward(self, memory, audio=None, return_attention=False):
        """
        Args:
            memory: list of ``[N, dim, H_l, W_l]`` maps (N = B*T), coarse first.
            audio: ``[N, dim]`` per-frame audio embedding (required for query_init="audio").
            return_attention: also return the last layer's cross-attention ``[N, N_q, H_l*W_l]``
                and the (h, w) of the level it attended.
        Returns:
            (list of ``[N, N_q, dim]`` per layer, attention or None)
        """
        n = memory[0].shape[0]
        mem, mem_pos = [], []
        for i, m in enumerate(memory):
            h, w = m.shape[-2:]
            mem.append(m.flatten(2).transpose(1, 2))
            mem_pos.append(
                sine_position_embedding(h, w, m.shape[1], m.device, m.dtype)[None]
                + self.level_embed.weight[i]
            )
        q = self.query_feat.weight[None].expand(n, -1, -1)
        if self.query_init == "audio":
            if audio is None:
                raise ValueError("query_init='audio' needs the audio embedding")
            q = q + self.audio_to_query(audio)[:, None]
        qpos = self.query_embed.weight[None].expand(n, -1, -1)
        outputs, attention = [], None
        last = len(self.cross) - 1
        for i, (cross, sa, ffn) in enumerate(zip(self.cross, self.self_attn, self.ffn)):
            lvl = i % self.num_levels
            want = return_attention and i == last
            q, w = cross(q, mem[lvl], pos_q=qpos, pos_k=mem_pos[lvl], return_weights=want)
            if want:
                attention = (w, tuple(memory[lvl].shape[-2:]))
            q, _ = sa(q, pos_q=qpos, pos_k=qpos)
            q = ffn(q)
            outputs.append(self.norm(q))
        return outputs, attention
