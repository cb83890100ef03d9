#!/usr/bin/python3
"""crosscheck.py - an independent reference for MicroLM Lab: a compact LLaMA-style decoder in
PyTorch (float64), written from the architecture's definition and not from the C code, that
reads each variant's weights straight from the file the C side wrote (its own llama2.c,
safetensors and Hugging Face readers, RoPE applied in the file's own layout: adjacent pairs
for llama2.c, rotate_half for Hugging Face) and compares with what the C passes computed
(tests/crosscheck/dump.c): the logits, the norm of every stage and of every stage gradient,
every weight gradient, and the loss.

Usage: /usr/bin/python3 tests/crosscheck/crosscheck.py DUMP_DIR   (make crosscheck)
Prints one line per variant with the max differences; exit 1 when one is beyond tolerance.
"""
import json
import os
import struct
import sys
import time

import numpy as np
import torch

F64 = torch.float64


# ---- readers (independent of the C loaders) ----------------------------------------------------

def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = struct.unpack("<Q", buf[:8])[0]
    header = json.loads(buf[8:8 + n])
    data = buf[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] != "F32":
            raise ValueError(f"{path}: {name} is {t['dtype']}, the cross-check writes F32")
        b, e = t["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(t["shape"]).astype(np.float64)
    return out


def read_llama2c(path):
    """llama2.c legacy format: 7 int32, then float32 tensors grouped by kind across layers."""
    with open(path, "rb") as f:
        buf = f.read()
    dim, hidden, L, H, Hk, V, seq = struct.unpack("<7i", buf[:28])
    tied, V = V > 0, abs(V)
    hd = dim // H
    x = np.frombuffer(buf[28:], dtype="<f4").astype(np.float64)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        a = x[pos:pos + n].reshape(shape)
        pos += n
        return a

    w = {"tok_emb": take(V, dim)}
    kinds = [("attn_norm.weight", (dim,)), ("attn.wq", (dim, dim)), ("attn.wk", (Hk * hd, dim)),
             ("attn.wv", (Hk * hd, dim)), ("attn.wo", (dim, dim)), ("ffn_norm.weight", (dim,)),
             ("ffn.w_gate", (hidden, dim)), ("ffn.w_down", (dim, hidden)), ("ffn.w_up", (hidden, dim))]
    for kind, shape in kinds:
        a = take(L, *shape)
        for l in range(L):
            w[f"blocks.{l}.{kind}"] = a[l]
    w["final_norm.weight"] = take(dim)
    take(seq, hd)  # the two RoPE tables (seq x hd/2 each), unused
    if not tied:
        w["lm_head"] = take(V, dim)
    if pos != len(x):
        raise ValueError(f"{path}: {len(x) - pos} floats left over")
    return w


HF_NAMES = {"input_layernorm.weight": "attn_norm.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
            "self_attn.q_proj.weight": "attn.wq", "self_attn.k_proj.weight": "attn.wk",
            "self_attn.v_proj.weight": "attn.wv", "self_attn.o_proj.weight": "attn.wo",
            "mlp.gate_proj.weight": "ffn.w_gate", "mlp.up_proj.weight": "ffn.w_up",
            "mlp.down_proj.weight": "ffn.w_down"}


def read_hf(d):
    """A Hugging Face directory: config.json, one model.safetensors or an index and shards."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    idx = os.path.join(d, "model.safetensors.index.json")
    files = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
    raw = {}
    for f in files:
        raw.update(read_safetensors(os.path.join(d, f)))
    w = {}
    for name, a in raw.items():
        if name == "model.embed_tokens.weight":
            w["tok_emb"] = a
        elif name == "model.norm.weight":
            w["final_norm.weight"] = a
        elif name == "lm_head.weight":
            w["lm_head"] = a
        else:
            parts = name.split(".")  # model.layers.N.<rest>
            w[f"blocks.{parts[2]}.{HF_NAMES['.'.join(parts[3:])]}"] = a
    if cfg.get("tie_word_embeddings") and "lm_head" in w:
        del w["lm_head"]
    return w


# ---- the model ------------------------------------------------------------------------------------

def rmsnorm(x, g, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * g


def rope(x, theta, layout):
    """x (B, T, H, hd) at positions 0..T-1. adjacent: pairs (2i, 2i+1); half: (i, i + hd/2)."""
    T, hd = x.shape[1], x.shape[-1]
    i = torch.arange(hd // 2, dtype=F64)
    ang = torch.arange(T, dtype=F64)[:, None] * theta ** (-2.0 * i / hd)[None, :]
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    if layout == "adjacent":
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], -1).reshape(x.shape)
    x0, x1 = x[..., :hd // 2], x[..., hd // 2:]
    return torch.cat([x0 * cos - x1 * sin, x0 * sin + x1 * cos], -1)


def forward(cfg, W, tokens, targets, layout):
    """Returns (loss, logits, stages): stages maps the C probe's stage names to tensors."""
    B, T = tokens.shape
    d, H, Hk, hd, L = cfg["d_model"], cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"], cfg["n_layers"]
    eps, theta, post = cfg["norm_eps"], cfg["rope_theta"], cfg["norm"] == "post"
    swiglu = cfg["ffn"] == "swiglu"
    S = {}

    def rec(name, t):
        t.retain_grad()
        S[name] = t
        return t

    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
    x = rec("embed", W["tok_emb"][tokens])
    for l in range(L):
        p = f"blocks.{l}."
        w = lambda k: W[p + k]  # noqa: E731
        a_in = x if post else rec(p + "attn_norm", rmsnorm(x, w("attn_norm.weight"), eps))
        q = rec(p + "attn.q", (a_in @ w("attn.wq").T).reshape(B, T, H, hd))
        k = rec(p + "attn.k", (a_in @ w("attn.wk").T).reshape(B, T, Hk, hd))
        v = rec(p + "attn.v", (a_in @ w("attn.wv").T).reshape(B, T, Hk, hd))
        q_rot = rec(p + "attn.q_rot", rope(q, theta, layout))
        k_rot = rec(p + "attn.k_rot", rope(k, theta, layout))
        k_exp = rec(p + "attn.k_exp", k_rot.repeat_interleave(H // Hk, dim=2))
        v_exp = rec(p + "attn.v_exp", v.repeat_interleave(H // Hk, dim=2))
        sc = q_rot.transpose(1, 2) @ k_exp.transpose(1, 2).transpose(-1, -2) / hd ** 0.5
        scores = rec(p + "attn.scores", sc.masked_fill(~mask, 0.0))
        probs = rec(p + "attn.probs", torch.softmax(scores.masked_fill(~mask, float("-inf")), -1))
        heads = rec(p + "attn.heads", (probs @ v_exp.transpose(1, 2)).transpose(1, 2))
        concat = rec(p + "attn.concat", heads.reshape(B, T, H * hd))
        out = rec(p + "attn.out", concat @ w("attn.wo").T)
        mid = rec(p + "resid_mid", x + out)
        if post:
            f_in = rec(p + "attn_norm", rmsnorm(mid, w("attn_norm.weight"), eps))
        else:
            f_in = rec(p + "ffn_norm", rmsnorm(mid, w("ffn_norm.weight"), eps))
        if swiglu:
            gate = rec(p + "ffn.gate", f_in @ w("ffn.w_gate").T)
            up = rec(p + "ffn.up", f_in @ w("ffn.w_up").T)
            act = rec(p + "ffn.act", torch.nn.functional.silu(gate))
            hidden = rec(p + "ffn.hidden", act * up)
        else:
            up = rec(p + "ffn.up", f_in @ w("ffn.w_up").T)
            hidden = rec(p + "ffn.hidden", torch.relu(up))
        down = rec(p + "ffn.down", hidden @ w("ffn.w_down").T)
        if post:
            s = rec(p + "resid_post", f_in + down)
            x = rec(p + "ffn_norm", rmsnorm(s, w("ffn_norm.weight"), eps))
        else:
            x = rec(p + "resid_post", mid + down)
    fin = rec("final_norm", rmsnorm(x, W["final_norm.weight"], eps))
    logits = rec("logits", fin @ W["lm_head" if "lm_head" in W else "tok_emb"].T)
    rec("probs", torch.softmax(logits, -1))
    keep = targets.reshape(-1) >= 0
    loss = torch.nn.functional.cross_entropy(logits.reshape(B * T, -1)[keep], targets.reshape(-1)[keep])
    return loss, logits, S


def half_to_adjacent(g, H):
    """Rows of a (H*hd, cols) W_q / W_k gradient from rotate_half order to adjacent pairs."""
    hd = g.shape[0] // H
    idx = []
    for h in range(H):
        for r in range(hd):
            i, p = r // 2, r % 2
            idx.append(h * hd + p * (hd // 2) + i)
    return g[idx]


# ---- the comparison -------------------------------------------------------------------------------

def check_variant(dump, name):
    d = os.path.join(dump, name)
    res = json.load(open(os.path.join(d, "result.json")))
    cfg = json.load(open(os.path.join(d, "mlm_config.json")))
    fmt = res["format"]
    if fmt == "llama2c":
        W, layout = read_llama2c(os.path.join(d, "model.bin")), "adjacent"
    elif fmt == "hf":
        W, layout = read_hf(os.path.join(d, "hf")), "half"
    else:
        W, layout = read_safetensors(os.path.join(d, "weights.safetensors")), "adjacent"
    params = {k: torch.tensor(v, dtype=F64, requires_grad=True) for k, v in W.items()}
    B, T = res["B"], res["T"]
    tokens = torch.tensor(res["tokens"]).reshape(B, T)
    targets = torch.tensor(res["targets"]).reshape(B, T)
    loss, logits, S = forward(cfg, params, tokens, targets, layout)
    loss.backward()

    c_logits = np.array(res["logits"]).reshape(logits.shape)
    d_logits = float(np.abs(c_logits - logits.detach().numpy()).max())
    d_loss = abs(res["loss"] - loss.item())

    # norms of every stage and stage gradient the C probe recorded
    worst, worst_name, n_cmp, missing = 0.0, "", 0, []
    for key, c_norm in res["norms"].items():
        if key == "loss":
            continue
        is_grad = key.startswith("grad.")
        base = key[5:] if is_grad else key
        if base in S:
            t = S[base].grad if is_grad else S[base]
            if t is None:
                missing.append(key)
                continue
            if is_grad and base.endswith("attn.probs"):
                # the causal pass has no entries above the diagonal: their gradient (dout . v_j for a
                # key j after the query) is not a gradient of anything the C pass computes
                t = t * torch.tril(torch.ones(t.shape[-2:], dtype=torch.bool))
            ref = float(t.detach().norm())
        elif is_grad and base in params:
            ref = float(params[base].grad.norm())
        elif is_grad and base == "lm_head" and "lm_head" not in params:
            continue
        else:
            missing.append(key)
            continue
        rel = abs(c_norm - ref) / max(abs(ref), 1e-12)
        n_cmp += 1
        if rel > worst:
            worst, worst_name = rel, key

    # every weight gradient, element by element
    g_abs, g_rel, g_name = 0.0, 0.0, ""
    for tname, c_grad in res["grads"].items():
        if tname not in params:
            continue
        g = params[tname].grad.detach().numpy()
        if layout == "half" and (tname.endswith("attn.wq") or tname.endswith("attn.wk")):
            g = half_to_adjacent(g, cfg["n_heads"] if tname.endswith("wq") else cfg["n_kv_heads"])
        diff = float(np.abs(np.array(c_grad).reshape(g.shape) - g).max())
        rel = diff / max(float(np.abs(g).max()), 1e-12)
        if rel > g_rel:
            g_abs, g_rel, g_name = diff, rel, tname
    return {"variant": name, "format": fmt, "scalar": res["scalar"], "logits": d_logits, "loss": d_loss,
            "norm_rel": worst, "norm_worst": worst_name, "n_norms": n_cmp, "missing": missing,
            "grad_abs": g_abs, "grad_rel": g_rel, "grad_worst": g_name}


def main():
    if len(sys.argv) != 2:
        print("usage: crosscheck.py DUMP_DIR", file=sys.stderr)
        return 2
    t0 = time.time()
    torch.set_grad_enabled(True)
    dump = sys.argv[1]
    man = json.load(open(os.path.join(dump, "manifest.json")))
    tol = {"float": (2e-5, 1e-4, 1e-4), "double": (1e-11, 1e-9, 1e-9)}[man["scalar"]]  # logits, norms, grads (rel)
    print(f"cross-check against PyTorch {torch.__version__} (float64 reference), C build: {man['scalar']}")
    print(f"{'variant':22s} {'format':8s} {'max|dlogits|':>12s} {'|dloss|':>9s} {'norms':>5s} "
          f"{'max rel dnorm':>13s} {'max|dgrad|':>10s} {'rel':>9s}  worst stage / weight")
    bad = 0
    for v in man["variants"]:
        r = check_variant(dump, v["variant"])
        ok = r["logits"] <= tol[0] and r["loss"] <= tol[0] and r["norm_rel"] <= tol[1] and r["grad_rel"] <= tol[2] \
            and not r["missing"]
        bad += not ok
        print(f"{r['variant']:22s} {r['format']:8s} {r['logits']:12.3g} {r['loss']:9.2g} {r['n_norms']:5d} "
              f"{r['norm_rel']:13.3g} {r['grad_abs']:10.3g} {r['grad_rel']:9.3g}  {r['norm_worst']} / "
              f"{r['grad_worst']}{'' if ok else '   <-- FAIL'}")
        if r["missing"]:
            print(f"  stages the reference does not compute: {', '.join(r['missing'][:8])}")
    print(f"tolerances ({man['scalar']}): logits and loss {tol[0]:g} absolute, norms {tol[1]:g} relative, "
          f"weight gradients {tol[2]:g} relative to the tensor's max; {time.time() - t0:.1f} s")
    print(f"{len(man['variants']) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
