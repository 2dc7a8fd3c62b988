"""The filing documents: three forms in Chinese and English, rendered as PDF from a frozen snapshot."""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.template.loader import render_to_string

from facerights.pdf import html_to_pdf

from .models import Filing, FilingDocument

DOCUMENTS = [(kind, lang) for kind in FilingDocument.Kind.values for lang in ("zh", "en")]


def filing_build_document(*, filing_id: int, kind: str, language: str) -> FilingDocument | None:
    """Render one document from the frozen snapshot (the same snapshot gives the same bytes).

    Only a draft's documents are (re)built, and only from the snapshot they will be
    stored with: a filing reviewed, submitted or regenerated meanwhile is left alone
    (None is returned). Safe to run twice.
    """
    filing = Filing.objects.get(pk=filing_id)
    if filing.state != Filing.State.DRAFT or not filing.snapshot_sha256:
        return None
    html = render_to_string(
        f"dataops/filings/{kind}.html",
        {
            "s": filing.snapshot,
            "fingerprint": filing.snapshot_sha256,
            "zh": language == "zh",
            "L": LABELS,
            "lang": language,
            # The facts nobody recorded yet, in words: the form says so at the top.
            "unknown": [
                {"label": LABELS[item["fact"]]["zh" if language == "zh" else "en"], "where": item["where"]}
                for item in (filing.snapshot or {}).get("unknown", [])
            ],
        },
    )
    pdf = html_to_pdf(html)  # seconds: rendered before taking the lock
    with transaction.atomic():
        locked = Filing.objects.select_for_update().get(pk=filing_id)
        if locked.state != Filing.State.DRAFT or locked.snapshot_sha256 != filing.snapshot_sha256:
            return None
        document, _created = FilingDocument.objects.update_or_create(
            filing=locked,
            kind=kind,
            language=language,
            defaults={"pdf": pdf, "sha256": hashlib.sha256(pdf).hexdigest()},
        )
        built = locked.documents.count()
        Filing.objects.filter(pk=locked.pk).update(progress=round(100 * built / len(DOCUMENTS)))
    return document


def filing_build(*, filing_id: int) -> Filing:
    """Render every document in this process (the task sends one per document, to run side by side)."""
    for kind, language in DOCUMENTS:
        filing_build_document(filing_id=filing_id, kind=kind, language=language)
    return Filing.objects.get(pk=filing_id)


LABELS = {
    key: {"zh": zh, "en": en}
    for key, zh, en in [
        ("filing_number", "内部编号", "Internal reference"),
        ("cac_receipt", "网信部门备案回执编号", "CAC receipt number"),
        ("version", "版本", "Version"),
        ("fingerprint", "数据快照指纹（SHA-256）", "Data snapshot fingerprint (SHA-256)"),
        ("basic_info", "个人信息处理者基本情况表", "Basic information of the personal information handler"),
        ("application_form", "人脸识别技术应用情况备案表", "Filing form: application of facial recognition technology"),
        ("pia_report", "个人信息保护影响评估报告", "Personal information protection impact assessment report"),
        ("kind", "备案类型", "Filing type"),
        ("authority", "备案机关", "Filing authority"),
        (
            "triggered_on",
            "达到数量或发生变更、终止之日",
            "Date the number was reached, or of the change or termination",
        ),
        ("due_on", "法定期限", "Statutory deadline"),
        ("name", "名称", "Legal name"),
        ("credit_code", "统一社会信用代码", "Unified social credit code"),
        ("registered_address", "注册地址", "Registered address"),
        ("operating_address", "实际经营地址", "Operating address"),
        ("legal_representative", "法定代表人", "Legal representative"),
        ("contact", "联系人及联系方式", "Contact person and details"),
        ("pipo", "个人信息保护负责人", "Personal information protection officer"),
        ("group", "所属集团及合并备案主体", "Group and entities filing together"),
        ("industry", "所属行业", "Industry"),
        ("agent", "经办人", "Person handling the filing"),
        ("scenario", "应用场景", "Application scenario"),
        ("purpose", "处理目的", "Purpose"),
        ("method", "处理方式", "Processing method"),
        ("legal_basis", "合法性基础", "Legal basis"),
        ("alternatives", "非人脸识别替代方式", "Non-face alternatives"),
        ("face_only", "人脸识别是否为唯一验证方式", "Face recognition the only verification method"),
        (
            "national_identity",
            "是否使用国家网络身份认证公共服务",
            "Uses the national online identity authentication service",
        ),
        ("location", "设备位置", "Device location"),
        ("public_place", "是否位于公共场所（提示标识、采集区域）", "In a public place (signage, collection area)"),
        ("private_space", "是否位于私密空间", "In a private space"),
        ("storage", "存储位置", "Storage location"),
        ("transmission", "是否通过互联网对外传输", "Transmitted over the internet"),
        ("data_kinds", "存储的数据类型", "Data kinds stored"),
        ("retention", "保存期限及理由", "Retention period and justification"),
        ("processor", "受托人或接收方", "Entrusted processor or recipient"),
        ("cross_border", "是否跨境传输", "Cross-border transfer"),
        ("minors", "是否处理不满十四周岁未成年人人脸信息", "Processes facial information of children under 14"),
        ("quantity", "人脸信息存储数量", "Quantity of facial information stored"),
        ("persons", "人数", "Persons"),
        (
            "recorded_processing",
            "处理活动记录（处理前的同意核验）",
            "Recorded processing (consent checks before processing)",
        ),
        ("counted_on", "统计日期", "Counted on"),
        ("measures", "安全保护措施", "Security protection measures"),
        ("rules", "处理规则和操作规程", "Processing rules and operating procedures"),
        ("notice", "告知书", "Notice"),
        ("pia", "个人信息保护影响评估", "Impact assessment"),
        ("attachments", "承诺书及附件", "Commitment and attachments"),
        ("change", "变更情况", "Changes"),
        ("cancellation", "注销情况", "Cancellation"),
        ("yes", "是", "Yes"),
        ("no", "否", "No"),
    ]
}
