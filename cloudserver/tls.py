# -*- test-case-name: tests.unit.test_tls -*-
"""TLS for every listener and client of the process, from config.json's
``certFilePaths``.

One place decides how this server speaks TLS, so the S3 port (:8000) and
the metadata and data daemons (:9990, :9991) and their clients agree:

- ``server_options(paths)`` loads and checks the key, the certificate and
  the CA chain once, at start-up, and raises ``TLSConfigError`` naming the
  file that is missing, unreadable or wrong.  TLS 1.2 and 1.3 only; for 1.2
  only forward-secret AEAD suites (ECDHE with AES-GCM or ChaCha20-Poly1305;
  1.3's suites are all of that kind).  The certificates of the ``ca`` file
  are sent after the server's own, as Node.js (upstream) does, so a client
  that trusts only the root CA can build the chain.
- ``server_endpoint`` / ``server_service`` listen on TCP or, given options,
  TLS; they replace a ``strports`` description because strports' ``ssl:``
  parser has no way to say "TLS 1.2 minimum" or to pass a chain file.
- ``client_options`` / ``client_endpoint`` / ``https_policy`` are the client
  side (the dmd clients in ``--mode s3``, treq): they verify the server's
  certificate against the configured CA (``metadataClient.ca`` /
  ``dataClient.ca``, default ``certFilePaths.ca``) or, without one, the
  platform's trust store, and check the host name.
"""
from __future__ import annotations

from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from OpenSSL import crypto
from twisted.application.internet import StreamServerEndpointService
from twisted.internet import ssl
from twisted.internet.endpoints import (
    SSL4ServerEndpoint,
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    wrapClientTLS,
)
from twisted.web.client import BrowserLikePolicyForHTTPS
from twisted.web.iweb import IPolicyForHTTPS
from zope.interface import implementer

from cloudserver.web.drain import ConnectionDrain, DrainingServerService
from cloudserver.web.limits import LISTEN_BACKLOG

#: TLS 1.2 suites: forward secrecy (ECDHE) and AEAD only.  TLS 1.3's suites
#: are configured apart by OpenSSL and are all acceptable.
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!MD5:!SHA1:!DSS"
MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


class TLSConfigError(Exception):
    """TLS cannot be set up; the message names the file and what is wrong."""


class CertPaths(Protocol):
    """What ``server_options`` needs: config.CertFilePaths has these."""

    key: str
    cert: str
    ca: str | None


# -- loading files ---------------------------------------------------------

def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise TLSConfigError(f"cannot read {what} {path}: {e.strerror}") from None


def load_key(path: str, what: str = "certFilePaths.key"):
    """The private key in PEM file ``path`` (RSA or EC, not encrypted)."""
    data = _read(path, what)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise TLSConfigError(f"{what} {path} is encrypted; give an unencrypted key") from None
    except ValueError:
        raise TLSConfigError(f"{what} {path} holds no PEM private key") from None
    return key


def load_certs(path: str, what: str) -> list[x509.Certificate]:
    """Every certificate of PEM file ``path`` (at least one)."""
    data = _read(path, what)
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        certs = []
    if not certs:
        raise TLSConfigError(f"{what} {path} holds no PEM certificate")
    return certs


def _pyopenssl_cert(cert: x509.Certificate) -> crypto.X509:
    return crypto.X509.from_cryptography(cert)


# -- server side -----------------------------------------------------------

