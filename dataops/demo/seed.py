"""Demo data for `make run`: a hotel chain, its sites and systems, about 200 people, and a property
manager over the filing threshold.

Everything goes through the same services as the rest of the project, in one
transaction. Running it again changes nothing. `manage.py seed_demo` refuses to run
with DEBUG off unless --force is given: the demo accounts have a published password.
"""

from __future__ import annotations

import datetime as dt
import random

from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from consent.linking import enrolment_code_issue
from consent.models import ConsentRecord, Notice, Purpose
from consent.services import (
    Provenance,
    consent_grant,
    guardianship_record,
    notice_publish,
    subject_create,
    subject_link_user,
)
from facerights.accounts import user_create
from facerights.pdf import html_to_pdf
from facerights.present import choices_text
from facerights.roles import Role
from facerights.services import record_save

from ..deletions.connection_tests import connection_test_start
from ..deletions.delivery.manual import confirm_by_link, confirmation_token
from ..deletions.models import DeletionRequest
from ..deletions.opening import deletion_request_open
from ..desk.models import DeskClerk
from ..filings.counting import person_counts_take
from ..filings.models import RegulatorAccount
from ..filings.services import filing_agent_set, filing_attach, filing_create
from ..incidents.models import Incident
from ..incidents.services import incident_close, incident_report_record, incident_save
from ..registry.credentials import credential_issue
from ..registry.holdings import holding_record, holdings_load_pseudonymous
from ..registry.models import (
    Alternative,
    DeviceGroup,
    ImpactAssessment,
    LegalEntity,
    ProcessingSystem,
    Site,
    SystemCredential,
)
from ..registry.services import (
    impact_assessment_approve,
    impact_assessment_submit,
    legal_rep_id_record,
    signage_evidence_add,
    system_save,
)
from ..requests.services import request_submit

ACTOR = "command:seed_demo"
DEMO_PASSWORD = "facerights-demo-2026"  # noqa: S105 (demo only; seed_demo refuses DEBUG off)
DEMO_ENTITY_CODE = "91310101MA1FPX0C88"
SIMULATOR_PORT = 9101
LARGE_ENTITY_CODE = "91310115MA1K4PRW3C"
SAMPLE_ATTACHMENTS = [
    ("credit_code_certificate", "营业执照（统一社会信用代码）加盖公章复印件"),
    ("legal_rep_id", "法定代表人身份证件"),
    ("agent_id", "经办人身份证件"),
    ("power_of_attorney", "授权委托书（加盖公章）"),
    ("commitment", "承诺书（加盖公章）"),
]
# The demo DPO's and regulator's authenticator-app secret, printed by `make run` (demo only).
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPFACERIGHTSDEMOAB"  # noqa: S105

