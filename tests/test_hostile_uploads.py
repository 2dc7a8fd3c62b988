"""Hostile files at every place the portal accepts one: each refused with a 4xx or a re-rendered form, never a 5xx.

Three places take a file, all through `facerights.uploads.read_upload`:

- the identity-check scan a signed-in person sends from /me/link/ (answered 400 with the form);
- the deletion certificate a vendor attaches through its emailed link (the form again, 200:
  the link must stay usable);
- a filing attachment the DPO adds in the admin (the admin's change form again, 200).

The API takes JSON only: a file posted to it as multipart is refused, and so is one
smuggled into the free-form `evidence` as base64. Each hostile file is built here, in a
few hundred milliseconds at most; no binary is committed. docs/reliability.md, "Hostile
uploads", has the figures (sizes, peak memory) this file prints with `-s`.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image
from weasyprint import HTML

from consent.models import IdentityCheck
from dataops.deletions.opening import deletion_request_open
from dataops.filings.services import filing_create
from dataops.models import Propagation
from facerights.uploads import evidence_check, read_upload
from portal.tests.test_deletions import manual_propagation  # noqa: F401 (fixture)
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    # Pillow warns (and the checker refuses) between 40 and 80 megapixels.
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
]

MB = 1024 * 1024
MEMORY_BOUND = 64 * MB  # extra memory one hostile upload may cost, generously

# --- Building the files ---------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int = 32, height: int = 32, *, text: bytes = b"") -> bytes:
    """A real PNG (Pillow), optionally with a tEXt chunk."""

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    png = buffer.getvalue()
    if text:
        iend = png.rindex(b"IEND") - 4
        png = png[:iend] + _chunk(b"tEXt", b"Comment\x00" + text) + png[iend:]
    return png


def _png_claiming(width: int, height: int) -> bytes:
    """A grey PNG whose header claims width x height, with one deflated row of zeros: a few hundred bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1), 9))
        + _chunk(b"IEND", b"")
    )


def _jpeg(width: int = 32, height: int = 32) -> bytes:

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "JPEG")
    return buffer.getvalue()


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose frame header (SOF0) is rewritten to claim width x height."""
    jpeg = bytearray(_jpeg(8, 8))
    frame = jpeg.index(b"\xff\xc0")
    struct.pack_into(">HH", jpeg, frame + 5, height, width)
    return bytes(jpeg)


@functools.cache
def _deflated_zeros(megabytes: int, *, raw: bool) -> bytes:
    """Deflate `megabytes` MB of zeros into about 1 KB per MB, without compressing them all.

    After a full flush the compressor starts afresh, so every further megabyte of zeros
    compresses to the same bytes: they are repeated, and the zlib trailer (the Adler-32
    of everything) is computed and put in place. raw: no zlib header or trailer (ZIP).
    """
    block = bytes(MB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15 if raw else 15)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()
    body = first + repeat * (megabytes - 1) + end
    if raw:
        return body
    adler = 1
    for _ in range(megabytes):
        adler = zlib.adler32(block, adler)
    return body[:-4] + struct.pack(">I", adler)


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def _zip_nested(depth: int) -> bytes:
    content = b"the innermost file"
    for level in range(depth):
        content = _zip(f"level-{level}.zip", content)
    return content


@functools.cache
def _zip_bomb(megabytes: int = 256) -> bytes:
    """One entry of `megabytes` MB of zeros, deflated: a valid ZIP of about 1/1000th the size."""
    data = _deflated_zeros(megabytes, raw=True)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(bytes(MB), crc)
    name = b"zeros.bin"
    size = megabytes * MB
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0)
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data), size, len(name), 0, 0, 0, 0, 0, 0
    )
    directory = central + name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), len(local) + len(name) + len(data), 0)
    return local + name + data + directory + end


def _pdf(objects: list[bytes], *, trailer: bytes = b"", before: bytes = b"", after: bytes = b"") -> bytes:
    """A PDF with these objects (numbered from 1), a correct cross-reference table and trailer."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + before)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out) + after


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>"
TEXT = _stream(b"", b"BT /F1 24 Tf 72 720 Td (Deletion certificate) Tj ET")


