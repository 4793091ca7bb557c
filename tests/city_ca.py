"""A private city CA made with openssl, and what TLS tests need from it: broker
certificates for chosen names, board certificates by common name, client contexts, and a
TLS 1.1-only server (Mosquitto's `tls_version` is a minimum: it cannot offer only 1.1)."""

from __future__ import annotations

import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.test_e2e_tls import make_certificates, openssl


class CityCA:
    """`directory` holds ca.crt / ca.key and a broker certificate for 127.0.0.1
    (server.crt / server.key, as tests/test_e2e_tls.py makes them)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        make_certificates(directory)
        self.directory = directory
        self.ca = directory / "ca.crt"

    def issue(self, name: str, common_name: str, extension: str) -> tuple[Path, Path]:
        """A certificate and its key (0600, as openssl writes it), signed by this CA."""
        key, csr = self.directory / f"{name}.key", self.directory / f"{name}.csr"
        cert, ext = self.directory / f"{name}.crt", self.directory / f"{name}.ext"
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={common_name}")
        ext.write_text(extension + "\n")
        openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(self.ca), "-CAkey",
            str(self.directory / "ca.key"), "-CAcreateserial", "-days", "2",
            "-out", str(cert), "-extfile", str(ext),
        )  # fmt: skip
        key.chmod(0o600)
        return cert, key

    def broker_certificate(self, name: str, dns_name: str) -> tuple[Path, Path]:
        return self.issue(name, dns_name, f"subjectAltName=DNS:{dns_name}")

    def board_certificate(self, common_name: str) -> tuple[Path, Path]:
        return self.issue(common_name, common_name, "extendedKeyUsage=clientAuth")

    def client_context(self, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca))
        if cert is not None and key is not None:
            context.load_cert_chain(str(cert), str(key))
        return context


def weak_client_context(ca: Path) -> ssl.SSLContext:
    """A client that still speaks TLS 1.1 (the board must not): the control that proves a
    server really answers TLS 1.1."""
    context = ssl.create_default_context(cafile=str(ca))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 allows TLS 1.1 only at level 0
    return context


@contextmanager
def tls_1_1_server(cert: Path, key: Path) -> Iterator[int]:
    """A server on a free loopback port that speaks TLS 1.1 and nothing newer (then says
    nothing, like a broker waiting for CONNECT). Yields the port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _address = listener.accept()
            except TimeoutError:
                continue
            raw.settimeout(2)
            try:
                with context.wrap_socket(raw, server_side=True) as tls:
                    tls.recv(1)
            except OSError:
                pass  # a refused handshake: what the board must do

    thread = threading.Thread(target=serve, name="tls-1.1-server", daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        listener.close()
