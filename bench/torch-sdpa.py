#!/usr/bin/env python3
"""The native ceiling for the packed bench: times torch.nn.functional.scaled_dot_product_attention
on the shapes the WebGPU bench (bench/run.ts) times, and writes JSON for its --native-ceiling.

  python3 torch-sdpa.py --out results.json [bench options: --quick --only --lengths --decode-lengths
                        --prefill-lengths --no-ort] [--device cuda|cpu] [--dtypes f32,f16]

dist-bench/run.sh runs it where `import torch` works with CUDA. Shapes (as bench/run.ts and
bench/decode.ts): full attention B=1, H=8, D=64, L in --lengths, causal and not; decode B=1,
Hq=32, Hkv=8, D=128, Lq=1, Lk in --decode-lengths; decode B=1, H=8/32, Lq=1, Lk=1024/4096,
D=64/128 (the table against ORT); causal prefill B=1, Hq=32, Hkv=8, D=128, L in
--prefill-lengths. Each shape at f32 (TF32 off) and f16; one shape failing (out of memory, a
dtype the device lacks) is reported and the rest still run. Progress goes to stderr.
"""

import argparse
import json
import statistics
import sys
import time

QUICK = {"lengths": "256,1024", "decode": "1024,8192", "prefill": "128,256"}
FULL = {"lengths": "256,1024,4096", "decode": "1024,8192,32768", "prefill": "512,4096"}
ORT_SHAPES = [(8, 1024, 64), (32, 4096, 128)]
DECODE = (32, 8, 128)  # Hq, Hkv, D


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    p.add_argument("--out", required=True, help="where to write the JSON")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    p.add_argument("--dtypes", default="f32,f16")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", choices=["sdpa", "local", "mha", "decode"])
    p.add_argument("--lengths")
    p.add_argument("--decode-lengths")
    p.add_argument("--prefill-lengths")
    p.add_argument("--no-ort", action="store_true")
    p.add_argument("--runs", type=int, help="timed runs per shape (default 20, --quick 10)")
    p.add_argument("--max-shape-s", type=float, default=20.0, help="stop timing a shape after this")
    args, _ = p.parse_known_args(argv)  # the bench's other options are not ours
    return args


def ints(text):
    return [int(x) for x in text.split(",") if x]


def shapes(args):
    """(key, part, shape text, Hq, Hkv, Lq, Lk, D, causal) for every shape the bench times."""
    d = QUICK if args.quick else FULL
    parts = {args.only} if args.only else {"sdpa", "local", "mha", "decode"}
    out = []
    if "sdpa" in parts:
        for L in ints(args.lengths or d["lengths"]):
            for causal in (False, True):
                shape = f"1·8·{L}·{L}·64{' causal' if causal else ''}"
                out.append((f"sdpa L={L} causal={int(causal)}", "sdpa", shape, 8, 8, L, L, 64, causal))
    if "decode" in parts:
        hq, hkv, D = DECODE
        for Lk in ints(args.decode_lengths or d["decode"]):
            out.append((f"decode Lk={Lk}", "decode", f"1·{hq}/{hkv}·1·{Lk}·{D}", hq, hkv, 1, Lk, D, False))
        for H, Lk, D in [] if args.no_ort else ORT_SHAPES:
            key = f"decode-mha H={H} Lk={Lk} D={D}"
            out.append((key, "decode (MHA)", f"1·{H}·1·{Lk}·{D}", H, H, 1, Lk, D, False))
        for L in ints(args.prefill_lengths or d["prefill"]):
            shape = f"1·{hq}/{hkv}·{L}·{L}·{D} causal"
            out.append((f"prefill L={L}", "prefill", shape, hq, hkv, L, L, D, True))
    return out


def attended_pairs(Lq, Lk, causal):
    """As bench/report.ts: causal lower-right, query i sees min(i + 1 + Lk - Lq, Lk) keys."""
    if not causal:
        return Lq * Lk
    return sum(min(i + 1 + Lk - Lq, Lk) for i in range(Lq))


class Attention:
    """SDPA where this torch has it (2.0+); GQA through enable_gqa (2.5+) or K/V expanded beforehand."""

    def __init__(self, torch):
        import inspect

        F = torch.nn.functional
        self.torch = torch
        self.sdpa = getattr(F, "scaled_dot_product_attention", None)
        params = inspect.signature(self.sdpa).parameters if self.sdpa else {}
        self.gqa = "enable_gqa" in params
        self.name = (
            "scaled_dot_product_attention"
            if self.sdpa
            else "softmax(q·kᵀ/√D)·v in torch ops (this torch has no scaled_dot_product_attention, 2.0+)"
        )

    def variants(self, hq, hkv):
        """How to run grouped-query heads: enable_gqa where torch has it, and K/V expanded to Hq
        heads beforehand (SDPA's fused f32 kernels may not take GQA; the faster one is kept)."""
        if hq == hkv:
            return [None]
        return ["enable_gqa", "expanded"] if self.sdpa and self.gqa else ["expanded"]

    def __call__(self, q, k, v, causal):
        torch = self.torch
        if self.sdpa:
            kw = {"enable_gqa": True} if self.gqa and k.shape[1] != q.shape[1] else {}
            # Lq == Lk or Lq == 1 here: top-left causal (SDPA's) equals the bench's lower-right.
            return self.sdpa(q, k, v, is_causal=causal and q.shape[2] > 1, **kw)
        s = torch.matmul(q, k.transpose(-1, -2)) / (q.shape[-1] ** 0.5)
        if causal and q.shape[2] > 1:
            Lq, Lk = q.shape[2], k.shape[2]
            mask = torch.ones(Lq, Lk, dtype=torch.bool, device=q.device).tril(Lk - Lq)
            s = s.masked_fill(~mask, float("-inf"))
        return torch.matmul(torch.softmax(s, dim=-1), v)