def _pdf_plain(**kwargs) -> bytes:
    return _pdf([CATALOG, PAGES, PAGE, TEXT], **kwargs)


def _pdf_javascript(name: bytes = b"/JavaScript") -> bytes:
    catalog = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>"
    return _pdf([catalog, PAGES, PAGE, TEXT, b"<< /S " + name + b" /JS (app.alert\\(1\\)) >>"])


def _pdf_action(action: bytes) -> bytes:
    """A PDF whose opening runs this action."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>"
    return _pdf([catalog, PAGES, PAGE, TEXT, action])


def _pdf_javascript_in_object_stream() -> bytes:
    """The action compressed inside an object stream (PDF 1.5): invisible in the raw bytes."""
    objects = b"5 0 << /S /JavaScript /JS (app.alert\\(1\\)) >>"
    catalog = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>"
    stream = _stream(b"/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", zlib.compress(objects))
    return _pdf([catalog, PAGES, PAGE, TEXT, stream])


def _pdf_embedded_zip() -> bytes:
    """A ZIP attached to the PDF, deflated so that its signature is not in the raw bytes."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(a.zip) 5 0 R] >> >> >>"
    spec = b"<< /Type /Filespec /F (a.zip) /EF << /F 6 0 R >> >>"
    attached = _stream(b"/Type /EmbeddedFile /Filter /FlateDecode", zlib.compress(_zip_nested(3)))
    return _pdf([catalog, PAGES, PAGE, TEXT, spec, attached])


def _pdf_encrypted() -> bytes:
    encrypt = b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -4 >>" % (b"00" * 32, b"11" * 32)
    return _pdf([CATALOG, PAGES, PAGE, TEXT, encrypt], trailer=b"/Encrypt 5 0 R /ID [<00> <00>] ")


@functools.cache
def _pdf_deflate_bomb(megabytes: int = 1024, padding: int = 0) -> bytes:
    """A page whose content stream inflates to `megabytes` MB; padded with random bytes to a given size."""
    bomb = _stream(b"/Filter /FlateDecode", _deflated_zeros(megabytes, raw=False))
    objects = [CATALOG, PAGES, PAGE, bomb]
    if padding:
        objects.append(_stream(b"", os.urandom(padding)))
    return _pdf(objects)


def _pdf_bomb_of_5mb() -> bytes:
    """The worst PDF for memory: as large as allowed, and expanding past the budget."""
    padding = 5 * MB - len(_pdf_deflate_bomb()) - 100
    pdf = _pdf_deflate_bomb(1024, padding=padding)
    assert 5 * MB - 200 < len(pdf) <= 5 * MB
    return pdf


def _pdf_huge_declared() -> bytes:
    """A stream declaring 100 TB and a cross-reference table claiming two billion objects."""
    huge = b"<< /Length 99999999999999 /Filter /FlateDecode >>\nstream\nxx\nendstream"
    pdf = _pdf([CATALOG, PAGES, PAGE, huge])
    return pdf.replace(b"/Size 5 ", b"/Size 2147483647 ")


def _executable() -> bytes:
    """The start of a Windows executable: an MS-DOS header and stub."""
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
        + b"\x00" * 48
        + b"This program cannot be run in DOS mode.\r\n$"
        + bytes(100)
    )


HTML_PAGE = b"<!doctype html><html><body><script>fetch('/me/').then(r => r.text()).then(alert)</script></body></html>"


