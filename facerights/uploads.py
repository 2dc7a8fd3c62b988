"""Checking uploaded scans before anything is kept: size, real type, hidden files, and what they expand to.

Every check reads at most the 5 MB the file may have and decodes in bounded steps, so a
hostile file costs a few tens of megabytes and a fraction of a second, never more
(docs/reliability.md, "Hostile uploads"). Nothing here renders a file: the scans are
stored and handed over as they came, so the checks look for what would hurt whoever
opens them later (a decompression bomb, a script, a second file hidden inside).
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import struct
import zlib

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from PIL import Image

SCAN_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"%PDF-": "application/pdf"}
SCAN_MAX_BYTES = 5 * 1024 * 1024
SCAN_MAX_PIXELS = 40_000_000
# What the compressed streams of one PDF may expand to, together: about what Pillow lets a
# 40-megapixel image take. A 5 MB deflate bomb would expand to 5 GB; it stops here.
PDF_MAX_INFLATED = 256 * 1024 * 1024
PDF_MAX_OBJECTS = 8_388_607  # ISO 32000-1, Annex C: the most indirect objects a PDF may have
_INFLATE_STEP = 1024 * 1024  # each inflate call returns at most this much

MESSAGES = {
    "size": _("The file is larger than 5 MB."),
    "type": _("Upload a PDF, PNG or JPEG file."),
    "pixels": _("The image has too many pixels (at most 40 megapixels)."),
    "corrupt": _("The image cannot be read."),
    "archive": _("The file has a ZIP archive hidden inside it. Upload a plain PDF, PNG or JPEG."),
    "html": _("The file has web-page code (HTML or script) hidden inside it. Upload a plain PDF, PNG or JPEG."),
    "pdf_in_image": _("The image has a PDF hidden inside it. Upload a plain PDF, PNG or JPEG."),
    "pdf_active": _(
        "The PDF contains scripts, actions or attached files. Print it to a new PDF, or scan the paper, and upload that."
    ),
    "pdf_encrypted": _("The PDF is encrypted or password-protected. Upload it without protection."),
    "pdf_bomb": _(
        "The PDF expands to more than 256 MB when opened (a compression bomb). Save it again, or upload a scan."
    ),
    "pdf_unreadable": _(
        "The PDF cannot be checked: it is damaged or built in an unusual way. Save it again as a PDF, or scan the paper."
    ),
}


def _refuse(code: str) -> ValidationError:
    return ValidationError(MESSAGES[code], code=code)


def read_upload(upload) -> tuple[bytes, str]:
    """Check an uploaded scan and return its bytes and real content type; raise ValidationError naming the problem.

    1. Size, before reading, then again on what was read (a declared size may lie).
    2. Type by its first bytes; the name and the declared content type are ignored.
    3. No second file inside: a ZIP (a GIFAR-like polyglot), web-page code, a PDF in an image.
    4. Images: the pixel count from the header, before any pixel is decoded; a PNG's text chunks
       (where markup can hide, compressed) are dropped from what is kept.
    5. PDFs: no script, action or attached file; not encrypted; no impossible sizes;
       compressed streams expand to at most 256 MB together, inflated a step at a time.
    """
    if upload.size > SCAN_MAX_BYTES:
        raise _refuse("size")
    content = upload.read(SCAN_MAX_BYTES + 1)
    if len(content) > SCAN_MAX_BYTES:
        raise _refuse("size")
    content_type = next((kind for magic, kind in SCAN_TYPES.items() if content.startswith(magic)), None)
    if content_type is None:
        raise _refuse("type")
    if _holds_zip(content):
        raise _refuse("archive")
    if _HTML.search(content):
        raise _refuse("html")
    if content_type == "application/pdf":
        _check_pdf(content)
    else:
        if b"%PDF-" in content:
            raise _refuse("pdf_in_image")
        if content_type == "image/png":
            content = _png_without_text(content)
        _check_image(content)
    return content, content_type


_PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def _png_without_text(content: bytes) -> bytes:
    """The PNG without its text chunks (tEXt, zTXt, iTXt): metadata a scan does not need, and where
    markup hides (compressed, it escapes any search of the raw bytes). Every other chunk is kept as is."""
    kept = bytearray(content[:8])
    position = 8
    while position + 12 <= len(content):
        (length,) = struct.unpack(">I", content[position : position + 4])
        end = position + 12 + length
        if content[position + 4 : position + 8] not in _PNG_TEXT_CHUNKS:
            kept += content[position:end]
        position = end
    kept += content[position:]  # anything after the last whole chunk, as it was
    return bytes(kept)


def _check_image(content: bytes) -> None:

    try:
        Image.MAX_IMAGE_PIXELS = SCAN_MAX_PIXELS  # Pillow refuses larger images before decoding them
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
            if width * height > SCAN_MAX_PIXELS:  # up to twice the limit Pillow only warns
                raise _refuse("pixels")
            image.verify()  # chunk structure and checksums; decodes no pixel
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse("pixels") from None
    except Exception:  # noqa: BLE001 (any decoding error means the file is not a usable image)
        raise _refuse("corrupt") from None


# --- Hidden files ---------------------------------------------------------------------------

# Web-page code a browser would run if it ever took the file for a page. XHTML in PDF
# comments (<body>, <p>) is not matched: it is how PDF annotations carry rich text.
_HTML = re.compile(rb"<(?:script|html|iframe|svg|!doctype\s+html)[\s>/]", re.IGNORECASE)


def _holds_zip(content: bytes) -> bool:
    """Whether a ZIP reader would find an archive in the file: an end-of-archive record or a file entry.

    The signatures alone can occur by chance in compressed data; the fields that follow
    them are checked too, so a chance match is about one in 2**60.
    """
    for match in re.finditer(rb"PK\x05\x06", content):
        fields = content[match.end() : match.end() + 18]
        if len(fields) == 18:
            disk, directory_disk, here, total, size, offset, _comment = struct.unpack("<HHHHIIH", fields)
            if disk in (0, 0xFFFF) and directory_disk in (0, 0xFFFF) and here == total:
                return True
    for match in re.finditer(rb"PK\x03\x04", content):
        fields = content[match.end() : match.end() + 26]
        if len(fields) == 26:
            version, _flags, method = struct.unpack_from("<HHH", fields)
            (name_length,) = struct.unpack_from("<H", fields, 22)
            if version <= 63 and method in (0, 1, 6, 8, 9, 12, 14, 93, 95, 98, 99) and 0 < name_length <= 1024:
                return True
    return False


# --- PDF ------------------------------------------------------------------------------------


def _name(*names: str) -> re.Pattern[bytes]:
    """A PDF name in any spelling: /JavaScript is also /J#61vaScript (ISO 32000-1, 7.3.5)."""

    def char(c: int) -> str:
        digits = f"{c:02x}"  # two: c is a byte
        high, low = digits[0], digits[1]
        return f"(?:{re.escape(chr(c))}|#{high}[{low}{low.upper()}])"

    alternatives = "|".join("".join(char(c) for c in name.encode()) for name in names)
    return re.compile(f"/(?:{alternatives})(?=[\\s/<>\\[\\]()%{{}}]|$)".encode())


