"""Build a dataset from a user's ``.zip`` of images, one folder per class (ImageFolder layout).

::

    cats/001.png
    cats/002.jpg
    dogs/a.jpeg
    ...

A single wrapping folder (``mydata/cats/001.png``) is accepted too. Files are never
extracted to disk: the archive is validated first (names, links, duplicates, depth,
counts, declared and actually-inflated sizes) and each image is then decoded in memory,
only as PNG or JPEG, after its pixel count was checked from the header. ``__MACOSX/``
entries and hidden files (``.DS_Store``) are ignored.
"""

from __future__ import annotations

import io
import os
import re
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.data import Dataset, DatasetError
from engine.data.userfile import build_dataset

IMAGE_EXTS = (".png", ".jpg", ".jpeg")
MAX_FILES = 20_000
MAX_MEMBER_BYTES = 20 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
MAX_RATIO = 200  # declared uncompressed / compressed size
MAX_PIXELS = 4096 * 4096
DEFAULT_MAX_SIDE = 64
MAX_SIDE = 512
MAX_ARRAY_BYTES = 1024 * 1024 * 1024
_S_IFMT = 0o170000
_S_IFLNK = 0o120000
_DRIVE = re.compile(r"^[A-Za-z]:")


def _ignored(parts: tuple[str, ...]) -> bool:
    return parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts)


def _check_name(name: str) -> tuple[str, ...]:
    if "\\" in name:
        raise DatasetError(f"zip entry {name!r} contains a backslash; use a zip tool that writes '/' separators")
    if name.startswith("/") or _DRIVE.match(name):
        raise DatasetError(f"zip entry {name!r} has an absolute path; entries must be class/file names")
    if "\x00" in name:
        raise DatasetError(f"zip entry {name!r} contains a NUL character")
    parts = tuple(name.rstrip("/").split("/"))
    if any(p in ("", ".", "..") for p in parts):
        raise DatasetError(f"zip entry {name!r} is not a plain relative path (no '..', '.' or empty parts allowed)")
    return parts


def _scan(zf: zipfile.ZipFile, max_files: int, max_member_bytes: int, max_total_bytes: int):
    """Validate the archive listing; return [(class_name, file_name, ZipInfo)]."""
    infos = zf.infolist()
    if len(infos) > max_files * 2 + 100:
        raise DatasetError(f"the zip has {len(infos):,} entries; at most {max_files:,} images are allowed")
    seen: set[str] = set()
    files = []
    total = 0
    for info in infos:
        name = info.filename
        parts = _check_name(name)
        if name in seen or name.rstrip("/") in seen:
            raise DatasetError(f"zip entry {name!r} appears twice")
        seen.add(name.rstrip("/"))
        mode = (info.external_attr >> 16) & _S_IFMT
        if mode == _S_IFLNK:
            raise DatasetError(f"zip entry {name!r} is a symbolic link; links are not allowed")
        if info.flag_bits & 0x1:
            raise DatasetError(f"zip entry {name!r} is encrypted; upload an unencrypted zip")
        if _ignored(parts):
            continue
        if info.is_dir():
            if len(parts) > 2:
                raise DatasetError(f"folder {name!r} is nested too deep; use one folder per class: class/image.png")
            continue
        if info.file_size > max_member_bytes:
            raise DatasetError(
                f"{name!r} is {info.file_size:,} bytes; images may be at most {max_member_bytes:,} bytes"
            )
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1 << 20:
            raise DatasetError(
                f"{name!r} compresses suspiciously well ({info.file_size:,} bytes from "
                f"{info.compress_size:,}); refusing a possible zip bomb"
            )
        total += info.file_size
        if total > max_total_bytes:
            raise DatasetError(f"the images add up to more than {max_total_bytes:,} bytes uncompressed")
        files.append((parts, info))
        if len(files) > max_files:
            raise DatasetError(f"the zip holds more than {max_files:,} files")
    if not files:
        raise DatasetError("the zip holds no images; put one folder per class with PNG or JPEG files inside")
    depths = {len(p) for p, _ in files}
    tops = {p[0] for p, _ in files}
    strip = 0
    if depths == {3} and len(tops) == 1:
        strip = 1  # one wrapping folder: mydata/class/image.png
    elif depths != {2}:
        bad = next(p for p, _ in files if len(p) != 2)
        raise DatasetError(
            f"zip entry {'/'.join(bad)!r} is not inside exactly one class folder; lay the zip out as "
            "class_name/image.png (one folder per class)"
        )
    out = []
    for parts, info in files:
        cls, fname = parts[strip], parts[strip + 1]
        if not fname.lower().endswith(IMAGE_EXTS):
            raise DatasetError(
                f"{info.filename!r} is not a .png, .jpg or .jpeg file; only PNG and JPEG images are accepted"
            )
        out.append((cls, fname, info))
    return out