# name, build, upload name, declared content type, what a user is told (English, Chinese)
HOSTILE = {
    "png-bomb-20000x20000": (
        lambda: _png_claiming(20_000, 20_000),
        "id.png",
        "image/png",
        "too many pixels",
        "图像像素过多",
    ),
    "png-49-megapixels": (
        lambda: _png_claiming(7_000, 7_000),
        "id.png",
        "image/png",
        "too many pixels",
        "图像像素过多",
    ),
    "jpeg-bomb-65000x65000": (
        lambda: _jpeg_claiming(65_000, 65_000),
        "id.jpg",
        "image/jpeg",
        "too many pixels",
        "图像像素过多",
    ),
    "pdf-deflate-bomb-1gb": (
        _pdf_deflate_bomb,
        "cert.pdf",
        "application/pdf",
        "compression bomb",
        "压缩炸弹",
    ),
    "pdf-huge-declared-sizes": (
        _pdf_huge_declared,
        "cert.pdf",
        "application/pdf",
        "cannot be checked",
        "无法检查该 PDF",
    ),
    "exe-named-pdf": (
        _executable,
        "cert.pdf",
        "application/pdf",
        "Upload a PDF, PNG or JPEG file",
        "请上传 PDF、PNG 或 JPEG 文件",
    ),
    "html-named-png": (
        lambda: HTML_PAGE,
        "id.png",
        "image/png",
        "Upload a PDF, PNG or JPEG file",
        "请上传 PDF、PNG 或 JPEG 文件",
    ),
    "broken-png": (
        lambda: b"\x89PNG\r\n\x1a\n" + os.urandom(200),
        "id.png",
        "image/png",
        "cannot be read",
        "无法读取该图像",
    ),
    "pdf-5mb-plus-one-byte": (
        lambda: _pdf_plain(after=b"%" + b"0" * (5 * MB - len(_pdf_plain()))),
        "cert.pdf",
        "application/pdf",
        "larger than 5 MB",
        "文件超过 5 MB",
    ),
    "png-with-appended-zip": (
        lambda: _png() + _zip("payload.txt", b"x" * 100),
        "id.png",
        "image/png",
        "ZIP archive hidden",
        "ZIP 压缩包",
    ),
    "jpeg-with-appended-jar-gifar": (
        lambda: _jpeg() + _zip("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\nMain-Class: Evil\r\n"),
        "id.jpg",
        "image/jpeg",
        "ZIP archive hidden",
        "ZIP 压缩包",
    ),
    "pdf-with-appended-zip": (
        lambda: _pdf_plain(after=_zip("payload.txt", b"x" * 100)),
        "cert.pdf",
        "application/pdf",
        "ZIP archive hidden",
        "ZIP 压缩包",
    ),
    "png-with-script-in-text-chunk": (
        lambda: _png(text=HTML_PAGE),
        "id.png",
        "image/png",
        "web-page code",
        "网页代码",
    ),
    "pdf-html-polyglot": (
        lambda: _pdf_plain(before=b"%" + HTML_PAGE + b"\n"),
        "cert.pdf",
        "application/pdf",
        "web-page code",
        "网页代码",
    ),
    "png-with-pdf-inside": (
        lambda: _png(text=_pdf_plain()),
        "id.png",
        "image/png",
        "PDF hidden inside",
        "图像中藏有 PDF",
    ),
    "pdf-javascript": (
        _pdf_javascript,
        "cert.pdf",
        "application/pdf",
        "scripts, actions or attached files",
        "脚本、动作或附带的文件",
    ),
    "pdf-rendition-running-javascript": (
        lambda: _pdf_action(b"<< /S /Rendition /OP 4 /JS (app.alert\\(1\\)) >>"),
        "cert.pdf",
        "application/pdf",
        "scripts, actions or attached files",
        "脚本、动作或附带的文件",
    ),
    "pdf-remote-goto": (
        lambda: _pdf_action(b"<< /S /GoToR /F (file://attacker.example/share/x.pdf) /D [0 /Fit] >>"),
        "cert.pdf",
        "application/pdf",
        "scripts, actions or attached files",
        "脚本、动作或附带的文件",
    ),
    "pdf-javascript-uri": (
        lambda: _pdf_action(b"<< /S /URI /URI (javascript:app.alert\\(1\\)) >>"),
        "cert.pdf",
        "application/pdf",
        "scripts, actions or attached files",
        "脚本、动作或附带的文件",
    ),
    "pdf-javascript-uri-hex": (
        lambda: _pdf_action(b"<< /S /URI /URI <" + b"javascript:alert(1)".hex().encode() + b"> >>"),
        "cert.pdf",
        "application/pdf",
        "scripts, actions or attached files",
        "脚本、动作或附带的文件",
    ),
    "pdf-javascript-name-escaped": (
        lambda: _pdf_javascript(b"/J#61va#53cript"),
        "cert.pdf",
        "application/pdf",
        "scripts, actions or attached files",
        "脚本、动作或附带的文件",
    ),
    "pdf-javascript-in-object-stream": (
        _pdf_javascript_in_object_stream,
        "cert.pdf",
        "application/pdf",
        "scripts, actions or attached files",
        "脚本、动作或附带的文件",
    ),
    "pdf-embedded-zip": (
        _pdf_embedded_zip,
        "cert.pdf",
        "application/pdf",
        "scripts, actions or attached files",
        "脚本、动作或附带的文件",
    ),
    "pdf-encrypted": (
        _pdf_encrypted,
        "cert.pdf",
        "application/pdf",
        "encrypted or password-protected",
        "已加密或设有密码",
    ),
    "zip-nested-50-deep": (
        lambda: _zip_nested(50),
        "cert.pdf",
        "application/pdf",
        "Upload a PDF, PNG or JPEG file",
        "请上传 PDF、PNG 或 JPEG 文件",
    ),
    "zip-bomb-256mb": (
        _zip_bomb,
        "scans.zip",
        "application/zip",
        "Upload a PDF, PNG or JPEG file",
        "请上传 PDF、PNG 或 JPEG 文件",
    ),
}