# What runs code, leaves the viewer or carries another file: scripts (/JS, /JavaScript), launching,
# renditions, movies and sounds (which can run scripts), remote and embedded go-tos, attached
# files, forms that submit or import. /OpenAction and /URI stay allowed (a page to open on,
# links), but a /URI may only point to http or https (checked below).
_ACTIVE = _name(
    "JavaScript",
    "JS",
    "Launch",
    "EmbeddedFile",
    "EmbeddedFiles",
    "RichMedia",
    "XFA",
    "SubmitForm",
    "ImportData",
    "GoToE",
    "GoToR",
    "Rendition",
    "Movie",
    "Sound",
)
# A /URI action's target: a literal string, or a hexadecimal one.
_URI = re.compile(rb"/URI\s*(?:\(((?:\\.|[^\\)])*)\)|<([0-9A-Fa-f\s]*)>)")
_ENCRYPT = _name("Encrypt")
_OBJECT_STREAM = _name("ObjStm")
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[^\s/<>\[\]()%{}]+)")
_FILTER_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_PREDICTOR = _name("Predictor")
_STREAM = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
_DIRECT_LENGTH = re.compile(rb"/Length\s+(\d++)(?!\s+\d+\s+R)")
_LARGE_OBJECT = re.compile(rb"(?<![\d.])(\d{8,})\s+\d+\s+obj\b|/Size\s+(\d{8,})")
_IMAGE_CODECS = {b"DCTDecode", b"JPXDecode", b"JBIG2Decode", b"CCITTFaxDecode"}


