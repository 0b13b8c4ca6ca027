"""Datasets: list them, look at their images and at what augmentation does to them, upload and
delete your own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from ..dataset_schemas import DatasetListed, Samples
from ..deps import ServicesDep
from ..errors import AppError, Invalid
from ..schemas import AugmentPreview, AugmentPreviewCreate
from ..services.augment_preview import preview
from ..services.datasets import MAX_SAMPLES, NAME_MAX
from .paging import PageDep, listed
from .responses import errors

router = APIRouter(prefix="/datasets", tags=["datasets"])

# A multipart upload is one file plus at most a few short text fields; the file's own size is
# bounded by the Guard middleware (settings.max_upload_bytes) while the body streams in.
MAX_FIELD_BYTES = 64 * 1024
MAX_FILES = 4  # an IDX dataset: train images and labels, test images and labels
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "array",
                            "maxItems": MAX_FILES,
                            "items": {"type": "string", "format": "binary"},
                            "description": "one file: .npz arrays (x, y; optional class_names, x_test, y_test; "
                            "or Keras's x_train, y_train, x_test, y_test; labels integers 0..K-1, or text, "
                            "whose classes are then in sorted order, or class_names' order), "
                            "a .zip with one folder of PNG/JPEG images per class, or a .zip of "
                            "IDX files; or the IDX files themselves (train-images-idx3-ubyte[.gz] "
                            "and train-labels-idx1-ubyte[.gz], t10k-... for the test split), each "
                            "in its own 'file' field",
                        },
                        "name": {
                            "type": "string",
                            "maxLength": NAME_MAX,
                            "description": "display name (default: the file name without its extension)",
                        },
                    },
                }
            }
        },
    }
}


@router.get(
    "",
    response_model=list[DatasetListed],
    response_model_exclude_unset=True,
    responses={**listed("built-ins first, then uploads"), **errors(422)},
)
def read_datasets(services: ServicesDep, page: PageDep):
    """Every dataset: built in (generated or downloaded on first use) and uploaded."""
    return page(services.datasets.list())


@router.get("/{name}", response_model=DatasetListed, response_model_exclude_unset=True, responses=errors(404))
def read_dataset(name: str, services: ServicesDep):
    """One dataset's listing entry: its shape, classes, sizes and where it comes from."""
    return services.datasets.get(name)


@router.post(
    "/{name}/download", response_model=DatasetListed, response_model_exclude_unset=True, responses=errors(404, 422)
)
def download_dataset(name: str, services: ServicesDep):
    """Download MNIST, Fashion-MNIST or CIFAR-10 to the server if it is not there yet (checksums
    checked); its listing entry. 422 with one sentence when it cannot be downloaded."""
    return services.datasets.download(name)


# documented, not re-validated: a page of pixel arrays is large, and the service builds plain JSON types
@router.get("/{name}/samples", responses={200: {"model": Samples}, **errors(404, 422)})
def read_dataset_samples(
    name: str,
    services: ServicesDep,
    split: Annotated[str, Query(pattern="^(train|test)$")] = "train",
    offset: Annotated[int, Query(ge=0)] = 0,
    n: Annotated[int, Query(ge=1, le=MAX_SAMPLES)] = 16,
    format: Annotated[str, Query(pattern="^(png|array)$")] = "png",
):
    """A page of images with labels (PNG data URLs or uint8 pixel arrays) and each image's size and value range."""
    # plain JSON types already: skip the (slow, for pixel arrays) generic encoder
    return JSONResponse(services.datasets.samples(name, split=split, offset=offset, n=n, format=format))


@router.post("/{name}/augment-preview", response_model=AugmentPreview, responses=errors(400, 404, 422))
def preview_augmentation(name: str, body: AugmentPreviewCreate, services: ServicesDep):
    """A few images as they are and as augmentation draws them, with the code training runs: the
    images scaled to 0..1, then engine's Augment with a generator seeded by `seed`, once per
    copy."""
    ds = services.datasets.load(name)
    return preview(ds, body.augment.model_dump(), body.seed, body.n, body.copies, body.split, body.offset)


@router.post(
    "",
    status_code=201,
    openapi_extra=UPLOAD_BODY,
    response_model=DatasetListed,
    response_model_exclude_unset=True,
    responses=errors(400, 409, 413, 422),
)
async def create_dataset(request: Request, services: ServicesDep):
    """Upload a dataset (.npz or a .zip of class folders); it is validated, converted and kept under a new name."""
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=10, max_part_size=MAX_FIELD_BYTES)
    except (HTTPException, MultiPartException) as e:
        message = getattr(e, "detail", None) or getattr(e, "message", None) or str(e)
        raise AppError(
            f"the upload is not valid multipart/form-data ({message}); send one file in the "
            "form field 'file' (IDX files: one field each) and optionally a 'name' field"
        ) from None
    try:
        files = form.getlist("file")
        file = files[0] if files else None
        if not isinstance(file, UploadFile) or not all(isinstance(f, UploadFile) for f in files):
            raise Invalid(
                "no file in the upload: send the dataset as the multipart form field 'file' (a .npz or .zip file)"
            )
        name = form.get("name")
        if name is not None and not isinstance(name, str):
            raise Invalid("the 'name' form field must be text, not a file")
        # decoding (zip, PNG/JPEG, npz) and writing are CPU and disk work: off the event loop
        more = [(f.filename or "", f.file) for f in files[1:]]  # the rest of an IDX dataset's files
        row = await run_in_threadpool(services.datasets.upload, file.filename or "", file.file, name, more)
    finally:
        await form.close()
    return row


@router.delete("/{name}", status_code=204, responses=errors(404, 409))
def delete_dataset(name: str, services: ServicesDep):
    """Delete an uploaded dataset and its file (built-ins and datasets used by an active run cannot be deleted)."""
    services.datasets.delete(name)
    return Response(status_code=204)