# --- Where files are accepted -----------------------------------------------------------------


class UploadPoint:
    """One form that takes a file, posted as its page does: GET for the CSRF token, then POST."""

    refused_status: int

    def __init__(self, client: Client):
        self.client = client

    def url(self) -> str:
        raise NotImplementedError

    def fields(self, upload) -> dict:
        raise NotImplementedError

    def state(self):
        """What a refused upload must leave as it was."""
        raise NotImplementedError

    def post(self, name: str, content: bytes, content_type: str, language: str = "en"):

        url = self.url()
        page = self.client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert page.status_code == 200
        data = self.fields(SimpleUploadedFile(name, content, content_type=content_type))
        data["csrfmiddlewaretoken"] = self.client.cookies["csrftoken"].value
        return self.client.post(url, data, HTTP_ACCEPT_LANGUAGE=language)


class IdentityScan(UploadPoint):
    refused_status = 400

    def url(self):
        return reverse("portal:identity_check")

    def fields(self, upload):
        return {"scan": upload, "note": "my phone number changed"}

    def state(self):
        return IdentityCheck.objects.count()

    def accepted(self, response):
        return response.status_code == 302 and IdentityCheck.objects.count() == 1


class VendorCertificate(UploadPoint):
    refused_status = 200  # the form again: the single-use link must stay usable

    def __init__(self, client, propagation):
        super().__init__(client)
        self.propagation = propagation
        body = mail.outbox[-1].body
        self.path = next(line for line in body.splitlines() if "/vendor/deletions/" in line).strip().split("8000", 1)[1]

    def url(self):
        return self.path

    def fields(self, upload):
        return {
            "outcome": "deleted",
            "performed_by": "张工 运维",
            "performed_at": "2026-11-20T10:00",
            "certificate": upload,
        }

    def state(self):
        p = Propagation.objects.get(pk=self.propagation.pk)
        return p.state, p.evidence

    def accepted(self, response):
        p = Propagation.objects.get(pk=self.propagation.pk)
        return response.status_code == 200 and p.state == "deleted" and "certificate_sha256" in p.evidence


