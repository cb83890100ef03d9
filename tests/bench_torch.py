#!/usr/bin/python3
"""bench_torch.py - what people would use instead, measured on this machine in the same
`make bench`: PyTorch (Debian's python3-torch, CPU, float32, the same thread count) running
the stories15m shape the way a PyTorch user writes it (nn.Linear layers, RoPE on adjacent
pairs, masked softmax attention, SwiGLU, tied embedding), B=1 T=256 under inference_mode
as a prefill (the last position's logits) and as a forward with every position's logits,
and one training step at B=4, T=256 (forward, cross-entropy, backward,
gradient clipping, AdamW).

Prints a short table and BENCH lines (pytorch_prefill, pytorch_forward_logits,
pytorch_train_step) that
tests/bench.sh puts beside the library's own figures. Skipped by bench.sh when
/usr/bin/python3 cannot import torch.

Usage: /usr/bin/python3 tests/bench_torch.py [THREADS]
"""
import math
import os
import statistics
import sys
import time

# Debian's torch calls the system BLAS (OpenBLAS); OpenBLAS 0.3.21 does not recognise every
# recent Xeon and then falls back to SSE3 kernels, so ask for its AVX-512 ones as bench_gemm
# does (unless the caller chose), with one BLAS thread per torch thread.
THREADS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(THREADS))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

D, L, H, FF, V, T = 288, 6, 6, 768, 32000, 256  # stories15m (lib/presets.c)
HD = D // H


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.g = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.g


def rope_tables(t, hd, theta=10000.0):
    inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    ang = torch.outer(torch.arange(t, dtype=torch.float32), inv)
    return ang.cos(), ang.sin()


def rope(x, cos, sin):  # x (B, H, T, hd), adjacent pairs (llama2.c layout)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = RMSNorm(D), RMSNorm(D)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(D, D, bias=False) for _ in range(4))
        self.w1, self.w3 = nn.Linear(D, FF, bias=False), nn.Linear(D, FF, bias=False)
        self.w2 = nn.Linear(FF, D, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        h = self.n1(x)
        q = self.wq(h).view(b, t, H, HD).transpose(1, 2)
        k = self.wk(h).view(b, t, H, HD).transpose(1, 2)
        v = self.wv(h).view(b, t, H, HD).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        s = (q @ k.transpose(-2, -1)) / math.sqrt(HD) + mask
        a = (F.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(b, t, D)
        x = x + self.wo(a)
        h = self.n2(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(V, D)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.norm = RMSNorm(D)
        cos, sin = rope_tables(T, HD)
        self.register_buffer("cos", cos)
        self.register_buffer("sin", sin)
        self.register_buffer("mask", torch.full((T, T), float("-inf")).triu(1))

    def forward(self, tok, last_only=False):
        t = tok.shape[1]
        x = self.emb(tok)
        cos, sin, mask = self.cos[:t], self.sin[:t], self.mask[:t, :t]
        for blk in self.blocks:
            x = blk(x, cos, sin, mask)
        if last_only:  # a prefill: the next token's logits only
            x = x[:, -1:]
        return self.norm(x) @ self.emb.weight.t()  # tied lm_head


def timed(fn, reps):
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    threads = THREADS
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = Model()
    tok1 = torch.randint(0, V, (1, T))
    tok4 = torch.randint(0, V, (4, T + 1))

    def prefill():  # the prompt through the model, the last position's logits
        with torch.inference_mode():
            model(tok1, last_only=True)

    def forward_logits():  # every position's logits
        with torch.inference_mode():
            model(tok1)

    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1)

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(tok4[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), tok4[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    tp = timed(prefill, 9)
    tl = timed(forward_logits, 9)
    tf = timed(lambda: model(tok4[:, :-1]).sum().item(), 3)
    ts = timed(step, 3)
    print(f"PyTorch {torch.__version__} CPU, float32, {threads} threads, stories15m shape, median")
    print(f"  prefill T=256       {tp * 1e3:8.2f} ms   {T / tp:8.0f} tokens/s   (the last position's logits)")
    print(f"  forward T=256       {tl * 1e3:8.2f} ms   {T / tl:8.0f} tokens/s   (every position's logits)")
    print(f"  forward B4 T256     {tf * 1e3:8.2f} ms")
    print(f"  training step       {ts * 1e3:8.2f} ms   {4 * T / ts:8.0f} tokens/s   (forward + backward + clip + AdamW)")
    print(f"BENCH pytorch_prefill {tp * 1e3:.3f} ms pytorch_{torch.__version__.split('+')[0]}_threads {threads} 1")
    print(f"BENCH pytorch_forward_logits {tl * 1e3:.3f} ms pytorch_prefill_ms {tp * 1e3:.3f} {tl / tp:.4f}")
    print(f"BENCH pytorch_train_step {ts * 1e3:.3f} ms pytorch_forward_ms {tf * 1e3:.3f} {ts / tf:.4f}")


if __name__ == "__main__":
    main()
