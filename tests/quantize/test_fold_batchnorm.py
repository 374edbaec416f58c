import torch
from torch import nn

from flow.quantize.fold_batchnorm import FloatLinear, FloatReLU, FloatScaleShift, fold_batchnorm


def _bn(n, seed):
    g = torch.Generator().manual_seed(seed)
    bn = nn.BatchNorm1d(n)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(n, generator=g) + 0.5)
        bn.bias.copy_(torch.randn(n, generator=g))
        bn.running_mean.copy_(torch.randn(n, generator=g))
        bn.running_var.copy_(torch.rand(n, generator=g) + 0.1)
    return bn.eval()


def _run(folded, x):
    for layer in folded:
        if isinstance(layer, FloatLinear):
            x = x @ layer.weight.T + layer.bias
        elif isinstance(layer, FloatScaleShift):
            x = x * layer.scale + layer.shift
        else:
            x = torch.relu(x)
    return x


def test_linear_bn_folds_into_one_linear():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4), _bn(4, 1), nn.ReLU(), nn.Linear(4, 3)).double().eval()
    folded = fold_batchnorm(model)
    assert [type(f) for f in folded] == [FloatLinear, FloatReLU, FloatLinear]
    x = torch.randn(50, 6, dtype=torch.float64)
    assert torch.allclose(_run(folded, x), model(x), atol=1e-12)


def test_hand_computed_fold():
    lin = nn.Linear(1, 1)
    with torch.no_grad():
        lin.weight.fill_(2.0)
        lin.bias.fill_(1.0)
    bn = nn.BatchNorm1d(1, eps=0.0)
    with torch.no_grad():
        bn.weight.fill_(3.0)
        bn.bias.fill_(0.5)
        bn.running_mean.fill_(1.0)
        bn.running_var.fill_(4.0)
    # a = 3 / 2 = 1.5, c = 0.5 - 1.5 * 1 = -1; W' = 3, b' = 1.5 * 1 - 1 = 0.5
    (f,) = fold_batchnorm(nn.Sequential(lin, bn.eval()))
    assert f.weight.item() == 3.0 and f.bias.item() == 0.5


def test_bn_before_relu_without_linear_becomes_scale_shift():
    model = nn.Sequential(_bn(16, 2), nn.ReLU(), nn.Linear(16, 5)).double().eval()
    folded = fold_batchnorm(model)
    assert [type(f) for f in folded] == [FloatScaleShift, FloatReLU, FloatLinear]
    x = torch.randn(40, 16, dtype=torch.float64)
    assert torch.allclose(_run(folded, x), model(x), atol=1e-12)