def _read_bounded(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read a member, counting inflated bytes; refuse more than declared or than ``limit``."""
    cap = min(info.file_size, limit)
    buf = bytearray()
    with zf.open(info) as f:
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                break
            buf += chunk
            if len(buf) > cap:
                raise DatasetError(f"{info.filename!r} inflates to more than its declared size; refusing a zip bomb")
    return bytes(buf)


def _decode(data: bytes, label: str, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=["PNG", "JPEG"])
            w, h = img.size  # from the header, nothing decoded yet
            if w < 1 or h < 1 or w * h > max_pixels:
                raise DatasetError(f"{label}: {w}x{h} pixels is more than the {max_pixels:,}-pixel limit")
            img.load()
            img = ImageOps.exif_transpose(img)
        except DatasetError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise DatasetError(f"{label}: more pixels than the pixel limit allows ({exc})") from None
        except UnidentifiedImageError:
            raise DatasetError(f"{label}: not a PNG or JPEG image") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise DatasetError(f"{label}: cannot decode the image ({exc})") from None
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any decoded PNG/JPEG as RGB; transparent areas become black, 16-bit is scaled to 8-bit."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 1.0 if img.mode == "F" else (255.0 if arr.max(initial=0) <= 255 else 65535.0)
        img = Image.fromarray(np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", img.size, (0, 0, 0, 255)), img)
    return img.convert("RGB")


def load_image_folder_zip(
    source: str | os.PathLike | bytes,
    *,
    size: tuple[int, int] | None = None,
    name: str | None = None,
    seed: int = 0,
    test_fraction: float = 0.2,
    max_files: int = MAX_FILES,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> Dataset:
    """Read a zip (path or bytes) of ``class/image`` files into a :class:`Dataset`.

    size: (H, W) every image is resized to; default: the first image's size, scaled down
        (keeping the aspect ratio) so that its longer side is at most 64.
    Images are greyscale (1 channel) if every image is greyscale (or RGB with equal
    channels), else RGB. Classes are the
    folder names in sorted order; ``test_fraction`` of each class (seeded) becomes the test split.
    """
    if isinstance(source, (bytes, bytearray)):
        fileobj: io.BytesIO | str = io.BytesIO(bytes(source))
        label = name or "upload"
    else:
        fileobj = os.fspath(source)
        label = name or Path(fileobj).stem
    if size is not None:
        h, w = (int(size[0]), int(size[1]))
        if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
            raise DatasetError(f"image size must be between 1 and {MAX_SIDE} pixels per side, got {h}x{w}")
    try:
        zf = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise DatasetError(f"not a valid zip file ({exc}); upload a .zip with one folder per class of images") from None
    try:
        with zf:
            entries = _scan(zf, max_files, max_member_bytes, max_total_bytes)
            entries.sort(key=lambda e: (e[0], e[1]))
            class_names = sorted({c for c, _, _ in entries})
            if len(class_names) < 2:
                raise DatasetError(
                    f"found only the class folder {class_names[0]!r}; a dataset needs at least 2 classes"
                )
            if size is None:
                first = _decode(
                    _read_bounded(zf, entries[0][2], max_member_bytes), "/".join(entries[0][:2]), max_pixels
                )
                w0, h0 = first.size
                s = min(1.0, DEFAULT_MAX_SIDE / max(w0, h0))
                h, w = max(1, round(h0 * s)), max(1, round(w0 * s))
                del first
            if len(entries) * h * w * 3 > MAX_ARRAY_BYTES:
                raise DatasetError(
                    f"{len(entries):,} images of {h}x{w} pixels are too many for memory; use a smaller size or fewer images"
                )
            x = np.empty((len(entries), h, w, 3), dtype=np.uint8)
            grey = True
            budget = max_total_bytes
            for i, (cls, fname, info) in enumerate(entries):
                data = _read_bounded(zf, info, min(max_member_bytes, budget))
                budget -= len(data)
                im = _to_rgb(_decode(data, f"{cls}/{fname}", max_pixels))
                if im.size != (w, h):
                    im = im.resize((w, h), Image.Resampling.BILINEAR)
                arr = np.asarray(im, dtype=np.uint8)
                x[i] = arr
                if grey and not ((arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all()):
                    grey = False
    except DatasetError:
        raise
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError, RuntimeError, ValueError) as exc:
        raise DatasetError(f"cannot read the zip file ({type(exc).__name__}: {exc})") from None

    x = np.ascontiguousarray(x[..., :1] if grey else x).transpose(0, 3, 1, 2)
    x = np.ascontiguousarray(x)
    index = {cname: i for i, cname in enumerate(class_names)}
    y = np.array([index[cls] for cls, _, _ in entries], dtype=np.int64)
    return build_dataset(
        label,
        x,
        y,
        None,
        None,
        class_names,
        kind="images",
        source="folder",
        seed=seed,
        test_fraction=test_fraction,
        description=f"{len(x)} images in {len(class_names)} class folders",
    )