DEMO_LOGINS = [
    # (username, email, role, what they see)
    ("demo", "demo@example.com", Role.DATA_SUBJECT, "data subject with three holdings"),
    ("dpo", "dpo@example.com", Role.DPO, "data-protection officer (admin)"),
    ("regulator", "regulator@example.com", Role.REGULATOR, "Shanghai cyberspace administration"),
    ("desk", "desk@example.com", Role.DESK, "front desk of the first hotel (/desk/)"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "霞",
    "平",
]


def demo_seed() -> dict | None:
    """Create the demo data set and return the simulated systems' settings; None if it is there already."""
    if LegalEntity.objects.filter(credit_code=DEMO_ENTITY_CODE).exists():
        return None
    with transaction.atomic():
        return DemoSeed()._seed()


class DemoSeed:
    def _seed(self) -> dict:
        rng = random.Random(2025_06_01)
        purposes = {
            code: record_save(actor=ACTOR, instance=Purpose(code=code, name_zh=zh, name_en=en))
            for code, zh, en in [
                ("hotel-check-in", "入住身份核验", "Hotel check-in identity verification"),
                ("access-control", "门禁通行", "Access control"),
                ("staff-attendance", "员工考勤", "Staff attendance"),
                ("member-verification", "会员身份核验", "Member identity verification"),
            ]
        }
        entity = record_save(
            actor=ACTOR,
            instance=LegalEntity(
                name_zh="锦程酒店管理有限公司",
                name_en="Jincheng Hotel Management Co., Ltd.",
                credit_code=DEMO_ENTITY_CODE,
                province="31",
                registered_address="上海市黄浦区中山东一路18号",
                operating_address="上海市黄浦区中山东一路18号",
                legal_representative="陈立新",
                industry="住宿业",
                dpo_name="林晓雯",
                incident_contact_email="legal@jincheng.example",
                dpo_email="privacy@jincheng.example",
                dpo_phone="021-5555-0100",
                pipo_designated=True,  # 1,350,000 guests on file: the officer report to the city is due
                pi_headcount=1_350_000,
                pi_headcount_on=timezone.localdate(),
                security_measures="人脸特征存储于设备内并加密；后台访问控制与双因素认证；安全审计日志保存三年；入侵检测。",
                mlps_level="level_3",
                mlps_record_number="31010143003-25017",
                incident_plan_on=dt.date(2025, 5, 12),
                training_last_on=dt.date(2025, 11, 20),
            ),
        )
        legal_rep_id_record(actor=ACTOR, entity=entity, id_type="resident_id", number=DEMO_ID_NUMBER)
        sites = [
            record_save(
                actor=ACTOR,
                instance=Site(
                    entity=entity,
                    name_zh=zh,
                    name_en=en,
                    address=address,
                    is_public_place=True,
                    signage_present=True,
                    collection_area=area,
                ),
            )
            for zh, en, address, area in [
                ("上海外滩店", "Shanghai Bund hotel", "上海市黄浦区中山东一路18号", "大堂前台自助机前1米范围"),
                ("杭州西湖店", "Hangzhou West Lake hotel", "浙江省杭州市西湖区北山街28号", "客房楼层电梯厅闸机通道"),
                ("北京国贸店", "Beijing CBD hotel", "北京市朝阳区建国门外大街1号", "员工通道考勤机前"),
            ]
        ]
        for place in sites:  # the signs are stated from their photo, dated, never from a checkbox
            signage_evidence_add(
                actor=ACTOR,
                site=place,
                taken_on=dt.date(2025, 6, 1),
                collection_area=place.collection_area,
                content=_sample_scan(f"{place.name_zh}：人脸识别提示标识照片"),
                content_type="application/pdf",
            )
        specs = [
            (
                "外滩店自助入住机",
                "Bund check-in kiosk",
                sites[0],
                "device",
                "push",
                "verify",
                "hotel-check-in",
                ["id_document", "staff_check"],
                30,
            ),
            (
                "西湖店楼层门禁闸机",
                "West Lake floor gates",
                sites[1],
                "device",
                "pull",
                "identify",
                "access-control",
                ["card", "qr_code"],
                30,
            ),
            (
                "国贸店员工考勤机",
                "CBD staff attendance terminal",
                sites[2],
                "device",
                "pull",
                "verify",
                "staff-attendance",
                ["card", "pin"],
                365,
            ),
            (
                "会员人脸核验服务",
                "Member face verification service",
                None,
                "central",
                "push",
                "verify",
                "member-verification",
                ["phone_code", "password"],
                730,
            ),
            (
                "云安防服务商（受托处理）",
                "Cloud security vendor (entrusted)",
                None,
                "processor",
                "manual",
                "none",
                "access-control",
                [],
                90,
            ),
        ]
        systems = []
        for index, (name_zh, name_en, site, kind, integration, recognition, purpose, alternatives, days) in enumerate(
            specs
        ):
            system = ProcessingSystem(
                entity=entity,
                site=site,
                name_zh=name_zh,
                name_en=name_en,
                kind=kind,
                integration=integration,
                recognition=recognition,
                keeps_template=True,
                keeps_image=kind == "processor",
                storage_location={"device": "device", "central": "server", "processor": "cloud"}[kind],
                internet_transmission=kind == "processor",
                cross_border=False,
                alternatives=alternatives,
                retention_days=days,
                retention_justification_zh="达到处理目的所需的最短时间：住店或雇佣关系结束后即删除。",
                retention_justification_en="The shortest time the purpose needs: deleted when the stay or employment ends.",
                webhook_url=f"http://127.0.0.1:{SIMULATOR_PORT + index}/webhook" if integration == "push" else "",
                is_internal=True,
                contact_name="系统管理员",
                contact_email="systems@jincheng.example",
                contract_reference="JC-DPA-2025-017" if kind == "processor" else "",
                contract_starts_on=dt.date(2025, 6, 1) if kind == "processor" else None,
                contract_ends_on=dt.date(2027, 5, 31) if kind == "processor" else None,
                contract_data_types="人脸图像、人脸特征" if kind == "processor" else "",
                counterparty_name="云盾安防科技有限公司" if kind == "processor" else "",
                provision_purpose="受托存储与比对门禁人脸特征" if kind == "processor" else "",
                recognition_mode="real_time" if recognition != "none" else "",
            )
            declared = [purposes[purpose]]
            if system.internet_transmission:  # sending faces over the internet is a consent of its own
                declared.append(Purpose.objects.get(code=Purpose.TRANSMISSION))
            systems.append(system_save(actor=ACTOR, system=system, purposes=declared))
            if kind in ("device", "central"):
                device_kind, count, where = {
                    "hotel-check-in": ("kiosk", 2, "大堂前台"),
                    "access-control": ("gate", 12, "各客房楼层电梯厅"),
                    "staff-attendance": ("terminal", 1, "员工通道"),
                    "member-verification": ("terminal", 8, "各店前台会员终端（采集后传至会员服务器）"),
                }[purpose]
                record_save(
                    actor=ACTOR,
                    instance=DeviceGroup(system=system, kind=device_kind, count=count, location=where),
                )
        assessment = record_save(
            actor=ACTOR,
            instance=ImpactAssessment(
                entity=entity,
                title="2025年度人脸识别个人信息保护影响评估",
                lawfulness="入住核验、门禁与考勤具有特定目的和充分必要性，均取得单独同意，并提供非人脸替代方式。",
                impact="对个人权益影响限于身份核验场景；数据默认存储于设备内；仅受托云服务商处的数据经互联网加密传输，且另行取得单独同意。",
                risks="设备丢失或被入侵可能导致人脸特征泄露；已评估泄露、篡改、丢失、非法使用的风险。",
                measures="设备端加密存储、访问控制、安全审计、入侵检测，与风险相称。",
                reviewer="林晓雯",
                next_review_on=dt.date(2026, 6, 1),
            ),
        )
        assessment.systems.set(systems)
        impact_assessment_submit(actor=ACTOR, assessment=assessment)
        impact_assessment_approve(actor=ACTOR, assessment=assessment)

        notices = {}
        for system in systems:
            notice = record_save(actor=ACTOR, instance=Notice(system=system, **_notice_text(entity, system)))
            notices[system.pk] = notice_publish(actor=ACTOR, notice=notice)
            # Activated by its connection test once the simulated system confirms it
            # (within a minute of `make run` starting).
            test = connection_test_start(actor=ACTOR, system=system, activate_on_pass=True)
            if system.integration == ProcessingSystem.Integration.MANUAL:
                # The demo vendor has already answered the test email.
                confirm_by_link(
                    token=confirmation_token(test.deletion_request.propagations.get()),
                    outcome="not_found",
                    reason="",
                    performed_by="云安防服务商 运维部 张工",
                    performed_at=timezone.now(),
                )

        now = timezone.now()

        def enrol(subject, system, *, guardian=None, days_ago=10):
            def grant(purpose):
                return consent_grant(
                    actor=ACTOR,
                    subject=subject,
                    system=system,
                    purpose=purpose,
                    notice=notices[system.pk],
                    provenance=Provenance(channel=ConsentRecord.Channel.DEVICE, user_agent="demo kiosk"),
                    method=ConsentRecord.Method.GUARDIAN if guardian else ConsentRecord.Method.SEPARATE,
                    guardian=guardian,
                    at=now - dt.timedelta(days=days_ago),
                )

            consent = grant(system.purposes.exclude(code=Purpose.TRANSMISSION).get())
            if system.internet_transmission:
                grant(system.purposes.get(code=Purpose.TRANSMISSION))
            holding_record(
                actor=ACTOR,
                subject=subject,
                system=system,
                subject_key=f"S{system.pk}-{subject.pk:06d}",
                data_kind="both" if system.keeps_image else "template",
                consent=consent,
                enrolled_at=now - dt.timedelta(days=days_ago),
            )

        # The demo subject: three holdings at three sites.
        demo = subject_create(
            actor=ACTOR,
            name="王小明",
            date_of_birth=dt.date(1990, 5, 17),
            identifiers=[("email", "demo@example.com"), ("phone", "13800138000")],
        )
        for system, days_ago in zip(systems[:3], (3, 12, 40), strict=True):
            enrol(demo, system, days_ago=days_ago)

        adults = []
        for index in range(170):
            subject = subject_create(
                actor=ACTOR,
                name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                date_of_birth=dt.date(rng.randint(1955, 2005), rng.randint(1, 12), rng.randint(1, 28)),
                identifiers=[("phone", f"1390000{index:04d}")],
            )
            adults.append(subject)
            for system in rng.sample(systems[:4], rng.randint(1, 2)):
                enrol(subject, system, days_ago=rng.randint(1, 25))
            if index % 10 == 0:
                enrol(subject, systems[4], days_ago=rng.randint(1, 25))
        # Children under 14, with a verified parent who consented for them.
        for index in range(30):
            child = subject_create(
                actor=ACTOR,
                name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                date_of_birth=dt.date(rng.randint(2014, 2019), rng.randint(1, 12), rng.randint(1, 28)),
                identifiers=[("external", f"MEMBER-CHILD-{index:04d}")],
            )
            parent = adults[index]
            guardianship_record(actor=ACTOR, ward=child, guardian=parent, relationship="parent", verified=True)
            enrol(child, systems[0], guardian=parent, days_ago=rng.randint(1, 5))

        users = self._users()
        subject_link_user(actor=ACTOR, subject=demo, user=users["demo"])
        # The demo subject is also the verified parent of a child enrolled at the kiosk.
        child = subject_create(actor=ACTOR, name="王小宝", date_of_birth=dt.date(2017, 8, 8))
        guardianship_record(actor=ACTOR, ward=child, guardian=demo, relationship="parent", verified=True)
        enrol(child, systems[0], guardian=demo, days_ago=3)
        record_save(
            actor=ACTOR,
            instance=RegulatorAccount(user=users["regulator"], province="31", authority_name="上海市互联网信息办公室"),
        )
        # The front desk of the first hotel: the newcomer below (李华, 13700137000) can be served there.
        record_save(actor=ACTOR, instance=DeskClerk(user=users["desk"], entity=entity, site=sites[0]))
        request_submit(actor=ACTOR, subject=demo, type="access", received_at=now - dt.timedelta(days=2))
        # An overdue vendor: a deletion sent to the entrusted processor three weeks ago,
        # still unconfirmed. The sweeper escalates it as soon as `make run` starts.
        late = next(a for a in adults if a.holdings.filter(system=systems[4]).exists())
        deletion_request_open(
            actor=ACTOR,
            subject=late,
            trigger=DeletionRequest.Trigger.SUBJECT_REQUEST,
            systems=[systems[4]],
            at=now - dt.timedelta(days=21),
        )
        # Someone enrolled at a device who has no account yet: the code they were given links one.
        newcomer = subject_create(
            actor=ACTOR, name="李华", date_of_birth=dt.date(1992, 2, 2), identifiers=[("phone", "13700137000")]
        )
        enrol(newcomer, systems[1], days_ago=1)
        code = enrolment_code_issue(actor=ACTOR, subject=newcomer)
        self._large_entity(purposes["access-control"], now)
        self._drill(entity, systems)
        return {**self._simulator(systems), "demo": {"enrolment_code": code}}

    def _large_entity(self, purpose, now) -> None:
        """A property manager whose gates hold just over 100,000 people: its filing is due."""
        entity = record_save(
            actor=ACTOR,
            instance=LegalEntity(
                name_zh="申城物业服务有限公司",
                name_en="Shencheng Property Services Co., Ltd.",
                credit_code=LARGE_ENTITY_CODE,
                province="31",
                registered_address="上海市浦东新区世纪大道100号",
                legal_representative="周建国",
                industry="物业管理",
                dpo_name="吴敏",
                dpo_email="privacy@shencheng.example",
                dpo_phone="021-5555-0200",
                security_measures="人脸特征存储于门禁设备内并加密；管理平台访问控制与双因素认证；安全审计日志保存三年；入侵检测。",
                mlps_level="level_2",
                mlps_record_number="31011543002-25001",
                incident_plan_on=dt.date(2025, 5, 20),
                training_last_on=dt.date(2025, 9, 15),
                operating_procedures="《人脸信息处理规则》v1（2025-06-01）；《门禁系统运维规程》v3（2025-05-20）；《删除与保存期限规程》v2（2025-06-01）。",
            ),
        )
        site = record_save(
            actor=ACTOR,
            instance=Site(
                entity=entity, name_zh="世纪花园小区", address="上海市浦东新区世纪大道100号", is_public_place=False
            ),
        )
        gates = system_save(
            actor=ACTOR,
            system=ProcessingSystem(
                entity=entity,
                site=site,
                name_zh="小区门禁人脸识别系统",
                name_en="Residential gate face recognition",
                kind="device",
                integration="manual",
                recognition="identify",
                alternatives=["card", "qr_code", "staff_check"],
                retention_days=365,
                retention_justification_zh="住户迁出或撤回同意后立即删除；最长保存一年。",
                contact_email="gates@shencheng.example",
                cross_border=False,
                recognition_mode="real_time",
            ),
            purposes=[purpose],
        )
        legal_rep_id_record(actor=ACTOR, entity=entity, id_type="resident_id", number=DEMO_ID_NUMBER)
        record_save(
            actor=ACTOR,
            instance=DeviceGroup(system=gates, kind="gate", count=24, location="小区南、北大门及各楼栋单元门"),
        )
        assessment = record_save(
            actor=ACTOR,
            instance=ImpactAssessment(
                entity=entity,
                title="小区门禁人脸识别个人信息保护影响评估",
                lawfulness="门禁通行目的明确，取得住户单独同意，提供刷卡、二维码和人工核验替代方式。",
                impact="仅用于门禁通行，不用于其他目的；住户可随时改用非人脸方式。",
                risks="设备被盗或被入侵可能导致人脸特征泄露。",
                measures="设备端加密、访问控制、审计、入侵检测，措施与风险相称。",
                reviewer="吴敏",
            ),
        )
        assessment.systems.set([gates])
        impact_assessment_submit(actor=ACTOR, assessment=assessment)
        impact_assessment_approve(actor=ACTOR, assessment=assessment)
        notice = record_save(actor=ACTOR, instance=Notice(system=gates, **_notice_text(entity, gates)))
        notice_publish(actor=ACTOR, notice=notice)
        test = connection_test_start(actor=ACTOR, system=gates, activate_on_pass=True)
        confirm_by_link(
            token=confirmation_token(test.deletion_request.propagations.get()),
            outcome="not_found",
            reason="",
            performed_by="申城物业 信息部 陈工",
            performed_at=now,
        )
        # 100,050 residents, bulk-loaded: no identifiers, only what the count needs.
        holdings_load_pseudonymous(
            actor=ACTOR,
            system=gates,
            keys=[f"SC-{n:06d}" for n in range(100_050)],
            enrolled_at=now,
            retention_until=timezone.localdate(now) + dt.timedelta(days=365),
        )
        person_counts_take()  # the daily count: reaching 100,000 opens the filing obligation
        obligation = entity.filing_obligations.get()
        filing = filing_create(actor=ACTOR, entity=entity, kind=obligation.kind, obligation=obligation)
        filing_agent_set(
            actor=ACTOR,
            filing=filing,
            name="陈立",
            phone="13600136000",
            email="chenli@shencheng.example",
            id_type="passport",
            id_number="E98765432",
        )
        for kind, title in SAMPLE_ATTACHMENTS:
            filing_attach(
                actor=ACTOR, filing=filing, kind=kind, content=_sample_scan(title), content_type="application/pdf"
            )

    def _simulator(self, systems) -> dict:
        """Credentials for the simulated systems, and the enrolments each keeps on its side."""
        specs = []
        for index, system in enumerate(systems):
            keys = list(system.holdings.values_list("subject_key", flat=True))
            spec = {"system_id": system.pk, "name": system.name_en, "keys": keys}
            if system.integration == ProcessingSystem.Integration.PUSH:
                secret = credential_issue(actor=ACTOR, system=system, kind=SystemCredential.Kind.WEBHOOK_SECRET)
                spec.update(
                    kind="push",
                    port=SIMULATOR_PORT + index,
                    secret=secret,
                    mode="callback" if system.kind == "central" else "sync",
                )
            elif system.integration == ProcessingSystem.Integration.PULL:
                token = credential_issue(actor=ACTOR, system=system, kind=SystemCredential.Kind.DEVICE_TOKEN)
                spec.update(kind="pull", token=token, poll_seconds=3)
            else:
                continue  # the manual vendor is a person: its emails appear in the web server's console
            specs.append(spec)
        return {"portal": settings.FACERIGHTS_BASE_URL, "systems": specs}

    def _drill(self, entity: LegalEntity, systems: list[ProcessingSystem]) -> None:
        """Last spring's incident drill, closed: R27's evidence that the plan is practised."""
        discovered = timezone.now().replace(microsecond=0) - dt.timedelta(days=200)
        gates = next(s for s in systems if s.purposes.filter(code="access-control").exists())
        drill = incident_save(
            actor=ACTOR,
            incident=Incident(
                entity=entity,
                summary="演练：门禁服务器的人脸特征导出文件被发现存放在未加密的运维笔记本电脑上，该电脑丢失。",
                discovered_at=discovered,
                grade=Incident.Grade.MAJOR,
                data_kinds=[Incident.DataKind.TEMPLATES],
                cause="运维人员为排查故障导出特征库，未按规定加密。",
                measures="远程擦除该电脑；吊销其访问凭据；核查导出记录。",
                is_drill=True,
            ),
            systems=[gates],
            now=discovered + dt.timedelta(minutes=4),
        )
        incident_report_record(
            actor=ACTOR,
            incident=drill,
            reported_at=discovered + dt.timedelta(minutes=24),
            channel="演练：模拟拨打12387热线",
            now=discovered + dt.timedelta(minutes=25),
        )
        incident_close(
            actor=ACTOR,
            incident=drill,
            root_cause="导出流程未强制加密。",
            review="30分钟内完成报告；通知模板需补充儿童监护人的表述；导出工具已改为强制加密。",
            now=discovered + dt.timedelta(days=2),
        )

    def _users(self) -> dict:
        users = {}
        for username, email, role, _what in DEMO_LOGINS:
            user = user_create(
                actor=ACTOR,
                username=username,
                email=email,
                password=DEMO_PASSWORD,
                role=role,
                is_staff=role == Role.DPO,
                email_verified=True,
            )
            if role in (Role.DPO, Role.REGULATOR, Role.DESK):
                TOTP.activate(user, DEMO_TOTP_SECRET)  # staff, regulators and desks need a second factor
            users[username] = user
        return users


# The example number of the identity card standard (GB 11643): well formed, nobody's.
DEMO_ID_NUMBER = "11010519491231002X"


def _sample_scan(title: str) -> bytes:
    """A one-page stand-in for a scanned document (demo only)."""
    return html_to_pdf(
        f'<html lang="zh-CN"><body style="font-family: Noto Sans CJK SC"><h1>{title}</h1><p>演示用样本，非真实证件。</p></body></html>'
    )


def _notice_text(entity: LegalEntity, system: ProcessingSystem) -> dict:
    purpose = system.purposes.exclude(code=Purpose.TRANSMISSION).get()  # every demo system has one purpose
    stored_zh = {
        "device": "存储于识别设备内，不通过互联网传输",
        "server": "存储于本公司服务器",
        "cloud": "经互联网加密传输，由受托人存储于其云服务（传输需您单独同意）",
    }
    stored_en = {
        "device": "kept on the device, never sent over the internet",
        "server": "kept on our own servers",
        "cloud": "sent encrypted over the internet and kept by our entrusted processor in its cloud service "
        "(sending needs your separate consent)",
    }
    return {
        "handler_zh": f"{entity.name_zh}，个人信息保护负责人{entity.dpo_name}，{entity.dpo_email}，{entity.dpo_phone}",
        "handler_en": f"{entity.name_en}; data-protection officer {entity.dpo_name}, {entity.dpo_email}, {entity.dpo_phone}",
        "purpose_zh": purpose.name_zh,
        "purpose_en": purpose.name_en,
        "method_zh": f"{system.get_recognition_display()}；人脸特征{stored_zh[system.storage_location]}。",
        "method_en": f"Face templates are {stored_en[system.storage_location]}.",
        "retention_zh": f"{system.retention_days}天，到期自动删除。",
        "retention_en": f"{system.retention_days} days, then deleted automatically.",
        "necessity_zh": "用于快速、准确地核验身份；您可随时选择非人脸方式。",
        "necessity_en": "To verify identity quickly and accurately; you may choose a non-face method at any time.",
        "impact_zh": "人脸信息属于敏感个人信息，一旦泄露可能危害人身、财产安全；我们采取加密、访问控制等措施。",
        "impact_en": "Facial information is sensitive; a leak could harm your safety or property. We encrypt it and control access.",
        "rights_zh": "您可在本门户查阅、复制、撤回同意、删除，或联系个人信息保护负责人。",
        "rights_en": "Use this portal to see, copy, withdraw consent or delete, or contact our data-protection officer.",
        "alternatives_zh": (
            f"您可以不使用人脸，改用：{choices_text(Alternative, system.alternatives, 'zh')}。"
            if system.alternatives
            else "本系统不用于核验身份；凡需核验身份之处，您均可选择非人脸方式。"
        ),
        "alternatives_en": (
            f"Instead of your face you may use: {choices_text(Alternative, system.alternatives, 'en')}."
            if system.alternatives
            else "This system verifies no one; wherever we verify identity you may choose a non-face method."
        ),
    }
