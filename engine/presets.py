"""Ready-made network specs: the classic architectures from the lecture.

`PRESETS` maps a preset name to a network spec (the same JSON-style dict a
student builds in the playground); `PRESET_INFO` maps the same name to a
short description for the page.  Callers must not mutate the dicts in
`PRESETS`: use `get_preset(name)`, which returns a deep copy.

Two kinds of presets:

* full-size ImageNet networks (3x224x224 input, 1000 classes) whose layer
  structure and parameter counts match torchvision / the papers exactly:
  `alexnet`, `vgg16`, `resnet18`, `googlenet`, and the 2012 paper's own
  AlexNet with its grouped convolutions at 3x227x227, `alexnet_paper`.
  They are here to be inspected (shapes, parameter counts, where the
  weights are), not trained on a CPU. PRESET_INFO's "note" says how they
  differ from their papers and from the lecture's slides.
* small networks that keep the idea of each architecture but train on a
  laptop CPU in minutes: `lenet5`, `tinyvgg`, `resnet8` and the
  `*_small_28` (1x28x28, MNIST-like) / `*_small_32` (3x32x32, CIFAR-like)
  variants.

Only the standard library is imported here.
"""

from __future__ import annotations

import copy

__all__ = ["PRESETS", "PRESET_INFO", "get_preset", "preset_names"]


# ---------------------------------------------------------------------------
# Layer helpers: each returns a fresh dict.
# ---------------------------------------------------------------------------


def _named(layer: dict, name: str | None) -> dict:
    if name:
        layer["name"] = name
    return layer


def conv(out_channels: int, kernel_size, stride=1, padding=0, bias=True, name=None, groups=1) -> dict:
    layer = {"type": "conv2d", "out_channels": out_channels, "kernel_size": kernel_size}
    if stride != 1:
        layer["stride"] = stride
    if padding != 0:
        layer["padding"] = padding
    if groups != 1:
        layer["groups"] = groups
    if not bias:
        layer["bias"] = False
    return _named(layer, name)


def maxpool(kernel_size, stride=None, padding=0, name=None) -> dict:
    layer = {"type": "maxpool2d", "kernel_size": kernel_size}
    if stride is not None and stride != kernel_size:
        layer["stride"] = stride
    if padding != 0:
        layer["padding"] = padding
    return _named(layer, name)


def avgpool(kernel_size, stride=None, name=None) -> dict:
    layer = {"type": "avgpool2d", "kernel_size": kernel_size}
    if stride is not None and stride != kernel_size:
        layer["stride"] = stride
    return _named(layer, name)


def linear(out_features: int, name=None) -> dict:
    return _named({"type": "linear", "out_features": out_features}, name)


def relu(name=None) -> dict:
    return _named({"type": "relu"}, name)


def bn2d(name=None) -> dict:
    return _named({"type": "batchnorm2d"}, name)


def dropout(p: float, name=None) -> dict:
    return _named({"type": "dropout", "p": p}, name)


def flatten() -> dict:
    return {"type": "flatten"}


def global_avgpool(name="avgpool") -> dict:
    return _named({"type": "global_avgpool2d"}, name)


# ---------------------------------------------------------------------------
# Repeated structures
# ---------------------------------------------------------------------------


def vgg_stage(channels: int, n_convs: int, stage: int, pool=True) -> list[dict]:
    """VGG stage: n x (conv 3x3 pad 1, ReLU), then 2x2 max pooling."""
    layers = []
    for i in range(1, n_convs + 1):
        layers += [conv(channels, 3, padding=1, name=f"conv{stage}_{i}"), relu()]
    if pool:
        layers.append(maxpool(2, name=f"pool{stage}"))
    return layers


