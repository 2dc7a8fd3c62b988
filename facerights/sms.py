"""Text messages: one small interface, a development backend, and the place a gateway plugs in.

A backend is a class with `send(phone: str, text: str) -> None` that raises
SmsError when the message was not accepted, and optionally
`send_template(phone, template, params)`. Set FACERIGHTS_SMS_BACKEND to its
dotted path. A Chinese gateway (Aliyun SMS, Tencent Cloud SMS, ...) sends only
templates approved in advance, so every message FaceRights sends is one of
TEMPLATES, by name and with its few parameters; never free text. docs/sms.md
lists them to register (a test keeps the two the same).
"""

from __future__ import annotations

import logging
from string import Template

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    pass


def mask_phone(phone: str) -> str:
    """+8613800138000 -> +86138****8000: enough to tell messages apart, not to call anyone."""
    return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else "****"


class LogSmsBackend:
    """Development backend: writes that a message would be sent, with the number masked.

    The text itself is written only with DEBUG on (it may carry a one-time
    code); in production this backend refuses to pretend anything was sent.
    """

    def send(self, phone: str, text: str) -> None:
        if not settings.DEBUG:
            raise SmsError("LogSmsBackend sends nothing: set FACERIGHTS_SMS_BACKEND to a real gateway.")
        logger.warning("SMS to %s: %s", mask_phone(phone), text)


class MemorySmsBackend:
    """Test backend: keeps the messages in `outbox`."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        MemorySmsBackend.outbox.append((phone, text))


# Every message, as registered with the gateway: ${name} is a parameter. The signature (【…】)
# is the company's name, or FACERIGHTS_SMS_SIGNATURE where no company is concerned.
TEMPLATES = {
    "login_code": "【${company}】验证码：${code}。15分钟内有效，请勿告诉他人。",
    "login_unknown": "【${company}】有人尝试用此号码登录，但没有账号使用此号码。如非本人操作，请忽略。",
    "signup_exists": "【${company}】有人尝试用此号码注册账号，但已有账号使用此号码或同时填写的邮箱：请用验证码登录。如非本人操作，请忽略。",
    "request_update": "【${company}】您的个人信息申请${ref}${status}。详情：${url}",
    "deletion_update": "【${company}】您的删除${ref}${status}。详情：${url}",
    "notice_changed": "【${company}】${system}的人脸识别告知书已更新，您可查看变更并决定是否撤回同意：${url}",
    "consent_own": "【${company}】${system}的人脸识别同意${status}。详情：${url}",
    "system_transferred": "【${company}】自${date}起，${system}由${entity}处理，您的同意和权利不变：${url}",
    "incident_notice": "【${company}】我们发生了一起个人信息安全事件，可能涉及您或您孩子的信息。事件说明及您可以采取的措施：${url}",
    "incident_escalation": "【${company}】安全事件${ref}${step}，向主管部门报告的截止时间为${due}（北京时间）。请立即登录管理后台处理。",
    "desk_code": "【${company}】前台办理个人信息事项的验证码：${code}。10分钟内有效，如非本人操作，请勿告诉他人。",
    "consent_receipt": "【${company}】您已同意${system}使用人脸识别。同意回执及撤回同意：${url}",
    "guardian_code": "【${company}】为您的孩子确认${system}人脸识别同意的验证码：${code}。10分钟内有效，如非本人操作，请勿告诉他人。",
    "withdraw_code": "【${company}】撤回${system}人脸识别同意的验证码：${code}。10分钟内有效，如非本人操作，请勿告诉他人。",
}


def sms_signature() -> str:
    return settings.FACERIGHTS_SMS_SIGNATURE


def sms_send(phone: str, template: str, params: dict[str, str]) -> None:
    """Send one of TEMPLATES: a backend with `send_template` gets its name and parameters, any other the text."""
    text = Template(TEMPLATES[template]).substitute(params)  # a missing parameter fails here, before sending
    backend = import_string(settings.FACERIGHTS_SMS_BACKEND)()
    if hasattr(backend, "send_template"):
        backend.send_template(phone, template, params)
    else:
        backend.send(phone, text)
