<?php
// A site's PHP endpoint for events forwarded by payguard
// (PAYGUARD_WEBHOOK_FORWARD_URL): verifies the Standard Webhooks
// signature exactly as the README shows, then records the event.
// Used by tests/e2e/test_webhook_forward.sh under Apache + mod_fcgid +
// php-cgi; PAYGUARD_FORWARD_SECRET and RECORD_FILE come from
// FcgidInitialEnv.
function verify_standard_webhook(string $secret, string $body, array $h): bool {
    $id = $h['HTTP_WEBHOOK_ID'] ?? '';
    $ts = $h['HTTP_WEBHOOK_TIMESTAMP'] ?? '';
    $sigs = $h['HTTP_WEBHOOK_SIGNATURE'] ?? '';
    if ($id === '' || !ctype_digit($ts) || abs(time() - (int)$ts) > 300)
        return false;
    $key = base64_decode(substr($secret, strlen('whsec_')), true);
    $want = base64_encode(hash_hmac('sha256', "$id.$ts.$body", $key, true));
    foreach (explode(' ', $sigs) as $s)
        if (str_starts_with($s, 'v1,') && hash_equals($want, substr($s, 3)))
            return true;
    return false;
}

$body = file_get_contents('php://input');
$ok = verify_standard_webhook(getenv('PAYGUARD_FORWARD_SECRET'), $body, $_SERVER);
$event = json_decode($body, true);
file_put_contents(getenv('RECORD_FILE'), json_encode([
    'verified' => $ok,
    'id' => $event['id'] ?? null,
    'webhook_id' => $_SERVER['HTTP_WEBHOOK_ID'] ?? null,
    'type' => $_SERVER['HTTP_X_PAYGUARD_EVENT_TYPE'] ?? null,
    'kind' => $_SERVER['HTTP_X_PAYGUARD_EVENT_KIND'] ?? null,
    'account' => $_SERVER['HTTP_X_PAYGUARD_EVENT_ACCOUNT'] ?? null,
    'sha256' => hash('sha256', $body),
]) . "\n", FILE_APPEND | LOCK_EX);
http_response_code($ok ? 200 : 400);
header('Content-Type: application/json');
echo $ok ? '{"received":true}' : '{"error":"bad signature"}', "\n";
