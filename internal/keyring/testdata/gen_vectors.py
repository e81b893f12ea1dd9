#!/usr/bin/python3
"""Generates keys-v1 and api-key-v1 test vectors from docs/spec alone (not from the Go code).

Run from the repo root: /usr/bin/python3 internal/keyring/testdata/gen_vectors.py
Needs the Python standard library and `cryptography` (AES-GCM only).
"""
import base64, hashlib, hmac, json, struct
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def b32(b):  # RFC 4648 alphabet, lowercase, no padding
    return base64.b32encode(b).decode().rstrip("=").lower()

def hash_id(key, domain, ident):  # keys-v1: base32(PRF(domain || 0x00 || id)[:20]), PRF = HMAC-SHA256
    return b32(hmac.new(key, domain.encode() + b"\0" + ident.encode(), hashlib.sha256).digest()[:20])

def lp(s):
    b = s.encode()
    return str(len(b)).encode() + b":" + b

def scope_aad(tenant, subject, purpose, key_id):
    return b"".join(lp(x) for x in ("obscura/scope-key/v1", tenant, subject, purpose, key_id))

def kek_aad(tenant, version):
    return b"obscura/kek/v1\0" + tenant.encode() + b"\0" + str(version).encode()

def tink_wrap(kek, tink_key_id, nonce, pt, aad):  # TINK prefix: 0x01 || key id (uint32 BE)
    return b"\x01" + struct.pack(">I", tink_key_id) + nonce + AESGCM(kek).encrypt(nonce, pt, aad)

prf_key = hashlib.sha256(b"obscura keys-v1 vector prf key").digest()
kek = hashlib.sha256(b"obscura keys-v1 vector kek").digest()
kek_id = 0x2A0B0C0D
secret = hashlib.sha256(b"api key secret").digest()
key_id_bytes = hashlib.sha256(b"api key id").digest()[:12]
api_secret = b32(secret)

hash_ids = [
    {"name": "subject ascii", "domain": "subject", "id": "alice"},
    {"name": "subject non-ascii and control", "domain": "subject", "id": "Zo\u00eb \u2028\t\u00e9\u4e16"},
    {"name": "subject empty", "domain": "subject", "id": ""},
    {"name": "api key secret", "domain": "api-key-secret", "id": api_secret},
    {"name": "same id other domain", "domain": "api-key", "id": "alice"},
]
for v in hash_ids:
    v["hash"] = hash_id(prf_key, v["domain"], v["id"])

keks = [
    {"name": "first", "tenant": "ten_a", "version": 1},
    {"name": "multi-digit", "tenant": "ten_\u00fcml", "version": 12},
]
for v in keks:
    v["aad_hex"] = kek_aad(v["tenant"], v["version"]).hex()

subj = hash_id(prf_key, "subject", "alice")
valid, invalid = [], []
for i, (name, tenant, purpose, sk_id) in enumerate([
    ("subject key (empty purpose)", "ten_a", "", "sk_1"),
    ("purpose key", "ten_a", "face_recognition", "sk_2"),
    ("non-ascii tenant", "ten_\u00e9\u2028", "tagging", "sk_3"),
]):
    nonce = hashlib.sha256(b"nonce" + bytes([i])).digest()[:12]
    sk = hashlib.sha256(b"scope key" + bytes([i])).digest()
    aad = scope_aad(tenant, subj, purpose, sk_id)
    valid.append({"name": name, "tenant": tenant, "subject_hash": subj, "purpose": purpose, "scope_key_id": sk_id,
                  "aad_hex": aad.hex(), "scope_key_hex": sk.hex(), "wrapped_hex": tink_wrap(kek, kek_id, nonce, sk, aad).hex()})

base = valid[1]
w = bytes.fromhex(base["wrapped_hex"])
def bad(name, wrapped=w, **kw):
    v = {k: base[k] for k in ("tenant", "subject_hash", "purpose", "scope_key_id")}
    v.update(kw)
    invalid.append({"name": name, **v, "wrapped_hex": wrapped.hex()})
bad("other tenant", tenant="ten_b")
bad("other subject", subject_hash=hash_id(prf_key, "subject", "bob"))
bad("other purpose", purpose="tagging")
bad("subject key instead of purpose key", purpose="")
bad("re-created key id", scope_key_id="sk_9")
bad("length prefix shift", tenant="ten_a4:face", purpose="_recognition")
bad("flipped tag bit", wrapped=w[:-1] + bytes([w[-1] ^ 1]))
bad("flipped ciphertext bit", wrapped=w[:20] + bytes([w[20] ^ 0x80]) + w[21:])
bad("other tink key id", wrapped=w[:1] + struct.pack(">I", kek_id + 1) + w[5:])
bad("raw prefix", wrapped=b"\x00" + w[1:])
bad("truncated", wrapped=w[:5 + 12 + 15])

keys = {"spec": "docs/spec/keys-v1.md", "prf_hmac_sha256_key_hex": prf_key.hex(),
        "kek_aes256gcm_key_hex": kek.hex(), "kek_tink_key_id": kek_id,
        "hash_id": hash_ids, "kek_aad": keks, "scope_key": {"valid": valid, "invalid": invalid}}

key_id = b32(key_id_bytes)
good = "obs_" + key_id + "_" + api_secret
assert len(good) == 77
api = {"spec": "docs/spec/api-key-v1.md",
       "valid": [{"name": "random key", "key": good, "stored_id": "key_" + key_id, "secret": api_secret,
                  "key_id_hex": key_id_bytes.hex(), "secret_hex": secret.hex(),
                  "secret_hash": hash_id(prf_key, "api-key-secret", api_secret)},
                 {"name": "all zero bytes", "key": "obs_" + "a" * 20 + "_" + "a" * 52, "stored_id": "key_" + "a" * 20,
                  "secret": "a" * 52, "key_id_hex": "00" * 12, "secret_hex": "00" * 32,
                  "secret_hash": hash_id(prf_key, "api-key-secret", "a" * 52)}],
       "invalid": []}
def badkey(name, k):
    api["invalid"].append({"name": name, "key": k})
badkey("empty", "")
badkey("no prefix", key_id + "_" + api_secret)
badkey("uppercase prefix", "OBS_" + key_id + "_" + api_secret)
badkey("other prefix", "obx_" + key_id + "_" + api_secret)
badkey("wrong separator", "obs_" + key_id + "-" + api_secret)
badkey("id one char short", "obs_" + key_id[:-1] + "_" + api_secret + "a")
badkey("secret one char short", good[:-1])
badkey("one char too long", good + "a")
badkey("uppercase base32", "obs_" + key_id.upper() + "_" + api_secret)
badkey("digit outside alphabet", "obs_" + key_id[:-1] + "1" + "_" + api_secret)
badkey("padding", "obs_" + key_id[:-1] + "=" + "_" + api_secret)
badkey("non-ascii", "obs_" + key_id[:-1] + "\u00e9"[:1] + "_" + api_secret[:-1])
badkey("leading space", " " + good[:-1])
badkey("over 256 bytes", good + "a" * 200)

for path, obj in (("internal/keyring/testdata/keys-v1-vectors.json", keys),
                  ("internal/auth/testdata/api-key-v1-vectors.json", api)):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")
