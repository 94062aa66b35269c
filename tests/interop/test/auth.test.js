// A gateway with bearer auth on, from an independent client (grpc-js) and tokens made here with node:crypto, the way an
// attacker or another language's client would: forged signatures, "alg":"none", someone else's subject, an original-
// contract client without a token. Only a token signed with the key, for this id and these topics, gets a stream.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { startGateways } from '../lib/cluster.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const loadOptions = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };
const load = (file) => grpc.loadPackageDefinition(protoLoader.loadSync(file, loadOptions)).protos.Longlived;
const original = load(path.join(here, '..', '..', 'LongLived.Tests', 'Protos', 'original.proto'));
const extended = load(path.join(here, '..', '..', '..', 'Contracts', 'Protos', 'longlived.proto'));
const key = `interop-key-${crypto.randomBytes(16).toString('hex')}`;

const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
/** A JWT: HS256 with `secret`, or unsigned with alg "none". */
function jwt(claims, { secret = key, alg = 'HS256' } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg, typ: 'JWT' })}.${b64({ iat: now, nbf: now, exp: now + 300, ...claims })}`;
  const signature = alg === 'none' ? '' : crypto.createHmac('sha256', secret).update(body).digest('base64url');
  return `${body}.${signature}`;
}
const bearer = (token) => { const m = new grpc.Metadata(); if (token) m.set('authorization', `Bearer ${token}`); return m; };

/** The status a Subscribe ends with, or 'streaming' once it delivered a message. */
function subscribe(client, request, metadata) {
  return new Promise((resolve, reject) => {
    const call = client.Subscribe(request, metadata);
    const timer = setTimeout(() => { call.cancel(); reject(new Error('no message and no status in 20 s')); }, 20_000);
    call.on('data', () => { clearTimeout(timer); call.cancel(); resolve({ code: 'streaming' }); });
    call.on('error', (e) => { clearTimeout(timer); resolve(e.code === grpc.status.CANCELLED ? { code: 'streaming' } : e); });
  });
}

let cluster;
let client;
let originalClient;
before(async () => {
  cluster = await startGateways(1, [`--Gateway:Auth:SigningKey=${key}`]);
  client = new extended(cluster.gateways[0].grpc, grpc.credentials.createInsecure());
  originalClient = new original(cluster.gateways[0].grpc, grpc.credentials.createInsecure());
});
after(() => { client?.close(); originalClient?.close(); cluster?.stop(); });

test('a token signed with the key, for this id, gets its stream', async () => {
  const id = `alice-${crypto.randomUUID()}`;
  const result = await subscribe(client, { id }, bearer(jwt({ sub: id })));
  assert.equal(result.code, 'streaming');
});

test('forged, unsigned and missing tokens are UNAUTHENTICATED', async () => {
  const id = `alice-${crypto.randomUUID()}`;
  const cases = {
    'signed with another key': jwt({ sub: id }, { secret: 'an-attacker-key-of-at-least-32-bytes!!' }),
    'alg none': jwt({ sub: id }, { alg: 'none' }),
    'expired': jwt({ sub: id, iat: 1, nbf: 1, exp: 2 }),
    'no token': null,
  };
  for (const [name, token] of Object.entries(cases)) {
    const result = await subscribe(client, { id }, bearer(token));
    assert.equal(result.code, grpc.status.UNAUTHENTICATED, `${name}: ${result.details ?? result.code}`);
  }
});

test("someone else's valid token cannot subscribe, acknowledge or unsubscribe as alice", async () => {
  const id = `alice-${crypto.randomUUID()}`;
  const mallory = bearer(jwt({ sub: 'mallory' }));
  const sub = await subscribe(client, { id }, mallory);
  assert.equal(sub.code, grpc.status.PERMISSION_DENIED, sub.details);
  for (const method of ['NotifyReceived', 'Unsubscribe']) {
    const error = await new Promise((resolve) => client[method]({ id }, mallory, (e) => resolve(e)));
    assert.equal(error?.code, grpc.status.PERMISSION_DENIED, `${method}: ${error?.details}`);
  }
});

test('an original-contract client without a token is told UNAUTHENTICATED, with the reason', async () => {
  const result = await subscribe(originalClient, { id: `old-${crypto.randomUUID()}` }, new grpc.Metadata());
  assert.equal(result.code, grpc.status.UNAUTHENTICATED);
  assert.match(result.details, /missing bearer token/);
});