def basic_block(in_channels: int, out_channels: int, stride: int = 1, name=None, bias=False) -> list[dict]:
    """ResNet basic block: [conv3x3-BN-ReLU-conv3x3-BN] + shortcut, then ReLU.

    The shortcut is the identity when the shape is unchanged, otherwise a
    1x1 convolution (with the block's stride) followed by batch norm.
    Returns two top-level layers: the residual and the ReLU after it.
    """
    body = [
        conv(out_channels, 3, stride=stride, padding=1, bias=bias, name="conv1"),
        bn2d("bn1"),
        relu(),
        conv(out_channels, 3, padding=1, bias=bias, name="conv2"),
        bn2d("bn2"),
    ]
    shortcut: list[dict] = []
    if stride != 1 or in_channels != out_channels:
        shortcut = [conv(out_channels, 1, stride=stride, bias=bias, name="downsample.0"), bn2d("downsample.1")]
    return [_named({"type": "residual", "body": body, "shortcut": shortcut}, name), relu()]


def inception(c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int, pool_proj: int, name=None) -> dict:
    """Inception module (GoogLeNet v1): four parallel branches, concatenated.

    1x1 conv | 1x1 reduce -> 3x3 conv | 1x1 reduce -> 5x5 conv |
    3x3 max pool (stride 1) -> 1x1 projection.  Output channels:
    c1 + c3 + c5 + pool_proj.
    """
    branches = [
        [conv(c1, 1, name="1x1"), relu()],
        [conv(c3_reduce, 1, name="3x3_reduce"), relu(), conv(c3, 3, padding=1, name="3x3"), relu()],
        [conv(c5_reduce, 1, name="5x5_reduce"), relu(), conv(c5, 5, padding=2, name="5x5"), relu()],
        [maxpool(3, stride=1, padding=1, name="pool"), conv(pool_proj, 1, name="pool_proj"), relu()],
    ]
    return _named({"type": "concat", "branches": branches}, name)


def _spec(input_shape, layers) -> dict:
    return {"input": list(input_shape), "layers": layers}


# ---------------------------------------------------------------------------
# Classic small networks
# ---------------------------------------------------------------------------


def lenet5() -> dict:
    """LeNet-5 (LeCun et al. 1998) for 28x28 digits; padding 2 gives the 32x32 of the paper."""
    return _spec(
        [1, 28, 28],
        [
            conv(6, 5, padding=2, name="conv1"),
            relu(),
            avgpool(2, name="pool1"),
            conv(16, 5, name="conv2"),
            relu(),
            avgpool(2, name="pool2"),
            flatten(),
            linear(120, name="fc1"),
            relu(),
            linear(84, name="fc2"),
            relu(),
            linear(10, name="fc3"),
        ],
    )


def tinyvgg() -> dict:
    """TinyVGG as shown in CNN Explainer (64x64 RGB, 10 classes, unpadded 3x3 convs)."""
    return _spec(
        [3, 64, 64],
        [
            conv(10, 3, name="conv_1_1"),
            relu(),
            conv(10, 3, name="conv_1_2"),
            relu(),
            maxpool(2, name="max_pool_1"),
            conv(10, 3, name="conv_2_1"),
            relu(),
            conv(10, 3, name="conv_2_2"),
            relu(),
            maxpool(2, name="max_pool_2"),
            flatten(),
            linear(10, name="output"),
        ],
    )


def resnet8() -> dict:
    """ResNet-8 for 32x32 RGB: stem + three basic blocks (16, 32, 64 channels)."""
    return _spec(
        [3, 32, 32],
        [
            conv(16, 3, padding=1, bias=False, name="conv1"),
            bn2d("bn1"),
            relu(),
            *basic_block(16, 16, name="layer1.0"),
            *basic_block(16, 32, stride=2, name="layer2.0"),
            *basic_block(32, 64, stride=2, name="layer3.0"),
            bn2d("bn_final"),
            global_avgpool(),
            flatten(),
            linear(10, name="fc"),
        ],
    )


# ---------------------------------------------------------------------------
# Small, CPU-trainable versions of the big architectures
# ---------------------------------------------------------------------------


