from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = _("Consent")

    def ready(self) -> None:
        # Imported here, once the app registry is ready: models cannot load before it.
        from facerights import keys

        from .linking import _proof_aad, _scan_aad
        from .models import DataSubject, DeceasedRepresentation, IdentityCheck

        # Rewrapping the data key rotates the identifiers and the name it encrypts.
        keys.register(DataSubject, "wrapped_key", kind=keys.WRAPPED_KEY)
        keys.register(IdentityCheck, "scan_ciphertext", kind=keys.BLOB, aad=_scan_aad)
        # As identity_check_submit writes it; a drift would be reported by rotate_keys, never written.
        keys.register(IdentityCheck, "note_ciphertext", kind=keys.BLOB, aad=lambda check: _scan_aad(check) + b":note")
        # As deceased_claim_submit writes them.
        keys.register(DeceasedRepresentation, "proof_ciphertext", kind=keys.BLOB, aad=_proof_aad)
        keys.register(
            DeceasedRepresentation, "note_ciphertext", kind=keys.BLOB, aad=lambda claim: _proof_aad(claim) + b":note"
        )
