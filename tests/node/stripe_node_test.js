// stripe-node (the current release, pinned in package-lock.json) against
// payguard: the gateway mounted at a host's root, and webhook.fcgi.
// Prints TAP lines ("ok - ..." / "not ok - ..."); run by
// tests/e2e/test_stripe_node.sh, which starts the servers and passes:
//   GW_PORT      lighttpd with the root-mounted gateway and /webhook
//   FAKE         the fake Stripe's base URL (faults, request log)
//   T_WRITE, T_READ, T_CONN (write, --accounts $ACCT_A), T_PRODUCT
//   ACCT_A, ACCT_B   connected accounts the fake knows
//   WH_SECRET    the webhook's whsec_ secret
//   CLOSED_PORT  a port nothing listens on
'use strict';
const Stripe = require('stripe');
const assert = require('assert');

const E = process.env;
let failed = 0;
function ok(cond, desc, extra) {
	if (cond) console.log('ok - ' + desc);
	else {
		failed++;
		console.log('not ok - ' + desc + (extra !== undefined ? ' (' + extra + ')' : ''));
	}
}
function client(token, opts) {
	return new Stripe(token, Object.assign({
		host: '127.0.0.1', port: Number(E.GW_PORT), protocol: 'http',
		maxNetworkRetries: 0, telemetry: false,
	}, opts || {}));
}
async function fake(method, path, body) {
	const r = await fetch(E.FAKE + path, {method,
		headers: body ? {'Content-Type': 'application/json'} : {},
		body: body ? JSON.stringify(body) : undefined});
	return r.json();
}
async function fakeLog() { return fake('GET', '/__log'); }
// expectError(promise, Class, code, desc): rejects with that class/code
async function expectError(p, cls, code, desc) {
	try {
		await p;
		ok(false, desc, 'no error');
	} catch (e) {
		ok(e instanceof cls && (code === null || e.code === code), desc,
		    `${e.type} ${e.code} ${e.statusCode}`);
		return e;
	}
	return null;
}

async function gateway() {
	const s = client(E.T_WRITE);
	// create / retrieve / update
	const c = await s.customers.create({email: 'node@example.com',
		metadata: {order: '42'}});
	ok(/^cus_/.test(c.id) && c.email === 'node@example.com' &&
	    c.metadata.order === '42', 'customers.create through the root mount');
	const r = await s.customers.retrieve(c.id);
	ok(r.id === c.id, 'customers.retrieve');
	const u = await s.customers.update(c.id, {name: 'Jenny Rosen',
		metadata: {order: ''}});
	ok(u.name === 'Jenny Rosen' && !('order' in u.metadata),
	    'customers.update (metadata key removed with "")');
	// list with auto-pagination over several pages
	for (let i = 0; i < 6; i++)
		await s.customers.create({email: `page${i}@example.com`});
	const all = await s.customers.list({limit: 2}).autoPagingToArray({limit: 100});
	const ids = new Set(all.map((x) => x.id));
	ok(all.length === 7 && ids.size === 7,
	    'customers.list({limit: 2}).autoPagingToArray: 7 customers over 4 pages', all.length);
	let n = 0;
	for await (const x of s.customers.list({limit: 3})) { if (x.id) n++; }
	ok(n === 7, 'for await over customers.list: every customer once', n);
	const log = await fakeLog();
	ok(log.some((q) => /starting_after=cus_/.test(q.query)),
	    'auto-pagination sent starting_after through the gateway');

	// idempotent retries: the same key replays the same object
	const k = 'node-idem-' + process.pid;
	const a1 = await s.customers.create({email: 'idem@example.com'}, {idempotencyKey: k});
	const a2 = await s.customers.create({email: 'idem@example.com'}, {idempotencyKey: k});
	ok(a1.id === a2.id, 'the same idempotencyKey twice: one customer');
	await expectError(s.customers.create({email: 'other@example.com'}, {idempotencyKey: k}),
	    Stripe.errors.StripeIdempotencyError, null,
	    'the same key with other parameters: StripeIdempotencyError');
	// The SDK's own retry after the gateway's 409 (key in flight): two
	// concurrent creates with one key, the first slowed at Stripe.
	await fake('POST', '/__fault', {path: '/v1/customers', method: 'POST',
		responses: [{delay_ms: 1500}]});
	const k2 = 'node-inflight-' + process.pid;
	const sr = client(E.T_WRITE, {maxNetworkRetries: 4});
	const p1 = sr.customers.create({email: 'slow@example.com'}, {idempotencyKey: k2});
	await new Promise((res) => setTimeout(res, 400));
	const p2 = sr.customers.create({email: 'slow@example.com'}, {idempotencyKey: k2});
	const [b1, b2] = await Promise.all([p1, p2]);
	ok(b1.id === b2.id, 'concurrent creates with one key: the 409 (Stripe-Should-Retry: true) is retried by the SDK and replays one customer');
	// The SDK's own retry after the gateway's 429 (Stripe-Should-Retry:
	// true): products are limited to 1 per 1 s window for this token.
	const sp = client(E.T_PRODUCT, {maxNetworkRetries: 5});
	const pr1 = await sp.products.create({name: 'one'});
	const pr2 = await sp.products.create({name: 'two'});
	ok(/^prod_/.test(pr1.id) && /^prod_/.test(pr2.id) && pr1.id !== pr2.id,
	    'a gateway 429 with Stripe-Should-Retry: true is retried by the SDK until it passes');
	await expectError(client(E.T_PRODUCT).products.create({name: 'three'}),
	    Stripe.errors.StripeRateLimitError, 'rate_limit',
	    'without retries the same 429 is a StripeRateLimitError');
}

