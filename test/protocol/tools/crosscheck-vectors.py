#!/usr/bin/env python3
"""Checks test/protocol/vectors.json against implementations other than ours, so the vectors do not merely repeat
what our own code does:

- protobuf bytes: `buf convert` (Go protobuf) encodes each vector's JSON input with the schemas in proto/;
- padding, message IDs: plain Python;
- media: HKDF, AES-256-CBC and HMAC from the Python `cryptography` package.

Usage (from the repository root): python3 test/protocol/tools/crosscheck-vectors.py [path-to-buf]
Without a path, `npx --yes @bufbuild/buf@1.75.0` is used (the version `npm run gen:proto` uses).
"""
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VECTORS = os.path.join(os.path.dirname(__file__), "..", "vectors.json")
INFO = {k: f"WhatsApp {k.capitalize()} Keys".encode() for k in ("image", "video", "audio", "document")}

failures = []


def check(name, expected, actual):
    if expected != actual:
        failures.append(f"{name}: expected {expected}, independent implementation gives {actual}")


def buf_encode(buf, type_name, payload):
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.binpb")
        with open(src, "w") as f:
            json.dump(payload, f)
        subprocess.run(buf + ["convert", "--type", type_name, "--from", src, "--to", dst], check=True)
        with open(dst, "rb") as f:
            return f.read().hex()


def main():
    buf = [sys.argv[1]] if len(sys.argv) > 1 else ["npx", "--yes", "@bufbuild/buf@1.75.0"]
    with open(VECTORS) as f:
        v = json.load(f)

    for vec in v["protobuf"]:
        check(vec["name"], vec["hex"], buf_encode(buf, vec["type"], vec["json"]))
    for vec in v["content"]:
        n = vec["padding"]
        body = buf_encode(buf, "dma.interop.v1.Content", vec["json"])
        check(vec["name"], vec["hex"], body + bytes([n] * n).hex())
    for vec in v["padding"]:
        n = vec["n"]
        check(f"padding {vec['input']}/{n}", vec["output"], vec["input"] + bytes([n] * n).hex())
    for vec in v["messageIds"]:
        check(f"message id {vec['bytes']}", vec["string"], vec["bytes"].upper())

    for vec in v["mediaKeys"]:
        key = bytes.fromhex(vec["mediaKey"])
        out = HKDF(algorithm=hashes.SHA256(), length=112, salt=None, info=INFO[vec["kind"]]).derive(key)
        for part, (a, b) in {"iv": (0, 16), "cipherKey": (16, 48), "macKey": (48, 80), "refKey": (80, 112)}.items():
            check(f"media key {vec['kind']} {part}", vec[part], out[a:b].hex())

    for vec in v["media"]:
        key = bytes.fromhex(vec["mediaKey"])
        out = HKDF(algorithm=hashes.SHA256(), length=112, salt=None, info=INFO[vec["kind"]]).derive(key)
        iv, cipher_key, mac_key = out[0:16], out[16:48], out[48:80]
        plaintext = bytes.fromhex(vec["plaintext"])
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plaintext) + padder.finalize()
        enc = Cipher(algorithms.AES(cipher_key), modes.CBC(iv)).encryptor()
        ciphertext = enc.update(padded) + enc.finalize()
        mac = hmac.new(mac_key, iv + ciphertext, hashlib.sha256).digest()[:10]
        upload = ciphertext + mac
        name = f"media {vec['kind']}"
        check(f"{name} upload", vec["upload"], upload.hex())
        check(f"{name} fileSha256", vec["fileSha256"], hashlib.sha256(plaintext).hexdigest())
        check(f"{name} fileEncSha256", vec["fileEncSha256"], hashlib.sha256(upload).hexdigest())
        check(f"{name} fileLength", vec["fileLength"], len(plaintext))

    if failures:
        print("\n".join(failures))
        sys.exit(1)
    total = sum(len(v[k]) for k in ("protobuf", "content", "padding", "messageIds", "mediaKeys", "media"))
    print(f"all {total} vectors agree with buf (Go protobuf) and Python cryptography")


if __name__ == "__main__":
    main()
