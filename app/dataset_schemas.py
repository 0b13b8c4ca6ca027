"""What the dataset routes answer: one model per response, so /docs and generated clients show
real types. A listing entry's fields depend on where the dataset comes from (built in, downloaded,
uploaded): each model names them all, and the routes leave out what a source does not send."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetListed(Body):
    """One dataset as the list shows it."""

    name: str
    title: str
    source: Literal["generated", "download", "upload"]
    kind: str = Field(description="digits or images")
    shape: list[int] = Field(description="[C, H, W]")
    num_classes: int
    class_names: list[str]
    train_size: int
    test_size: int
    cached: bool = Field(description="on the server's disk (or generated): usable without a download")
    download_bytes: int | None = Field(None, description="built-ins: what a download fetches (0 when generated)")
    description: str
    deletable: bool = Field(description="true for uploads")
    downloadable: bool | None = Field(None, description="downloadable built-ins: false when the server is offline")
    how_to_get: str | None = Field(None, description="downloadable built-ins not yet on disk: how to get them")
    filename: str | None = Field(None, description="uploads: the uploaded file's name")
    created: float | None = Field(None, description="uploads: when, in seconds since the epoch")


class ImageStats(Body):
    width: int
    height: int
    depth: int
    min: int
    max: int
    mean: float


class Sample(Body):
    index: int
    label: int
    class_name: str
    stats: ImageStats
    png: str | None = Field(None, description="format png: the image as a PNG data URL")
    channels: list[str] | None = Field(None, description="format png, colour images: each channel as a PNG data URL")
    pixels: list[list[list[int]]] | None = Field(None, description="format array: uint8 values, [C][H][W]")


class SplitStats(Body):
    width: int
    height: int
    depth: int
    dtype: Literal["uint8"]
    value_range: list[int]
    mean: list[float] = Field(description="per channel, of the values scaled to 0..1")
    std: list[float]


class Samples(Body):
    """A page of a split's images."""

    dataset: str
    split: Literal["train", "test"]
    offset: int
    n: int = Field(description="images on this page")
    total: int = Field(description="images in the split")
    class_names: list[str]
    shape: list[int]
    kind: str
    stats: SplitStats
    channel_names: list[str]
    items: list[Sample]
