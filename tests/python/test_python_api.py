"""The Python API (issue 9): dynrt.Input / compile / save / load, the callable module, contexts,
errors, JIT mode and the torch.compile backend, through Torch-TensorRT's dynamic-shape scenarios.
PyTorch eager is the reference: every output is compared with the module run in eager mode.

Modules are exported once per test module (fixtures): torch.export of a small module takes 1-3 s."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

import dynrt
from dynrt import torch_backend

ATOL, RTOL = 1e-4, 1e-4


def close(got, want, atol=ATOL, rtol=RTOL):
    got = torch.as_tensor(got) if isinstance(got, np.ndarray) else got
    assert isinstance(got, torch.Tensor)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert torch.allclose(got, want, atol=atol, rtol=rtol), (got - want).abs().max().item()


def eager(model, *args):
    with torch.no_grad():
        return model(*args)


# ---- models -------------------------------------------------------------------------------------

class PoolNet(torch.nn.Module):
    """Conv, AdaptiveAvgPool2d and a flatten written with x.size(0) arithmetic (Torch-TensorRT's
    dynamic-shapes guide, scenario 4)."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.pool = torch.nn.AdaptiveAvgPool2d((1, 1))
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn(self.conv(x))))
        x = x.view(x.size(0), -1)
        return self.fc(x)


class MLP(torch.nn.Module):
    def __init__(self, d_in=16, d_out=4):
        super().__init__()
        self.l1 = torch.nn.Linear(d_in, 32)
        self.l2 = torch.nn.Linear(32, d_out)

    def forward(self, x):
        return self.l2(torch.nn.functional.gelu(self.l1(x)))


class TinyBert(torch.nn.Module):
    """input_ids and attention_mask sharing one batch and one sequence dim: embeddings, one
    attention block with a key padding mask from the mask, masked mean pooling. Two outputs."""

    def __init__(self, vocab=100, d=32, heads=4, max_len=64):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Embedding(max_len, d)
        self.attn = torch.nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln1 = torch.nn.LayerNorm(d)
        self.ff = torch.nn.Sequential(torch.nn.Linear(d, 2 * d), torch.nn.GELU(), torch.nn.Linear(2 * d, d))
        self.ln2 = torch.nn.LayerNorm(d)
        self.head = torch.nn.Linear(d, 3)

    def forward(self, input_ids, attention_mask):
        positions = torch.arange(input_ids.size(1), device=input_ids.device).unsqueeze(0)
        h = self.tok(input_ids) + self.pos(positions)
        a, _ = self.attn(h, h, h, key_padding_mask=attention_mask == 0, need_weights=False)
        h = self.ln1(h + a)
        h = self.ln2(h + self.ff(h))
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1.0)
        return self.head(pooled), h


def _init(model, seed):
    torch.manual_seed(seed)
    for p in model.parameters():
        torch.nn.init.normal_(p, std=0.3)
    for b in model.buffers():
        if b.dtype.is_floating_point:
            b.uniform_(0.5, 1.5)
    return model.eval()


