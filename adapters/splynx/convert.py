"""Reading Splynx's string-valued fields: "1" → 1, "" and "0000-00-00" → None, "12.50" → Decimal.

Every failure names the record kind, its id and the field, so a bad record can be set aside
with a precise reason instead of being stored half-read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.splynx.errors import SplynxDataError

_ZERO_DATES = frozenset({"0000-00-00", "0000-00-00 00:00:00", "0000-00-00T00:00:00"})


def _id(value: object) -> object:
    # The id as a number where it is one, so errors and logs match the sync layer's keys.
    try:
        return int(str(value))
    except ValueError:
        return value


class Reader:
    """Reads one raw record's fields, raising errors that say which record and field failed."""

    def __init__(
        self,
        kind: str,
        raw: Any,
        *,
        record_id: object = None,
        prefix: str = "",
        record: object = None,
    ) -> None:
        # `record` is the whole record when this reader reads a part of it (an invoice item).
        self.record = raw if record is None else record
        if not isinstance(raw, Mapping):
            raise SplynxDataError(
                f"{kind} {record_id}: expected a JSON object at {prefix or 'top level'},"
                f" got {type(raw).__name__}",
                kind=kind,
                record_id=record_id,
                field=prefix.rstrip(".") or None,
                raw=self.record,
            )
        self.kind = kind
        self.raw: dict[str, Any] = dict(raw)
        self.record_id: object = record_id if record_id is not None else _id(self.raw.get("id"))
        self.prefix = prefix

    def fail(self, name: str, value: object, why: str) -> SplynxDataError:
        name = self.prefix + name
        return SplynxDataError(
            f"{self.kind} {self.record_id}: field {name!r} has unreadable value {value!r} ({why})",
            kind=self.kind,
            record_id=self.record_id,
            field=name,
            value=value,
            raw=self.record,
        )

    def _blank(self, value: object) -> bool:
        return value is None or (isinstance(value, str) and value.strip() == "")

    def text(self, name: str) -> str:
        value = self.raw.get(name)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(name, value, "expected text")
        return str(value)

    def optional_text(self, name: str) -> str | None:
        value = self.text(name).strip()
        return value or None

    def optional_int(self, name: str) -> int | None:
        value = self.raw.get(name)
        if self._blank(value):
            return None
        if isinstance(value, bool):
            raise self.fail(name, value, "expected an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise self.fail(name, value, "expected an integer")

    def integer(self, name: str) -> int:
        value = self.optional_int(name)
        if value is None:
            raise self.fail(name, self.raw.get(name), "required")
        return value

    def reference(self, name: str) -> int | None:
        """A foreign key: Splynx writes 0 (or "") where there is none."""
        value = self.optional_int(name)
        return value or None

    def optional_decimal(self, name: str) -> Decimal | None:
        value = self.raw.get(name)
        if self._blank(value):
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(name, value, "expected a number")
        try:
            # Through str(): a float would otherwise carry its binary error into the Decimal.
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.fail(name, value, "expected a number") from None
        if not result.is_finite():
            raise self.fail(name, value, "expected a finite number")
        return result

    def decimal(self, name: str) -> Decimal:
        value = self.optional_decimal(name)
        return Decimal("0") if value is None else value

    def flag(self, name: str) -> bool:
        value = self.raw.get(name)
        if self._blank(value):
            return False
        if isinstance(value, bool):
            return value
        normalized = str(value).strip().lower()
        if normalized in {"1", "true", "yes"}:
            return True
        if normalized in {"0", "false", "no"}:
            return False
        raise self.fail(name, value, "expected 0 or 1")

    def optional_date(self, name: str) -> date | None:
        value = self.raw.get(name)
        if self._blank(value) or (isinstance(value, str) and value.strip() in _ZERO_DATES):
            return None
        if not isinstance(value, str):
            raise self.fail(name, value, "expected YYYY-MM-DD")
        try:
            # A datetime where a date is expected still names the day unambiguously.
            return date.fromisoformat(value.strip()[:10])
        except ValueError as exc:
            raise self.fail(name, value, str(exc)) from None

    def optional_datetime(self, name: str) -> datetime | None:
        value = self.raw.get(name)
        if self._blank(value) or (isinstance(value, str) and value.strip() in _ZERO_DATES):
            return None
        if not isinstance(value, str):
            raise self.fail(name, value, "expected YYYY-MM-DD HH:MM:SS")
        try:
            # Naive on purpose: Splynx writes its server's local time with no zone, and the
            # same naive string is what its filters compare against.
            return datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise self.fail(name, value, str(exc)) from None

    def emails(self, name: str) -> list[str]:
        seen: list[str] = []
        for part in self.text(name).split(","):
            address = part.strip().lower()
            if address and address not in seen:
                seen.append(address)
        return seen

    def phones(self, name: str) -> list[str]:
        # Left as typed: normalizing to E.164 needs the ISP's country, which the sync layer knows.
        return [part.strip() for part in self.text(name).split(",") if part.strip()]

    def labels(self, name: str) -> list[str]:
        value = self.raw.get(name)
        if self._blank(value):
            return []
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list):
            raise self.fail(name, value, "expected a list of labels")
        labels: list[str] = []
        for item in value:
            if isinstance(item, str | int):
                labels.append(str(item))
            elif isinstance(item, Mapping):
                title = item.get("label") or item.get("title") or item.get("name")
                if not isinstance(title, str):
                    raise self.fail(name, value, "label object without a label/title/name")
                labels.append(title)
            else:
                raise self.fail(name, value, "expected a list of labels")
        return labels

    def objects(self, name: str) -> list[dict[str, Any]]:
        value = self.raw.get(name)
        if self._blank(value):
            return []
        if isinstance(value, Mapping):
            # PHP serializes a list with non-sequential keys as an object.
            value = list(value.values())
        if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
            raise self.fail(name, value, "expected a list of objects")
        return [dict(item) for item in value]
