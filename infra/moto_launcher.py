"""Run a moto server for Trustplane's AWS adapter tests, with KMS digest signing fixed.

moto 5.2.5 ignores Sign's ``MessageType``: a ``DIGEST`` message is hashed again before
signing, so the signature only verifies inside moto. Real KMS signs the digest as given
(https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html#KMS-Sign-request-MessageType).
This launcher marks ``DIGEST`` messages and signs/verifies them with cryptography's
``Prehashed``, then serves every moto service on one port until SIGTERM or SIGINT.

Usage: python infra/moto_launcher.py --port 5055 [--host 127.0.0.1] [--verbose]
"""

import argparse
import logging
import signal
import threading

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from moto.kms import utils as kms_utils
from moto.kms.exceptions import ValidationException
from moto.core.exceptions import JsonRESTError
from moto.kms.models import KmsBackend
from moto.kms.responses import KmsResponse
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


class Digest(bytes):
    """A Sign/Verify ``Message`` sent with ``MessageType=DIGEST``: already hashed."""


def _prehashed(hash_algorithm, message):
    if len(message) != hash_algorithm.digest_size:
        raise ValidationException(
            f"Digest is invalid length for algorithm {hash_algorithm.name.upper()}."
        )
    return Prehashed(hash_algorithm)


def _patch_kms():
    """Routes DIGEST messages to Prehashed signing and verification; RAW is untouched."""
    get_param = KmsResponse._get_param

    def _get_param_marking_digest(self, name, if_none=None):
        value = get_param(self, name, if_none)
        if name == "Message" and value and get_param(self, "MessageType") == "DIGEST":
            return Digest(value)
        return value

    KmsResponse._get_param = _get_param_marking_digest

    rsa_key, ec_key = kms_utils.RSAPrivateKey, kms_utils.ECDSAPrivateKey
    rsa_sign, rsa_verify = rsa_key.sign, rsa_key.verify
    ec_sign, ec_verify = ec_key.sign, ec_key.verify

    def rsa_sign_digest(self, message, signing_algorithm):
        if not isinstance(message, Digest):
            return rsa_sign(self, message, signing_algorithm)
        kms_utils.validate_signing_algorithm(
            signing_algorithm, kms_utils.SigningAlgorithm.rsa_signing_algorithms()
        )
        pad, algo = self._RSAPrivateKey__padding_and_hash_algorithm(signing_algorithm)
        return self.private_key.sign(bytes(message), pad, _prehashed(algo, message))

    def rsa_verify_digest(self, message, signature, signing_algorithm):
        if not isinstance(message, Digest):
            return rsa_verify(self, message, signature, signing_algorithm)
        pad, algo = self._RSAPrivateKey__padding_and_hash_algorithm(signing_algorithm)
        try:
            self.private_key.public_key().verify(
                signature, bytes(message), pad, _prehashed(algo, message)
            )
            return True
        except InvalidSignature:
            return False

    def ec_sign_digest(self, message, signing_algorithm):
        if not isinstance(message, Digest):
            return ec_sign(self, message, signing_algorithm)
        kms_utils.validate_signing_algorithm(signing_algorithm, self.valid_signing_algorithms)
        algo = self._ECDSAPrivateKey__hash_algorithm(signing_algorithm)
        return self.private_key.sign(bytes(message), ec.ECDSA(_prehashed(algo, message)))

    def ec_verify_digest(self, message, signature, signing_algorithm):
        if not isinstance(message, Digest):
            return ec_verify(self, message, signature, signing_algorithm)
        algo = self._ECDSAPrivateKey__hash_algorithm(signing_algorithm)
        try:
            self.private_key.public_key().verify(
                signature, bytes(message), ec.ECDSA(_prehashed(algo, message))
            )
            return True
        except InvalidSignature:
            return False

    rsa_key.sign, rsa_key.verify = rsa_sign_digest, rsa_verify_digest
    ec_key.sign, ec_key.verify = ec_sign_digest, ec_verify_digest


class DisabledException(JsonRESTError):
    """KMS's answer for a disabled key (HTTP 400)."""

    def __init__(self, arn):
        super().__init__("DisabledException", f"{arn} is disabled.")


class KMSInvalidStateException(JsonRESTError):
    """KMS's answer for a key in a state that cannot be used, e.g. pending deletion (HTTP 400)."""

    def __init__(self, arn, state):
        super().__init__("KMSInvalidStateException", f"{arn} is {_STATE_WORDS.get(state, state)}.")


_STATE_WORDS = {"PendingDeletion": "pending deletion", "PendingImport": "pending import", "Unavailable": "unavailable"}


def _patch_key_state():
    """Sign, Verify and GetPublicKey refuse a key that is not Enabled, as KMS does, and key
    state changes accept a key ARN, as KMS does.

    moto 5.2.5 signs with disabled keys and keys pending deletion; real KMS answers
    DisabledException / KMSInvalidStateException
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html).
    """

    def usable(backend, key_id):
        key = backend.describe_key(key_id)
        if key.key_state == "Disabled":
            raise DisabledException(key.arn)
        if key.key_state != "Enabled":
            raise KMSInvalidStateException(key.arn, key.key_state)

    def checked(operation):
        def run(self, key_id, *args, **kwargs):
            usable(self, key_id)
            return operation(self, key_id, *args, **kwargs)

        return run

    def by_key_id(operation):
        def run(self, key_id, *args, **kwargs):
            return operation(self, self.any_id_to_key_id(key_id), *args, **kwargs)

        return run

    # KMS takes a key ARN wherever it takes a key id; moto 5.2.5 fails these with a KeyError.
    for name in ("disable_key", "enable_key", "schedule_key_deletion", "cancel_key_deletion"):
        setattr(KmsBackend, name, by_key_id(getattr(KmsBackend, name)))
    KmsBackend.sign = checked(KmsBackend.sign)
    KmsBackend.verify = checked(KmsBackend.verify)
    KmsBackend.get_public_key = checked(KmsBackend.get_public_key)


def _patch_s3_conditional_puts():
    """Conditional PutObject (If-Match / If-None-Match) is atomic, as on S3.

    moto 5.2.5 checks the condition and then writes without a lock, so two concurrent
    conditional puts can both pass; one lock around the whole PutObject makes the
    compare-and-swap the CRL publisher relies on hold here as it does on AWS.
    """
    from moto.s3.responses import S3Response

    lock = threading.Lock()
    original = S3Response.put_object

    def put_object(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    S3Response.put_object = put_object


def _patch_dynamodb_transactions():
    """TransactWriteItems is atomic and isolated, as on DynamoDB.

    moto 5.2.5 applies a transaction's writes one by one and, when a condition fails,
    restores a copy of the tables taken when it began, without a lock: a concurrent write
    committed meanwhile is undone, and a concurrent transaction can copy (and later restore)
    another's half-applied writes. One re-entrant lock around the DynamoDB backend's reads
    and writes serialises them, as a hot item (a counter) written by many transactions needs.
    """
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()

    def locked(operation):
        def run(self, *args, **kwargs):
            with lock:
                return operation(self, *args, **kwargs)

        return run

    for name in ("transact_write_items", "put_item", "update_item", "delete_item", "get_item", "query", "scan", "batch_write_item"):
        if hasattr(DynamoDBBackend, name):
            setattr(DynamoDBBackend, name, locked(getattr(DynamoDBBackend, name)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args()
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    _patch_kms()
    _patch_key_state()
    _patch_s3_conditional_puts()
    _patch_dynamodb_transactions()
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"moto ready on http://{args.host}:{args.port}", flush=True)
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