class FilingAttachment(UploadPoint):
    refused_status = 200  # the admin's change form again, with the error under the file

    def __init__(self, client, filing):
        super().__init__(client)
        self.filing = filing

    def url(self):
        return reverse("admin:dataops_filing_change", args=[self.filing.pk])

    def fields(self, upload):
        return {
            "agent_name": "张三",
            "agent_phone": "13800138000",
            "agent_email": "agent@example.com",
            "attachments-TOTAL_FORMS": "1",
            "attachments-INITIAL_FORMS": "0",
            "attachments-MIN_NUM_FORMS": "0",
            "attachments-MAX_NUM_FORMS": "1000",
            "attachments-0-kind": "other",
            "attachments-0-upload": upload,
        }

    def state(self):
        return sorted(self.filing.attachments.values_list("sha256", flat=True))

    def accepted(self, response):
        return response.status_code == 302 and self.filing.attachments.filter(kind="other").count() == 1


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files and Django's temporary upload files in folders of this test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploading")
    settings.MEDIA_ROOT.mkdir()
    (tmp_path / "uploading").mkdir()
    return tmp_path


def _files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


@pytest.fixture(params=["identity-scan", "vendor-certificate", "filing-attachment"])
def point(request, media):
    client = Client(enforce_csrf_checks=True)
    if request.param == "identity-scan":
        client.force_login(factories.user_with_role("data_subject"))
        return IdentityScan(client)
    if request.param == "vendor-certificate":
        return VendorCertificate(client, request.getfixturevalue("manual_propagation"))
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    filing = filing_create(actor="t", entity=request.getfixturevalue("entity"), kind="initial")  # a draft
    return FilingAttachment(client, filing)


# --- The matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_hostile_file_is_refused_clearly_nothing_is_kept_and_a_good_file_still_goes_through(point, hostile, media):
    build, name, content_type, message, _chinese = HOSTILE[hostile]
    before = point.state()

    response = point.post(name, build(), content_type)

    assert response.status_code == point.refused_status
    body = response.content.decode()
    assert message in body, f"{hostile}: the page does not say {message!r}"
    assert point.state() == before
    assert _files_under(media / "media") == []
    assert _files_under(media / "uploading") == []  # Django's temporary copy is gone too

    if content_type == "application/pdf":
        assert point.accepted(point.post("good.pdf", _pdf_plain(), "application/pdf"))
    else:
        assert point.accepted(point.post("good.png", _png(), "image/png"))


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_vendor_reads_why_in_chinese(media, manual_propagation, hostile):  # noqa: F811
    """The vendor's page follows the browser's language; the default is Simplified Chinese."""
    build, name, content_type, _english, chinese = HOSTILE[hostile]
    point = VendorCertificate(Client(enforce_csrf_checks=True), manual_propagation)
    response = point.post(name, build(), content_type, language="zh-hans")
    assert response.status_code == 200 and chinese in response.content.decode()


def test_every_hostile_file_is_small_to_send():
    """The bombs are small files (the point of them); the oversized one is just over the limit."""
    sizes = {name: len(spec[0]()) for name, spec in HOSTILE.items()}
    assert sizes["pdf-5mb-plus-one-byte"] == 5 * MB + 1
    assert all(size < 2 * MB for name, size in sizes.items() if name != "pdf-5mb-plus-one-byte")


def test_good_files_from_real_producers_pass():
    """What people actually upload: a Pillow scan saved as PDF, a WeasyPrint PDF with links, photos."""

    photo = Image.effect_noise((1200, 1600), 60).convert("RGB")
    scans = {}
    for kind in ("PDF", "JPEG", "PNG"):
        buffer = io.BytesIO()
        photo.save(buffer, kind)
        scans[kind] = buffer.getvalue()
    scans["weasyprint"] = HTML(
        string='<h1>删除证明</h1><p><a href="https://example.com/">example</a></p>'
        f'<img src="data:image/png;base64,{base64.b64encode(_png(400, 300)).decode()}">'
    ).write_pdf()
    scans["36-megapixels"] = _png_claiming(6_000, 6_000)  # under the limit: taken, never decoded
    for name, content in scans.items():
        assert read_upload(SimpleUploadedFile(name, content))[1] in ("application/pdf", "image/png", "image/jpeg")


