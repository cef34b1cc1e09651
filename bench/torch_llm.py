"""PyTorch anchors for bench/imported.ts: LoRA SFT steps and KV-cache greedy generation on imported
models, read from their files here (nothing of Jielong's), plus the writer of the GPT-2-small-shaped
Hugging Face folder the benchmark imports.

    /usr/bin/python3 bench/torch_llm.py make-gpt2 OUT_DIR [--layers 12 --embd 768 --heads 12]
        config.json, model.safetensors (124M random float32 weights, GPT-2's init std 0.02; other
        depths and widths on request, e.g. 40 × 1536 for 1.2B, written tensor by tensor),
        tokenizer.json and tokenizer_config.json (the HF test fixture's 269-token byte-level BPE:
        its ids stay below the 50,257 of the vocabulary)
    /usr/bin/python3 bench/torch_llm.py bench --model gpt2:DIR | llama2c:FILE --measure sft|gen
        [--threads 2] [--batch 4] [--ctx 256] [--steps 3] [--prompt 16] [--tokens 32]
    /usr/bin/python3 bench/torch_llm.py bench --model ... --measure ttft --prompt 512

`bench` prints one JSON line: {"measure", "tokens_per_s", "peak_rss_mb", "threads", ...}.
- sft: one step = forward, masked mean cross-entropy, backward, clipping at 1 and AdamW on the
  LoRA adapters only (rank 8, alpha 16, base frozen). The adapters sit where Jielong puts them:
  on every linear of a GPT block (c_attn, attn c_proj, c_fc, mlp c_proj), on q and v for Llama.
- gen: the same 16-token prompt in every row of the batch, then greedy tokens one position at a
  time with keys and values cached per layer; tokens/s counts new tokens of all rows (also per
  CPU-second of the process, "tokens_per_cpu_s": less disturbed by other load).
- ttft: time to the first token of a --prompt-token prompt (the prefill and one argmax), best of 3;
  printed as "ttft_ms".
"""
import argparse
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

GPT2_SMALL = {
    "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 50257, "n_positions": 1024, "n_ctx": 1024,
    "n_embd": 768, "n_layer": 12, "n_head": 12, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
    "bos_token_id": 256, "eos_token_id": 256, "torch_dtype": "float32",
}
RANK, ALPHA = 8, 16


