"""Export to ONNX: the network's graph with its weights, runnable in onnxruntime or any
other ONNX runtime, opset 17.

The graph computes what Network.predict_proba computes: the layers in evaluation mode
(batch norm by its running statistics, dropout letting everything through), then softmax
over axis 1, whether or not the spec ends in a softmax layer. Its input is "input",
(N, *input_shape) float32 with the batch size N free; its outputs "probabilities" and
"logits" (what Network.logits gives: the scores before that softmax). Given the training
data's mean and std, the graph starts by normalising its input, (x - mean) / std per channel,
so it takes pixel values / 255 as the playground's datasets give them; without them it takes
inputs already normalised, as the first layer saw them.

The onnx package is an optional extra (pip install "cnn-playground[onnx]"): it is imported
only when an export is asked for, so the engine still imports numpy alone.
"""

from __future__ import annotations

import re

import numpy as np

from .network import Network
from .normalization import input_normalization

OPSET = 17
INSTALL = 'pip install "cnn-playground[onnx]"'


class OnnxUnavailable(RuntimeError):
    """The onnx package is not installed, so nothing can be exported to ONNX."""


def onnx_available() -> bool:
    """Whether to_onnx can run here (the onnx package imports)."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True


def _onnx():
    try:
        import onnx
    except ImportError as e:
        raise OnnxUnavailable(f"ONNX export needs the onnx package, which is not installed: {INSTALL}") from e
    return onnx


class _Graph:
    """Nodes and weights being collected, with a fresh name for every value."""

    def __init__(self, onnx):
        self.helper, self.numpy_helper = onnx.helper, onnx.numpy_helper
        self.nodes: list = []
        self.initializers: list = []
        self.count = 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{re.sub(r'[^A-Za-z0-9_.]', '_', base)}_{self.count}"

    def weight(self, layer, key: str, array: np.ndarray) -> str:
        name = f"{layer.path}.{key}"  # the engine's own state key, so a reader finds it
        self.initializers.append(self.numpy_helper.from_array(np.asarray(array, np.float32), name))
        return name

    def ints(self, values) -> str:
        """A constant int64 tensor (the shapes and indices Pad and Slice take as inputs)."""
        name = self.name("const")
        self.initializers.append(self.numpy_helper.from_array(np.asarray(values, np.int64), name))
        return name

    def op(self, op_type: str, inputs: list[str], layer=None, **attrs) -> str:
        out = self.name(layer.path if layer is not None else op_type)
        self.nodes.append(self.helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def _pads(before_after) -> list[int]:
    """((top, bottom), (left, right)) -> ONNX's [top, left, bottom, right]."""
    (t, b), (lft, r) = before_after
    return [t, lft, b, r]


def _conv(g: _Graph, layer, x: str) -> str:
    inputs = [x, g.weight(layer, "W", layer.params["W"])]
    if "b" in layer.params:
        inputs.append(g.weight(layer, "b", layer.params["b"]))
    return g.op(
        "Conv",
        inputs,
        layer,
        kernel_shape=list(layer.k),
        strides=list(layer.s),
        pads=_pads(layer.pads),
        dilations=list(layer.d),
        group=layer.g,
    )


def _conv_transpose(g: _Graph, layer, x: str) -> str:
    inputs = [x, g.weight(layer, "W", layer.params["W"])]
    attrs = {"kernel_shape": list(layer.k), "strides": list(layer.s), "dilations": list(layer.d), "group": layer.g}
    (ph, pw), (oh, ow) = layer.p, layer.op
    if oh < layer.s[0] and ow < layer.s[1]:
        if "b" in layer.params:
            inputs.append(g.weight(layer, "b", layer.params["b"]))
        return g.op("ConvTranspose", inputs, layer, pads=[ph, pw, ph, pw], output_padding=[oh, ow], **attrs)
    # An output_padding not less than the stride (allowed when less than the dilation, as in
    # PyTorch) is refused by onnxruntime. Then: the uncropped transposed convolution, zeros
    # added at the bottom and right where output_padding reaches past it, the padding cut
    # away from the top and left, and the bias.
    full = g.op("ConvTranspose", inputs, layer, **attrs)
    _, ho, wo = layer.out_shape
    extra = g.ints([0, 0, 0, 0, 0, 0, max(0, oh - ph), max(0, ow - pw)])
    padded = g.op("Pad", [full, extra], layer)
    y = g.op("Slice", [padded, g.ints([ph, pw]), g.ints([ph + ho, pw + wo]), g.ints([2, 3])], layer)
    if "b" in layer.params:
        y = g.op("Add", [y, g.weight(layer, "b", layer.params["b"].reshape(-1, 1, 1))], layer)
    return y


def _pool(op_type: str, **extra):
    def export(g: _Graph, layer, x: str) -> str:
        (ph, pw) = layer.p
        return g.op(
            op_type, [x], layer, kernel_shape=list(layer.k), strides=list(layer.s), pads=[ph, pw, ph, pw], **extra
        )

    return export


def _linear(g: _Graph, layer, x: str) -> str:
    inputs = [x, g.weight(layer, "W", layer.params["W"])]  # W : (out, in), so y = x W^T + b
    if "b" in layer.params:
        inputs.append(g.weight(layer, "b", layer.params["b"]))
    return g.op("Gemm", inputs, layer, transB=1)


