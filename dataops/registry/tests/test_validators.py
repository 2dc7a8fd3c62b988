"""The unified social credit code check."""

import pytest
from django.core.exceptions import ValidationError

from dataops.registry.validators import validate_credit_code

# Codes of real companies, as printed on their business licences.
REAL_CODES = [
    "9144030071526726XG",  # Shenzhen Tencent Computer Systems Co., Ltd.
    "91330100716105852F",  # Alibaba (China) Co., Ltd.
    "914403001922038216",  # Huawei Technologies Co., Ltd.
    "91110000100010433L",
    "911100007109250324",
    "91310000607216596U",
    "91440300708461136T",
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_pass(code):
    validate_credit_code(code)


@pytest.mark.parametrize("code", REAL_CODES)
def test_changing_any_single_character_is_caught(code):
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for position in range(18):
        original = code[position]
        replacement = charset[(charset.index(original) + 1) % len(charset)]
        changed = code[:position] + replacement + code[position + 1 :]
        with pytest.raises(ValidationError):
            validate_credit_code(changed)


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("9144030071526726X", "18 characters"),
        ("9144030071526726XGG", "18 characters"),
        ("9144030071526726IG", "cannot contain I"),
        ("91AB030071526726XG", "region code"),
        ("9144030071526726XH", "check character"),
    ],
)
def test_a_wrong_code_gets_a_clear_message(code, fragment):
    with pytest.raises(ValidationError) as info:
        validate_credit_code(code)
    assert fragment in " ".join(info.value.messages)
