"""Check characters of ID numbers and credit codes: the STANDARDS.md test vectors and the vectorised forms."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from citybrain.standards.identifiers import (
    credit_code_check_char,
    credit_code_check_chars_array,
    id_number_birth_date,
    id_number_check_char,
    id_number_check_chars_array,
    id_number_sex,
    is_valid_credit_code,
    is_valid_id_number,
    normalise_id_number,
    org_code_check_char,
)

pytestmark = pytest.mark.unit
TODAY = dt.date(2026, 11, 1)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("11010519491231002X", True),  # STANDARDS valid vector, check char X
        ("440524188001010014", True),  # STANDARDS valid vector, born 1880
        ("330106199003071236", True),  # STANDARDS valid vector
        ("11010519491231002x", True),  # lower-case x is accepted
        ("11010519491231003X", False),  # STANDARDS: wrong check digit
        ("110105194902300021", False),  # STANDARDS: 1949-02-30 is no date
        ("11010520991231002X", False),  # born in the future
        ("1101051949123100", False),  # too short
        (None, False),  # missing
    ],
)
def test_id_number_vectors(value, valid):
    assert is_valid_id_number(value, today=TODAY) is valid


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("91110000600037341L", True),  # STANDARDS valid vector
        ("91350100M000100Y43", True),  # STANDARDS valid vector with letters in the body
        ("91110000600073341L", False),  # STANDARDS: two digits swapped
        ("91110000600037341I", False),  # STANDARDS: I is not in the alphabet
        ("91110000600037341", False),  # 17 characters
    ],
)
def test_credit_code_vectors(value, valid):
    assert is_valid_credit_code(value) is valid


def test_check_chars_of_the_vectors():
    assert id_number_check_char("11010519491231002") == "X"
    assert id_number_check_char("44052418800101001") == "4"
    assert credit_code_check_char("91110000600037341") == "L"
    assert credit_code_check_char("91350100M000100Y4") == "3"
    # the organisation code inside 91110000600037341L is 60003734-1 (GB 11714)
    assert org_code_check_char("60003734") == "1"


def test_vectorised_check_chars_agree_with_scalar():
    rng = np.random.default_rng(1)
    bodies = np.asarray(["".join(map(str, rng.integers(0, 10, 17))) for _ in range(500)])
    expect = [id_number_check_char(b) for b in bodies]
    assert id_number_check_chars_array(bodies).astype("U1").tolist() == expect
    alphabet = list("0123456789ABCDEFGHJKLMNPQRTUWXY")
    cc = np.asarray(["".join(rng.choice(alphabet, 17)) for _ in range(500)])
    assert credit_code_check_chars_array(cc).astype("U1").tolist() == [credit_code_check_char(b) for b in cc]


def test_id_number_fields_and_old_numbers():
    assert id_number_birth_date("11010519491231002X") == dt.date(1949, 12, 31)
    assert id_number_sex("11010519491231002X") == 2  # 17th digit 2: female
    assert id_number_sex("330106199003071236") == 1  # 17th digit 3: male
    converted = normalise_id_number("110105491231002")  # 15-digit number of 1949-12-31
    assert converted == "11010519491231002X"
    assert is_valid_id_number(converted, today=TODAY)


def test_scalar_functions_reject_bad_bodies():
    with pytest.raises(ValueError, match="17 digits"):
        id_number_check_char("1101051949123100A")
    with pytest.raises(ValueError, match="credit code body"):
        credit_code_check_char("9111000060003734I")
