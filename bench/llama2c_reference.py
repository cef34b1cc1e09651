"""An independent reference for Jielong's llama2.c import: numpy only, nothing of Jielong.

Reads a llama2.c (legacy version 0) model .bin and its tokenizer .bin from the format description
in packages/ml/src/formats/llama2c.ts, runs the model in llama2.c's own layout (interleaved rotary
pairs, [out, in] matrices, no weight reordering), and prints one JSON object: the greedy
continuation from BOS (ids and decoded text) and the tokenizer's ids for that text.
tests/ml/fixtures/stories260K-greedy.json is this script's output.

usage: /usr/bin/python3 bench/llama2c_reference.py [--model ../shared/data/models/stories260K.bin]
           [--tokenizer ../shared/data/models/tok512.bin] [--steps 120]
"""
import argparse
import json
import struct

import numpy as np

BOS, EOS = 1, 2


def read_model(path):
    raw = open(path, "rb").read()
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack_from("<7i", raw, 0)
    shared = vocab > 0
    vocab = abs(vocab)
    hs = dim // n_heads
    kv_dim = hs * n_kv
    w = np.frombuffer(raw, dtype="<f4", offset=28)
    at = 0

    def take(*shape):
        nonlocal at
        n = int(np.prod(shape))
        out = w[at : at + n].reshape(shape)
        at += n
        return out

    m = dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv=n_kv, vocab=vocab, seq_len=seq_len)
    m["emb"] = take(vocab, dim)
    m["rms_att"] = take(n_layers, dim)
    m["wq"] = take(n_layers, dim, dim)
    m["wk"] = take(n_layers, kv_dim, dim)
    m["wv"] = take(n_layers, kv_dim, dim)
    m["wo"] = take(n_layers, dim, dim)
    m["rms_ffn"] = take(n_layers, dim)
    m["w1"] = take(n_layers, hidden, dim)
    m["w2"] = take(n_layers, dim, hidden)
    m["w3"] = take(n_layers, hidden, dim)
    m["rms_final"] = take(dim)
    take(seq_len, hs // 2)  # stored rotary tables, recomputed below
    take(seq_len, hs // 2)
    m["cls"] = m["emb"] if shared else take(vocab, dim)
    assert at == w.size, f"{w.size - at} floats left over"
    return m


def read_tokenizer(path, vocab):
    raw = open(path, "rb").read()
    (max_len,) = struct.unpack_from("<i", raw, 0)
    o = 4
    pieces, scores = [], []
    for _ in range(vocab):
        score, n = struct.unpack_from("<fi", raw, o)
        o += 8
        pieces.append(raw[o : o + n])
        scores.append(score)
        o += n
    assert o == len(raw)
    return pieces, scores


def rmsnorm(x, g):
    return x / np.sqrt(np.mean(x * x) + 1e-5) * g


def rope(vec, pos, hs):
    """llama2.c's rotation: dims (2j, 2j+1) of each head turn by pos·10000^(-2j/hs)."""
    out = vec.copy()
    for i in range(0, vec.size, 2):
        freq = 1.0 / 10000.0 ** ((i % hs) / hs)
        c, s = np.cos(pos * freq), np.sin(pos * freq)
        out[i] = vec[i] * c - vec[i + 1] * s
        out[i + 1] = vec[i] * s + vec[i + 1] * c
    return out


def forward(m, token, pos, kcache, vcache):
    dim, n_heads, n_kv = m["dim"], m["n_heads"], m["n_kv"]
    hs = dim // n_heads
    group = n_heads // n_kv
    x = m["emb"][token].astype(np.float64)
    for l in range(m["n_layers"]):
        h = rmsnorm(x, m["rms_att"][l])
        q = rope(m["wq"][l] @ h, pos, hs)
        k = rope(m["wk"][l] @ h, pos, hs)
        v = m["wv"][l] @ h
        kcache[l][pos] = k
        vcache[l][pos] = v
        att_out = np.zeros(dim)
        for head in range(n_heads):
            kvh = head // group
            qh = q[head * hs : (head + 1) * hs]
            keys = kcache[l][: pos + 1, kvh * hs : (kvh + 1) * hs]
            vals = vcache[l][: pos + 1, kvh * hs : (kvh + 1) * hs]
            scores = keys @ qh / np.sqrt(hs)
            p = np.exp(scores - scores.max())
            p /= p.sum()
            att_out[head * hs : (head + 1) * hs] = p @ vals
        x = x + m["wo"][l] @ att_out
        h = rmsnorm(x, m["rms_ffn"][l])
        a = m["w1"][l] @ h
        x = x + m["w2"][l] @ ((a / (1 + np.exp(-a))) * (m["w3"][l] @ h))
    return m["cls"] @ rmsnorm(x, m["rms_final"])


def decode(pieces, ids):
    """Bytes of the pieces joined, <0xXX> as its byte, the leading space dropped at the start and after BOS."""
    out = b""
    prev = BOS
    for t in ids:
        p = pieces[t]
        if t in (BOS, EOS):
            prev = t
            continue
        if len(p) == 6 and p.startswith(b"<0x") and p.endswith(b">"):
            p = bytes([int(p[3:5], 16)])
        elif prev == BOS and p.startswith(b" "):
            p = p[1:]
        out += p
        prev = t
    return out.decode("utf-8", errors="replace")


def encode(pieces, scores, text):
    """SentencePiece BPE as llama2.c runs it: dummy space, per-character pieces or bytes, best merges."""
    lookup = {}
    for i, p in enumerate(pieces):
        lookup.setdefault(p, i)
    ids = [BOS]
    for ch in " " + text:
        b = ch.encode("utf-8")
        if b in lookup and lookup[b] > 2:
            ids.append(lookup[b])
        else:
            ids.extend(lookup[b"<0x%02X>" % byte] for byte in b)
    while True:
        best, at = None, -1
        for i in range(1, len(ids) - 1):
            j = lookup.get(pieces[ids[i]] + pieces[ids[i + 1]])
            if j is not None and (best is None or scores[j] > scores[best]):
                best, at = j, i
        if best is None:
            return ids
        ids[at : at + 2] = [best]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="../shared/data/models/stories260K.bin")
    ap.add_argument("--tokenizer", default="../shared/data/models/tok512.bin")
    ap.add_argument("--steps", type=int, default=120)
    args = ap.parse_args()
    m = read_model(args.model)
    pieces, scores = read_tokenizer(args.tokenizer, m["vocab"])
    kv_dim = m["dim"] // m["n_heads"] * m["n_kv"]
    kcache = [np.zeros((m["seq_len"], kv_dim)) for _ in range(m["n_layers"])]
    vcache = [np.zeros((m["seq_len"], kv_dim)) for _ in range(m["n_layers"])]
    token, ids = BOS, []
    for pos in range(args.steps):
        token = int(np.argmax(forward(m, token, pos, kcache, vcache)))
        if token in (BOS, EOS):  # llama2.c ends a story on BOS; EOS ends any sequence
            break
        ids.append(token)
    text = decode(pieces, [BOS] + ids)
    print(json.dumps({"ids": ids, "text": text, "textIds": encode(pieces, scores, text)}))


if __name__ == "__main__":
    main()
