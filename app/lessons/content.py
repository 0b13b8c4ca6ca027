"""The lessons, in the lecture's order, as data: a few short paragraphs, the formulas, the
playground view that shows the idea live, and the kinds of exercise that practise it.

A widget names one of the page's views ("data", "build", "train", "inspect", "conv",
"init") with what to open in it: a preset or a spec for the Build view, a part of the
Convolution or Initialization view. The page decides how to embed it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VIEWS = ("data", "build", "train", "inspect", "conv", "init")


@dataclass(frozen=True)
class Formula:
    text: str  # plain text with Unicode symbols
    tex: str  # the same in LaTeX


@dataclass(frozen=True)
class Widget:
    view: str
    caption: str  # what to try in it
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    paragraphs: tuple[str, ...]
    formulas: tuple[Formula, ...]
    widget: Widget
    kinds: tuple[str, ...]


# the lecture's layer: a 3x32x32 input, 20 filters of 5x5, padding 1, stride 2
LECTURE_SPEC = {
    "input": [3, 32, 32],
    "layers": [{"type": "conv2d", "out_channels": 20, "kernel_size": 5, "padding": 1, "stride": 2}],
}

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "image",
        "What an image is",
        (
            (
                "To a network an image is an array of numbers with a width, a height and a depth. A "
                "grayscale image has depth 1; a colour image has depth 3, one layer each for red, "
                "green and blue."
            ),
            (
                "Each number is one channel of one pixel. Stored in 8 bits it ranges from 0 to 255; "
                "before training it is usually rescaled, for example to mean 0 and standard "
                "deviation 1."
            ),
            (
                "A fully connected network would flatten the image and lose which pixels are "
                "neighbours. Convolutional networks keep the grid."
            ),
        ),
        (Formula("numbers in an image = C × H × W", r"\#\text{values} = C \times H \times W"),),
        Widget(
            "data",
            "Open a colour dataset and look at one image's three channels apart.",
            {"dataset": "shapes", "preset": "cnn_small_32"},
        ),  # a network that fits it: no misfit warning
        ("image_values",),
    ),
    Lesson(
        "filters",
        "Filters",
        (
            (
                "A filter is a small set of weights, K × K across the image and as deep as its "
                "input. It slides over the image and at every position takes one dot product with "
                "the window beneath it: a high value where the window looks like the filter."
            ),
            (
                "A layer has many filters, each making one output channel (a feature map). The same "
                "filter is used at every position, which is why a conv layer needs so few weights "
                "and finds a pattern wherever it is."
            ),
        ),
        (Formula("weights of one filter = K × K × C_in", r"K \times K \times C_{in}"),),
        Widget(
            "inspect",
            ("Look at the first layer's filters of a trained network, and at the feature maps they make."),
            {"part": "filters"},
        ),
        ("filter_weights",),
    ),
    Lesson(
        "kps",
        "K, P, S and the output size",
        (
            (
                "Four numbers set a conv layer up: how many filters, their size K, the padding P "
                "(zeros added around the input) and the stride S (how far the window moves each "
                "step)."
            ),
            (
                "The output size counts the window positions: the padded input is N_in + 2P wide, "
                "the first window takes K of it, and every further step moves S."
            ),
            (
                "When S does not divide N_in + 2P − K the division is not exact. PyTorch, and this "
                "playground, round down: only windows that fit entirely are taken, and the last rows "
                "and columns are left out."
            ),
        ),
        (
            Formula(
                "N_out = ⌊(N_in + 2P − K) / S⌋ + 1",
                r"N_{out} = \left\lfloor \frac{N_{in} + 2P - K}{S} \right\rfloor + 1",
            ),
        ),
        Widget(
            "build",
            ("Change the layer's kernel_size, padding and stride and watch the formula beside it."),
            {"spec": LECTURE_SPEC},
        ),
        ("output_size",),
    ),
    Lesson(
        "parameters",
        "Parameters",
        (
            (
                "A conv layer learns each filter's K × K × C_in weights and one bias per filter. The "
                "input's height and width do not matter: the same filters serve every position."
            ),
            (
                "The lecture's layer, 20 filters of 5 × 5 on a 3 × 32 × 32 input, learns 20 × (5 × 5 "
                "× 3 + 1) = 1,520 numbers. A fully connected layer from the same input to 20 outputs "
                "would learn over 61,000."
            ),
            (
                "Parameters are what is stored; multiply-adds are what is computed. A conv layer's "
                "cost grows with the size of its output, since every output value is one dot "
                "product."
            ),
        ),
        (
            Formula("conv parameters = F × (K × K × C_in + 1)", r"F \times (K \cdot K \cdot C_{in} + 1)"),
            Formula("linear parameters = out × (in + 1)", r"n_{out} \times (n_{in} + 1)"),
            Formula(
                "conv multiply-adds = H_out × W_out × F × K × K × C_in", r"H_{out} W_{out} \cdot F \cdot K^2 C_{in}"
            ),
        ),
        Widget(
            "build",
            ("Each layer shows its parameter count with the formula; compare LeNet-5's conv and linear layers."),
            {"preset": "lenet5"},
        ),
        ("conv_params", "linear_params", "macs"),
    ),
    Lesson(
        "conv_forward",
        "Convolution, forward",
        (
            (
                "One output value is the sum of the products of the filter with the window under it: "
                "I[i, j] = Σ W[a, b] · X[i + a, j + b]. Strictly this is a cross-correlation; "
                "deep-learning libraries call it convolution. Here rows and columns are counted from "
                "0, the filter's too; the lecture counts the filter from its centre, and the sums "
                "are the same."
            ),
            "With the lecture's 5 × 5 X and 3 × 3 W the output is 9 5 4 / 8 8 10 / 8 15 12.",
            (
                "Stacked layers see more: each output of a second 3 × 3 layer depends on a 5 × 5 "
                "patch of the input, its receptive field. Strides and pooling make it grow faster."
            ),
        ),
        (
            Formula("I[i, j] = Σ_a Σ_b W[a, b] · X[i·S + a, j·S + b]", r"I_{i,j} = \sum_{a,b} W_{a,b} X_{iS+a,\,jS+b}"),
            Formula(
                "receptive field: r ← r + (K − 1)·j, then j ← j·S", r"r \leftarrow r + (K-1)\,j,\quad j \leftarrow jS"
            ),
        ),
        Widget("conv", "Step through the output cells of the lecture's example; edit X and W.", {"part": "forward"}),
        ("conv_output_cell", "receptive_field"),
    ),
    Lesson(
        "conv_backward",
        "Backpropagation through a convolution",
        (
            (
                "Call δ[i, j] = dL/dI[i, j] the gradient arriving at the output. A weight is used by "
                "every window, so its gradient adds up over all of them: dL/dW[a, b] = Σ δ[i, j] · "
                "X[i + a, j + b], the input convolved with δ."
            ),
            (
                "An input value reaches the loss through every window that covers it: dL/dX[i, j] = "
                "Σ δ[i − a, j − b] · W[a, b]. That is δ, padded with K − 1 zeros around, convolved "
                "with W rotated by 180 degrees: backward through a convolution is a convolution too."
            ),
        ),
        (
            Formula(
                "dL/dW[a, b] = Σ_i Σ_j δ[i, j] · X[i + a, j + b]",
                r"\frac{\partial L}{\partial W_{a,b}} = \sum_{i,j} \delta_{i,j} X_{i+a,\,j+b}",
            ),
            Formula(
                "dL/dX[i, j] = Σ_a Σ_b δ[i − a, j − b] · W[a, b]",
                r"\frac{\partial L}{\partial X_{i,j}} = \sum_{a,b} \delta_{i-a,\,j-b} W_{a,b}",
            ),
        ),
        Widget(
            "conv",
            (
                "Edit dL/dO, the gradient arriving from above (it is δ when there is no activation), "
                "and step through every cell of dL/dW and dL/dX with the terms that make it, then see "
                "both as convolutions."
            ),
            {"part": "backward"},
        ),
        ("conv_dw_cell", "conv_dx_cell"),
    ),
    Lesson(
        "pooling",
        "Pooling and its derivative",
        (
            (
                "A pooling layer summarizes each window with one number and has nothing to learn. "
                "Max pooling keeps the largest value; average pooling the mean."
            ),
            (
                "Backward, max pooling hands each window's gradient to the one input that was the "
                "largest; the others had no effect on the output and get nothing. Average pooling "
                "shares the gradient out evenly, 1/(K × K) of it to every input of the window. Where "
                "windows overlap, an input adds up what each of its windows sends."
            ),
        ),
        (
            Formula(
                "max: dL/dX = δ at the window's arg-max, 0 elsewhere",
                r"\frac{\partial L}{\partial X} = \delta \cdot [X = \max]",
            ),
            Formula(
                "average: dL/dX = δ / (K × K) to each input of the window",
                r"\frac{\partial L}{\partial X} = \frac{\delta}{K^2}",
            ),
        ),
        Widget("conv", "See where max and average pooling send each window's gradient.", {"part": "pooling"}),
        ("maxpool_route", "avgpool_gradient"),
    ),
    Lesson(
        "architectures",
        "The famous architectures",
        (
            (
                "LeNet-5 (1998) read handwritten digits with about 60,000 weights, average pooling "
                "and small fully connected layers at the end."
            ),
            (
                "AlexNet won ImageNet in 2012 with ReLU, max pooling, dropout and about 60 million "
                "weights; VGG16 stacked 3 × 3 convolutions to 138 million. In both, most weights sit "
                "in the first fully connected layer."
            ),
            (
                "GoogLeNet ran branches side by side (Inception modules) with only about 7 million "
                "weights, and ResNet made very deep networks trainable with residual connections."
            ),
        ),
        (Formula("share of a layer = its parameters / the network's", r"\text{share} = P_{layer} / P_{total}"),),
        Widget(
            "build",
            (
                "Open the full-size presets (LeNet-5, AlexNet, VGG16, GoogLeNet, ResNet-18) and "
                "find where their parameters are."
            ),
            {"preset": "vgg16"},
        ),
        ("largest_layer",),
    ),
    Lesson(
        "initialization",
        "Initialization and vanishing gradients",
        (
            (
                "Each layer multiplies the variance of what passes through it by about fan_in × "
                "Var(W) going forward, and by fan_out × Var(W) going back. Over many layers a factor "
                "a little below 1 makes the gradient vanish; a little above makes it explode."
            ),
            (
                "Xavier initialization picks Var(W) = 2/(fan_in + fan_out) to keep both near 1. A "
                "ReLU passes only half the units, so He initialization doubles it to 2/fan_in: in a "
                "deep ReLU stack Xavier slowly vanishes and He does not."
            ),
        ),
        (
            Formula("Xavier: Var(W) = 2 / (fan_in + fan_out)", r"\mathrm{Var}(W) = \frac{2}{n_{in} + n_{out}}"),
            Formula("He: Var(W) = 2 / fan_in", r"\mathrm{Var}(W) = \frac{2}{n_{in}}"),
            Formula("per layer, with ReLU: × fan × Var(W) / 2", r"\times\, n \,\mathrm{Var}(W) / 2"),
        ),
        Widget(
            "init",
            ("Compare zeros, normal, Xavier and He on a deep stack: activations and gradients layer by layer."),
            {},
        ),
        ("xavier_variance", "vanishing_init"),
    ),
    Lesson(
        "dropout",
        "Dropout",
        (
            (
                "In training, dropout sets each unit to 0 with probability p, a different choice at "
                "every step. The network cannot lean on any one unit, as if a different thinner "
                "network were trained each step."
            ),
            (
                "Inverted dropout divides the kept units by 1 − p, so the expected value of each "
                "unit does not change. When testing nothing is dropped and nothing is scaled."
            ),
        ),
        (
            Formula(
                "training: y = x · m / (1 − p), m ~ Bernoulli(1 − p)",
                r"y = \frac{x\,m}{1-p},\; m \sim \mathrm{Bernoulli}(1-p)",
            ),
            Formula("testing: y = x", r"y = x"),
        ),
        Widget(
            "inspect",
            (
                "LeNet-5 with dropout on the maps of pool1 (p = 0.25) and before its last layer "
                "(p = 0.5): what a training step drops, the values kept multiplied by "
                "1/(1 − p), and evaluation passing the input on as it is. Point at a unit for "
                "its numbers; draw another mask and compare the fraction dropped with p."
            ),
            {
                "part": "dropout",
                "dataset": "strokes",
                "spec": {
                    "input": [1, 28, 28],
                    "layers": [
                        {"type": "conv2d", "out_channels": 6, "kernel_size": 5, "padding": 2, "name": "conv1"},
                        {"type": "relu"},
                        {"type": "avgpool2d", "kernel_size": 2, "name": "pool1"},
                        {"type": "dropout", "p": 0.25, "name": "drop1"},
                        {"type": "conv2d", "out_channels": 16, "kernel_size": 5, "name": "conv2"},
                        {"type": "relu"},
                        {"type": "avgpool2d", "kernel_size": 2, "name": "pool2"},
                        {"type": "flatten"},
                        {"type": "linear", "out_features": 120, "name": "fc1"},
                        {"type": "relu"},
                        {"type": "linear", "out_features": 84, "name": "fc2"},
                        {"type": "relu"},
                        {"type": "dropout", "p": 0.5, "name": "drop2"},
                        {"type": "linear", "out_features": 10, "name": "fc3"},
                    ],
                },
            },
        ),
        ("dropout_scale",),
    ),
    Lesson(
        "regularization",
        "L1 and L2",
        (
            ("A penalty on the weights' size is added to the loss. Its gradient joins the loss's at every step."),
            (
                "L2, (λ/2)·Σ w², adds λ·w: each weight shrinks in proportion to its size (weight "
                "decay). L1, λ·Σ |w|, adds λ·sign(w): every weight is pulled towards 0 by the same "
                "amount, and many end at 0 (within a hair of it: a step overshoots 0 a little)."
            ),
        ),
        (
            Formula("L2: w ← w − lr · (dL/dw + λ·w)", r"w \leftarrow w - \eta\,(\partial L/\partial w + \lambda w)"),
            Formula(
                "L1: w ← w − lr · (dL/dw + λ·sign(w))",
                r"w \leftarrow w - \eta\,(\partial L/\partial w + \lambda\,\mathrm{sign}\,w)",
            ),
        ),
        Widget(
            "train",
            (
                "Train once with no penalty, then again with L2 (weight decay) 0.01, then with L1 "
                "0.003, keeping the seed: the weights panel puts each run beside the one before, "
                "layer by layer. L2 narrows every hill; L1 piles many weights at 0."
            ),
            {"part": "weights"},
        ),
        ("regularized_step",),
    ),
    Lesson(
        "batch_norm",
        "Batch normalization",
        (
            (
                "Batch norm normalizes each channel over the batch: subtract the batch mean, divide "
                "by the batch's standard deviation. Then a learned scale γ and shift β give the "
                "layer back any mean and spread that serve the loss."
            ),
            (
                "It learns two numbers per channel. It also keeps running averages of the mean and "
                "variance, which replace the batch's own when testing; those are not learned."
            ),
            (
                "Because every layer's output is brought back to mean 0 and std 1, the signal keeps "
                "its size through a deep stack however the weights were drawn, and so does the "
                "gradient on its way back. Such a network learns in fewer steps, and stands larger "
                "learning rates."
            ),
        ),
        (
            Formula(
                "y = γ · (x − μ_B) / √(σ²_B + ε) + β",
                r"y = \gamma\,\frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + \beta",
            ),
            Formula("parameters = 2 × C", r"2C"),
        ),
        Widget(
            "init",
            (
                "The same deep stack without and with batch norm: each layer's activations and "
                "gradients at step 0, then both trained on digits. Try ReLU under normal "
                "(std 1), or a learning rate of 0.1."
            ),
            {"part": "batchnorm"},
        ),
        ("batchnorm_params", "batchnorm_output"),
    ),
    Lesson(
        "residual",
        "Residual blocks",
        (
            (
                "A residual block adds its input to its output: y = F(x) + x. The layers only have "
                "to learn the change F(x), and doing nothing is easy."
            ),
            (
                "Backward, a sum hands its gradient unchanged to both inputs. So dL/dx is dL/dy "
                "through the shortcut plus whatever comes through F: however small F's part, the "
                "gradient still reaches the first layers. That is how ResNet trains networks of a "
                "hundred layers and more."
            ),
        ),
        (
            Formula("y = F(x) + x", r"y = F(x) + x"),
            Formula(
                "dL/dx = dL/dy + (dF/dx)ᵀ · dL/dy",
                (
                    r"\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y} + "
                    r"\Big(\frac{\partial F}{\partial x}\Big)^{\!T} \frac{\partial L}{\partial y}"
                ),
            ),
        ),
        Widget("init", "Set a plain stack against the same layers in residual blocks.", {"part": "residual"}),
        ("residual_gradient",),
    ),
)

BY_ID = {lesson.id: lesson for lesson in LESSONS}