def bert_feeds(b, s, vocab=100, seed=0):
    g = torch.Generator().manual_seed(seed * 1000 + b * 100 + s)
    ids = torch.randint(0, vocab, (b, s), generator=g)
    mask = torch.ones(b, s, dtype=torch.int64)
    if s > 1:
        mask[0, s // 2 + 1:] = 0  # a padded first sequence: the mask must matter
    return ids, mask


# ---- fixtures: one export each ------------------------------------------------------------------

@pytest.fixture(scope="module")
def mlp():
    return _init(MLP(), 1)


@pytest.fixture(scope="module")
def mlp_dyn(mlp):
    """Scenario 2: dynamic batch through Input(min_shape, opt_shape, max_shape)."""
    return dynrt.compile(mlp, inputs=[dynrt.Input(min_shape=(1, 16), opt_shape=(8, 16), max_shape=(32, 16),
                                                  dtype=torch.float32, dim_names=("batch", None))])


@pytest.fixture(scope="module")
def poolnet():
    return _init(PoolNet(), 2)


@pytest.fixture(scope="module")
def bert():
    return _init(TinyBert(), 3)


@pytest.fixture(scope="module")
def bert_dyn(bert):
    ids = dynrt.Input(min_shape=(1, 2), opt_shape=(2, 16), max_shape=(4, 64), dtype=torch.int64,
                      dim_names=("batch", "seq"))
    mask = dynrt.Input(min_shape=(1, 2), opt_shape=(2, 16), max_shape=(4, 64), dtype=np.int64,
                       dim_names=("batch", "seq"))
    return dynrt.compile(bert, inputs=[ids, mask])


@pytest.fixture(scope="module")
def mlp_onnx(mlp, tmp_path_factory):
    """The MLP as an ONNX file with a named dynamic batch, exported by the user."""
    path = tmp_path_factory.mktemp("onnx") / "mlp.onnx"
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.onnx.export(mlp, (torch.randn(4, 16),), dynamo=True, dynamic_shapes=({0: batch},),
                                input_names=["x"], output_names=["y"], verbose=False)
    program.save(str(path))
    return path


# ---- Input --------------------------------------------------------------------------------------

def test_input_shapes_and_dtypes():
    i = dynrt.Input(min_shape=(1, 3), opt_shape=(4, 3), max_shape=(8, 3), dtype=torch.int64, name="ids",
                    dim_names=("batch", None))
    assert (i.min_shape, i.opt_shape, i.max_shape) == ((1, 3), (4, 3), (8, 3))
    assert i.dtype == "int64" and i.name == "ids" and i.is_dynamic(0) and not i.is_dynamic(1)
    s = dynrt.Input(shape=(2, 5), dtype=np.float16)
    assert s.min_shape == s.opt_shape == s.max_shape == (2, 5) and s.dtype == "float16"
    assert dynrt.Input(min_shape=(1,), max_shape=(9,)).opt_shape == (9,)  # opt defaults to max
    assert dynrt.Input(shape=(1,), dtype=torch.half).dtype == "float16"
    assert dynrt.Input(shape=(1,), dtype=torch.bfloat16).dtype == "bfloat16"
    assert dynrt.Input(shape=(1,)).dtype == "float32"


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(shape=(1, 2), min_shape=(1, 2)), "either shape= or min_shape"),
    (dict(min_shape=(4,), max_shape=(2,)), "need 0 <= min <= opt <= max"),
    (dict(min_shape=(1,), opt_shape=(9,), max_shape=(8,)), "need 0 <= min <= opt <= max"),
    (dict(min_shape=(1, 2), max_shape=(3,)), "different ranks"),
    (dict(shape=(1, 2), dim_names=("batch",)), "dim_names has 1 names for 2 dims"),
    (dict(opt_shape=(1,)), "needs shape= or min_shape="),
])
def test_input_errors(kwargs, fragment):
    with pytest.raises(dynrt.InvalidConfig, match=fragment):
        dynrt.Input(**kwargs)


# ---- scenario 1: static shapes ------------------------------------------------------------------

def test_scenario1_static_shape(poolnet):
    m = dynrt.compile(poolnet, inputs=[dynrt.Input(shape=(2, 3, 16, 16))])
    x = torch.randn(2, 3, 16, 16)
    close(m(x), eager(poolnet, x))
    info = m.engine.inspect()
    assert info["inputs"] == [{"name": "x", "dtype": "float32", "dims": ["2", "3", "16", "16"], "kind": "tensor"}]
    with pytest.raises(dynrt.ShapeOutOfRange, match=r"input 'x' dimension 0 must be 2, got 3 \(shape 3x3x16x16\)"):
        m(torch.randn(3, 3, 16, 16))


# ---- scenario 2: dynamic batch ------------------------------------------------------------------

def test_scenario2_dynamic_batch(mlp, mlp_dyn):
    for b in (1, 2, 7, 8, 19, 32):
        x = torch.randn(b, 16)
        close(mlp_dyn(x), eager(mlp, x))
    assert mlp_dyn.context.plans_created == 6  # one plan per shape, one engine for all
    with pytest.raises(dynrt.ShapeOutOfRange) as e:
        mlp_dyn(torch.randn(33, 16))
    assert "input 'x' dimension 0 ('batch') is 33, outside the range [1, 32]" in str(e.value)
    with pytest.raises(dynrt.ShapeOutOfRange, match="dimension 1 must be 16, got 15"):
        mlp_dyn(torch.randn(4, 15))


# ---- scenario 3: BERT-like, two inputs sharing batch and sequence dims --------------------------

def test_scenario3_bert_shared_dims(bert, bert_dyn):
    for b, s in [(1, 2), (2, 5), (3, 16), (4, 33), (2, 64)]:
        ids, mask = bert_feeds(b, s)
        logits, hidden = bert_dyn(ids, mask)
        want_logits, want_hidden = eager(bert, ids, mask)
        close(logits, want_logits, atol=2e-4)
        close(hidden, want_hidden, atol=2e-4)
    info = bert_dyn.engine.inspect()
    ids_dims, mask_dims = (i["dims"] for i in info["inputs"])
    assert [i["name"] for i in info["inputs"]] == ["input_ids", "attention_mask"]
    assert ids_dims == mask_dims and len(set(ids_dims)) == 2  # one batch symbol, one sequence symbol
    assert [o["dims"] for o in info["outputs"]] == [[ids_dims[0], "3"], [ids_dims[0], ids_dims[1], "32"]]
    # The mask matters: padding changes the pooled output.
    ids, mask = bert_feeds(2, 8)
    full = bert_dyn(ids, torch.ones_like(mask))[0]
    assert not torch.allclose(full[0], bert_dyn(ids, mask)[0][0], atol=1e-3)
    with pytest.raises(dynrt.ShapeOutOfRange, match=r"dimension 1 is 7, but input 'input_ids' dimension 1 is 5"):
        bert_dyn(torch.zeros(2, 5, dtype=torch.int64), torch.ones(2, 7, dtype=torch.int64))
    with pytest.raises(dynrt.ShapeOutOfRange, match=r"is 65, outside the range \[2, 64\]"):
        bert_dyn(*bert_feeds(1, 65))