def fixture_module():
    """The HF fixture writer (safetensors writer and tiny tokenizer), shared rather than repeated."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ml", "fixtures"))
    import make_hf_models

    return make_hf_models


def make_gpt2(out, layers=12, embd=768, heads=12):
    fx = fixture_module()
    cfg = {**GPT2_SMALL, "n_layer": layers, "n_embd": embd, "n_head": heads}
    C, L, V, T = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"]
    g = torch.Generator().manual_seed(0)

    def normal(*shape, std=0.02):
        return lambda: torch.randn(*shape, generator=g) * std

    def const(value, n):
        return (lambda: torch.ones(n)) if value else (lambda: torch.zeros(n))

    # name → ([shape], make): each tensor is drawn when written, in this order, so memory holds one.
    spec = {"transformer.wte.weight": ([V, C], normal(V, C)), "transformer.wpe.weight": ([T, C], normal(T, C, std=0.01))}
    for i in range(L):
        h = f"transformer.h.{i}."
        proj = 0.02 / math.sqrt(2 * L)
        spec[h + "ln_1.weight"], spec[h + "ln_1.bias"] = ([C], const(1, C)), ([C], const(0, C))
        spec[h + "attn.c_attn.weight"], spec[h + "attn.c_attn.bias"] = ([C, 3 * C], normal(C, 3 * C)), ([3 * C], const(0, 3 * C))
        spec[h + "attn.c_proj.weight"], spec[h + "attn.c_proj.bias"] = ([C, C], normal(C, C, std=proj)), ([C], const(0, C))
        spec[h + "ln_2.weight"], spec[h + "ln_2.bias"] = ([C], const(1, C)), ([C], const(0, C))
        spec[h + "mlp.c_fc.weight"], spec[h + "mlp.c_fc.bias"] = ([C, 4 * C], normal(C, 4 * C)), ([4 * C], const(0, 4 * C))
        spec[h + "mlp.c_proj.weight"], spec[h + "mlp.c_proj.bias"] = ([4 * C, C], normal(4 * C, C, std=proj)), ([C], const(0, C))
    spec["transformer.ln_f.weight"], spec["transformer.ln_f.bias"] = ([C], const(1, C)), ([C], const(0, C))
    os.makedirs(out, exist_ok=True)
    write_safetensors_streamed(os.path.join(out, "model.safetensors.tmp"), spec, {"format": "pt"})
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"), indent=2)
    tok, tok_config, _, _ = fx.tokenizer_files(fx.CHAT_TEMPLATE)
    json.dump(tok, open(os.path.join(out, "tokenizer.json"), "w"), ensure_ascii=False)
    json.dump({**tok_config, "model_max_length": T}, open(os.path.join(out, "tokenizer_config.json"), "w"))
    # Renamed last: a folder with model.safetensors is a complete one.
    os.replace(os.path.join(out, "model.safetensors.tmp"), os.path.join(out, "model.safetensors"))
    print(json.dumps({"dir": out, "parameters": sum(math.prod(shape) for shape, _ in spec.values())}))


def write_safetensors_streamed(path, spec, metadata):
    """The safetensors layout (8-byte header length, JSON header padded to 8, F32 data back to back),
    from shapes first and then each tensor as it is drawn: a multi-GB file never sits in memory."""
    header, offset = {"__metadata__": metadata}, 0
    for name, (shape, _) in spec.items():
        n = 4 * math.prod(shape)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for shape, make in spec.values():
            f.write(make().contiguous().numpy().astype("<f4").tobytes())


def read_safetensors(path):
    # Mapped, not read: each tensor is copied out once, so a multi-GB file is not held twice.
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(bytes(raw[8 : 8 + n]))
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", f"{name}: {info['dtype']} (this anchor reads F32 only)"
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(raw, dtype="<f4", count=(b - a) // 4, offset=8 + n + a).reshape(info["shape"]).copy())
    return out


class Lora(torch.nn.Module):
    """x·W + b + (x·A)·B·alpha/rank with W, b frozen; W stored [in, out] as in GPT-2's Conv1D."""

    def __init__(self, w, b=None):
        super().__init__()
        self.w, self.b = w, b
        self.a = torch.nn.Parameter(torch.randn(w.shape[0], RANK) / math.sqrt(w.shape[0]))
        self.bb = torch.nn.Parameter(torch.zeros(RANK, w.shape[1]))

    def forward(self, x):
        y = x @ self.w
        if self.b is not None:
            y = y + self.b
        return y + (x @ self.a) @ self.bb * (ALPHA / RANK)


def attend(q, k, v, past):
    """q [B, H, T, hd] over keys [B, H, past+T, hd]: causal within the new positions."""
    T, S = q.shape[2], k.shape[2]
    att = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if T > 1:
        mask = torch.ones(T, S, dtype=torch.bool).triu(past + 1)
        att = att.masked_fill(mask, float("-inf"))
    return att.softmax(-1) @ v


class Gpt2(torch.nn.Module):
    def __init__(self, p, cfg):
        super().__init__()
        self.cfg, self.p = cfg, p
        self.lin = torch.nn.ModuleDict()

    def add_lora(self):
        for i in range(self.cfg["n_layer"]):
            for name in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"):
                key = f"transformer.h.{i}.{name}"
                self.lin[key.replace(".", "_")] = Lora(self.p[key + ".weight"], self.p[key + ".bias"])

    def linear(self, key, x):
        m = self.lin[key.replace(".", "_")] if key.replace(".", "_") in self.lin else None
        return m(x) if m is not None else x @ self.p[key + ".weight"] + self.p[key + ".bias"]

    def forward(self, ids, cache=None):
        p, cfg = self.p, self.cfg
        B, T = ids.shape
        C, H = cfg["n_embd"], cfg["n_head"]
        past = cache[0][0].shape[2] if cache and cache[0] else 0
        x = p["transformer.wte.weight"][ids] + p["transformer.wpe.weight"][past : past + T]
        for i in range(cfg["n_layer"]):
            h = f"transformer.h.{i}."
            a = F.layer_norm(x, (C,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], 1e-5)
            q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in self.linear(h + "attn.c_attn", a).split(C, -1))
            if cache is not None:
                if cache[i]:
                    k, v = torch.cat((cache[i][0], k), 2), torch.cat((cache[i][1], v), 2)
                cache[i] = (k, v)
            y = attend(q, k, v, past).transpose(1, 2).reshape(B, T, C)
            x = x + self.linear(h + "attn.c_proj", y)
            m = F.layer_norm(x, (C,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], 1e-5)
            x = x + self.linear(h + "mlp.c_proj", F.gelu(self.linear(h + "mlp.c_fc", m), approximate="tanh"))
        x = F.layer_norm(x, (C,), p["transformer.ln_f.weight"], p["transformer.ln_f.bias"], 1e-5)
        return x @ p["transformer.wte.weight"].T

    def new_cache(self):
        return [None] * self.cfg["n_layer"]


