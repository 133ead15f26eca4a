"""schemathesis hooks for cli/tests/schemathesis.rs (loaded through SCHEMATHESIS_HOOKS).

An OCSP request body (RFC 6960 Appendix A.1) is DER bytes under its own media type:
sent as schemathesis sends application/octet-stream. ACME's application/jose+json bodies
(RFC 8555 §6.2) need no alias: schemathesis serializes every +json type as JSON.
"""

import schemathesis

schemathesis.serializer.alias("application/ocsp-request", "application/octet-stream")