def _batchnorm(g: _Graph, layer, x: str) -> str:
    inputs = [x] + [
        g.weight(layer, k, v)
        for k, v in (
            ("gamma", layer.params["gamma"]),
            ("beta", layer.params["beta"]),
            ("running_mean", layer.buffers["running_mean"]),
            ("running_var", layer.buffers["running_var"]),
        )
    ]
    return g.op("BatchNormalization", inputs, layer, epsilon=float(layer.cfg["eps"]))


def _plain(op_type: str, **attrs):
    def export(g: _Graph, layer, x: str) -> str:
        return g.op(op_type, [x], layer, **attrs)

    return export


def _residual(g: _Graph, layer, x: str) -> str:
    return g.op("Add", [_sequence(g, layer.body, x), _sequence(g, layer.shortcut, x)], layer)


def _concat(g: _Graph, layer, x: str) -> str:
    return g.op("Concat", [_sequence(g, b, x) for b in layer.branches], layer, axis=1)


# one exporter per layer type of engine.REGISTRY (a test checks that none is missing)
EXPORTERS = {
    "conv2d": _conv,
    "conv_transpose2d": _conv_transpose,
    "maxpool2d": _pool("MaxPool"),
    "avgpool2d": _pool("AveragePool", count_include_pad=1),  # padding counts as zeros, as in the engine
    "global_avgpool2d": _plain("GlobalAveragePool"),
    "flatten": _plain("Flatten", axis=1),
    "linear": _linear,
    "relu": _plain("Relu"),
    "leaky_relu": lambda g, layer, x: g.op("LeakyRelu", [x], layer, alpha=float(layer.cfg["negative_slope"])),
    "sigmoid": _plain("Sigmoid"),
    "tanh": _plain("Tanh"),
    "softmax": _plain("Softmax", axis=1),
    "dropout": _plain("Identity"),  # evaluation mode
    "batchnorm2d": _batchnorm,
    "batchnorm1d": _batchnorm,
    "residual": _residual,
    "concat": _concat,
}


def _sequence(g: _Graph, seq, x: str) -> str:
    for layer in seq.layers:
        x = EXPORTERS[layer.type](g, layer, x)
    return x  # an empty sequence (an identity shortcut) passes x on


def to_onnx(net: Network, title: str = "Net", metadata: dict[str, str] | None = None, mean=None, std=None) -> bytes:
    """The serialized ONNX model (a ModelProto's bytes) computing net.predict_proba and net.logits,
    with `metadata` as its metadata_props (onnxruntime shows them as custom_metadata_map).

    `mean` and `std`, one number per channel (or one for all), are the normalisation of the data
    the network was trained on (Dataset.mean, .std), as to_pytorch takes them: the graph applies
    them to its input first, so the model takes pixel values / 255, and its input's doc_string and
    the metadata entry "input_normalization" say so ("input_mean" and "input_std" hold the
    numbers). Without them the model takes inputs already normalised.

    Raises ValueError when only one of mean and std is given, or one is not finite or has neither
    one value nor one per channel, or std is not positive; OnnxUnavailable when the onnx package
    is not installed.
    """
    normalization = input_normalization(net, mean, std)  # bad values are refused before onnx is needed
    onnx = _onnx()
    helper = onnx.helper
    g = _Graph(onnx)
    x, input_doc, props = "input", "", {str(k): str(v) for k, v in (metadata or {}).items()}
    if normalization is not None:
        mean, std = normalization
        for name, array in (("input_mean", mean), ("input_std", std)):
            g.initializers.append(g.numpy_helper.from_array(array, name))
        x = g.op("Div", [g.op("Sub", [x, "input_mean"]), "input_std"])
        means, stds = (f"[{', '.join(str(v) for v in a.reshape(-1))}]" for a in (mean, std))  # float32's digits
        input_doc = (
            f"pixel values / 255 (in [0, 1]); the model normalises them itself, (x - mean) / std "
            f"per channel with the training data's mean {means} and std {stds}"
        )
        # what the graph does wins over a caller's entries of the same names
        props.update(input_normalization=input_doc, input_mean=means, input_std=stds)
    last = _sequence(g, net.trunk, x)  # the trunk leaves out a trailing softmax
    g.nodes.append(helper.make_node("Identity", [last], ["logits"], name="logits"))
    g.nodes.append(helper.make_node("Softmax", ["logits"], ["probabilities"], name="probabilities", axis=1))
    out_shape = ["N", *net.output_shape]
    graph = helper.make_graph(
        g.nodes,
        str(title) or "Net",
        [helper.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["N", *net.input_shape], input_doc)],
        [
            helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT, out_shape),
            helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, out_shape),
        ],
        g.initializers,
    )
    model = helper.make_model(graph, producer_name="cnn-playground", opset_imports=[helper.make_opsetid("", OPSET)])
    model.doc_string = f"{title}: exported from CNN Playground; input (N, {', '.join(map(str, net.input_shape))})"
    if input_doc:
        model.doc_string += f": {input_doc}"
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    return model.SerializeToString()