# ---- scenario 4: AdaptiveAvgPool2d + view(x.size(0), -1), no padding -----------------------------

def test_scenario4_pool_flatten_several_batches(poolnet):
    m = dynrt.compile(poolnet, inputs=[dynrt.Input(min_shape=(1, 3, 8, 8), opt_shape=(4, 3, 16, 16),
                                                   max_shape=(8, 3, 32, 32), dim_names=("batch", None, "h", "w"))])
    for b, hw in [(1, 8), (3, 16), (5, 13), (8, 32), (2, 31)]:
        x = torch.randn(b, 3, hw, hw)
        y = m(x)
        assert y.shape == (b, 10)  # exactly the batch given: nothing padded
        close(y, eager(poolnet, x))
    assert "Gemm" in m.engine.inspect()["text"] or "MatMul" in m.engine.inspect()["text"]


# ---- scenario 5: JIT over a stream of shapes ----------------------------------------------------

def test_scenario5_jit_random_batches(mlp):
    m = dynrt.compile(mlp, ir="jit")
    assert isinstance(m, dynrt.JitModule) and m.builds == 0 and m.engine is None
    rng = random.Random(5)
    batches = [rng.randint(1, 64) for _ in range(100)]
    xs = {b: torch.randn(b, 16) for b in set(batches)}
    for k, b in enumerate(batches):
        close(m(xs[b]) if k % 2 else m(x=xs[b]), eager(mlp, xs[b]))
    assert 1 <= m.builds <= math.ceil(math.log2(64)) + 1
    assert m.exports == 1  # exported once with a wide range: widening only rebuilds the engine
    assert m.ranges() == [[(1, 64), (16, 16)]]
    builds = m.builds
    for b in sorted(set(batches)):  # inside the range: never rebuilt
        m(xs[b])
    assert m.builds == builds
    m(torch.randn(65, 16))  # outside: widened to the next power of two, one build
    assert m.builds == builds + 1 and m.ranges() == [[(1, 128), (16, 16)]]
    assert m.compile_seconds > 0


def test_jit_growing_batches_build_log2_times(mlp):
    m = dynrt.compile(mlp, ir="torch_compile")  # Torch-TensorRT's spelling of JIT
    for b in range(1, 65):
        x = torch.randn(b, 16)
        close(m(x), eager(mlp, x))
    # 1 -> [1,2], 3 -> [1,4], 5 -> [1,8], 9 -> [1,16], 17 -> [1,32], 33 -> [1,64]
    assert m.builds == 6


def test_jit_second_dim_becomes_dynamic_and_kwargs(mlp_onnx):
    m = dynrt.compile(str(mlp_onnx), ir="jit")  # an ONNX model: no export, only builds
    x = np.random.default_rng(0).standard_normal((3, 16)).astype(np.float32)
    y = m(x=x)
    assert isinstance(y, np.ndarray)
    close(y, eager(_init(MLP(), 1), torch.from_numpy(x)))
    assert m.builds == 1 and m.ranges() == [[(1, 4), (16, 16)]]
    # dim 1 is a number in the model: it cannot become dynamic
    with pytest.raises(dynrt.ShapeOutOfRange, match="the model fixes it at 16"):
        m(np.zeros((3, 17), np.float32))


def test_jit_two_inputs_dims_grow_together(bert):
    m = dynrt.compile(bert, ir="jit")
    for b, s in [(2, 5), (2, 9), (3, 9), (1, 40), (3, 7)]:
        ids, mask = bert_feeds(b, s)
        logits, hidden = m(ids, attention_mask=mask)
        want = eager(bert, ids, mask)
        close(logits, want[0], atol=2e-4)
        close(hidden, want[1], atol=2e-4)
    # (2,5): batch dynamic, seq fixed; (2,9): seq varies in both inputs at once, one dim (the
    # attention needs them equal), exported again; (3,9) and (1,40) widen: engine builds only.
    assert m.exports == 2 and m.builds == 4
    assert m.ranges() == [[(1, 4), (1, 64)], [(1, 4), (1, 64)]]


def test_jit_with_inputs_starts_from_their_range(mlp):
    m = dynrt.compile(mlp, inputs=[dynrt.Input(min_shape=(1, 16), opt_shape=(4, 16), max_shape=(16, 16))],
                      ir="jit")
    for b in (1, 16, 5):
        x = torch.randn(b, 16)
        close(m(x), eager(mlp, x))
    assert m.builds == 1 and m.ranges() == [[(1, 16), (16, 16)]]
    x = torch.randn(17, 16)
    close(m(x), eager(mlp, x))
    assert m.builds == 2 and m.ranges() == [[(1, 32), (16, 16)]]


