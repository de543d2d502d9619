"""The password policy: what a password chosen on a page (invitation, change, reset) must be.

At least ``MIN_LENGTH`` characters, at most ``MAX_LENGTH``; not one of the common passwords in
backend/domain/common_passwords.py, also once its leading and trailing digits and symbols are
taken off ("Password2024!" is "password"); not one character repeated; not the account's own
address or name. Hashing is backend/security.py's (werkzeug's scrypt).
"""
from __future__ import annotations

import re

from .common_passwords import WORDS

MIN_LENGTH = 10
# Long enough for any passphrase; short enough that hashing it costs nothing extra.
MAX_LENGTH = 256
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """What is wrong with ``password``, in a sentence that says what to do; None when it is fine."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return (f"The password needs at least {MIN_LENGTH} characters (it has {len(password)}). "
                "A few unrelated words make a long password that is easy to remember.")
    if len(password) > MAX_LENGTH:
        return f"The password can have at most {MAX_LENGTH} characters."
    if "\x00" in password:
        return "The password cannot contain a NUL character."
    lowered = password.lower()
    if len(set(lowered)) == 1:
        return "The password is one character repeated. Choose a password that is hard to guess."
    core = _EDGES.sub("", lowered)
    if not core:
        return "A password of only digits and symbols is quick to guess. Add a few words."
    if lowered in WORDS or core in WORDS:
        return ("That password is on the list of the most common passwords, which attackers try "
                "first. Choose another one.")
    email = (email or "").strip().lower()
    local = email.partition("@")[0]
    if email and (lowered == email or (len(local) >= 4 and core == local)):
        return "The password cannot be your email address. Choose another one."
    if name and core and core == re.sub(r"\W", "", name.lower()):
        return "The password cannot be your name. Choose another one."
    return None