def alexnet_small(in_channels: int, size: int) -> dict:
    """AlexNet in miniature: a large first kernel, ReLU, max pooling, three
    stacked 3x3 convs, dropout before the fully connected classifier."""
    layers = [
        conv(32, 5, padding=2, name="conv1"),
        relu(),
        maxpool(2, name="pool1"),
        conv(64, 3, padding=1, name="conv2"),
        relu(),
        maxpool(2, name="pool2"),
        conv(96, 3, padding=1, name="conv3"),
        relu(),
        conv(64, 3, padding=1, name="conv4"),
        relu(),
        maxpool(2, name="pool3"),
        flatten(),
        dropout(0.5),
        linear(128, name="fc1"),
        relu(),
        dropout(0.5),
        linear(10, name="fc2"),
    ]
    return _spec([in_channels, size, size], layers)


def vgg_small(in_channels: int, size: int) -> dict:
    """VGG in miniature: three stages of two 3x3 convs (16, 32, 64 channels),
    each followed by 2x2 max pooling, then a dropout + fully connected head."""
    layers = [
        *vgg_stage(16, 2, 1),
        *vgg_stage(32, 2, 2),
        *vgg_stage(64, 2, 3),
        flatten(),
        dropout(0.5),
        linear(128, name="fc1"),
        relu(),
        dropout(0.5),
        linear(10, name="fc2"),
    ]
    return _spec([in_channels, size, size], layers)


def cnn_small(in_channels: int, size: int) -> dict:
    """The plainest CNN that works: three stages of one 3x3 conv and 2x2 max pooling
    (16, 32, 64 channels), then two fully connected layers. A few million multiply-adds
    per image, so it trains in seconds an epoch on a CPU."""
    layers = [
        conv(16, 3, padding=1, name="conv1"),
        relu(),
        maxpool(2, name="pool1"),
        conv(32, 3, padding=1, name="conv2"),
        relu(),
        maxpool(2, name="pool2"),
        conv(64, 3, padding=1, name="conv3"),
        relu(),
        maxpool(2, name="pool3"),
        flatten(),
        linear(128, name="fc1"),
        relu(),
        linear(10, name="fc2"),
    ]
    return _spec([in_channels, size, size], layers)


def resnet_small(in_channels: int, size: int) -> dict:
    """ResNet in miniature: stem, one identity block at 16 channels, then two
    downsampling blocks (32, 64 channels) and global average pooling."""
    layers = [
        conv(16, 3, padding=1, bias=False, name="conv1"),
        bn2d("bn1"),
        relu(),
        *basic_block(16, 16, name="layer1.0"),
        *basic_block(16, 32, stride=2, name="layer2.0"),
        *basic_block(32, 32, name="layer2.1"),
        *basic_block(32, 64, stride=2, name="layer3.0"),
        global_avgpool(),
        flatten(),
        linear(10, name="fc"),
    ]
    return _spec([in_channels, size, size], layers)


def inception_small(in_channels: int, size: int) -> dict:
    """GoogLeNet in miniature: a conv stem, three small Inception modules with
    1x1 / 3x3 / 5x5 / pool branches, global average pooling, linear."""
    layers = [
        conv(32, 3, padding=1, name="conv1"),
        relu(),
        maxpool(2, name="pool1"),
        inception(16, 16, 24, 8, 8, 8, name="inception1a"),  # -> 56 channels
        inception(24, 24, 32, 8, 16, 16, name="inception1b"),  # -> 88 channels
        maxpool(2, name="pool2"),
        inception(32, 32, 48, 8, 16, 16, name="inception2a"),  # -> 112 channels
        global_avgpool(),
        flatten(),
        dropout(0.2),
        linear(10, name="fc"),
    ]
    return _spec([in_channels, size, size], layers)


# ---------------------------------------------------------------------------
# Full-size ImageNet networks (3x224x224, 1000 classes)
# ---------------------------------------------------------------------------