# ---- torch.compile(backend="dynrt") -------------------------------------------------------------

def _dynamo_graphs(model, sizes, make_input) -> int:
    """How many graphs dynamo makes for this stream of shapes on its own (a backend that only
    counts): what dynrt's backend is compared with."""
    import torch._dynamo
    torch._dynamo.reset()
    graphs = []

    def counting(gm, example_inputs):
        graphs.append(gm)
        return gm.forward
    compiled = torch.compile(model, backend=counting)
    with torch.no_grad():
        for b in sizes:
            compiled(make_input(b))
    torch._dynamo.reset()
    return len(graphs)


def test_torch_compile_backend(poolnet):
    import torch._dynamo
    sizes = [3, 5, 7, 1, 2, 12, 7, 40, 3, 64]
    image = lambda b: torch.randn(b, 3, 16, 16)  # noqa: E731
    graphs = _dynamo_graphs(poolnet, sizes, image)
    torch_backend.reset()
    compiled = torch.compile(poolnet, backend="dynrt")  # registered by the package's entry point
    with torch.no_grad():
        for b in sizes:
            x = image(b)
            close(compiled(x), eager(poolnet, x))
    st = torch_backend.stats()
    assert st["eager_graphs"] == 0
    assert st["graphs"] == graphs  # one dynrt module per dynamo graph, nothing more
    assert st["exports"] == graphs  # each graph exported once, however its range grows
    assert any(n for j in torch_backend.builds for n in j._names[0])  # a graph with a dynamic batch
    assert st["builds"] <= graphs + math.ceil(math.log2(64))
    with torch.no_grad():  # every shape again: no graph, no build
        for b in sorted(set(sizes)):
            x = image(b)
            close(compiled(x), eager(poolnet, x))
    assert torch_backend.stats()["builds"] == st["builds"] and torch_backend.stats()["graphs"] == graphs
    assert st["compile_seconds"] > 0
    # the parameters are constants of the engine: changing them in place builds again
    with torch.no_grad():
        saved = poolnet.fc.bias.clone()
        poolnet.fc.bias.add_(1.0)
        x = image(6)
        close(compiled(x), eager(poolnet, x))
        poolnet.fc.bias.copy_(saved)
        close(compiled(x), eager(poolnet, x))
    assert torch_backend.stats()["builds"] == st["builds"] + 2 and torch_backend.stats()["graphs"] == graphs
    torch._dynamo.reset()


def test_torch_compile_backend_dynamic_and_options(mlp):
    import torch._dynamo
    torch._dynamo.reset()
    torch_backend.reset()
    torch_backend.register()  # idempotent next to the entry point
    compiled = torch.compile(mlp, backend="dynrt", dynamic=True, options={"max_dim": 64, "precision": torch.float32})
    with torch.no_grad():
        for b in (4, 9, 64, 2, 33):
            x = torch.randn(b, 16)
            close(compiled(x), eager(mlp, x))
    st = torch_backend.stats()
    # one symbolic graph; its batch range grows 4 -> [.., 4], 9 -> [.., 16], 64 -> [.., 64]
    assert st["graphs"] == 1 and st["builds"] == 3 and st["exports"] == 1
    assert torch_backend.builds[0].ranges()[0][0][1] == 64
    with pytest.raises(dynrt.ShapeOutOfRange, match="max_dim=64"):
        with torch.no_grad():
            compiled(torch.randn(65, 16))
    torch._dynamo.reset()


# ---- ONNX models, Torch-TensorRT spellings -------------------------------------------------------

def test_onnx_path_dims_and_aliases(mlp, mlp_onnx):
    import onnx
    m = dynrt.compile(str(mlp_onnx), dims={"batch": (1, 4, 8)}, ir="dynamo", enabled_precisions={torch.float32})
    x = torch.randn(6, 16)
    close(m(x), eager(mlp, x))
    with pytest.raises(dynrt.ShapeOutOfRange, match=r"is 9, outside the range \[1, 8\]"):
        m(torch.randn(9, 16))
    # a ModelProto with per-input shapes (Input.name picks the input)
    m2 = dynrt.compile(onnx.load(str(mlp_onnx)), inputs=[dynrt.Input(min_shape=(2, 16), max_shape=(3, 16),
                                                                      name="x")])
    close(m2(x[:3]), eager(mlp, x[:3]))
    with pytest.raises(dynrt.ShapeOutOfRange, match=r"is 1, outside the range \[2, 3\]"):
        m2(x[:1])
    # fp16 allowed but not available on the CPU: Torch-TensorRT's "enabled" means fp32 stays allowed
    with pytest.warns(UserWarning, match="fp32"):
        m3 = dynrt.compile(mlp_onnx, dims={"batch": (1, 1, 2)}, enabled_precisions={torch.float16})
    close(m3(x[:2]), eager(mlp, x[:2]))
    with pytest.raises(dynrt.InvalidConfig, match="matches no model input"):
        dynrt.compile(str(mlp_onnx), inputs=[dynrt.Input(shape=(1, 16), name="nope")])


