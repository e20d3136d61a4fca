"""Is one Q/K/V projection GEMM faster than three? torch fp16 on the GPU, CUDA graphs,
BERT-base sizes (hidden 768): rows = batch * sequence."""
import torch

def timed(fn, iters=200):
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        for _ in range(20):
            fn()
    ts = []
    for _ in range(7):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(iters // 20):
            g.replay()
        b.record()
        torch.cuda.synchronize()
        ts.append(a.elapsed_time(b) * 1000 / iters)
    return sorted(ts)[3]

torch.manual_seed(0)
h = 768
for rows in (128, 1024, 4096, 12288):
    x = torch.randn(rows, h, device="cuda", dtype=torch.half)
    ws = [torch.randn(h, h, device="cuda", dtype=torch.half) * 0.02 for _ in range(3)]
    bs = [torch.randn(h, device="cuda", dtype=torch.half) for _ in range(3)]
    w3, b3 = torch.cat(ws, 1), torch.cat(bs)
    outs = [torch.empty(rows, h, device="cuda", dtype=torch.half) for _ in range(3)]
    o3 = torch.empty(rows, 3 * h, device="cuda", dtype=torch.half)
    sep = timed(lambda: [torch.addmm(b, x, w, out=o) for b, w, o in zip(bs, ws, outs)])
    one = timed(lambda: torch.addmm(b3, x, w3, out=o3))
    ln_in = torch.randn(rows, h, device="cuda", dtype=torch.half)
    lw, lb = torch.ones(h, device="cuda", dtype=torch.half), torch.zeros(h, device="cuda", dtype=torch.half)
    ln = timed(lambda: torch.nn.functional.layer_norm(ln_in, (h,), lw, lb))
    print(f"rows {rows:6d}: three GEMMs {sep:7.2f} us, one {one:7.2f} us ({sep / one:.2f}x); "
          f"LayerNorm {ln:6.2f} us ({rows * h * 4 / ln / 1e3:.0f} GB/s)")
