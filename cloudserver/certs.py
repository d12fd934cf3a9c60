# -*- test-case-name: tests.unit.test_tls -*-
"""A local certificate authority and a server certificate signed by it.

The CloudServer docs ("Using SSL") make these with five openssl commands and
upstream's docker entrypoint does the same when ``SSL=true``: a CA key and
self-signed CA certificate, then a server key and a certificate for the
host name (and ``*.<host>``, for virtual-hosted-style buckets) signed by the
CA.  This module does those steps with ``cryptography`` (already installed
with pyOpenSSL), so neither ``bin/cloudserver-make-certs``, ``SSL=true``
nor the tests need the openssl command.

The file names are upstream's: ``ca.key``, ``ca.crt``, ``server.key``,
``server.crt``.  Such a CA is for tests and local use only: whoever holds
``ca.key`` can mint certificates every client that trusts ``ca.crt`` accepts.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Upstream's docker entrypoint and the docs use 99999 days: "never" for a test CA.
DEFAULT_DAYS = 99999
KEY_BITS = 2048
CA_COMMON_NAME = "S3 CA Server"


@attrs.frozen
class CertFiles:
    """Where the four PEM files of a local CA and its server certificate are."""

    ca_key: Path
    ca_cert: Path
    server_key: Path
    server_cert: Path

    @classmethod
    def in_directory(cls, directory: str | os.PathLike[str]) -> "CertFiles":
        d = Path(directory)
        return cls(d / "ca.key", d / "ca.crt", d / "server.key", d / "server.crt")

    def all_exist(self) -> bool:
        return all(p.exists() for p in attrs.astuple(self))

    def cert_file_paths(self) -> dict[str, str]:
        """The ``certFilePaths`` section of config.json for these files."""
        return {"key": str(self.server_key), "cert": str(self.server_cert),
                "ca": str(self.ca_cert)}


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _name(common_name: str) -> x509.Name:
    # The subject fields of the docs' openssl commands.
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Country"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "City"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Organization"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _validity(days: int) -> tuple[datetime.datetime, datetime.datetime]:
    # Back-dated a little so a client with a slightly slow clock accepts it.
    now = datetime.datetime.now(datetime.timezone.utc)
    return now - datetime.timedelta(hours=1), now + datetime.timedelta(days=days)


def make_ca(days: int = DEFAULT_DAYS, common_name: str = CA_COMMON_NAME):
    """A CA key and its self-signed certificate (``openssl req -x509 -extensions v3_ca``)."""
    key = _new_key()
    name = _name(common_name)
    not_before, not_after = _validity(days)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True,
            crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def subject_alt_names(hosts: list[str]) -> list[x509.GeneralName]:
    """DNS names ``host`` and ``*.host`` (as upstream), or an IP address entry."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
            continue
        except ValueError:
            pass
        # No wildcard for a single label ("*.localhost"): strict verifiers
        # (service_identity, browsers) reject the whole certificate for it.
        for dns in (host, f"*.{host}") if "." in host else (host,):
            entry = x509.DNSName(dns)
            if entry not in names:
                names.append(entry)
    return names


def make_server_cert(ca_key, ca_cert, hosts: list[str], days: int = DEFAULT_DAYS):
    """A server key and a certificate for ``hosts`` signed by the CA."""
    if not hosts:
        raise ValueError("at least one host name is needed")
    key = _new_key()
    not_before, not_after = _validity(days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(subject_alt_names(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _cert_pem(cert) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write(path: Path, data: bytes, mode: int) -> None:
    # Written aside and renamed: a reader never sees half a key.
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_ca_and_server(directory: str | os.PathLike[str], hosts: list[str], *,
                        days: int = DEFAULT_DAYS) -> CertFiles:
    """Create a new CA and server certificate in ``directory`` (files replaced)."""
    files = CertFiles.in_directory(directory)
    files.ca_key.parent.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = make_ca(days)
    key, cert = make_server_cert(ca_key, ca_cert, hosts, days)
    _write(files.ca_key, _key_pem(ca_key), 0o600)
    _write(files.ca_cert, _cert_pem(ca_cert), 0o644)
    _write(files.server_key, _key_pem(key), 0o600)
    _write(files.server_cert, _cert_pem(cert), 0o644)
    return files


def ensure_ca_and_server(directory: str | os.PathLike[str], hosts: list[str]) -> CertFiles:
    """The files in ``directory``, made only if one of the four is missing.

    This is what upstream's entrypoint does for ``SSL=true``, so a restart
    keeps the CA its clients already trust.
    """
    files = CertFiles.in_directory(directory)
    if files.all_exist():
        return files
    return write_ca_and_server(directory, hosts)
