"""Where a consent act came from, as evidence: the network's prefix and the browser, never the full address."""

from consent.models import ConsentRecord
from consent.rules import ip_prefix
from consent.services import Provenance
from facerights import ratelimit


def request_provenance(request, channel: str = ConsentRecord.Channel.PORTAL) -> Provenance:
    """The client's network as the configured proxies saw it (the same address the rate limits count)."""
    return Provenance(
        channel=channel,
        ip_prefix=ip_prefix(ratelimit.client_address(request)),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
    )