def alexnet() -> dict:
    """torchvision's single-tower AlexNet (61,100,840 parameters).

    torchvision's AdaptiveAvgPool2d(6) is omitted: at 224x224 the feature map
    is already 256x6x6, so it would do nothing.
    """
    return _spec(
        [3, 224, 224],
        [
            conv(64, 11, stride=4, padding=2, name="conv1"),
            relu(),
            maxpool(3, stride=2, name="pool1"),
            conv(192, 5, padding=2, name="conv2"),
            relu(),
            maxpool(3, stride=2, name="pool2"),
            conv(384, 3, padding=1, name="conv3"),
            relu(),
            conv(256, 3, padding=1, name="conv4"),
            relu(),
            conv(256, 3, padding=1, name="conv5"),
            relu(),
            maxpool(3, stride=2, name="pool5"),
            flatten(),
            dropout(0.5),
            linear(4096, name="fc6"),
            relu(),
            dropout(0.5),
            linear(4096, name="fc7"),
            relu(),
            linear(1000, name="fc8"),
        ],
    )


def alexnet_paper() -> dict:
    """The 2012 paper's AlexNet (Krizhevsky, Sutskever and Hinton), 60,965,224 parameters.

    Its two GPUs appear as groups=2: conv2, conv4 and conv5 each see only the half of the
    channels on their own GPU, while conv3 (and the fully connected layers) connect across
    both. The input is 3x227x227, which gives the paper's 55x55 maps (its text says 224). Local
    response normalization (after conv1 and conv2 in the paper) is left out.
    """
    return _spec(
        [3, 227, 227],
        [
            conv(96, 11, stride=4, name="conv1"),
            relu(),
            maxpool(3, stride=2, name="pool1"),  # 27x27
            conv(256, 5, padding=2, groups=2, name="conv2"),
            relu(),
            maxpool(3, stride=2, name="pool2"),
            conv(384, 3, padding=1, name="conv3"),
            relu(),  # 13x13
            conv(384, 3, padding=1, groups=2, name="conv4"),
            relu(),
            conv(256, 3, padding=1, groups=2, name="conv5"),
            relu(),
            maxpool(3, stride=2, name="pool5"),
            flatten(),  # 256x6x6
            dropout(0.5),
            linear(4096, name="fc6"),
            relu(),
            dropout(0.5),
            linear(4096, name="fc7"),
            relu(),
            linear(1000, name="fc8"),
        ],
    )


def vgg16() -> dict:
    """torchvision VGG16 without batch norm (138,357,544 parameters)."""
    return _spec(
        [3, 224, 224],
        [
            *vgg_stage(64, 2, 1),
            *vgg_stage(128, 2, 2),
            *vgg_stage(256, 3, 3),
            *vgg_stage(512, 3, 4),
            *vgg_stage(512, 3, 5),
            flatten(),
            linear(4096, name="fc6"),
            relu(),
            dropout(0.5),
            linear(4096, name="fc7"),
            relu(),
            dropout(0.5),
            linear(1000, name="fc8"),
        ],
    )


def resnet18() -> dict:
    """torchvision resnet18 (11,689,512 parameters)."""
    layers = [
        conv(64, 7, stride=2, padding=3, bias=False, name="conv1"),
        bn2d("bn1"),
        relu(),
        maxpool(3, stride=2, padding=1, name="maxpool"),
    ]
    in_ch = 64
    for stage, ch in enumerate((64, 128, 256, 512), start=1):
        for i in range(2):
            stride = 2 if (stage > 1 and i == 0) else 1
            layers += basic_block(in_ch, ch, stride=stride, name=f"layer{stage}.{i}")
            in_ch = ch
    layers += [global_avgpool(), flatten(), linear(1000, name="fc")]
    return _spec([3, 224, 224], layers)


