"""The words of a filing: labels for its fields in both languages, and a change told in words.

Every document, the change review in the admin and the regulator's area read a filing's
fields through here, so a regulator never reads a field path ("D[5].storage_location") or a
stored code ("device"): "门禁闸机 · 存储位置: 设备内 → 云服务".
"""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Choices

from consent.models import Purpose
from facerights.present import choices_text, date_text, field_label, language_of

from ..registry.models import Alternative

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
        ("legal_rep_id_type", "法定代表人身份证件类型及号码", "Legal representative's identity document and number"),
        ("agent_name", "经办人姓名", "Name of the person handling the filing"),
        ("agent_id_type", "经办人身份证件类型及号码", "Identity document and number of the person handling the filing"),
        ("mlps_level", "网络安全等级保护级别及备案证明编号", "Multi-level protection (等保) level and record number"),
        (
            "incident_plan_on",
            "个人信息安全事件应急预案（制定或修订日期）",
            "Incident response plan (adopted or revised on)",
        ),
        (
            "training_last_on",
            "个人信息保护培训（最近一次日期）",
            "Staff training on personal information (last held on)",
        ),
        ("recognition_mode", "实时识别或批量识别", "Real-time or batch recognition"),
        ("devices", "设备类型、数量和位置", "Device types, numbers and locations"),
        ("counterparty", "受托人或接收方名称", "Name of the processor or recipient"),
        ("provision_purpose", "委托或提供的目的", "Purpose of the entrustment or provision"),
        ("signage_evidence", "显著提示标识的证明材料", "Evidence of the conspicuous signs"),
        ("rules_text", "人脸信息处理规则全文", "The facial information processing rules in full"),
        ("disposal", "人脸信息处置情况说明", "How the facial information was disposed of"),
        ("processor_certificates", "受托人删除证明", "Processors' deletion certificates"),
        ("yes", "是", "Yes"),
        ("no", "否", "No"),
    ]
}


# The snapshot's own keys, where they are not the label's key above: (label key) or (zh, en).
FIELDS: dict[str, str | tuple[str, str]] = {
    # B: the handler
    "name_zh": ("名称（中文）", "Name (Chinese)"),
    "name_en": ("名称（英文）", "Name (English)"),
    "province": ("注册地省份", "Registered province"),
    "affiliates": ("合并备案的关联主体（统一社会信用代码）", "Affiliates filing together (credit codes)"),
    # D: each system
    "kind": ("系统类型", "Kind of system"),
    "purposes": "purpose",
    "recognition": "method",
    "face_only_method": "face_only",
    "national_identity_service": "national_identity",
    "site": ("场所", "Site"),
    "site_address": ("场所地址", "Site address"),
    "signage": ("显著提示标识", "Conspicuous signs"),
    "collection_area": ("图像采集区域", "Image collection area"),
    "storage_location": "storage",
    "internet_transmission": "transmission",
    "retention_days": ("保存期限（天）", "Retention (days)"),
    "retention_justification": ("保存期限的理由", "Reason for the retention period"),
    "contract": ("委托合同编号", "Contract reference"),
    "starts_on": ("合同起始日", "Contract starts"),
    "ends_on": ("合同终止日", "Contract ends"),
    "data_types": ("合同约定的数据类型", "Data types in the contract"),
    "subprocessing_approved": ("是否批准转委托", "Sub-processing approved"),
    "minors_under_14": "minors",
    "status": ("系统状态", "System status"),
    "notice_version": ("告知书版本", "Notice version"),
    "notice_published": ("告知书发布日期", "Notice published on"),
    "notice_sha256": ("告知书指纹（SHA-256）", "Notice fingerprint (SHA-256)"),
    "legal_rep_id_masked": ("法定代表人身份证件号码（部分隐藏）", "Legal representative's document number (masked)"),
    "legal_rep_id_digest": ("法定代表人身份证件号码（校验值）", "Legal representative's document number (check value)"),
    "mlps_record_number": ("等保备案证明编号", "Multi-level protection record number"),
    "rules": "rules_text",
    # F to H
    "notices": "notice",
    "procedures": ("内部操作规程", "Internal operating procedures"),
    "H": "pia",
    "D": "scenario",
}

# Stored codes, shown by their model field's labels.
CODED: dict[str, str | type[Choices]] = {
    "kind": "dataops.ProcessingSystem.kind",
    "recognition": "dataops.ProcessingSystem.recognition",
    "storage_location": "dataops.ProcessingSystem.storage_location",
    "status": "dataops.ProcessingSystem.status",
    "alternatives": Alternative,  # a list in a JSON field: its items are this set's codes
    "data_kinds": "dataops.Holding.data_kind",
    "province": "dataops.LegalEntity.province",
    "recognition_mode": "dataops.ProcessingSystem.recognition_mode",
    "mlps_level": "dataops.LegalEntity.mlps_level",
    "legal_rep_id_type": "dataops.LegalEntity.legal_rep_id_type",
    "agent_id_type": "dataops.Filing.agent_id_type",
}
LEGAL_BASIS = {"written_consent": ("书面同意", "written consent"), "separate_consent": ("单独同意", "separate consent")}
# Shown once under their own key: the same fact in another form would only repeat the change.
DERIVED = {"id", "purposes_zh", "purposes_en", "alternatives_zh", "alternatives_en"}