def test_markup_in_a_pngs_text_chunks_is_not_kept():
    # Used to pass: HTML in a PNG's (compressed) text chunk was stored and handed over as it came.
    markup = b'<img src=x onerror="alert(1)">'
    png = _png(64, 48)
    iend = png.rindex(b"IEND") - 4
    hidden = png[:iend] + _chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(markup)) + png[iend:]
    hidden = hidden[:iend] + _chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + markup) + hidden[iend:]
    content, content_type = read_upload(SimpleUploadedFile("id.png", hidden))
    assert content_type == "image/png" and markup not in content and zlib.compress(markup) not in content
    assert b"zTXt" not in content and b"iTXt" not in content
    with Image.open(io.BytesIO(content)) as image:
        assert image.size == (64, 48)  # still the same picture


# --- The API ----------------------------------------------------------------------------------


@pytest.fixture
def instruction(client, entity, purpose, subject):
    system, token = factories.pull_system(entity=entity, purpose=purpose)
    factories.holding(subject, system, key="DEV-1")
    deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    [item] = client.get(f"/api/v1/systems/{system.pk}/deletions?after=1", **auth).json()["instructions"]
    propagation = Propagation.objects.get(idempotency_key=item["id"])
    return f"/api/v1/systems/{system.pk}/deletions/{item['id']}/ack", auth, propagation


def _unchanged_then_acknowledged(client, instruction):
    url, auth, propagation = instruction
    assert Propagation.objects.get(pk=propagation.pk).state == "sent"
    good = client.post(
        url, {"status": "deleted", "evidence": {"records_removed": 1}}, content_type="application/json", **auth
    )
    assert good.status_code == 200 and good.json()["state"] == "deleted"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_api_takes_no_file_as_multipart_nor_inside_the_evidence(client, instruction, hostile):

    url, auth, _propagation = instruction
    build, name, content_type, _english, _chinese = HOSTILE[hostile]
    content = build()
    multipart = client.post(
        url,
        {"status": "deleted", "file": SimpleUploadedFile(name, content, content_type)},
        HTTP_ACCEPT_LANGUAGE="en",
        **auth,
    )
    assert multipart.status_code in (400, 413) and multipart.json()["detail"]  # 413: over 5 MB in all
    encoded = base64.b64encode(content).decode()
    for evidence in ({"scan": encoded}, {"scan": f"data:{content_type};base64,{encoded}"}):
        response = client.post(
            url,
            {"status": "deleted", "evidence": evidence},
            content_type="application/json",
            HTTP_ACCEPT_LANGUAGE="en",
            **auth,
        )
        assert response.status_code in (413, 422), response.content
        text = json.dumps(response.json())
        assert "file" in text or "larger than 5 MB" in text  # "an encoded file", "not files", or too large
    _unchanged_then_acknowledged(client, instruction)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (lambda: '{"status": "deleted", "evidence": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}", 400, "parse"),
        (
            lambda: {"status": "deleted", "evidence": functools.reduce(lambda v, _: {"a": v}, range(9), {})},
            422,
            '"evidence"',  # the schema (dataops.api.Evidence) refuses it, naming the field
        ),
        (lambda: {"status": "deleted", "evidence": {"vector": [0.5] * 128}}, 422, "face template"),
        (lambda: {"status": "deleted", "evidence": {"hex": os.urandom(96).hex()}}, 422, "encoded file"),
        (lambda: {"status": "deleted", "evidence": {"log": "x " * 9000}}, 422, "larger than 16 KB"),
        (lambda: {"status": "deleted", "evidence": {"x": "a" * (6 * MB)}}, 413, "larger than 5 MB"),
    ],
    ids=["json-nested-100000-deep", "evidence-9-deep", "float-vector", "hex-blob", "evidence-18kb", "body-6mb"],
)
def test_the_api_refuses_hostile_json_with_a_reason(client, instruction, body, status, message):
    url, auth, _propagation = instruction
    payload = body()
    data = payload if isinstance(payload, str) else json.dumps(payload)
    response = client.post(url, data, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", **auth)
    assert response.status_code == status
    assert message in json.dumps(response.json()), response.json()
    _unchanged_then_acknowledged(client, instruction)


def test_ordinary_evidence_passes():

    ordinary = {
        "records_removed": 3,
        "log_id": "a81-2026-11-20",
        "sha512": os.urandom(64).hex(),  # 128 hex digits: a digest, not a file
        "path": "/var/lib/face-device/enrolments/2026/11/20/deleted-enrolment-record-4411",
        "note": "Removed from the device and from the nightly backup; the backup rotates in 7 days.",
        "ids": list(range(200)),
        "nested": {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}},
    }
    assert evidence_check(ordinary) == ordinary