def server_options(paths: CertPaths, field: str = "certFilePaths") -> ssl.CertificateOptions:
    """Context factory for a TLS listener; every file checked now, not at the
    first handshake, so a bad file stops start-up with its name.  ``field``:
    the config.json section the paths came from, for the messages (a dmd
    port's own ``metadataDaemon.https`` ...)."""
    key = load_key(paths.key, f"{field}.key")
    chain = load_certs(paths.cert, f"{field}.cert")
    leaf, extra = chain[0], chain[1:]
    if paths.ca:
        leaf_der = leaf.public_bytes(serialization.Encoding.DER)
        for ca in load_certs(paths.ca, f"{field}.ca"):
            if ca.public_bytes(serialization.Encoding.DER) != leaf_der and ca not in extra:
                extra.append(ca)
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if leaf.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise TLSConfigError(f"{field}.key {paths.key} does not belong to the "
                             f"certificate in {field}.cert {paths.cert}")
    options = ssl.CertificateOptions(
        privateKey=crypto.PKey.from_cryptography_key(key),
        certificate=_pyopenssl_cert(leaf),
        extraCertChain=[_pyopenssl_cert(c) for c in extra],
        raiseMinimumTo=MINIMUM_VERSION,
        acceptableCiphers=ssl.AcceptableCiphers.fromOpenSSLCipherString(CIPHERS),
    )
    try:
        options.getContext()  # builds the context: OpenSSL's own checks run here
    except Exception as e:  # OpenSSL.SSL.Error has no useful str of its own
        raise TLSConfigError(f"{field} {paths.cert} / {paths.key}: OpenSSL refused "
                             f"them: {e!r}") from None
    return options


def server_endpoint(reactor, port: int, *, interface: str = "",
                    tls: ssl.CertificateOptions | None = None,
                    backlog: int = LISTEN_BACKLOG):
    """A TCP or (with ``tls``) TLS server endpoint on ``interface:port``,
    queueing up to ``backlog`` connections not yet accepted (config.json
    ``limits.backlog``)."""
    if tls is None:
        return TCP4ServerEndpoint(reactor, port, backlog=backlog, interface=interface)
    return SSL4ServerEndpoint(reactor, port, tls, backlog=backlog, interface=interface)


def server_service(reactor, port: int, factory, *, interface: str = "",
                   tls: ssl.CertificateOptions | None = None,
                   drain: ConnectionDrain | None = None,
                   drain_timeout: float = 30.0,
                   backlog: int = LISTEN_BACKLOG) -> StreamServerEndpointService:
    """A service listening with ``factory`` (what ``strports.service`` returns);
    with a ``drain``, its stop waits for the connections to end (web/drain.py)."""
    endpoint = server_endpoint(reactor, port, interface=interface, tls=tls, backlog=backlog)
    if drain is None:
        service = StreamServerEndpointService(endpoint, factory)
    else:
        service = DrainingServerService(endpoint, factory, drain, drain_timeout)
    # As strports.service: a failure to listen stops start-up instead of
    # being logged and forgotten.
    service._raiseSynchronously = True
    return service


# -- client side -----------------------------------------------------------

def trust_root(ca: str | None):
    """The CA file's certificates as a trust root, or the platform's."""
    if not ca:
        return ssl.platformTrust()
    certs = [ssl.Certificate(_pyopenssl_cert(c)) for c in load_certs(ca, "CA file")]
    return ssl.trustRootFromCertificates(certs)


def client_options(host: str, ca: str | None = None, **extra: Any):
    """Client TLS options checking ``host`` against a certificate issued by
    ``ca`` (a PEM file; None: the platform's trust store).  TLS 1.2 minimum."""
    return ssl.optionsForClientTLS(
        host, trustRoot=trust_root(ca),
        extraCertificateOptions={"raiseMinimumTo": MINIMUM_VERSION, **extra})


def client_endpoint(reactor, host: str, port: int, *, tls: bool = False,
                    ca: str | None = None, timeout: float = 30):
    """A TCP client endpoint, wrapped in TLS when ``tls`` (see client_options)."""
    endpoint = TCP4ClientEndpoint(reactor, host, port, timeout=timeout)
    if not tls:
        return endpoint
    return wrapClientTLS(client_options(host, ca), endpoint)


@implementer(IPolicyForHTTPS)
class CAPolicyForHTTPS:
    """An ``Agent`` (treq) policy trusting the certificates of one CA file."""

    def __init__(self, ca: str):
        self._root = trust_root(ca)

    def creatorForNetloc(self, hostname: bytes, port: int):
        return ssl.optionsForClientTLS(
            hostname.decode("ascii"), trustRoot=self._root,
            extraCertificateOptions={"raiseMinimumTo": MINIMUM_VERSION})


def https_policy(ca: str | None = None) -> IPolicyForHTTPS:
    """Pass as ``Agent(reactor, contextFactory=https_policy(ca))``."""
    return CAPolicyForHTTPS(ca) if ca else BrowserLikePolicyForHTTPS()
