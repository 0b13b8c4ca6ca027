"""One convolution worked through by hand: forward cell by cell with its channels, bias and
activation; backward cell by cell and as convolutions; pooling with its own window."""

from __future__ import annotations

from fastapi import APIRouter

from ..conv_schemas import ConvExplainBody, ConvExplanation
from ..deps import ServicesDep
from ..services import conv_explain
from .responses import errors

router = APIRouter(prefix="/conv", tags=["conv"])


@router.post("/explain", response_model=ConvExplanation, responses=errors(400, 413, 422))
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
