#!/usr/bin/env node
// Verify a PhotoReceipt callback in Node.js (built-in modules only).
//
// Two checks, both must pass:
//  1. the Standard Webhooks headers: webhook-signature over "{webhook-id}.{webhook-timestamp}.{raw body}"
//     with your app's whsec_ secret, and a timestamp within 5 minutes;
//  2. the seed's `sign` field: md5 of your app key.
// Verify the RAW body (e.g. express.raw()), not a re-serialised one. Then de-duplicate by
// webhook-id and answer {"data": {}, "code": 0, "msg": "同步完成"}.
//
// Command line (used by the tests):
//   node verify_callback.js SECRET APP_KEY WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE CONTENT_TYPE
'use strict';
const crypto = require('crypto');
const fs = require('fs');

const TOLERANCE_SECONDS = 5 * 60;

function verifyWebhook(secret, msgId, timestamp, signature, body, nowSeconds = Date.now() / 1000) {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  const ts = Number.parseInt(timestamp, 10);
  if (!Number.isFinite(ts) || Math.abs(nowSeconds - ts) > TOLERANCE_SECONDS) return false;
  const expected = crypto
    .createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from(`${msgId}.${timestamp}.`), body]))
    .digest();
  return signature.split(' ').some((part) => {
    const [version, sig] = part.split(',');
    if (version !== 'v1' || !sig) return false;
    const given = Buffer.from(sig, 'base64');
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
}

function callbackFields(body, contentType) {
  if (contentType.startsWith('application/json')) {
    const obj = JSON.parse(body.toString('utf8'));
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
}

function verifySign(appKey, fields) {
  const expected = Buffer.from(crypto.createHash('md5').update(appKey).digest('hex'));
  const given = Buffer.from(String(fields.sign || '').toLowerCase());
  return given.length === expected.length && crypto.timingSafeEqual(given, expected);
}

function main(argv) {
  const [secret, appKey, msgId, timestamp, signature, bodyFile, contentType] = argv.slice(2, 9);
  const body = fs.readFileSync(bodyFile);
  if (!verifyWebhook(secret, msgId, timestamp, signature, body)) {
    console.log('signature mismatch');
    return 1;
  }
  const fields = callbackFields(body, contentType);
  if (!verifySign(appKey, fields)) {
    console.log('sign mismatch');
    return 1;
  }
  console.log(`verified status=${fields.status} order_no=${fields.order_no}`);
  return 0;
}

module.exports = { verifyWebhook, callbackFields, verifySign };
if (require.main === module) process.exit(main(process.argv));
