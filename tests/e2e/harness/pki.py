"""Throw-away PKI for the local control plane, made with the `openssl` CLI
(no Python crypto dependency)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

DAYS = 2


@dataclass
class CertPair:
    cert: Path
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {proc.stderr.strip()}")


def _ec_key_args() -> list[str]:
    return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


class PKI:
    """A CA plus the leaf certificates the harness hands out, all in `root`."""

    def __init__(self, root: Path, common_name: str = "gitops-base-e2e-ca"):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.ca = CertPair(root / "ca.crt", root / "ca.key")
        _openssl(
            "req",
            "-x509",
            *_ec_key_args(),
            "-keyout",
            str(self.ca.key),
            "-out",
            str(self.ca.cert),
            "-days",
            str(DAYS),
            "-subj",
            f"/CN={common_name}",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
            cwd=root,
        )

    def issue(
        self,
        name: str,
        common_name: str,
        organizations: tuple[str, ...] = (),
        server_names: tuple[str, ...] = (),
        server_ips: tuple[str, ...] = (),
        client: bool = False,
    ) -> CertPair:
        pair = CertPair(self.root / f"{name}.crt", self.root / f"{name}.key")
        csr = self.root / f"{name}.csr"
        subject = "".join(f"/O={o}" for o in organizations) + f"/CN={common_name}"
        _openssl(
            "req",
            "-new",
            *_ec_key_args(),
            "-keyout",
            str(pair.key),
            "-out",
            str(csr),
            "-subj",
            subject,
            cwd=self.root,
        )
        usages = []
        if server_names or server_ips:
            usages.append("serverAuth")
        if client:
            usages.append("clientAuth")
        ext = [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            f"extendedKeyUsage={','.join(usages)}",
            "authorityKeyIdentifier=keyid",
        ]
        sans = [f"DNS:{n}" for n in server_names] + [f"IP:{ip}" for ip in server_ips]
        if sans:
            ext.append("subjectAltName=" + ",".join(sans))
        extfile = self.root / f"{name}.ext"
        extfile.write_text("\n".join(ext) + "\n")
        _openssl(
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(self.ca.cert),
            "-CAkey",
            str(self.ca.key),
            "-CAcreateserial",
            "-out",
            str(pair.cert),
            "-days",
            str(DAYS),
            "-sha256",
            "-extfile",
            str(extfile),
            cwd=self.root,
        )
        pair.key.chmod(0o600)
        return pair

    def service_account_keys(self) -> CertPair:
        """RSA key pair for signing service-account tokens (cert = public key)."""
        pair = CertPair(self.root / "sa.pub", self.root / "sa.key")
        _openssl(
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            str(pair.key),
            cwd=self.root,
        )
        _openssl("pkey", "-in", str(pair.key), "-pubout", "-out", str(pair.cert), cwd=self.root)
        pair.key.chmod(0o600)
        return pair
