"""The same GPT as packages/ml/src/gpt.ts, in PyTorch: the speed anchor for bench/train_throughput.ts
and bench/generate.ts.

Pre-LayerNorm blocks, causal multi-head attention, tanh-GELU MLP, tied embeddings, AdamW, gradient
clipping at 1. Prints one JSON line: {"config", "tokens_per_s", "tokens_per_cpu_s", "step_ms", "threads"}
(tokens per CPU-second of the whole process: less sensitive to other load than wall-clock time).
usage: python3 bench/torch_gpt.py --config A [--threads 2] [--steps 10]
       python3 bench/torch_gpt.py --config A --generate [--batch 1] [--prompt 16] [--tokens 96] [--threads 1]
           greedy generation with a plain KV-cache loop (keys and values concatenated per layer, as
           transformers' GPT-2 does): {"tokens_per_s", "tokens_per_cpu_s", "ttft_ms"} (new tokens of all
           rows per second and per CPU-second, the prefill of the prompt included; ttft_ms: prefill plus
           the first token)
       python3 bench/torch_gpt.py --matmul [--threads 1]   (anchor check: 1024³ float32 GFLOP/s)
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "A": dict(vocab=2048, ctx=128, d=128, layers=4, heads=4, batch=16),
    "B": dict(vocab=4096, ctx=256, d=256, layers=6, heads=8, batch=8),
}


class Block(nn.Module):
    def __init__(self, d, heads, ctx):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)
        self.register_buffer("mask", torch.tril(torch.ones(ctx, ctx, dtype=torch.bool)))

    def attn(self, x, cache=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        past = 0
        if cache is not None:
            if cache:
                past = cache[0].shape[2]
                k, v = torch.cat((cache[0], k), 2), torch.cat((cache[1], v), 2)
            cache[:] = [k, v]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        if T > 1:
            att = att.masked_fill(~self.mask[past : past + T, : past + T], float("-inf"))
        att = att.softmax(dim=-1)
        return self.c_proj((att @ v).transpose(1, 2).contiguous().view(B, T, C))

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, ctx, d, layers, heads):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(ctx, d)
        self.blocks = nn.ModuleList(Block(d, heads, ctx) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, idx, targets=None, caches=None):
        T = idx.shape[1]
        past = caches[0][0].shape[2] if caches and caches[0] else 0
        x = self.wte(idx) + self.wpe(torch.arange(past, past + T))
        for i, b in enumerate(self.blocks):
            x = b(x, caches[i] if caches is not None else None)
        logits = self.ln_f(x) @ self.wte.weight.t()  # weight tying
        if targets is None:
            return logits
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


@torch.no_grad()
def generate_speed(model, vocab, batch, prompt_len, tokens):
    """Greedy tokens one position at a time over per-layer key/value caches; prefill included."""
    prompt = torch.tensor([[(i * 37) % vocab for i in range(prompt_len)]] * batch)

    def run(n):
        caches = [[] for _ in model.blocks]
        t = time.perf_counter()
        nxt = model(prompt, caches=caches)[:, -1].argmax(-1, keepdim=True)
        first = time.perf_counter() - t
        for _ in range(n - 1):
            nxt = model(nxt, caches=caches)[:, -1].argmax(-1, keepdim=True)
        return first

    run(2)  # warm-up
    t, cpu = time.perf_counter(), time.process_time()
    first = run(tokens)
    return batch * tokens / (time.perf_counter() - t), batch * tokens / (time.process_time() - cpu), first * 1000


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", choices=CONFIGS)
    ap.add_argument("--matmul", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--generate", action="store_true")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prompt", type=int, default=16)
    ap.add_argument("--tokens", type=int, default=96)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.matmul:
        a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
        a @ b
        best = min(timed(lambda: a @ b) for _ in range(5))
        print(json.dumps({"matmul_gflops": 2 * 1024**3 / best / 1e9, "threads": torch.get_num_threads()}))
        return
    c = CONFIGS[args.config]
    torch.manual_seed(0)
    model = GPT(c["vocab"], c["ctx"], c["d"], c["layers"], c["heads"])
    if args.generate:
        model.eval()
        speed, per_cpu, ttft = generate_speed(model, c["vocab"], args.batch, args.prompt, args.tokens)
        print(json.dumps({"config": args.config, "batch": args.batch, "tokens_per_s": speed, "tokens_per_cpu_s": per_cpu, "ttft_ms": ttft, "threads": torch.get_num_threads()}))
        return
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    x = torch.randint(0, c["vocab"], (c["batch"], c["ctx"]))
    y = torch.randint(0, c["vocab"], (c["batch"], c["ctx"]))

    def step():
        loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss.item()

    for _ in range(3):
        step()
    t, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        step()
    dt = (time.perf_counter() - t) / args.steps
    dcpu = (time.process_time() - cpu) / args.steps
    tokens = c["batch"] * c["ctx"]
    print(json.dumps({"config": args.config, "tokens_per_s": tokens / dt, "tokens_per_cpu_s": tokens / dcpu, "step_ms": dt * 1000, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
