#!/usr/bin/env python3
"""Verify a PhotoReceipt callback in Python (standard library only).

Two checks, both must pass:
  1. the Standard Webhooks headers: webhook-signature over "{webhook-id}.{webhook-timestamp}.{raw body}"
     with your app's whsec_ secret, and a timestamp within 5 minutes;
  2. the seed's `sign` field: md5 of your app key (kept for compatibility; it is static, so the
     header signature is the one that proves the sender).
Then de-duplicate by webhook-id and answer {"data": {}, "code": 0, "msg": "同步完成"}.

Command line (used by the tests):
  verify_callback.py SECRET APP_KEY WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE CONTENT_TYPE
"""
import base64
import hashlib
import hmac
import json
import sys
import time
from urllib.parse import parse_qsl

TOLERANCE_SECONDS = 5 * 60


def verify_webhook(secret, msg_id, timestamp, signature, body, now=None):
    """True if one of the space-separated v1 signatures matches `body` (the raw bytes)."""
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    now = time.time() if now is None else now
    try:
        if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
            return False
    except ValueError:
        return False
    signed = b".".join([msg_id.encode(), timestamp.encode(), body])
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for part in signature.split():
        version, _, sig = part.partition(",")
        if version == "v1" and hmac.compare_digest(sig, expected):
            return True
    return False


def callback_fields(body, content_type):
    """The callback's fields: form-urlencoded by default, JSON if your app asked for it."""
    if content_type.startswith("application/json"):
        return {k: str(v) for k, v in json.loads(body).items()}
    return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))


def verify_sign(app_key, fields):
    """The seed's check: sign == md5(app key), lower-case hex."""
    expected = hashlib.md5(app_key.encode()).hexdigest()
    return hmac.compare_digest(fields.get("sign", "").lower(), expected)


def main(argv):
    secret, app_key, msg_id, timestamp, signature, body_file, content_type = argv[1:8]
    with open(body_file, "rb") as f:
        body = f.read()
    if not verify_webhook(secret, msg_id, timestamp, signature, body):
        print("signature mismatch")
        return 1
    fields = callback_fields(body, content_type)
    if not verify_sign(app_key, fields):
        print("sign mismatch")
        return 1
    print(f"verified status={fields['status']} order_no={fields['order_no']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