class _Unreadable(Exception):
    pass


def _check_pdf(content: bytes) -> None:
    """Refuse active content, encryption, impossible sizes and decompression bombs.

    A name found anywhere in the raw bytes counts, stream data included: a cross-reference
    table may point into it. Object streams, where PDF 1.5 and later keep most objects
    compressed, are decoded and searched too; a PDF whose object streams cannot be decoded
    cannot be checked and is refused.
    """
    if _ACTIVE.search(content) or _foreign_uri(content):
        raise _refuse("pdf_active")
    if _ENCRYPT.search(content):
        raise _refuse("pdf_encrypted")
    if any(int(m) > len(content) for m in _DIRECT_LENGTH.findall(content)) or any(
        int(a or b) > PDF_MAX_OBJECTS for a, b in _LARGE_OBJECT.findall(content)
    ):
        raise _refuse("pdf_unreadable")
    budget = [PDF_MAX_INFLATED]
    view = memoryview(content)
    try:
        for dictionary, data in _streams(content, view):
            if not _OBJECT_STREAM.search(dictionary):
                for _chunk in _decode(dictionary, data, budget, strict=False):
                    pass  # only counted against the budget: nothing reads these as objects
                continue
            if _PREDICTOR.search(dictionary):
                raise _Unreadable
            carried = b""
            for chunk in _decode(dictionary, data, budget, strict=True):
                window = carried + chunk  # a name split across two steps is still found
                if _ACTIVE.search(window) or _foreign_uri(window):
                    raise _refuse("pdf_active")
                if _ENCRYPT.search(window):
                    raise _refuse("pdf_encrypted")
                carried = window[-64:]
    except _Unreadable:
        raise _refuse("pdf_unreadable") from None
    finally:
        view.release()


def _foreign_uri(content: bytes) -> bool:
    """A link action to anything but a web page (javascript:, file:, a custom scheme)."""
    for literal, hexadecimal in _URI.findall(content):
        if hexadecimal:
            try:
                target = bytes.fromhex(re.sub(rb"\s", b"", hexadecimal).decode())
            except ValueError:
                return True
        else:
            target = literal
        if not re.match(rb"\s*https?://", target, re.IGNORECASE):
            return True
    return False


def _streams(content: bytes, view: memoryview):
    """Each stream's dictionary (from its `obj` keyword) and its data (up to `endstream`), by searching.

    The declared /Length is not trusted: it may be wrong, or huge.
    """
    position = 0
    while match := _STREAM.search(content, position):
        start = content.rfind(b"obj", position, match.start())
        dictionary = content[start if start >= 0 else position : match.start()]
        end = content.find(b"endstream", match.end())
        end = len(content) if end < 0 else end
        yield dictionary, view[match.end() : end]
        position = end + 1


def _decode(dictionary: bytes, data: memoryview, budget: list[int], *, strict: bool):
    """Yield a stream's decoded data in steps, through the text filters and deflate, spending the budget.

    strict (object streams, read as objects by a viewer): a filter this cannot decode, or
    a damaged stream, raises _Unreadable. Otherwise only deflate is followed, and decoding
    stops quietly at anything else (an image codec, say): nothing reads such data as objects.
    """
    found = _FILTER.search(dictionary)
    filters = _FILTER_NAME.findall(found.group(1)) if found else []
    current: bytes | memoryview = data
    for position, name in enumerate(filters):
        last = position == len(filters) - 1
        try:
            if name in (b"FlateDecode", b"Fl") and (last or not strict):
                yield from _inflate(current, budget, strict=strict)
                return
            if name in (b"ASCIIHexDecode", b"AHx"):
                digits = re.sub(rb"\s", b"", bytes(current)).split(b">")[0]
                current = binascii.unhexlify(digits + b"0" * (len(digits) % 2))
            elif name in (b"ASCII85Decode", b"A85"):
                current = base64.a85decode(bytes(current).split(b"~>")[0], ignorechars=b" \t\n\r\x0c\x00")
            elif strict:
                raise _Unreadable
            else:
                return
        except (ValueError, binascii.Error):
            if strict:
                raise _Unreadable from None
            return
    if strict:
        budget[0] -= len(current)
        yield bytes(current)