def read_llama2c(path):
    """llama2.c's legacy file: seven int32 sizes, then float32 tensors ([out, in], stacked by layer)."""
    raw = open(path, "rb").read()
    dim, hidden, L, H, KV, vocab, seq_len = struct.unpack_from("<7i", raw, 0)
    shared, vocab = vocab > 0, abs(vocab)
    hs = dim // H
    w = torch.from_numpy(np.frombuffer(raw, dtype="<f4", offset=28).copy())
    at = 0

    def take(*shape):
        nonlocal at
        n = int(np.prod(shape))
        at += n
        return w[at - n : at].view(*shape)

    p = {"emb": take(vocab, dim), "rms_att": take(L, dim), "wq": take(L, dim, dim), "wk": take(L, KV * hs, dim),
         "wv": take(L, KV * hs, dim), "wo": take(L, dim, dim), "rms_ffn": take(L, dim), "w1": take(L, hidden, dim),
         "w2": take(L, dim, hidden), "w3": take(L, hidden, dim), "rms_final": take(dim)}
    take(seq_len, hs // 2)
    take(seq_len, hs // 2)
    p["cls"] = p["emb"] if shared else take(vocab, dim)
    return p, dict(dim=dim, hidden=hidden, n_layer=L, n_head=H, n_kv=KV, vocab=vocab, seq_len=seq_len)


class Llama(torch.nn.Module):
    """llama2.c's layout: interleaved rotary pairs, grouped-query attention, SwiGLU, RMSNorm."""

    def __init__(self, p, cfg):
        super().__init__()
        self.p, self.cfg = p, cfg
        self.lin = torch.nn.ModuleDict()
        hs = cfg["dim"] // cfg["n_head"]
        freqs = 1.0 / (10000.0 ** (torch.arange(0, hs, 2).float() / hs))
        ang = torch.outer(torch.arange(cfg["seq_len"]).float(), freqs)
        self.cos, self.sin = ang.cos(), ang.sin()

    def add_lora(self):
        for i in range(self.cfg["n_layer"]):
            for name in ("wq", "wv"):
                self.lin[f"{name}{i}"] = Lora(self.p[name][i].T)

    def linear(self, name, i, x):
        key = f"{name}{i}"
        return self.lin[key](x) if key in self.lin else x @ self.p[name][i].T

    def rope(self, x, past):
        T = x.shape[2]
        c, s = self.cos[past : past + T], self.sin[past : past + T]
        x0, x1 = x[..., 0::2], x[..., 1::2]
        return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), -1).flatten(-2)

    def forward(self, ids, cache=None):
        p, cfg = self.p, self.cfg
        B, T = ids.shape
        H, KV, C = cfg["n_head"], cfg["n_kv"], cfg["dim"]
        hs = C // H
        past = cache[0][0].shape[2] if cache and cache[0] else 0

        def rms(x, g):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * g

        x = p["emb"][ids]
        for i in range(cfg["n_layer"]):
            a = rms(x, p["rms_att"][i])
            q = self.rope(self.linear("wq", i, a).view(B, T, H, hs).transpose(1, 2), past)
            k = self.rope(self.linear("wk", i, a).view(B, T, KV, hs).transpose(1, 2), past)
            v = self.linear("wv", i, a).view(B, T, KV, hs).transpose(1, 2)
            if cache is not None:
                if cache[i]:
                    k, v = torch.cat((cache[i][0], k), 2), torch.cat((cache[i][1], v), 2)
                cache[i] = (k, v)
            rep = H // KV
            y = attend(q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1), past).transpose(1, 2).reshape(B, T, C)
            x = x + self.linear("wo", i, y)
            m = rms(x, p["rms_ffn"][i])
            x = x + (F.silu(m @ p["w1"][i].T) * (m @ p["w3"][i].T)) @ p["w2"][i].T
        return rms(x, p["rms_final"]) @ p["cls"].T

    def new_cache(self):
        return [None] * self.cfg["n_layer"]


