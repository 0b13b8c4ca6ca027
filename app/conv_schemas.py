"""What POST /api/conv/explain takes and answers: one convolution worked through by hand.

The answer is built in app/services/conv_explain.py (with conv_backward.py and conv_pooling.py);
these models name every key it has, so /docs shows a student what each number is. The route
validates the answer against them on the way out: a key the service sends and a model does not
name is an error (500), never dropped, and the tests compare the route's JSON with the service's.

Shapes follow the lecture: X is (C, H, W), the filter W (C, kh, kw), the output (Ho, Wo);
Xpad is X with P rows and columns of zeros on every side. Every number is finite: the service
refuses inputs large enough to overflow.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .services import conv_activation, conv_explain

N = conv_explain.MAX_SIZE
Number = Annotated[float, Field(allow_inf_nan=False)]
Row = Annotated[list[Number], Field(min_length=1, max_length=N)]
Matrix = Annotated[list[Row], Field(min_length=1, max_length=N)]
Channels = Annotated[list[Matrix], Field(min_length=1, max_length=conv_explain.MAX_CHANNELS)]
Activation = Literal[conv_activation.NAMES]  # one list of names, the service's


class ConvExplainBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: Matrix | Channels = Field(
        description=f"the input: one channel (H, W), at most {N}x{N}, or up to "
        f"{conv_explain.MAX_CHANNELS} of them (C, H, W)"
    )
    w: Matrix | Channels = Field(description="the filter: (kh, kw), or one kernel per channel (C, kh, kw)")
    bias: Number | None = Field(None, description="the filter's bias b; null for none (the lecture's example)")
    activation: Activation = Field("none", description="f in O = f(I); none gives O = I")
    filters: int = Field(
        1,
        ge=1,
        le=conv_explain.MAX_FILTERS,
        description="how many such filters the layer has: only counted, for its parameters",
    )
    stride: int = Field(1, ge=1, le=N)
    padding: int = Field(0, ge=0, le=conv_explain.MAX_PADDING)
    dilation: int = Field(1, ge=1, le=N, description="spacing d between the kernel's taps")
    dl_do: Matrix | None = Field(
        None,
        description="dL/dO, the gradient arriving at the activated output, shaped like the output; default all ones",
    )
    pool_kernel: int = Field(2, ge=1, le=N, description="the pooling window's size, its own (not the filter's)")
    pool_stride: int | None = Field(None, ge=1, le=N, description="the pooling stride; default its window's size")
    pool_padding: int = Field(0, ge=0, le=conv_explain.MAX_PADDING, description="at most half the pooling window")
    pool_delta: Matrix | None = Field(
        None, description="dL/d(pooled), shaped like the pooled output, the same for every channel; default all ones"
    )


# ---- the answer ------------------------------------------------------------------------------
# (rows, columns) and (channels, rows, columns) of numbers; a pair of indices [row, column]
Grid = list[list[float]]
Planes = list[list[list[float]]]
Pair = tuple[int, int]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Formula(Body):
    """The output size along each axis, with the numbers put in: (H + 2P - d(K - 1) - 1)/S + 1."""

    height: str = Field(description="e.g. (5 + 2*1 - 3)/2 + 1 = 3; a fraction means rows are left unread")
    width: str


class Parameters(Body):
    """The parameter count of a layer of such filters: filters x (kh x kw x C + 1 with a bias)."""

    filters: int = Field(description="the request's filters")
    per_filter: int = Field(description="kh x kw x C weights, plus 1 for the bias")
    count: int = Field(description="the layer's parameters, as the engine's summary counts them")
    formula: str = Field(description="e.g. 20 x (3x3x3 + 1) = 560")
    bias: bool = Field(description="whether each filter has a bias")


class ActivationShown(Body):
    """O = f(I) and its slope f'(I), which the backward pass multiplies in."""

    name: Activation
    f: str = Field(description="f in words")
    df: str = Field(description="f' in words")
    output: Grid = Field(description="O = f(I), (Ho, Wo)")
    slope: Grid = Field(description="f'(I), (Ho, Wo)")