def test_torch_tensorrt_call_forms(mlp):
    # torch_tensorrt.compile(model, ir="dynamo", inputs=[example tensor], enabled_precisions=..., workspace_size=...)
    with pytest.warns(UserWarning, match="ignores the TensorRT options \\['workspace_size'\\]"):
        m = dynrt.compile(mlp, ir="dynamo", inputs=[torch.randn(3, 16)], enabled_precisions={torch.float32},
                          workspace_size=1 << 20)
    x = torch.randn(3, 16)
    close(m(x), eager(mlp, x))
    with pytest.raises(dynrt.ShapeOutOfRange, match="dimension 0 must be 3, got 4"):
        m(torch.randn(4, 16))
    # torch_tensorrt.dynamo.compile(exported_program, inputs=...)
    batch = torch.export.Dim("batch", min=1, max=64)
    ep = torch.export.export(mlp, (torch.randn(4, 16),), dynamic_shapes=({0: batch},))
    m = dynrt.compile(ep, inputs=[dynrt.Input(min_shape=(1, 16), opt_shape=(4, 16), max_shape=(64, 16))])
    for b in (1, 33, 64):
        x = torch.randn(b, 16)
        close(m(x), eager(mlp, x))
    assert m.input_names == ["x"]
    with pytest.raises(dynrt.InvalidConfig, match="unknown options for ir='aot': \\['bogus'\\]"):
        dynrt.compile(ep, bogus=1)


# ---- calling conventions, numpy and torch, no copies --------------------------------------------

def test_numpy_in_numpy_out_torch_in_torch_out(mlp, mlp_dyn):
    x = np.random.default_rng(1).standard_normal((5, 16)).astype(np.float32)
    y = mlp_dyn(x)
    assert type(y) is np.ndarray and y.dtype == np.float32
    close(y, eager(mlp, torch.from_numpy(x)))
    t = torch.from_numpy(x)
    yt = mlp_dyn(t)
    assert type(yt) is torch.Tensor and yt.dtype == torch.float32 and yt.device.type == "cpu"
    close(yt, torch.from_numpy(y), atol=0, rtol=0)
    close(mlp_dyn(x=t), torch.from_numpy(y), atol=0, rtol=0)  # by name (forward()'s parameter name)
    assert mlp_dyn.input_names == ["x"]
    # non-contiguous inputs are made contiguous (the one case that copies)
    xt = torch.randn(16, 6).t()
    close(mlp_dyn(xt), eager(mlp, xt))
    close(mlp_dyn(np.asfortranarray(x)), torch.from_numpy(y), atol=0, rtol=0)
    # requires_grad inputs are fine (inference only)
    close(mlp_dyn(t.clone().requires_grad_()), torch.from_numpy(y), atol=0, rtol=0)


def test_tuple_outputs_and_kwargs(bert, bert_dyn):
    ids, mask = bert_feeds(3, 9)
    out = bert_dyn(attention_mask=mask, input_ids=ids)  # by name, in any order
    assert isinstance(out, tuple) and len(out) == 2
    want = eager(bert, ids, mask)
    close(out[0], want[0], atol=2e-4)
    close(out[1], want[1], atol=2e-4)
    out_np = bert_dyn(ids.numpy(), attention_mask=mask.numpy())
    assert all(type(o) is np.ndarray for o in out_np)
    close(out_np[0], out[0], atol=0, rtol=0)
    assert bert_dyn.output_names == [o["name"] for o in bert_dyn.engine.inspect()["outputs"]]


def test_user_outputs_written_in_place(mlp, mlp_dyn):
    x = torch.randn(7, 16)
    want = eager(mlp, x)
    out = torch.full((7, 4), float("nan"))
    ptr = out.data_ptr()
    y = mlp_dyn(x, out=out)
    assert y is out and y.data_ptr() == ptr
    close(out, want)
    out_np = np.full((7, 4), np.nan, np.float32)
    y_np = mlp_dyn(x.numpy(), out=out_np)
    assert y_np is out_np
    close(out_np, want)
    with pytest.raises(dynrt.InvalidInput, match="output 'y'|buffer"):
        mlp_dyn(x, out=torch.empty(6, 4))
    with pytest.raises(dynrt.InvalidInput):
        mlp_dyn(x, out=torch.empty(7, 4, dtype=torch.float64))


def test_tuple_outputs_into_user_buffers(bert, bert_dyn):
    ids, mask = bert_feeds(2, 6)
    logits = torch.empty(2, 3)
    hidden = torch.empty(2, 6, 32)
    got = bert_dyn(ids, mask, out=(logits, hidden))
    assert got[0] is logits and got[1] is hidden
    want = eager(bert, ids, mask)
    close(logits, want[0], atol=2e-4)
    close(hidden, want[1], atol=2e-4)
    # one of them only: the other is allocated
    got = bert_dyn(ids, mask, out=(None, hidden))
    assert got[1] is hidden and got[0] is not logits
    close(got[0], want[0], atol=2e-4)


