"""Checking uploaded scans before anything is kept: size, real type, and pixels before decoding."""

from __future__ import annotations

import io

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

SCAN_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"%PDF-": "application/pdf"}
SCAN_MAX_BYTES = 5 * 1024 * 1024
SCAN_MAX_PIXELS = 40_000_000


def read_upload(upload) -> tuple[bytes, str]:
    """Check an uploaded scan: size, real type by its first bytes, and for images the pixel count.

    Decompression bombs are refused before any pixel is decoded.
    """
    if upload.size > SCAN_MAX_BYTES:
        raise ValidationError(_("The file is larger than 5 MB."), code="size")
    content = upload.read(SCAN_MAX_BYTES + 1)
    content_type = next((kind for magic, kind in SCAN_TYPES.items() if content.startswith(magic)), None)
    if content_type is None:
        raise ValidationError(_("Upload a PDF, PNG or JPEG file."), code="type")
    if content_type.startswith("image/"):
        from PIL import Image

        try:
            Image.MAX_IMAGE_PIXELS = SCAN_MAX_PIXELS  # Pillow refuses larger images before decoding them
            with Image.open(io.BytesIO(content)) as image:
                width, height = image.size
                if width * height > SCAN_MAX_PIXELS:
                    raise ValidationError(_("The image has too many pixels (at most 40 megapixels)."), code="pixels")
                image.verify()
        except ValidationError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError(_("The image has too many pixels (at most 40 megapixels)."), code="pixels") from None
        except Exception:  # noqa: BLE001 (any decoding error means the file is not a usable image)
            raise ValidationError(_("The image cannot be read."), code="corrupt") from None
    return content, content_type
