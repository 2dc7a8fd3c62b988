"""The portal's views: thin, one action per URL; each object view checks who may see it."""

from .account import (  # noqa: F401
    consent_give,
    consent_history,
    consents_withdraw_all,
    copy_download,
    copy_request,
    copy_status,
    identity_check,
    link,
    request_detail,
    request_new,
    requests_list,
)
from .capture import consent_session_guardian, consent_session_page  # noqa: F401
from .closing import account_close_view  # noqa: F401
from .complaint import complaint  # noqa: F401
from .dashboard import dashboard  # noqa: F401
from .deceased import deceased_claims, deceased_request  # noqa: F401
from .deletions import (  # noqa: F401
    consent_notice,
    consent_withdraw,
    consent_withdraw_confirm,
    deletion_certificate,
    deletion_status,
    deletion_status_json,
    home,
    processing_rules,
    vendor_confirm,
    vendor_digest,
    vendor_digest_keys,
)
from .lookup import lookup  # noqa: F401
from .notices import announcements, my_notices, notice_page  # noqa: F401
from .public import children_rules, contact, privacy, verify, verify_keys  # noqa: F401
from .receipts import (  # noqa: F401
    consent_receipt_download,
    consent_session_receipt,
    consent_session_receipt_send,
    receipt_link,
    receipt_link_download,
)
from .regulator import (  # noqa: F401
    regulator_acknowledge,
    regulator_attachment,
    regulator_document,
    regulator_evidence,
    regulator_filing,
    regulator_home,
    regulator_pack,
)
