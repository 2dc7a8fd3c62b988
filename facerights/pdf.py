"""HTML to PDF with WeasyPrint: certificates, copies of data, filings.

Pages set `lang="zh-CN"` and use the Noto CJK fonts installed by
scripts/system-packages.sh; nothing is fetched while rendering.
"""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    """Render a page of HTML (with its inline styles) as PDF bytes."""
    from weasyprint import HTML  # a second to import: paid only by the processes that render PDFs

    return HTML(string=html).write_pdf()


def fonts_warm_up() -> None:
    """Load the CJK fonts into this process (seconds), so the first document does not wait for them."""
    html_to_pdf('<html lang="zh-CN"><body style="font-family: Noto Sans CJK SC">备案 deletion</body></html>')
