"""The unified social credit code (统一社会信用代码) of GB 32100-2015.

Eighteen characters from a 31-character alphabet (the digits and the capital letters
without I, O, S, V and Z, which are easily misread): a registration-authority code, an
organisation-type code, a six-digit administrative division, the nine-character
organisation code, and a check character. Each of the first seventeen characters has
the value of its place in the alphabet; with weights ``3^(i-1) mod 31`` (i = 1…17) the
check character's value is ``31 - (Σ value × weight) mod 31``, where 31 stands for 0.
"""

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18
PATTERN = r"^[0-9A-HJ-NPQRTUW-Y]{18}$"


def check_character(first17: str) -> str:
    """The check character GB 32100-2015 gives the first seventeen characters of a code."""
    if len(first17) != LENGTH - 1 or any(c not in VALUE for c in first17):
        raise ValueError(f"must be {LENGTH - 1} characters of {ALPHABET}")
    total = sum(VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """What is wrong with ``code`` as a unified social credit code; None when it is valid."""
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters (统一社会信用代码)"
    bad = sorted({c for c in code if c not in VALUE})
    if bad:
        return f"may use only 0-9 and the capital letters but I, O, S, V, Z (not {''.join(bad)})"
    expected = check_character(code[:-1])
    if code[-1] != expected:
        return f"check character (the 18th) is {code[-1]}, GB 32100-2015 gives {expected}"
    return None
