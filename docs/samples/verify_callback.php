<?php
// Verify a PhotoReceipt callback in PHP (no extensions beyond the defaults).
//
// Two checks, both must pass:
//  1. the Standard Webhooks headers: webhook-signature over "{webhook-id}.{webhook-timestamp}.{raw body}"
//     with your app's whsec_ secret, and a timestamp within 5 minutes;
//  2. the seed's `sign` field: md5 of your app key.
// In a web handler the raw body is file_get_contents('php://input') and the headers are
// $_SERVER['HTTP_WEBHOOK_ID'], $_SERVER['HTTP_WEBHOOK_TIMESTAMP'], $_SERVER['HTTP_WEBHOOK_SIGNATURE'].
// Then de-duplicate by webhook-id and answer {"data": {}, "code": 0, "msg": "同步完成"}.
//
// Command line (used by the tests):
//   php verify_callback.php SECRET APP_KEY WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE CONTENT_TYPE

const TOLERANCE_SECONDS = 300;

function verify_webhook(string $secret, string $msgId, string $timestamp, string $signature, string $body, ?int $now = null): bool
{
    $key = base64_decode(str_starts_with($secret, 'whsec_') ? substr($secret, 6) : $secret, true);
    if ($key === false || !ctype_digit($timestamp)) {
        return false;
    }
    if (abs(($now ?? time()) - (int) $timestamp) > TOLERANCE_SECONDS) {
        return false;
    }
    $expected = base64_encode(hash_hmac('sha256', "$msgId.$timestamp.$body", $key, true));
    foreach (explode(' ', $signature) as $part) {
        [$version, $sig] = array_pad(explode(',', $part, 2), 2, '');
        if ($version === 'v1' && hash_equals($expected, $sig)) {
            return true;
        }
    }
    return false;
}

function callback_fields(string $body, string $contentType): array
{
    if (str_starts_with($contentType, 'application/json')) {
        return array_map('strval', json_decode($body, true) ?? []);
    }
    parse_str($body, $fields);
    return $fields;
}

function verify_sign(string $appKey, array $fields): bool
{
    return hash_equals(md5($appKey), strtolower((string) ($fields['sign'] ?? '')));
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    [, $secret, $appKey, $msgId, $timestamp, $signature, $bodyFile, $contentType] = $argv;
    $body = file_get_contents($bodyFile);
    if (!verify_webhook($secret, $msgId, $timestamp, $signature, $body)) {
        echo "signature mismatch\n";
        exit(1);
    }
    $fields = callback_fields($body, $contentType);
    if (!verify_sign($appKey, $fields)) {
        echo "sign mismatch\n";
        exit(1);
    }
    echo "verified status={$fields['status']} order_no={$fields['order_no']}\n";
    exit(0);
}
