// Verify a PhotoReceipt callback in Java 11+ (JDK only).
//
// Two checks, both must pass:
//  1. the Standard Webhooks headers: webhook-signature over "{webhook-id}.{webhook-timestamp}.{raw body}"
//     with your app's whsec_ secret, and a timestamp within 5 minutes;
//  2. the seed's `sign` field: md5 of your app key.
// Verify the RAW body bytes. Then de-duplicate by webhook-id and answer
// {"data": {}, "code": 0, "msg": "同步完成"}.
//
// Command line (used by the tests; the JDK runs the source file directly):
//   java VerifyCallback.java SECRET APP_KEY WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE BODY_FILE CONTENT_TYPE

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class VerifyCallback {
    static final long TOLERANCE_SECONDS = 5 * 60;

    static boolean verifyWebhook(String secret, String msgId, String timestamp, String signature,
                                 byte[] body, long nowSeconds) throws Exception {
        byte[] key = Base64.getDecoder().decode(secret.startsWith("whsec_") ? secret.substring(6) : secret);
        long ts;
        try {
            ts = Long.parseLong(timestamp);
        } catch (NumberFormatException e) {
            return false;
        }
        if (Math.abs(nowSeconds - ts) > TOLERANCE_SECONDS) {
            return false;
        }
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        mac.update((msgId + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
        byte[] expected = mac.doFinal(body);
        for (String part : signature.split(" ")) {
            String[] vs = part.split(",", 2);
            if (vs.length == 2 && vs[0].equals("v1")) {
                byte[] given;
                try {
                    given = Base64.getDecoder().decode(vs[1]);
                } catch (IllegalArgumentException e) {
                    continue;
                }
                if (MessageDigest.isEqual(expected, given)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Form fields; for JSON bodies (apps set to JSON) only the flat string/number fields used here. */
    static Map<String, String> callbackFields(byte[] body, String contentType) {
        String text = new String(body, StandardCharsets.UTF_8);
        Map<String, String> fields = new HashMap<>();
        if (contentType.startsWith("application/json")) {
            Matcher m = Pattern.compile("\"(\\w+)\"\\s*:\\s*(\"((?:[^\"\\\\]|\\\\.)*)\"|-?\\d+)").matcher(text);
            while (m.find()) {
                fields.put(m.group(1), m.group(3) != null ? m.group(3) : m.group(2));
            }
            return fields;
        }
        for (String pair : text.split("&")) {
            if (pair.isEmpty()) continue;
            String[] kv = pair.split("=", 2);
            String k = URLDecoder.decode(kv[0], StandardCharsets.UTF_8);
            String v = kv.length > 1 ? URLDecoder.decode(kv[1], StandardCharsets.UTF_8) : "";
            fields.put(k, v);
        }
        return fields;
    }

    static boolean verifySign(String appKey, Map<String, String> fields) throws Exception {
        byte[] md5 = MessageDigest.getInstance("MD5").digest(appKey.getBytes(StandardCharsets.UTF_8));
        byte[] expected = HexFormat.of().formatHex(md5).getBytes(StandardCharsets.US_ASCII);
        byte[] given = fields.getOrDefault("sign", "").toLowerCase().getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(expected, given);
    }

    public static void main(String[] args) throws Exception {
        byte[] body = Files.readAllBytes(Path.of(args[5]));
        long now = System.currentTimeMillis() / 1000;
        if (!verifyWebhook(args[0], args[2], args[3], args[4], body, now)) {
            System.out.println("signature mismatch");
            System.exit(1);
        }
        Map<String, String> fields = callbackFields(body, args[6]);
        if (!verifySign(args[1], fields)) {
            System.out.println("sign mismatch");
            System.exit(1);
        }
        System.out.println("verified status=" + fields.get("status") + " order_no=" + fields.get("order_no"));
    }
}
