"""The Python API on the GPU: torch CUDA tensors in and out without copies,
against PyTorch eager. GPU machine only (scripts/gpu_tests.sh python sets
DYNRT_EXPECT_GPU=1 and installs the carried wheel)."""
import os

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(os.environ.get("DYNRT_EXPECT_GPU") != "1",
                                reason="needs the GPU machine (scripts/gpu_tests.sh python)")

import dynrt  # noqa: E402


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.fc = torch.nn.Linear(8, 5)

    def forward(self, x):
        y = torch.relu(self.conv(x))
        return self.fc(torch.nn.functional.adaptive_avg_pool2d(y, 1).view(x.size(0), -1))


def test_cuda_tensors_in_and_out_match_eager_without_copies():
    torch.manual_seed(0)
    model = Net().eval()
    m = dynrt.compile(model, [dynrt.Input((1, 3, 16, 16), (4, 3, 16, 16), (8, 3, 16, 16), dim_names=("batch", None, None, None))],
                      device="cuda")
    ref = model.cuda()
    for b in (1, 3, 8):
        x = torch.randn(b, 3, 16, 16, device="cuda")
        y = m(x)
        assert y.is_cuda and y.shape == (b, 5)
        torch.testing.assert_close(y, ref(x), rtol=1e-4, atol=1e-4)
    out = torch.empty(2, 5, device="cuda")
    x = torch.randn(2, 3, 16, 16, device="cuda")
    got = m(x, out=out)
    assert got.data_ptr() == out.data_ptr()
    torch.testing.assert_close(out, ref(x), rtol=1e-4, atol=1e-4)
    assert m.context.last_run_stats()["copies"] == 0  # the upload and the download were skipped


def test_fp16_engine_on_cuda_tensors():
    torch.manual_seed(1)
    model = Net().eval()
    m = dynrt.compile(model, [dynrt.Input((1, 3, 16, 16), (4, 3, 16, 16), (8, 3, 16, 16), dim_names=("batch", None, None, None))],
                      device="cuda", enabled_precisions={torch.float16})
    x = torch.randn(4, 3, 16, 16, device="cuda")
    ref = model.cuda()(x)
    y = m(x)
    assert (y - ref).abs().max().item() <= 1e-2 * ref.abs().max().item()


def test_jit_on_cuda_widens_without_rebuilding_inside_the_range():
    torch.manual_seed(2)
    model = Net().eval().cuda()
    j = dynrt.compile(model, ir="jit", device="cuda")
    for b in (3, 1, 4, 2, 4):
        x = torch.randn(b, 3, 16, 16, device="cuda")
        torch.testing.assert_close(j(x), model(x), rtol=1e-4, atol=1e-4)
    assert j.builds == 1