async function errors() {
	const s = client(E.T_WRITE);
	await expectError(client('pgk_' + 'x'.repeat(43)).customers.list(),
	    Stripe.errors.StripeAuthenticationError, 'invalid_token',
	    'an unknown token: StripeAuthenticationError');
	await expectError(client(E.T_READ).customers.create({email: 'r@example.com'}),
	    Stripe.errors.StripePermissionError, 'insufficient_scope',
	    'a read token creating: StripePermissionError');
	await expectError(s.customers.retrieve('cus_doesnotexist'),
	    Stripe.errors.StripeInvalidRequestError, 'resource_missing',
	    'an unknown customer: StripeInvalidRequestError resource_missing');
	await expectError(s.paymentIntents.create({currency: 'eur'}),
	    Stripe.errors.StripeInvalidRequestError, 'parameter_missing',
	    "Stripe's 400 passes through: StripeInvalidRequestError parameter_missing");
	await fake('POST', '/__fault', {path: '/v1/payment_intents', method: 'POST',
		responses: [{status: 402, error: 'card_declined'}]});
	const ce = await expectError(s.paymentIntents.create({amount: 2000, currency: 'eur',
		payment_method: 'pm_card_visa', confirm: true}),
	    Stripe.errors.StripeCardError, 'card_declined', 'a declined card: StripeCardError');
	ok(ce && ce.decline_code === 'generic_decline', 'StripeCardError carries decline_code');
	await fake('POST', '/__fault', {path: '/v1/customers', method: 'GET',
		responses: [{status: 429, error: 'rate_limit'}]});
	await expectError(s.customers.list(), Stripe.errors.StripeRateLimitError, 'rate_limit',
	    "Stripe's own 429: StripeRateLimitError");
	await fake('POST', '/__fault', {path: '/v1/customers', method: 'GET',
		responses: [{status: 500}, {status: 500}, {status: 500}]});
	await expectError(s.customers.list(), Stripe.errors.StripeAPIError, null,
	    'a 500 after the gateway retried: StripeAPIError');
	await expectError(client(E.T_WRITE, {port: Number(E.CLOSED_PORT)}).customers.list(),
	    Stripe.errors.StripeConnectionError, null,
	    'nothing listening: StripeConnectionError');
	// PCI: card data never passes, and the SDK sees a clear 400.
	const before = (await fakeLog()).length;
	const pe = await expectError(s.customers.create({email: 'pan@example.com',
		metadata: {note: '4242 4242 4242 4242'}}),
	    Stripe.errors.StripeInvalidRequestError, 'pci_raw_card_data',
	    'a card number in a parameter: StripeInvalidRequestError pci_raw_card_data');
	ok(pe && pe.param === 'metadata[note]', 'the PCI refusal names the parameter');
	ok((await fakeLog()).length === before, 'the card number never reached Stripe');
}

async function connect() {
	const s = client(E.T_CONN);
	const c = await s.customers.create({email: 'conn@example.com'},
	    {stripeAccount: E.ACCT_A});
	const log = await fakeLog();
	const last = log.filter((q) => q.method === 'POST' && q.path === '/v1/customers').pop();
	ok(last && last.headers.stripe_account === E.ACCT_A,
	    'stripeAccount: Stripe-Account reached Stripe');
	const r = await s.customers.retrieve(c.id, {}, {stripeAccount: E.ACCT_A});
	ok(r.id === c.id, 'retrieve on the connected account');
	await expectError(client(E.T_WRITE).customers.retrieve(c.id),
	    Stripe.errors.StripeInvalidRequestError, 'resource_missing',
	    'the connected customer is not on the platform');
	await expectError(s.customers.list({}, {stripeAccount: E.ACCT_B}),
	    Stripe.errors.StripePermissionError, 'account_not_allowed',
	    'an account beyond the token: StripePermissionError');
	const bound = client(E.T_CONN, {stripeAccount: E.ACCT_A});
	const l = await bound.customers.list();
	ok(l.data.some((x) => x.id === c.id), 'a client created with stripeAccount lists that account');
	// v2 with Stripe-Context
	const acct = await client(E.T_WRITE).v2.core.accounts.create({
		display_name: 'Node Shop', contact_email: 'shop@example.com'});
	ok(/^acct_/.test(acct.id) && acct.object === 'v2.core.account',
	    'v2.core.accounts.create (JSON through the gateway)');
	const got = await client(E.T_WRITE).v2.core.accounts.retrieve(acct.id);
	ok(got.id === acct.id, 'v2.core.accounts.retrieve');
	const ed = await client(E.T_CONN, {stripeContext: E.ACCT_A}).v2.core.eventDestinations.create({
		name: 'orders', type: 'webhook_endpoint', event_payload: 'thin',
		enabled_events: ['v1.billing.meter.error_report_triggered'],
		webhook_endpoint: {url: 'https://shop.example.com/webhook'}});
	const log2 = await fakeLog();
	const q2 = log2.filter((q) => q.path === '/v2/core/event_destinations').pop();
	ok(ed.object === 'v2.core.event_destination' && q2 && q2.headers.stripe_context === E.ACCT_A &&
	    q2.headers.content_type === 'application/json',
	    'v2.core.eventDestinations.create with stripeContext: JSON and Stripe-Context upstream');
}