def data_ptr(a) -> int:
    return a.data_ptr() if isinstance(a, torch.Tensor) else a.__array_interface__["data"][0]


def test_inputs_and_outputs_are_not_copied(mlp_dyn, bert_dyn):
    """What crosses into C++ is the caller's memory: same data pointers for inputs, and the arrays
    the engine writes are the ones returned."""
    seen = {}

    def spy(module):
        real = module._run

        def run(inputs, outputs):
            seen.update(inputs=dict(inputs), outputs=dict(outputs))
            return real(inputs, outputs)
        module._run = run
        return real
    real = spy(mlp_dyn)
    try:
        name_out = mlp_dyn.output_names[0]
        x = torch.randn(4, 16)
        y = mlp_dyn(x)
        assert data_ptr(seen["inputs"]["x"]) == x.data_ptr()
        assert data_ptr(seen["outputs"][name_out]) == y.data_ptr()
        xn = x.numpy()
        yn = mlp_dyn(xn)
        assert seen["inputs"]["x"] is xn and seen["outputs"][name_out] is yn
        out = torch.empty(4, 4)
        assert mlp_dyn(x, out=out) is out and data_ptr(seen["outputs"][name_out]) == out.data_ptr()
        xg = x.clone().requires_grad_()
        mlp_dyn(xg)
        assert data_ptr(seen["inputs"]["x"]) == xg.data_ptr()
        xt = torch.randn(16, 4).t()  # not contiguous: the one case that copies
        mlp_dyn(xt)
        assert data_ptr(seen["inputs"]["x"]) != xt.data_ptr()
    finally:
        mlp_dyn._run = real
    assert mlp_dyn.context.last_run_stats()["copies"] == 0
    real = spy(bert_dyn)
    try:
        ids, mask = bert_feeds(2, 5)
        logits, hidden = bert_dyn(ids.numpy(), mask)  # mixed numpy and torch: torch out
        assert type(logits) is torch.Tensor
        assert data_ptr(seen["inputs"]["input_ids"]) == data_ptr(ids.numpy())
        assert data_ptr(seen["inputs"]["attention_mask"]) == mask.data_ptr()
        assert data_ptr(seen["outputs"][bert_dyn.output_names[1]]) == hidden.data_ptr()
    finally:
        bert_dyn._run = real


def test_numpy_and_torch_share_memory_with_engine(mlp, mlp_dyn):
    # An input changed in place between runs is read from the same memory.
    x = torch.randn(3, 16)
    ctx = mlp_dyn.engine.create_context()
    name_in, name_out = mlp_dyn.input_names[0], mlp_dyn.output_names[0]
    out = torch.empty(3, 4)
    ctx.run({name_in: x}, {name_out: out})
    close(out, eager(mlp, x))
    x.mul_(2.0)
    res = ctx.run({name_in: x}, {name_out: out})
    assert res[name_out] is out
    close(out, eager(mlp, x))
    # non-contiguous memory is refused rather than silently copied
    with pytest.raises(dynrt.InvalidInput, match="not contiguous"):
        ctx.run({name_in: torch.randn(16, 3).t()})


# ---- engines: save / load / inspect / contexts --------------------------------------------------

def test_save_load_inspect(tmp_path, mlp, mlp_dyn):
    path = tmp_path / "mlp.engine"
    dynrt.save(mlp_dyn, path)
    assert path.stat().st_size > 0
    loaded = dynrt.load(path)
    assert isinstance(loaded, dynrt.CompiledModule)
    x = torch.randn(11, 16)
    close(loaded(x), eager(mlp, x))
    close(loaded(x), mlp_dyn(x), atol=0, rtol=0)
    info = loaded.engine.inspect()
    assert set(info) == {"inputs", "outputs", "providers", "text"}
    assert info["inputs"] == [{"name": "x", "dtype": "float32", "dims": ["batch", "16"], "kind": "tensor"}]
    assert info["outputs"][0]["dims"] == ["batch", "4"] and info["outputs"][0]["dtype"] == "float32"
    assert info["providers"] == ["cpu"]
    assert "batch: [1, 32], opt 8" in info["text"]
    with pytest.raises(dynrt.ShapeOutOfRange, match=r"outside the range \[1, 32\]"):
        loaded(torch.randn(40, 16))
    jit = dynrt.compile(mlp, ir="jit")
    with pytest.raises(dynrt.InvalidConfig, match="has not built an engine yet"):
        dynrt.save(jit, tmp_path / "nothing.engine")