def _inflate(data, budget: list[int], *, strict: bool):
    """Inflate a little input at a time, each step's output capped, until the stream ends or the budget runs out."""
    inflater = zlib.decompressobj()
    try:
        for offset in range(0, len(data), 64 * 1024):
            pending = data[offset : offset + 64 * 1024]
            while pending:
                chunk = inflater.decompress(pending, _INFLATE_STEP)
                budget[0] -= len(chunk)
                if budget[0] < 0:
                    raise _refuse("pdf_bomb")
                if chunk:
                    yield chunk
                if not chunk or inflater.eof:
                    break
                pending = inflater.unconsumed_tail
            if inflater.eof:
                break
        rest = inflater.flush()
        budget[0] -= len(rest)
        if budget[0] < 0:
            raise _refuse("pdf_bomb")
        if rest:
            yield rest
    except zlib.error:
        if strict:
            raise _Unreadable from None


# --- Evidence sent through the API ----------------------------------------------------------

EVIDENCE_MAX_BYTES = 16 * 1024
EVIDENCE_MAX_DEPTH = 8
EVIDENCE_MESSAGES = {
    "evidence_size": _("The evidence is larger than 16 KB: send counts, log ids and times, not files."),
    "evidence_depth": _("The evidence is nested too deeply (at most 8 levels)."),
    "evidence_file": _(
        "The evidence holds what looks like an encoded file (base64, hex or a data: URL). "
        "Send counts, log ids and times, never an image or a template."
    ),
    "evidence_template": _("The evidence holds a long list of numbers, like a face template. Never send a template."),
}
# How a file or a template travels inside JSON: a data: URL, a long unbroken run of base64
# (or hex) characters, or a shorter run that decodes to a file's first bytes. A SHA-512 in
# hex (128 digits), log ids and times stay well short of the long run.
_DATA_URL = re.compile(r"^\s*data:", re.IGNORECASE)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}")
_FILE_STARTS = (b"\x89PNG", b"\xff\xd8\xff", b"%PDF-", b"PK\x03\x04", b"GIF8", b"<!doctype", b"<html", b"<script")


def _encoded_file(text: str) -> bool:
    if _DATA_URL.search(text):
        return True
    for run in _BASE64_RUN.findall(text):
        if len(run) >= 160:
            return True
        try:
            start = base64.b64decode(run[: min(12, len(run) // 4 * 4)].replace("-", "+").replace("_", "/"))
        except (ValueError, binascii.Error):
            continue
        if start.lower().startswith(tuple(magic.lower() for magic in _FILE_STARTS)):
            return True
    return False


def evidence_check(evidence: dict) -> dict:
    """Check the evidence a system sends with an outcome: small, shallow, and with no file or template in it.

    FaceRights is an index, not a store of faces (docs/architecture.md): the free-form
    evidence is the one place in the API where an image or a template could otherwise slip in.
    """
    if len(json.dumps(evidence, ensure_ascii=False).encode()) > EVIDENCE_MAX_BYTES:
        raise ValidationError(EVIDENCE_MESSAGES["evidence_size"], code="evidence_size")
    pending = [(evidence, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > EVIDENCE_MAX_DEPTH and isinstance(value, (dict, list)):
            raise ValidationError(EVIDENCE_MESSAGES["evidence_depth"], code="evidence_depth")
        if isinstance(value, str) and _encoded_file(value):
            raise ValidationError(EVIDENCE_MESSAGES["evidence_file"], code="evidence_file")
        if isinstance(value, list):
            numbers = [v for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if len(numbers) >= 64 and any(isinstance(v, float) for v in numbers):
                raise ValidationError(EVIDENCE_MESSAGES["evidence_template"], code="evidence_template")
            pending.extend((v, depth + 1) for v in value)
        elif isinstance(value, dict):
            pending.extend((v, depth + 1) for v in value.values())
            pending.extend((k, depth + 1) for k in value)
    return evidence