def googlenet() -> dict:
    """GoogLeNet / Inception v1 as in the paper's table (6,998,552 parameters):
    true 5x5 branches, biased convolutions, no batch norm, no LRN, no
    auxiliary classifiers."""
    return _spec(
        [3, 224, 224],
        [
            conv(64, 7, stride=2, padding=3, name="conv1"),
            relu(),  # 112x112
            maxpool(3, stride=2, padding=1, name="pool1"),  # 56x56
            conv(64, 1, name="conv2_reduce"),
            relu(),
            conv(192, 3, padding=1, name="conv2"),
            relu(),
            maxpool(3, stride=2, padding=1, name="pool2"),  # 28x28
            inception(64, 96, 128, 16, 32, 32, name="inception3a"),  # 256
            inception(128, 128, 192, 32, 96, 64, name="inception3b"),  # 480
            maxpool(3, stride=2, padding=1, name="pool3"),  # 14x14
            inception(192, 96, 208, 16, 48, 64, name="inception4a"),  # 512
            inception(160, 112, 224, 24, 64, 64, name="inception4b"),  # 512
            inception(128, 128, 256, 24, 64, 64, name="inception4c"),  # 512
            inception(112, 144, 288, 32, 64, 64, name="inception4d"),  # 528
            inception(256, 160, 320, 32, 128, 128, name="inception4e"),  # 832
            maxpool(3, stride=2, padding=1, name="pool4"),  # 7x7
            inception(256, 160, 320, 32, 128, 128, name="inception5a"),  # 832
            inception(384, 192, 384, 48, 128, 128, name="inception5b"),  # 1024
            global_avgpool(),
            flatten(),
            dropout(0.4),
            linear(1000, name="fc"),
        ],
    )


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

PRESETS: dict[str, dict] = {
    "lenet5": lenet5(),
    "cnn_small_32": cnn_small(3, 32),
    "tinyvgg": tinyvgg(),
    "alexnet_small_28": alexnet_small(1, 28),
    "vgg_small_28": vgg_small(1, 28),
    "resnet_small_28": resnet_small(1, 28),
    "inception_small_28": inception_small(1, 28),
    "alexnet_small_32": alexnet_small(3, 32),
    "vgg_small_32": vgg_small(3, 32),
    "resnet_small_32": resnet_small(3, 32),
    "inception_small_32": inception_small(3, 32),
    "resnet8": resnet8(),
    "alexnet": alexnet(),
    "alexnet_paper": alexnet_paper(),
    "vgg16": vgg16(),
    "resnet18": resnet18(),
    "googlenet": googlenet(),
}


def _info(title, description, input_, trainable_on_cpu, year, note=None) -> dict:
    return {
        "title": title,
        "description": description,
        "input": input_,
        "trainable_on_cpu": trainable_on_cpu,
        "year": year,
        "note": note,  # how the preset differs from the paper and the lecture's slide, or None
    }


