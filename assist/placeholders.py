"""Stand-ins for contact details and excluded people in text sent to the AI.

`Placeholders.mask` replaces every email address and phone number (and any
value registered with `hide`, such as the name of a person who withdrew
consent) by a token like `[EMAIL_1]`; `restore` puts the originals back into
the answer. The table lives in memory for one request only.
"""

import re

EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# Candidates only: a run of digits with the separators phone numbers use.
PHONE = re.compile(r"(?<![\w+])\+?\(?\d[\d\s().\-/]{5,}\d(?!\w)")
DATE_LIKE = re.compile(
    r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{4}$"
)
TOKEN = re.compile(r"\[(EMAIL|PHONE|PERSON)_(\d+)\]")
MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15


def _is_phone(candidate: str) -> bool:
    digits = sum(char.isdigit() for char in candidate)
    if not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
        return False
    return not DATE_LIKE.match(candidate.strip())


class Placeholders:
    def __init__(self):
        self._token_of: dict[tuple[str, str], str] = {}
        self._value_of: dict[str, str] = {}
        self._hidden: list[tuple[str, str]] = []

    def _token(self, kind: str, value: str) -> str:
        key = (kind, value.casefold())
        if key not in self._token_of:
            count = sum(1 for known_kind, _ in self._token_of if known_kind == kind)
            token = f"[{kind}_{count + 1}]"
            self._token_of[key] = token
            self._value_of[token] = value
        return self._token_of[key]

    def hide(self, value: str, *, kind: str) -> None:
        """Always replace `value` (case-insensitively), even where no pattern
        would find it: a record's own phone number, an excluded person's name."""
        value = value.strip()
        if len(value) >= 2:
            self._hidden.append((kind, value))

    def mask(self, text: str) -> str:
        # Longest first, so "Ann Lee" is hidden before "Ann".
        for kind, value in sorted(self._hidden, key=lambda item: -len(item[1])):
            pattern = re.compile(re.escape(value), re.IGNORECASE)
            text = pattern.sub(lambda _m, k=kind, v=value: self._token(k, v), text)
        text = EMAIL.sub(lambda match: self._token("EMAIL", match.group()), text)
        return PHONE.sub(self._phone, text)

    def _phone(self, match: re.Match) -> str:
        candidate = match.group()
        # Keep trailing spaces the pattern took outside the token.
        stripped = candidate.rstrip()
        if not _is_phone(stripped):
            return candidate
        return self._token("PHONE", stripped) + candidate[len(stripped) :]

    def restore(self, text: str) -> str:
        return TOKEN.sub(
            lambda match: self._value_of.get(match.group(), match.group()), text
        )