# --- Bounded memory ---------------------------------------------------------------------------


class _StreamedBody:
    """A multipart body made as it is read, so a test can send 64 MB without holding it."""

    def __init__(self, boundary: bytes, csrf: str, field: str, filename: str, size: int):
        self.head = (
            b'--%s\r\nContent-Disposition: form-data; name="csrfmiddlewaretoken"\r\n\r\n%s\r\n'
            b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
            b"Content-Type: application/pdf\r\n\r\n%%PDF-1.7\n"
        ) % (boundary, csrf.encode(), boundary, field.encode(), filename.encode())
        self.tail = b"\r\n--%s--\r\n" % boundary
        self.filler = size
        self.length = len(self.head) + size + len(self.tail)

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        size = self.length if size is None or size < 0 else size
        while len(out) < size and (self.head or self.filler or self.tail):
            want = size - len(out)
            if self.head:
                out += self.head[:want]
                self.head = self.head[want:]
            elif self.filler:
                step = min(want, self.filler, 64 * 1024)
                out += b"0" * step
                self.filler -= step
            else:
                out += self.tail[:want]
                self.tail = self.tail[want:]
        return bytes(out)

    def readline(self, size: int = -1) -> bytes:
        line = bytearray()
        while (size < 0 or len(line) < size) and (byte := self.read(1)):
            line += byte
            if byte == b"\n":
                break
        return bytes(line)


def _peak(action) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = action()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


WORST = {
    "pdf-deflate-bomb-padded-to-5mb": (lambda: _pdf_bomb_of_5mb(), "compression bomb"),
    "png-bomb-20000x20000": (HOSTILE["png-bomb-20000x20000"][0], "too many pixels"),
    "png-49-megapixels": (HOSTILE["png-49-megapixels"][0], "too many pixels"),
    "zip-bomb-256mb": (_zip_bomb, "Upload a PDF, PNG or JPEG file"),
    "pdf-javascript-in-object-stream": (_pdf_javascript_in_object_stream, "scripts, actions"),
}


@pytest.mark.parametrize("worst", WORST)
def test_handling_the_worst_files_stays_within_bounded_memory(media, worst, capsys):
    """The whole request, form and checks included, measured by tracemalloc (Python's allocations)."""
    build, message = WORST[worst]
    content = build()
    point = IdentityScan(Client(enforce_csrf_checks=True))
    point.client.force_login(factories.user_with_role("data_subject"))
    peak, response = _peak(lambda: point.post("id.pdf", content, "application/pdf"))
    assert response.status_code == 400 and message in response.content.decode()
    with capsys.disabled():
        print(f"\n  peak {worst}: {len(content) / MB:.2f} MB file, {peak / MB:.1f} MB traced")
    assert peak < MEMORY_BOUND