# How the famous presets differ from their papers and from the lecture's slides. Every number
# here is checked against the engine's own counts in tests/engine/test_presets.py.
NOTES = {
    "lenet5": (
        "The lecture's \"60 000 weights\" is the 1998 paper's count, and this preset differs from "
        "the paper in three places: the paper's C3 joins each of its 16 maps to only some of "
        "S2's 6 maps (1,516 weights; 2,416 here, every map to every map), its subsampling layers "
        "have a trainable coefficient and bias per map (44 weights; plain average pooling here), "
        "and its output is 10 RBF units with parameters fixed by hand (a linear layer of 850 "
        "weights here). So 61,706 here against the paper's 60,000. ReLU here, where the paper "
        "has a scaled tanh."
    ),
    "alexnet": (
        "This is torchvision's single-tower AlexNet: 64, 192, 384, 256 and 256 filters at "
        "224x224, 61,100,840 parameters. The 2012 paper's network (the preset alexnet_paper) has "
        "96, 256, 384, 384 and 256 filters, with conv2, conv4 and conv5 split into two groups, one "
        'per GPU, at 227x227: 60,965,224 parameters, the lecture\'s "60M".'
    ),
    "alexnet_paper": (
        "The network of the 2012 paper: 96, 256, 384, 384 and 256 filters; conv2, conv4 and conv5 "
        "are grouped convolutions (groups 2), one group per GPU, while conv3 and the fully "
        "connected layers connect across both GPUs. The input is 3x227x227: the paper's text says "
        "224, but only 227 gives its 55x55 maps. 60,965,224 parameters, as counted from the "
        "paper's layer shapes. Local response normalization is left out (it has no parameters). "
        "torchvision's single-tower version is the preset alexnet (61,100,840)."
    ),
    "vgg16": (
        "138,357,544 parameters: torchvision's VGG16, the paper's configuration D, which its "
        'Table 2 gives as 138 million; the lecture\'s slide rounds it to "140M". fc6 alone holds '
        "102,764,544 of them."
    ),
    "googlenet": (
        "6,998,552 parameters: the network of the paper's Table 1 without its two auxiliary "
        "classifiers, which only help training and would add 6,379,728 more. Many texts quote "
        '"5 million" (the paper says 12 times fewer than AlexNet). The lecture\'s slide also '
        "credits Inception v1 with batch normalization and residual blocks: those came later, in "
        "BN-Inception (2015) and Inception-ResNet (2016); this network has neither."
    ),
}


_SMALL_NOTE = {
    "28": ("strokes", "28x28 grey-scale digits"),
    "32": ("shapes", "32x32 colour images"),
}


def _small_info(kind: str, size: str) -> dict:
    dataset, what = _SMALL_NOTE[size]
    texts = {
        "alexnet": (
            "AlexNet (small)",
            2012,
            f"A miniature AlexNet for {what}: ReLU activations, max pooling, stacked "
            "convolutions and dropout before the fully connected layers — the ideas that "
            "won ImageNet 2012, with a few hundred thousand weights instead of ~60 million.",
        ),
        "vgg": (
            "VGG (small)",
            2014,
            f"A miniature VGG for {what}: stages of two 3x3 convolutions followed by 2x2 "
            "max pooling, doubling the channels at each stage — the same uniform design as "
            "VGG16 at a tiny fraction of its ~140 million parameters.",
        ),
        "resnet": (
            "ResNet (small)",
            2015,
            f"A miniature ResNet for {what}: residual blocks add their input back to their "
            "output (with a 1x1 convolution on the shortcut when the shape changes) and use "
            "batch normalization, which is what lets very deep networks train.",
        ),
        "inception": (
            "Inception (small)",
            2014,
            f"A miniature GoogLeNet for {what}: Inception modules run 1x1, 3x3, 5x5 "
            "convolutions and a pooling branch side by side and stack the results along "
            "the channels; 1x1 convolutions keep the cost down.",
        ),
    }
    title, year, description = texts[kind]
    return _info(f"{title}, {size}x{size}", description, dataset, True, year)


