// A site's Node endpoint for events forwarded by payguard, verifying
// them with the standardwebhooks package.  Used by
// tests/e2e/test_webhook_forward.sh:
//   node forward_receiver.js HTTP_PORT HTTPS_PORT CERT KEY RECORD_FILE
// with FORWARD_SECRET in the environment.  Paths: /ok verifies (200, or
// 400 when the signature does not verify), /fail answers 500, /slow
// answers after 5 s, /redirect answers 302 to /ok.  Every request is
// one JSON line in RECORD_FILE: path, verified, id, headers, sha256.
'use strict';
const http = require('http');
const https = require('https');
const fs = require('fs');
const crypto = require('crypto');
const {Webhook} = require('standardwebhooks');

const [httpPort, httpsPort, cert, key, record] = process.argv.slice(2);
const wh = new Webhook(process.env.FORWARD_SECRET);

function handle(req, res) {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const body = Buffer.concat(chunks).toString('utf8');
		const rec = {path: req.url, method: req.method,
			id: req.headers['webhook-id'] || null,
			type: req.headers['x-payguard-event-type'] || null,
			kind: req.headers['x-payguard-event-kind'] || null,
			source: req.headers['x-payguard-event-source'] || null,
			account: req.headers['x-payguard-event-account'] || null,
			content_type: req.headers['content-type'] || null,
			sha256: crypto.createHash('sha256').update(body).digest('hex'),
			verified: false};
		try {
			const ev = wh.verify(body, req.headers);
			rec.verified = ev.id === rec.id;
		} catch (e) {
			rec.error = e.message;
		}
		fs.appendFileSync(record, JSON.stringify(rec) + '\n');
		if (req.url === '/fail') {
			res.writeHead(500);
			return res.end('no');
		}
		if (req.url === '/redirect') {
			res.writeHead(302, {Location: '/ok'});
			return res.end();
		}
		if (req.url === '/slow')
			return setTimeout(() => { res.writeHead(200); res.end('late'); }, 5000);
		res.writeHead(rec.verified ? 200 : 400, {'Content-Type': 'application/json'});
		res.end(rec.verified ? '{"ok":true}' : '{"ok":false}');
	});
}
http.createServer(handle).listen(Number(httpPort), '127.0.0.1', () => {
	https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)}, handle)
	    .listen(Number(httpsPort), '127.0.0.1', () => console.log('ready'));
});
