#!/usr/bin/python3
"""Generates keys-v2 (shred key) test vectors from docs/spec/keys-v2.md alone (not from the Go code).

Run from the repo root: /usr/bin/python3 internal/keyring/testdata/gen_vectors_v2.py
Needs the Python standard library and `cryptography` (AES-GCM only).
"""
import hashlib, json, struct
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

def lp(s):
    b = s.encode()
    return str(len(b)).encode() + b":" + b

def scope_aad_v2(tenant, subject, purpose, key_id, label):
    return b"".join(lp(x) for x in ("obscura/scope-key/v2", tenant, subject, purpose, key_id, label))

def shred_name(tenant, subject, label):
    c = subject[:1]
    bucket = c if c and (c.isdigit() or "a" <= c <= "z") else "_"
    return "shred/" + tenant + "/" + bucket + "/" + label

def gcm(key, nonce, pt, aad):  # raw AES-256-GCM: nonce || ct || tag
    return nonce + AESGCM(key).encrypt(nonce, pt, aad)

def tink_wrap(kek, tink_key_id, nonce, pt, aad):  # TINK prefix: 0x01 || key id (uint32 BE)
    return b"\x01" + struct.pack(">I", tink_key_id) + gcm(kek, nonce, pt, aad)

def d(label, i=0):
    return hashlib.sha256(label.encode() + bytes([i])).digest()

root = d("obscura keys-v2 vector root")
kek = hashlib.sha256(b"obscura keys-v1 vector kek").digest()  # the keys-v1 vector KEK
kek_id = 0x2A0B0C0D
subject = "mfrggzdfmztwq2lknnwg23tpobyxe43u"  # 32 lowercase base32 characters, bucket "m"

valid = []
for i, (name, tenant, purpose, sk_id, label) in enumerate([
    ("subject key", "ten_a", "", "sk_1", "0000000001-0a0b0c0d"),
    ("purpose key, later epoch", "ten_a", "face_recognition", "sk_2", "0000000042-deadbeef"),
]):
    shred = d("shred key", i)
    name_ = shred_name(tenant, subject, label)
    shred_file = gcm(root, d("shred nonce", i)[:12], shred, b"obscura/shred-key/v2\0" + name_.encode())
    sk = d("scope key", i)
    aad = scope_aad_v2(tenant, subject, purpose, sk_id, label)
    inner = gcm(shred, d("inner nonce", i)[:12], sk, aad)
    outer = tink_wrap(kek, kek_id, d("outer nonce", i)[:12], inner, aad)
    wrapped = b"osk2" + bytes([len(label)]) + label.encode() + outer
    valid.append({"name": name, "tenant": tenant, "subject_hash": subject, "purpose": purpose, "scope_key_id": sk_id,
                  "label": label, "shred_key_name": name_, "shred_key_hex": shred.hex(), "shred_file_hex": shred_file.hex(),
                  "aad_hex": aad.hex(), "scope_key_hex": sk.hex(), "wrapped_hex": wrapped.hex()})

base = valid[1]
w = bytes.fromhex(base["wrapped_hex"])
invalid = []
def bad(name, wrapped=w, **kw):
    v = {k: base[k] for k in ("tenant", "subject_hash", "purpose", "scope_key_id")}
    v.update(kw)
    invalid.append({"name": name, **v, "wrapped_hex": wrapped.hex()})
other = "0000000041-deadbeef"
bad("header names another epoch (AAD mismatch)", wrapped=w[:5] + other.encode() + w[24:])
bad("other purpose", purpose="tagging")
bad("other key id", scope_key_id="sk_9")
bad("flipped outer tag bit", wrapped=w[:-1] + bytes([w[-1] ^ 1]))
bad("flipped inner byte", wrapped=w[:60] + bytes([w[60] ^ 0x80]) + w[61:])
bad("label length too long", wrapped=w[:4] + bytes([200]) + w[5:])
bad("label not digits", wrapped=w[:5] + b"000000004x" + w[15:])
bad("truncated", wrapped=w[:40])
bad("magic only", wrapped=b"osk2")

out = {"spec": "docs/spec/keys-v2.md", "root_aes256gcm_key_hex": root.hex(), "kek_aes256gcm_key_hex": kek.hex(),
       "kek_tink_key_id": kek_id, "valid": valid, "invalid": invalid}
with open("internal/keyring/testdata/keys-v2-vectors.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
