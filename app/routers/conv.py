"""One convolution worked through by hand: forward cell by cell with its channels, bias and
activation; backward cell by cell and as convolutions; pooling with its own window."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from ..deps import ServicesDep
from ..services import conv_activation, conv_explain
from .responses import errors

router = APIRouter(prefix="/conv", tags=["conv"])

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


@router.post("/explain", responses=errors(400, 413, 422))
def explain(body: ConvExplainBody, services: ServicesDep):
    """x convolved with w, then f: each window's products and sums, dW and dX cell by cell and as
    convolutions, the parameter count, and pooling of x."""
    services.policy.view("conv")
    return conv_explain.explain(
        body.x,
        body.w,
        body.stride,
        body.padding,
        body.dl_do,
        body.dilation,
        bias=body.bias,
        activation=body.activation,
        filters=body.filters,
        pool_kernel=body.pool_kernel,
        pool_stride=body.pool_stride,
        pool_padding=body.pool_padding,
        pool_delta=body.pool_delta,
    )