def test_a_64_mb_upload_streams_to_disk_and_is_refused_within_bounded_memory(media, capsys):
    """Past nginx (client_max_body_size 8m) nothing this large arrives; the application copes anyway."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(factories.user_with_role("data_subject"))
    url = reverse("portal:identity_check")
    client.get(url)
    body = _StreamedBody(b"h10boundary", client.cookies["csrftoken"].value, "scan", "id.pdf", 64 * MB)
    environ = {
        "wsgi.input": body,
        "CONTENT_LENGTH": str(body.length),
        "CONTENT_TYPE": "multipart/form-data; boundary=h10boundary",
        "HTTP_ACCEPT_LANGUAGE": "en",
    }
    peak, response = _peak(lambda: client.generic("POST", url, b"", **environ))
    assert response.status_code == 400 and "larger than 5 MB" in response.content.decode()
    assert not IdentityCheck.objects.exists() and _files_under(media / "uploading") == []
    with capsys.disabled():
        print(f"\n  peak streamed 64 MB upload: {peak / MB:.1f} MB traced")
    assert peak < MEMORY_BOUND


def test_the_checks_stay_within_bounded_memory_in_a_process_of_their_own(tmp_path, capsys):
    """Resident memory, C allocations included (zlib, Pillow), in a process of its own.

    Before each file the kernel's peak-RSS mark is reset to the current RSS (writing 5 to
    /proc/self/clear_refs); after the check the new peak (VmHWM) is read. ru_maxrss would
    not do: Linux carries it over from the parent (pytest) through fork and exec.
    """
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux's /proc/self/clear_refs")
    files = {
        "pdf-deflate-bomb-padded-to-5mb": _pdf_bomb_of_5mb(),
        "png-49-megapixels": _png_claiming(7_000, 7_000),
        "png-36-megapixels-accepted": _png_claiming(6_000, 6_000),
        "jpeg-bomb-65000x65000": _jpeg_claiming(65_000, 65_000),
        "pdf-javascript-in-object-stream": _pdf_javascript_in_object_stream(),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    script = textwrap.dedent(
        """
        import re, sys, django
        django.setup()
        from django.core.exceptions import ValidationError
        from django.core.files.uploadedfile import SimpleUploadedFile
        from facerights.uploads import read_upload
        import PIL.PngImagePlugin, PIL.JpegImagePlugin  # loaded before the baseline

        def status(field):
            return int(re.search(field + r":\\s+(\\d+) kB", open("/proc/self/status").read())[1])

        for path in sys.argv[1:]:
            content = open(path, "rb").read()
            with open("/proc/self/clear_refs", "w") as marks:
                marks.write("5")  # the peak mark starts again from the current RSS
            before = status("VmRSS")
            try:
                outcome = read_upload(SimpleUploadedFile("f", content))[1]
            except ValidationError as exc:
                outcome = exc.code
            print(path.rsplit("/", 1)[1], outcome, status("VmHWM") - before)
        """
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "facerights.settings", "FACERIGHTS_VAR_DIR": str(tmp_path / "var")}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", script, *(str(tmp_path / name) for name in files)],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    grown = {}
    for line in result.stdout.splitlines():
        if match := re.fullmatch(r"(\S+) (\S+) (-?\d+)", line):
            grown[match[1]] = (match[2], int(match[3]) * 1024)
    assert grown.keys() == files.keys(), result.stdout + result.stderr
    with capsys.disabled():
        for name, (outcome, growth) in grown.items():
            print(f"\n  rss {name}: {outcome}, +{max(growth, 0) / MB:.1f} MB")
    assert grown["png-36-megapixels-accepted"][0] == "image/png"
    assert grown["pdf-deflate-bomb-padded-to-5mb"][0] == "pdf_bomb"
    assert all(growth < MEMORY_BOUND for _outcome, growth in grown.values())
