from django.core.management.base import BaseCommand, CommandError

from facerights import crypto
from facerights.keys import keys_rotate, keys_status


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Re-encrypt every value under FIELD_ENCRYPTION_KEY, in batches; run again to resume. "
        "--status shows how many rows each key still holds (docs/keys.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=_positive, default=500, help="Rows per transaction (default 500).")
        parser.add_argument(
            "--max-batches", type=_positive, default=None, help="Stop after this many batches (an off-peak window)."
        )
        parser.add_argument("--status", action="store_true", help="Only count rows per key; change nothing.")

    def handle(self, *args, batch_size: int, max_batches: int | None, status: bool, **options):
        if status:
            self._status()
            return
        self.stdout.write(f"Re-encrypting under the current key {crypto.current_key_id()}, {batch_size} rows a batch.")
        try:
            result = keys_rotate(
                actor="command:rotate_keys", batch_size=batch_size, max_batches=max_batches, progress=self._progress
            )
        except (Exception, KeyboardInterrupt) as exc:
            for note in getattr(exc, "__notes__", []):
                self.stderr.write(note)
            raise CommandError(
                f"Stopped by {type(exc).__name__} (--traceback for details). Run rotate_keys again to resume."
            ) from exc
        for label, count in result.reencrypted.items():
            self.stdout.write(f"{label}: {count} re-encrypted")
        for error in result.errors:
            self.stderr.write(f"CANNOT OPEN {error.label} pk={error.pk}: {error.reason}")
        if not result.complete:
            self.stdout.write(f"Stopped after {result.batches} batches (--max-batches). Run again to continue.")
        if result.errors:
            raise CommandError(
                f"{len(result.errors)} value(s) could not be opened by any configured key and were left as they are."
            )
        if result.complete:
            self.stdout.write(self.style.SUCCESS("Done. Check with --status before removing an old key."))

    def _progress(self, label: str, count: int, last_pk) -> None:
        self.stdout.write(f"{label}: {count} re-encrypted, up to pk {last_pk}")

    def _status(self) -> None:
        configured = crypto.key_ids()
        current = configured[0]

        def name(key_id: str) -> str:
            if key_id in configured:
                return f"old key {key_id} (FIELD_ENCRYPTION_OLD_KEYS #{configured.index(key_id)})"
            return f"unknown key {key_id} (not configured: no key opens these)"

        left = 0
        for found in keys_status():
            others = found.under_others()
            left += sum(others.values())
            self.stdout.write(f"{found.label}: {found.under_current()} under the current key {current}")
            for key_id, count in others.items():
                self.stdout.write(f"    {count} under {name(key_id)}")
        if left:
            self.stdout.write(f"{left} row(s) are not under the current key yet: run rotate_keys.")
        else:
            self.stdout.write(
                self.style.SUCCESS("Nothing is left under an old key: FIELD_ENCRYPTION_OLD_KEYS can be emptied.")
            )