class TrueConvolution(Body):
    """Convolution as mathematics defines it: W rotated 180 degrees first."""

    kernel: Planes = Field(description="W rotated 180 degrees, (C, kh, kw)")
    output: Grid = Field(description="X convolved with the rotated W, plus the bias, before the activation")
    description: str


class CellWindow(Body):
    """Where an output cell's window lies in Xpad."""

    top: int = Field(description="row of the window's first tap in Xpad: row x S")
    left: int = Field(description="column of the window's first tap in Xpad: col x S")
    rows: int = Field(description="taps down (kh); the window spans d(kh - 1) + 1 rows")
    cols: int = Field(description="taps across (kw)")
    dilation: int = Field(description="d: taps are d rows (columns) apart")


class Cell(Body):
    """One output cell worked out: I[row, col] = sum of the products + b, then O = f(I)."""

    row: int
    col: int
    window: CellWindow
    products: Planes = Field(description="W[c,a,b] x Xpad[c, row S + a d, col S + b d] for every tap, (C, kh, kw)")
    channel_sums: list[float] = Field(description="the products summed over each channel's taps, one per channel")
    sum: float = Field(description="I[row, col]: the channel sums plus the bias")
    bias: float | None = Field(description="b; null without one")
    activated: float = Field(description="O[row, col] = f(I[row, col])")


class WeightTerm(Body):
    """One term of dL/dW[c,a,b]: from output cell (i, j), delta[i,j] x Xpad[c, iS + ad, jS + bd]."""

    out: Pair = Field(description="(i, j), the output cell")
    at: Pair = Field(description="(row, col) in Xpad that tap (a, b) read for that cell")
    delta: float = Field(description="delta[i, j]")
    x: float = Field(description="Xpad at that place")
    product: float


class InputTerm(Body):
    """One term of dL/dX[c,y,x]: from output cell (i, j) and tap (a, b) landing on (y, x),
    delta[i,j] x W[c,a,b]."""

    out: Pair = Field(description="(i, j), the output cell")
    tap: Pair = Field(description="(a, b), the kernel's tap")
    delta: float = Field(description="delta[i, j]")
    w: float = Field(description="W[c, a, b]")
    product: float


class WeightGradientCell(Body):
    """One entry of dL/dW with the terms that make it."""

    channel: int
    row: int = Field(description="a, the kernel's row")
    col: int = Field(description="b, the kernel's column")
    terms: list[WeightTerm] = Field(description="one per output cell")
    sum: float = Field(description="dL/dW[channel, row, col]")


class InputGradientCell(Body):
    """One entry of dL/dX with the terms that make it."""

    channel: int
    row: int = Field(description="y, the input's row (padding not counted)")
    col: int = Field(description="x, the input's column")
    terms: list[InputTerm] = Field(
        description="one per (output cell, tap) that read this input; none at the edges a stride skips"
    )
    sum: float = Field(description="dL/dX[channel, row, col]")


class WeightGradientAsConvolution(Body):
    """dL/dW as the convolution it is: Xpad cross-correlated with delta (dilated by the stride)."""

    input: Planes = Field(description="Xpad, (C, H + 2P, W + 2P)")
    kernel: Grid = Field(description="delta with S - 1 zeros between its entries")
    output: Planes = Field(description="dL/dW, (C, kh, kw)")
    description: str


class InputGradientAsConvolution(Body):
    """dL/dX as the convolution it is: the padded, dilated delta with W rotated 180 degrees."""

    input: Grid = Field(description="delta dilated by the stride, zero-padded by d(K - 1) on every side")
    kernel: Planes = Field(description="W dilated by d and rotated 180 degrees, each channel's own")
    output: Planes = Field(description="dL/dX, (C, H, W): the padding's rows and columns cut away")
    description: str