def load(spec):
    kind, path = spec.split(":", 1)
    if kind == "gpt2":
        cfg = json.load(open(os.path.join(path, "config.json")))
        return Gpt2(read_safetensors(os.path.join(path, "model.safetensors")), cfg), cfg["vocab_size"]
    if kind == "llama2c":
        p, cfg = read_llama2c(path)
        return Llama(p, cfg), cfg["vocab"]
    raise SystemExit(f"--model must be gpt2:DIR or llama2c:FILE, got {spec}")


def sft_speed(model, vocab, batch, ctx, steps):
    model.add_lora()
    params = list(model.lin.parameters())
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.0)
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, vocab, (batch, ctx), generator=g)
    y = torch.randint(0, vocab, (batch, ctx), generator=g)
    mask = torch.ones(batch, ctx)

    def step():
        logits = model(x)
        nll = F.cross_entropy(logits.view(-1, vocab), y.view(-1), reduction="none")
        loss = (nll * mask.view(-1)).sum() / mask.sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss.item()

    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * ctx * steps / (time.perf_counter() - t)


@torch.no_grad()
def gen_speed(model, vocab, batch, prompt_len, tokens):
    prompt = torch.tensor([[(i * 37) % vocab for i in range(prompt_len)]] * batch)

    def run(n):
        cache = model.new_cache()
        nxt = model(prompt, cache)[:, -1].argmax(-1, keepdim=True)
        for _ in range(n - 1):
            nxt = model(nxt, cache)[:, -1].argmax(-1, keepdim=True)

    run(2)  # warm-up
    t, cpu = time.perf_counter(), time.process_time()
    run(tokens)
    return batch * tokens / (time.perf_counter() - t), batch * tokens / (time.process_time() - cpu)


@torch.no_grad()
def ttft_ms(model, vocab, prompt_len):
    prompt = torch.tensor([[(i * 37) % vocab for i in range(prompt_len)]])

    def first():
        t = time.perf_counter()
        model(prompt, model.new_cache())[:, -1].argmax(-1)
        return time.perf_counter() - t

    first()  # warm-up
    return min(first() for _ in range(3)) * 1000


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "make-gpt2":
        mp = argparse.ArgumentParser()
        mp.add_argument("out")
        mp.add_argument("--layers", type=int, default=12)
        mp.add_argument("--embd", type=int, default=768)
        mp.add_argument("--heads", type=int, default=12)
        m = mp.parse_args(sys.argv[2:])
        return make_gpt2(m.out, m.layers, m.embd, m.heads)
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["bench"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--measure", choices=["sft", "gen", "ttft"], required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model, vocab = load(a.model)
    if a.measure == "ttft":
        ms = ttft_ms(model, vocab, a.prompt)
        print(json.dumps({"measure": "ttft", "model": a.model, "prompt": a.prompt, "ttft_ms": ms, "threads": torch.get_num_threads()}))
        return
    per_cpu = None
    if a.measure == "sft":
        speed = sft_speed(model, vocab, a.batch, a.ctx, a.steps)
    else:
        speed, per_cpu = gen_speed(model, vocab, a.batch, a.prompt, a.tokens)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"measure": a.measure, "model": a.model, "batch": a.batch, "tokens_per_s": speed, "tokens_per_cpu_s": per_cpu, "peak_rss_mb": peak, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
