"""What the Inspect routes take: one input (a dataset sample or canvas pixels) and each
view's settings, with the limits and the words /docs shows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field

from .services import visualize


class ImageUpload(BaseModel):
    """A picture to classify, as a multipart form."""

    file: UploadFile = Field(description="a PNG or JPEG; converted and resized to the network's input")
    dataset: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="the dataset whose statistics normalize the picture, and whose class names label the answer",
    )


class InputBody(BaseModel):
    """One input: a dataset sample by reference, or pixels from the canvas (0-255)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    dataset: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="the sample's dataset; with pixels, whose statistics normalize them",
    )
    split: Literal["train", "test"] = "test"
    index: int | None = Field(None, ge=0, lt=2**31, description="the sample's index in the split")
    pixels: list[Any] | None = Field(
        None,
        min_length=1,
        max_length=4096,
        description="(H, W) or (C, H, W) numbers 0-255; resized to the network's input",
    )
    center: bool = Field(
        False,
        description="a drawn (H, W) digit: fit its ink into the middle 20/28 and centre it "
        "by its centre of mass, as MNIST's digits were prepared",
    )


class ActivationsBody(InputBody):
    layers: list[str] | None = Field(None, max_length=2000, description="layer paths or names; default: every layer")


class SaliencyBody(InputBody):
    cls: int | None = Field(None, alias="class", ge=0, description="the class to explain; default: the predicted one")


class OcclusionBody(SaliencyBody):
    patch: int | None = Field(
        None, ge=1, le=4096, description="side of the occluding square; default: 1/4 of the input"
    )
    stride: int | None = Field(None, ge=1, le=4096, description="step between patches; default: half the patch")
    fill: Literal["background", "zero", "mean"] = Field(
        "background",
        description="the patch's value: the image's background (the median of its "
        "border pixels, per channel), 0 after normalization, or the image's "
        "mean",
    )


class ReceptiveFieldBody(InputBody):
    layer: str = Field(..., min_length=1, max_length=200, description="a layer's path or name")
    channel: int = Field(0, ge=0, lt=2**31, description="the unit's map (a vector's unit)")
    row: int = Field(0, ge=0, lt=2**31, description="the unit's row in its map (0 for a vector)")
    col: int = Field(0, ge=0, lt=2**31, description="the unit's column in its map (0 for a vector)")


class DropoutBody(InputBody):
    layer: str | None = Field(
        None, min_length=1, max_length=200, description="a dropout layer's path or name; default: the first"
    )
    seed: int = Field(0, ge=0, lt=2**32, description="draws the training mask: another seed, another mask")


class GradcheckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(2, ge=1, le=8, description="random examples")
    max_entries: int = Field(8, ge=1, le=64, description="entries checked per parameter tensor")
    train: bool = Field(False, description="layers in training mode (batch norm on batch statistics)")
    seed: int = Field(0, ge=0, lt=2**32)


MAX_BATCH = 256


class BatchPredictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: list[InputBody] = Field(
        ..., min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} inputs, each as predict takes it"
    )


# ---- what a unit looks for, and how little fools the network ---------------------------------
MAX_UNITS = visualize.MAX_UNITS


class FeatureVisualizationBody(BaseModel):
    """Gradient ascent on the input for some units of one layer, with its regularisation."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    layer: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description=("a layer path or name; default: the output layer (the class scores)"),
    )
    channel: int | None = Field(
        None, ge=0, lt=2**31, description=("one channel: a map of a conv layer, a unit of a linear one")
    )
    cls: int | None = Field(
        None, alias="class", ge=0, lt=2**31, description=("one class: its score (before softmax) in the output layer")
    )
    channels: list[Annotated[int, Field(ge=0, lt=2**31)]] | None = Field(
        None,
        min_length=1,
        max_length=MAX_UNITS,
        description=(
            f"several channels, an image each (at most {MAX_UNITS}); default: every channel of "
            f"the layer, when it has at most {MAX_UNITS}"
        ),
    )
    objective: Literal["centre", "mean"] = Field(
        "centre",
        description=(
            "on a map: the unit in its middle (what one unit looks for, in its receptive field) "
            "or the channel's mean over the map (a pattern wanted everywhere)"
        ),
    )
    steps: int = Field(128, ge=1, le=visualize.MAX_STEPS, description="steps of gradient ascent")
    lr: float = Field(
        0.2, gt=0, le=10, description=("how far a typical pixel moves per step, in the dataset's standard deviations")
    )
    jitter: int = Field(1, ge=0, le=8, description=("each step shifts the image by up to this many pixels"))
    blur: float = Field(
        0.5, ge=0, le=4, description=("each step blurs the image with a Gaussian of this many pixels (0: none)")
    )
    l2: float = Field(
        0.02,
        ge=0,
        lt=1,
        description=("each step pulls every pixel this fraction of the way back to the dataset's mean"),
    )
    seed: int = Field(0, ge=0, lt=2**32, description="the start image's noise and the jitter")
    dataset: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description=("whose normalization and class names to use; default: value/255"),
    )


class AdversarialBody(InputBody):
    epsilon: float = Field(8, ge=0, le=255, description=("how far every pixel moves, in grey levels out of 255"))
    target: int | None = Field(
        None,
        ge=0,
        lt=2**31,
        description=("a class to push the input towards (a targeted step); default: away from the predicted class"),
    )