class Backward(Body):
    """The backward pass for an upstream gradient dL/dO: delta = dL/dO x f'(I), then dW, db, dX."""

    dl_do: Grid = Field(description="dL/dO, the request's or all ones, (Ho, Wo)")
    slope: Grid = Field(description="f'(I), (Ho, Wo)")
    delta: Grid = Field(description="dL/dI = dL/dO x f'(I), (Ho, Wo)")
    dW: Planes = Field(description="dL/dW, (C, kh, kw)")
    db: float | None = Field(description="dL/db = the sum of delta; null without a bias")
    dX: Planes = Field(description="dL/dX, (C, H, W)")
    dW_cells: list[WeightGradientCell] | None = Field(
        description="every entry of dL/dW with its terms, channel by channel, row by row; null when there are too "
        "many terms to list (see terms_note)"
    )
    dX_cells: list[InputGradientCell] | None = Field(description="every entry of dL/dX with its terms, the same way")
    terms_note: str | None = Field(description="why the terms are not listed; null when they are")
    dW_as_convolution: WeightGradientAsConvolution
    dX_as_convolution: InputGradientAsConvolution


class PoolWindow(Body):
    """A pooling window: size x size entries of X from (top, left); negative where it starts in padding."""

    top: int
    left: int
    size: int


class MaxPooling(Body):
    output: Planes = Field(description="each window's largest entry, (C, Ho, Wo)")
    argmax: list[list[list[Pair]]] = Field(description="(row, col) in X of each window's largest entry, (C, Ho, Wo)")
    dx: Planes = Field(description="dL/dX, (C, H, W): each window's gradient at its argmax")
    description: str


class AvgPooling(Body):
    output: Planes = Field(description="each window's mean, padding counted as zeros, (C, Ho, Wo)")
    dx: Planes = Field(description="dL/dX, (C, H, W): each window's gradient spread evenly over it")
    description: str


class PoolingSettings(Body):
    kernel_size: int = Field(description="the pooling window's size, its own (not the filter's)")
    stride: int
    padding: int
    formula: Formula


class PoolingRefused(PoolingSettings):
    """Pooling that the engine refuses with these settings (the convolution still stands)."""

    error: str = Field(description="why, in the engine's words")


class Pooling(PoolingSettings):
    """Max and average pooling of X, each channel on its own, forward and backward."""

    error: None = Field(description="null: the engine takes these settings")
    output_shape: Pair = Field(description="(Ho, Wo) of the pooled maps")
    warnings: list[str] = Field(description="what flooring the output size leaves unread")
    delta: Grid = Field(description="dL/d(pooled), the request's or all ones, the same for every channel")
    windows: list[list[PoolWindow]] = Field(description="each pooled cell's window, (Ho, Wo)")
    max: MaxPooling
    avg: AvgPooling


class ConvExplanation(Body):
    """X convolved with W, then f, worked through cell by cell, forward and backward, with pooling of X."""

    channels: int = Field(description="C, the input's channels; the filter has one kernel per channel")
    input_shape: Pair = Field(description="(H, W) of one channel")
    kernel_shape: Pair = Field(description="(kh, kw)")
    stride: int
    padding: int
    dilation: int
    output_shape: Pair = Field(description="(Ho, Wo)")
    formula: Formula
    kernel: Planes = Field(description="W, (C, kh, kw)")
    bias: float | None = Field(description="b; null without one")
    parameters: Parameters
    warnings: list[str] = Field(description="what flooring the output size leaves unread, in the engine's words")
    output: Grid = Field(description="I = W * X + b before the activation, (Ho, Wo)")
    activation: ActivationShown
    true_convolution: TrueConvolution
    padded_x: Planes = Field(description="Xpad: X with P rows and columns of zeros on every side")
    cells: list[Cell] = Field(description="every output cell, row by row")
    backward: Backward
    pooling: Pooling | PoolingRefused
