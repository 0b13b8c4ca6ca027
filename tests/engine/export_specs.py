"""Specs and names shared by the PyTorch export tests (test_torch_export.py needs
torch, test_torch_export_source.py does not)."""

from __future__ import annotations

import re

import engine
from engine.presets import inception


def every_layer_spec(dropout_p: float = 0.3) -> dict:
    """Every layer type at least once, with the awkward options: "same" and
    rectangular kernels, stride 2, no bias, padded pooling with stride != kernel."""
    return {
        "input": [3, 16, 16],
        "layers": [
            {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": "same", "bias": False},
            {"type": "batchnorm2d", "momentum": 0.2, "eps": 1e-3},
            {"type": "leaky_relu", "negative_slope": 0.2},
            {
                "type": "conv2d",
                "out_channels": 8,
                "kernel_size": [3, 5],
                "stride": 2,
                "padding": [1, 2],
                "bias": False,
                "name": "rect",
            },  # -> 8x8x8
            {"type": "maxpool2d", "kernel_size": 3, "stride": 1, "padding": 1},  # -> 8x8x8
            {"type": "sigmoid"},
            {"type": "avgpool2d", "kernel_size": 3, "stride": 2, "padding": 1},  # -> 8x4x4, floored
            {"type": "tanh"},
            {"type": "conv2d", "out_channels": 8, "kernel_size": [1, 3], "stride": [1, 2], "padding": "valid"},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel_size": [2, 1], "stride": 1, "padding": [1, 0]},  # -> 8x5x1
            {"type": "global_avgpool2d"},
            {"type": "flatten"},
            {"type": "linear", "out_features": 12},
            {"type": "batchnorm1d"},
            {"type": "relu"},
            {"type": "dropout", "p": dropout_p},
            {"type": "linear", "out_features": 5, "bias": False},
            {"type": "softmax"},
        ],
    }


def concat_spec() -> dict:
    """A stem, a GoogLeNet-style Inception module, and a concat with an identity branch."""
    return {
        "input": [3, 12, 12],
        "layers": [
            {"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "relu"},
            inception(4, 4, 6, 2, 4, 4, name="inception1"),  # -> 18 channels
            {
                "type": "concat",
                "branches": [
                    [],
                    [
                        {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1},
                        {"type": "batchnorm2d"},
                        {"type": "relu"},
                        {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 4},
                    ],  # 6 -> 12
                ],
            },  # -> 21 channels
            {"type": "maxpool2d", "kernel_size": 2},
            {"type": "flatten"},
            {"type": "linear", "out_features": 7},
        ],
    }


def mlp_spec() -> dict:
    """A flat input: (features,) rather than (C, H, W)."""
    return {
        "input": [20],
        "layers": [
            {"type": "linear", "out_features": 16},
            {"type": "batchnorm1d", "momentum": 0.05},
            {"type": "tanh"},
            {"type": "dropout", "p": 0.5},
            {"type": "linear", "out_features": 4},
            {"type": "softmax"},
        ],
    }


def conv_family_spec() -> dict:
    """The convolutions beyond the lecture's: groups, depthwise, dilation, "same" padding of
    even kernels (one more zero at the bottom and right), and transposed convolutions with
    stride, padding, output_padding, dilation and groups."""
    return {
        "input": [4, 11, 10],
        "layers": [
            {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1, "groups": 2},
            {"type": "relu"},
            {
                "type": "conv2d",
                "out_channels": 6,
                "kernel_size": 3,
                "groups": 6,
                "padding": "same",
                "name": "depthwise",
            },
            {
                "type": "conv2d",
                "out_channels": 8,
                "kernel_size": [3, 2],
                "dilation": [2, 3],
                "padding": [2, 1],
                "stride": [2, 1],
                "bias": False,
            },  # -> 8x6x9
            {"type": "conv2d", "out_channels": 8, "kernel_size": 4, "padding": "same"},
            {
                "type": "conv2d",
                "out_channels": 4,
                "kernel_size": [2, 3],
                "dilation": [3, 2],
                "padding": "same",
                "groups": 4,
            },
            {"type": "tanh"},
            {
                "type": "conv_transpose2d",
                "out_channels": 6,
                "kernel_size": 3,
                "stride": 2,
                "padding": 1,
                "output_padding": 1,
            },  # -> 6x12x18
            {
                "type": "conv_transpose2d",
                "out_channels": 4,
                "kernel_size": [2, 3],
                "stride": [1, 2],
                "dilation": [2, 1],
                "groups": 2,
                "bias": False,
                "name": "up",
            },  # -> 4x14x37
            # output_padding 2, not less than the stride 2, is allowed: it is less than the dilation
            {
                "type": "conv_transpose2d",
                "out_channels": 3,
                "kernel_size": 3,
                "stride": 2,
                "padding": [2, 1],
                "output_padding": [2, 1],
                "dilation": 3,
            },
            {"type": "global_avgpool2d"},
            {"type": "flatten"},
            {"type": "linear", "out_features": 5},
        ],
    }


SPECS = {
    "lenet5": lambda: engine.PRESETS["lenet5"],
    "tinyvgg": lambda: engine.PRESETS["tinyvgg"],
    "resnet8": lambda: engine.PRESETS["resnet8"],
    "concat": concat_spec,
    "every_layer": every_layer_spec,
    "mlp": mlp_spec,
    "conv_family": conv_family_spec,
}


TORCH_NAMES = {
    "W": "weight",
    "b": "bias",
    "gamma": "weight",
    "beta": "bias",
    "running_mean": "running_mean",
    "running_var": "running_var",
    "num_batches_tracked": "num_batches_tracked",
}


def torch_name(key: str) -> str:
    """Engine state key -> nn.Module state_dict name, written out independently of
    to_pytorch: 'layers[3].body[0].W' -> 'layers.3.body.0.weight',
    'layers[2].branches[1][0].b' -> 'layers.2.branches.1.0.bias'."""
    path, name = key.rsplit(".", 1)
    return re.sub(r"\[(\d+)\]", r".\1", path) + "." + TORCH_NAMES[name]