def test_context_memory_limits(mlp_dyn):
    engine = mlp_dyn.engine
    x = np.zeros((6, 16), np.float32)  # the largest tensor at this shape: the hidden layer, 6x32 floats
    engine.create_context(max_tensor_bytes=768).run({"x": x})
    with pytest.raises(dynrt.OutOfMemory, match=r"tensor '\w+' would be 6x32 \(768 bytes\), over "
                                                 r"ContextOptions::max_tensor_bytes = 767"):
        engine.create_context(max_tensor_bytes=767).run({"x": x})
    with pytest.raises(dynrt.OutOfMemory, match="over ContextOptions::max_arena_bytes = 1$"):
        engine.create_context(max_arena_bytes=1).run({"x": x})


def test_context_loop_iteration_limit():
    # while True: v = v (a Loop whose condition never turns false), stopped by the context's bound.
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    body = h.make_graph([h.make_node("Identity", ["cond_in"], ["cond_out"]), h.make_node("Identity", ["v_in"], ["v_out"])],
                        "body", [h.make_tensor_value_info("i", T.INT64, []), h.make_tensor_value_info("cond_in", T.BOOL, []),
                                 h.make_tensor_value_info("v_in", T.FLOAT, None)],
                        [h.make_tensor_value_info("cond_out", T.BOOL, []), h.make_tensor_value_info("v_out", T.FLOAT, None)])
    g = h.make_graph([h.make_node("Loop", ["", "go", "x"], ["y"], body=body, name="forever")], "g",
                     [h.make_tensor_value_info("x", T.FLOAT, [2])], [h.make_tensor_value_info("y", T.FLOAT, None)],
                     [onnx.numpy_helper.from_array(np.array(True), "go")])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    engine = dynrt.compile(m, inputs=[dynrt.Input(shape=(2,), name="x")]).engine
    with pytest.raises(dynrt.InvalidInput, match="Loop node 'forever'.*it ran 10 iterations"):
        engine.create_context(max_loop_iterations=10).run({"x": np.zeros(2, np.float32)})
    with pytest.raises(dynrt.InvalidConfig, match="max_loop_iterations is 0"):
        engine.create_context(max_loop_iterations=0)


def test_context_api(mlp, mlp_dyn):
    engine = mlp_dyn.engine
    ctx = engine.create_context(threads=1)
    assert ctx.output_shapes({"x": (6, 16)}) == {engine.output_names[0]: [6, 4]}
    x = np.random.default_rng(2).standard_normal((6, 16)).astype(np.float32)
    res = ctx.run({"x": x})
    y = res[engine.output_names[0]]
    assert type(y) is np.ndarray
    close(y, eager(mlp, torch.from_numpy(x)))
    res_t = ctx.run({"x": torch.from_numpy(x)})  # torch in: torch out, also from a context
    assert type(res_t[engine.output_names[0]]) is torch.Tensor
    assert ctx.plans_created == 1  # the same shape twice: one plan
    stats = ctx.last_run_stats()
    assert stats["copies"] == 0 and stats["copy_bytes"] == 0 and stats["arena_bytes"] >= 0
    assert stats["threads"] == 1
    # Threads fixed (no governor): every run uses the count asked for; with it, at most that many.
    fixed = engine.create_context(threads=3, adapt_threads=False)
    adaptive = engine.create_context(threads=3)
    for _ in range(5):
        close(fixed.run({"x": x})[engine.output_names[0]], eager(mlp, torch.from_numpy(x)))
        close(adaptive.run({"x": x})[engine.output_names[0]], eager(mlp, torch.from_numpy(x)))
        assert fixed.last_run_stats()["threads"] == 3 and 1 <= adaptive.last_run_stats()["threads"] <= 3
    with pytest.raises(dynrt.InvalidInput, match="missing input 'x'"):
        ctx.run({})
    with pytest.raises(dynrt.InvalidInput, match="'z' is not an input of this engine"):
        ctx.run({"x": x, "z": x})


# ---- errors -------------------------------------------------------------------------------------