_PATH = re.compile(r"^(?P<group>[A-K])(?:\[(?P<id>\d+)\])?(?:\.(?P<rest>.+))?$")


def label(key: str, language: str | None = None) -> str:
    """A snapshot field's name in the language; a key without a label is a defect (tests read every one)."""
    entry = FIELDS.get(key, key)
    zh, en = (LABELS[entry]["zh"], LABELS[entry]["en"]) if isinstance(entry, str) else entry
    return zh if language_of(language) == "zh" else en


def value_text(key: str, value: object, language: str | None = None) -> str:
    """A snapshot value in words: labels for codes, 是/否, dates in the language, names for purposes."""
    lang = language_of(language)
    zh = lang == "zh"
    if value is None:
        return "未知" if zh else "unknown"
    if isinstance(value, bool):
        return LABELS["yes" if value else "no"][lang]
    if value == "" or value == []:
        return "—"
    if key in CODED:
        coded = CODED[key]
        if isinstance(coded, str):
            return field_label(coded, value, lang)
        return choices_text(coded, [str(v) for v in value] if isinstance(value, list) else [str(value)], lang)
    if key == "legal_basis" and value in LEGAL_BASIS:
        return LEGAL_BASIS[str(value)][0 if zh else 1]
    if key == "purposes" and isinstance(value, list):
        names = dict(Purpose.objects.filter(code__in=value).values_list("code", "name_zh" if zh else "name_en"))
        return ("、" if zh else ", ").join(str(names.get(code) or f"[{code}]") for code in value)
    if key == "notices" and isinstance(value, list):
        return "; ".join(f"{n['system']} v{n['version']} ({date_text(_day(n['published']), lang)})" for n in value)
    if key == "devices" and isinstance(value, list):
        return "; ".join(
            f"{field_label('dataops.DeviceGroup.kind', d['kind'], lang)} × {d['count']} · {d['location']}"
            for d in value
        )
    if key == "signage_evidence" and isinstance(value, list):
        return "; ".join(f"SHA-256 {e['sha256'][:16]}… ({date_text(_day(e['taken_on']), lang)})" for e in value)
    if key == "rules" and isinstance(value, list):
        return "; ".join(f"{r['system']} v{r['version']}" for r in value)
    if key.endswith("_digest"):
        return str(value)[:16] + "…"
    if key == "H" and isinstance(value, list):
        return "; ".join(f"{h['title']} ({date_text(_day(h['approved_on']), lang)})" for h in value)
    if key.endswith("_on") or key == "notice_published":
        day = _day(str(value))
        return date_text(day, lang) if day else str(value)
    if isinstance(value, list) and all(isinstance(item, dict) and "name_zh" in item for item in value):
        return ("、" if zh else ", ").join(item["name_zh" if zh else "name_en"] for item in value)  # systems
    if isinstance(value, list):
        return ("、" if zh else ", ").join(str(item) for item in value)
    return str(value)


def change_rows(changes: list[dict], language: str | None = None) -> list[dict[str, str]]:
    """A change review's differences in words: what (with the system's name), before, after."""
    rows = []
    for change in changes:
        match = _PATH.match(change["field"])
        if match is None:
            continue
        key = (match["rest"] or match["group"]).rsplit(".", 1)[-1]
        if key in DERIVED:
            continue
        what = label(key, language)
        if match["id"]:
            system = change.get("system") or f"#{match['id']}"
            what = f"{system} · {what}"
        rows.append(
            {
                "what": what,
                "before": value_text(key, change.get("before"), language),
                "after": value_text(key, change.get("after"), language),
            }
        )
    return rows


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


NOTICE_ITEMS = {
    "handler": ("处理者名称和联系方式", "Handler's name and contact"),
    "purpose": ("处理目的", "Purpose"),
    "method": ("处理方式", "Method of processing"),
    "retention": ("保存期限", "Retention period"),
    "necessity": ("必要性", "Necessity"),
    "impact": ("对个人权益的影响", "Impact on the person's rights"),
    "rights": ("行使权利的方式和程序", "How to exercise rights"),
    "alternatives": ("非人脸识别替代方式", "Non-face alternatives"),
    "other": ("其他事项", "Other matters"),
}


def rules_text(snapshot: dict, language: str | None = None) -> list[dict]:
    """Each system's current notice, word for word in the language, item by item (G, the rules in full)."""
    lang = language_of(language)
    return [
        {
            "system": rule["system"],
            "version": rule["version"],
            "items": [
                {"label": NOTICE_ITEMS[item][0 if lang == "zh" else 1], "text": text}
                for item in NOTICE_ITEMS
                if (text := ((rule.get("text") or {}).get(lang) or {}).get(item, "").strip())
            ],
        }
        for rule in (snapshot.get("G") or {}).get("rules", [])
    ]