def time_shape(torch, attn, args, dtype, expand, hq, hkv, Lq, Lk, D, causal):
    """Median CUDA-event ms and median wall ms (call → synchronize) over the timed runs."""
    cuda = args.device == "cuda"
    g = torch.Generator(device=args.device).manual_seed(1)
    make = lambda h, n: torch.rand(1, h, n, D, generator=g, device=args.device, dtype=dtype) * 2 - 1
    q, k, v = make(hq, Lq), make(hkv, Lk), make(hkv, Lk)
    if expand:  # outside the timing: the call reads Hq heads of K/V
        k, v = k.repeat_interleave(hq // hkv, dim=1), v.repeat_interleave(hq // hkv, dim=1)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    with torch.no_grad():
        for _ in range(3):  # warm-up: kernel selection, allocator, clocks
            attn(q, k, v, causal)
        sync()
        runs = args.runs or (10 if args.quick else 20)
        events, walls = [], []
        started = time.perf_counter()
        for i in range(runs):
            if i >= 3 and time.perf_counter() - started > args.max_shape_s:
                break
            if cuda:
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record()
            t0 = time.perf_counter()
            attn(q, k, v, causal)
            if cuda:
                b.record()
            sync()
            walls.append((time.perf_counter() - t0) * 1000)
            if cuda:
                events.append(a.elapsed_time(b))
    return (statistics.median(events) if events else None), statistics.median(walls), len(walls)


def main(argv):
    args = parse_args(argv)
    out = {"torch": "", "device": "", "deviceType": args.device, "impl": "", "notes": [], "rows": []}
    try:
        import torch
    except ImportError as error:
        raise SystemExit(f"torch-sdpa.py: no PyTorch here ({error})")
    out["torch"] = torch.__version__
    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("torch-sdpa.py: torch.cuda.is_available() is False (use --device cpu)")
        out["device"] = f"{torch.cuda.get_device_name(0)} (CUDA)"
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    else:
        n = torch.get_num_threads()
        out["device"] = f"the CPU ({n} thread{'' if n == 1 else 's'})"
    attn = Attention(torch)
    out["impl"] = attn.name
    out["notes"].append(
        "Grouped-query shapes (Hq/Hkv): "
        + ("the faster of enable_gqa=True and K/V expanded to Hq heads before the timing (which reads Hq/Hkv times the bytes; GB/s still counts Hkv heads)."
           if attn.sdpa and attn.gqa
           else "K/V expanded to Hq heads before the timing (this torch has no enable_gqa, 2.5+), so the call reads Hq/Hkv times the bytes; GB/s still counts Hkv heads.")
    )
    dtypes = {"f32": torch.float32, "f16": torch.float16}
    for key, part, shape, hq, hkv, Lq, Lk, D, causal in shapes(args):
        for name in args.dtypes.split(","):
            row = {"key": key, "part": part, "shape": shape, "dtype": name}
            row["flops"] = 4 * hq * D * attended_pairs(Lq, Lk, causal)
            row["kvBytes"] = 2 * hkv * Lk * D * (4 if name == "f32" else 2)
            for variant in attn.variants(hq, hkv):
                label = f"  torch {key} {name}{f' ({variant})' if variant else ''}"
                try:
                    ev, wall, runs = time_shape(torch, attn, args, dtypes[name], variant == "expanded", hq, hkv, Lq, Lk, D, causal)
                    print(f"{label}: {ev if ev is not None else wall:.3f} ms", file=sys.stderr)
                    best = row.get("eventsMs") if row.get("eventsMs") is not None else row.get("wallMs")
                    if best is None or (ev if ev is not None else wall) < best:
                        row.update(eventsMs=ev, wallMs=wall, runs=runs, variant=variant)
                        row.pop("error", None)
                except Exception as error:  # one shape, dtype or variant failing must not end the run
                    if "wallMs" not in row:
                        row["error"] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:200]
                    print(f"{label}: {type(error).__name__}: {error}", file=sys.stderr)
                    if args.device == "cuda":
                        torch.cuda.empty_cache()
            out["rows"].append(row)
    if not out["rows"]:
        out["notes"].append("No shape to time: PyTorch is compared on the sdpa and decode parts only.")
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