PRESET_INFO: dict[str, dict] = {
    "lenet5": _info(
        "LeNet-5",
        "Yann LeCun's network for handwritten digits (1998): two convolutions with "
        "average pooling, then three fully connected layers — about 62 thousand weights. "
        "(Here with ReLU instead of the original tanh-like activations.)",
        "strokes",
        True,
        1998,
        NOTES["lenet5"],
    ),
    "tinyvgg": _info(
        "TinyVGG",
        "The small VGG-style network shown in CNN Explainer (2020): two stages of two "
        "unpadded 3x3 convolutions and a max pool, then one linear layer; 64x64 colour "
        "input, 10 classes, under 20 thousand weights.",
        None,
        True,
        2020,
    ),
    "cnn_small_32": _info(
        "Small CNN, 32x32",
        "The plainest CNN that works on 32x32 colour images: three stages of one 3x3 "
        "convolution, ReLU and 2x2 max pooling (16, 32 and 64 filters), then two fully "
        "connected layers. About 160 thousand weights; an epoch of `shapes` takes seconds.",
        "shapes",
        True,
        2012,
    ),
    "alexnet_small_28": _small_info("alexnet", "28"),
    "vgg_small_28": _small_info("vgg", "28"),
    "resnet_small_28": _small_info("resnet", "28"),
    "inception_small_28": _small_info("inception", "28"),
    "alexnet_small_32": _small_info("alexnet", "32"),
    "vgg_small_32": _small_info("vgg", "32"),
    "resnet_small_32": _small_info("resnet", "32"),
    "inception_small_32": _small_info("inception", "32"),
    "resnet8": _info(
        "ResNet-8",
        "A small residual network for 32x32 colour images: a 3x3 stem and three basic "
        "blocks with 16, 32 and 64 channels, batch norm and global average pooling "
        "(about 78 thousand weights). Used for the speed benchmark.",
        "shapes",
        True,
        2015,
    ),
    "alexnet": _info(
        "AlexNet",
        "The network that won ImageNet in 2012 (Krizhevsky, Sutskever, Hinton): it brought "
        "ReLU, max pooling, dropout and GPU training to CNNs. About 61 million weights, "
        "most of them in the fully connected layers fc6 and fc7.",
        None,
        False,
        2012,
        NOTES["alexnet"],
    ),
    "alexnet_paper": _info(
        "AlexNet, as in the 2012 paper",
        "AlexNet with the 2012 paper's own shapes: 96 to 384 filters, and the grouped convolutions "
        "that split the network over two GPUs. About 61 million weights.",
        None,
        False,
        2012,
        NOTES["alexnet_paper"],
    ),
    "vgg16": _info(
        "VGG16",
        "Simonyan & Zisserman (2014): 13 convolutions, all 3x3, in five stages, then three "
        "fully connected layers — about 138 million parameters, so in practice you reuse "
        "the pretrained weights and freeze them, training only the last layers.",
        None,
        False,
        2014,
        NOTES["vgg16"],
    ),
    "resnet18": _info(
        "ResNet-18",
        "He et al. (2015): residual connections add each block's input to its output, so "
        "gradients flow through very deep networks; batch norm after every convolution. "
        "About 11.7 million parameters.",
        None,
        False,
        2015,
    ),
    "googlenet": _info(
        "GoogLeNet (Inception v1)",
        "Szegedy et al. (2014), ImageNet winner: nine Inception modules that run 1x1, 3x3 "
        "and 5x5 convolutions and max pooling in parallel and concatenate the results, "
        "with 1x1 convolutions to reduce channels — 22 layers deep but only ~7 million "
        "parameters.",
        None,
        False,
        2014,
        NOTES["googlenet"],
    ),
}


def preset_names() -> list[str]:
    """All preset names, in display order."""
    return list(PRESETS)


def get_preset(name: str) -> dict:
    """A deep copy of the spec for preset `name` (KeyError if unknown)."""
    return copy.deepcopy(PRESETS[name])


# The preset a dataset opens with: small enough to train in under a minute on two cores.
DEFAULT_FOR_DATASET = {
    "strokes": "lenet5",
    "mnist": "lenet5",
    "fashion-mnist": "lenet5",
    "shapes": "cnn_small_32",
    "cifar10": "cnn_small_32",
    "strokes-hard": "lenet5",
    "shapes-hard": "cnn_small_32",
}


def adapt(spec: dict, input_shape=None, num_classes: int | None = None) -> dict:
    """A copy of spec for another input shape and/or number of classes.

    The input is replaced and the last linear layer's out_features set to
    num_classes; every other shape follows by inference (a spec that cannot
    take the new input then fails validation with the reason).
    """
    spec = copy.deepcopy(spec)
    if input_shape is not None:
        spec["input"] = list(input_shape)
    if num_classes is not None:
        for layer in reversed(spec["layers"]):
            if layer.get("type") == "linear":
                layer["out_features"] = int(num_classes)
                break
    return spec