def test_error_classes(tmp_path, mlp_dyn, mlp_onnx):
    for cls in (dynrt.InvalidModel, dynrt.Unsupported, dynrt.InvalidConfig, dynrt.InvalidInput,
                dynrt.ShapeOutOfRange, dynrt.InvalidEngine, dynrt.IoError, dynrt.InternalError):
        assert issubclass(cls, dynrt.Error) and issubclass(cls, RuntimeError)
    with pytest.raises(dynrt.ShapeOutOfRange) as e:
        mlp_dyn(np.zeros((33, 16), np.float32))
    assert e.value.code == "shape out of range"
    with pytest.raises(dynrt.InvalidInput, match="input 'x' has element type float64, expected float32") as e:
        mlp_dyn(np.zeros((3, 16)))
    assert e.value.code == "invalid input"
    with pytest.raises(dynrt.InvalidInput, match="element type int64, expected float32"):
        mlp_dyn(torch.zeros(3, 16, dtype=torch.int64))
    with pytest.raises(dynrt.InvalidInput, match="has rank 1"):
        mlp_dyn(np.zeros(16, np.float32))
    with pytest.raises(dynrt.InvalidInput, match="missing input") as e:
        mlp_dyn()  # raised by the Python layer: the same class, the same code
    assert e.value.code == "invalid input"
    assert dynrt.InvalidConfig.code == "invalid build config" and dynrt.Error.code == "error"
    with pytest.raises(dynrt.InvalidInput, match="'y' is not an input of this model"):
        mlp_dyn(y=np.zeros((3, 16), np.float32))
    with pytest.raises(dynrt.InvalidInput, match="2 inputs given; the model takes 1"):
        mlp_dyn(np.zeros((3, 16), np.float32), np.zeros((3, 16), np.float32))
    with pytest.raises(dynrt.InvalidInput, match="given twice"):
        mlp_dyn(np.zeros((3, 16), np.float32), x=np.zeros((3, 16), np.float32))
    with pytest.raises(dynrt.IoError, match="cannot open engine file"):
        dynrt.load(tmp_path / "missing.engine")
    with pytest.raises(dynrt.IoError, match="cannot read"):
        dynrt.compile(str(tmp_path / "missing.onnx"))
    (tmp_path / "junk.engine").write_bytes(b"not an engine at all" * 10)
    with pytest.raises(dynrt.InvalidEngine):
        dynrt.load(tmp_path / "junk.engine")
    with pytest.raises(dynrt.InvalidModel):
        dynrt.compile(b"not a model")
    with pytest.raises(dynrt.InvalidConfig, match="ir 'tensorrt'"):
        dynrt.compile(mlp_onnx, ir="tensorrt")
    with pytest.raises(dynrt.InvalidConfig, match="device 'tpu'"):
        dynrt.compile(mlp_onnx, device="tpu")
    with pytest.raises(dynrt.Unsupported, match="fp16 needs a GPU provider"):
        dynrt.compile(mlp_onnx, dims={"batch": (1, 1, 2)}, precision=torch.float16)
    with pytest.raises(dynrt.InvalidConfig, match="needs inputs="):
        dynrt.compile(MLP())
    with pytest.raises(dynrt.InvalidConfig, match="cannot compile a list"):
        dynrt.compile([1, 2])


def test_export_guards():
    class Branch(torch.nn.Module):
        def forward(self, x):
            return x * 2 if x.size(0) > 4 else x - 1  # a branch on the dynamic batch
    # torch.export refuses it (rather than a fallback exporter specialising the batch silently)
    with pytest.raises(dynrt.Unsupported, match="torch.export could not export Branch"):
        dynrt.compile(Branch(), inputs=[dynrt.Input(min_shape=(1, 4), max_shape=(16, 4))])
    # inside a range where the branch is fixed it exports
    m = dynrt.compile(Branch(), inputs=[dynrt.Input(min_shape=(5, 4), max_shape=(16, 4))])
    x = torch.randn(6, 4)
    close(m(x), Branch()(x))

    class Pairs(torch.nn.Module):
        def forward(self, x):
            return x.view(8, -1)  # valid only when 4 * batch is a multiple of 8: not for every batch
    with pytest.raises(dynrt.Unsupported, match="Not all values of input0_dim0"):
        dynrt.compile(Pairs(), inputs=[dynrt.Input(min_shape=(1, 4), max_shape=(16, 4))])


def test_data_dependent_output_shape():
    class Positive(torch.nn.Module):
        def forward(self, x):
            return torch.nonzero(x > 0), x * 2

    model = Positive()
    m = dynrt.compile(model, inputs=[dynrt.Input(min_shape=(1, 4), max_shape=(8, 4))])
    x = torch.tensor([[1.0, -1.0, 2.0, 0.0], [-3.0, 4.0, 0.5, -0.5]])
    idx, doubled = m(x)
    assert type(idx) is torch.Tensor and idx.dtype == torch.int64
    assert torch.equal(idx, torch.nonzero(x > 0)) and torch.equal(doubled, x * 2)
    idx_np, _ = m(x.numpy())
    assert type(idx_np) is np.ndarray and np.array_equal(idx_np, torch.nonzero(x > 0).numpy())


def test_tuning_options(mlp, mlp_onnx, tmp_path):
    # Accepted on any device (the CPU has nothing to tune: no cache file is written); a bad mode is an error.
    cache = tmp_path / "timing.cache"
    x = torch.randn(3, 16)
    for tune in (True, False, "opt", "range", "off"):
        m = dynrt.compile(mlp_onnx, dims={"batch": (1, 2, 4)}, tune=tune, timing_cache_path=cache)
        close(m(x), eager(mlp, x))
    assert not cache.exists()
    with pytest.raises(dynrt.InvalidConfig, match="tune 'fast': expected 'off', 'opt' or 'range'"):
        dynrt.compile(mlp_onnx, dims={"batch": (1, 2, 4)}, tune="fast")