async function webhooks() {
	const s = client(E.T_WRITE);
	const url = `http://127.0.0.1:${E.GW_PORT}/webhook`;
	const now = Math.floor(Date.now() / 1000);
	const snap = JSON.stringify({id: 'evt_node_snap_' + process.pid, object: 'event',
		api_version: E.API_VERSION, created: now, livemode: false, pending_webhooks: 1,
		type: 'customer.created', account: E.ACCT_A,
		data: {object: {id: 'cus_1', object: 'customer'}}});
	const thin = JSON.stringify({id: 'evt_test_node_thin_' + process.pid,
		object: 'v2.core.event', type: 'v1.billing.meter.error_report_triggered',
		livemode: false, created: new Date().toISOString(), context: E.ACCT_A,
		related_object: {id: 'mtr_1', type: 'billing.meter',
			url: '/v1/billing/meters/mtr_1'}});
	const post = async (body, header) => {
		const r = await fetch(url, {method: 'POST', body,
			headers: {'Content-Type': 'application/json', 'Stripe-Signature': header}});
		return [r.status, await r.text()];
	};
	const h1 = s.webhooks.generateTestHeaderString({payload: snap, secret: E.WH_SECRET});
	ok(s.webhooks.constructEvent(snap, h1, E.WH_SECRET).id === JSON.parse(snap).id,
	    'stripe-node itself accepts the snapshot event it signed');
	let [st, b] = await post(snap, h1);
	ok(st === 200 && JSON.parse(b).received === true,
	    'a snapshot event signed with generateTestHeaderString: 200', st + ' ' + b);
	const h2 = s.webhooks.generateTestHeaderString({payload: thin, secret: E.WH_SECRET});
	const n = s.parseEventNotification(thin, h2, E.WH_SECRET);
	ok(n.id === JSON.parse(thin).id && String(n.context) === E.ACCT_A,
	    'stripe-node parseEventNotification accepts the thin event it signed');
	[st, b] = await post(thin, h2);
	ok(st === 200 && JSON.parse(b).received === true,
	    'a thin event signed with generateTestHeaderString: 200', st + ' ' + b);
	[st, b] = await post(thin, h2);
	ok(st === 200 && JSON.parse(b).duplicate === true, 'the thin event again: a duplicate');
	const h3 = s.webhooks.generateTestHeaderString({payload: thin, secret: 'whsec_wrong'});
	[st, b] = await post(thin, h3);
	ok(st === 400 && JSON.parse(b).error.code === 'signature_mismatch',
	    'a thin event signed with another secret: 400 signature_mismatch', st + ' ' + b);
	const snapOld = snap.replace('evt_node_snap', 'evt_node_old');
	const old = s.webhooks.generateTestHeaderString({payload: snapOld,
		secret: E.WH_SECRET, timestamp: now - 3600});
	[st, b] = await post(snapOld, old);
	ok(st === 400 && JSON.parse(b).error.code === 'timestamp_too_old',
	    'an event signed an hour ago: 400 timestamp_too_old', st + ' ' + b);
	let threw = false;
	try { s.webhooks.constructEvent(thin, h2, E.WH_SECRET); } catch (e) { threw = true; }
	ok(threw, 'stripe-node refuses a thin event in constructEvent (the two kinds really differ)');
}

(async () => {
	for (const [name, fn] of [['gateway', gateway], ['errors', errors],
	    ['connect', connect], ['webhooks', webhooks]]) {
		try {
			await fn();
		} catch (e) {
			ok(false, `${name}: no unexpected exception`, `${e.type || ''} ${e.code || ''} ${e.message}`);
		}
	}
	process.exit(failed ? 1 : 0);
})();
