// A client built from the original contract only (Request{id}, Response{data}; no positions, NotifyReceived(id) after
// every message) across a gateway kill: it subscribes again elsewhere with Request{id} and loses nothing, because the
// client grain knows how far it acknowledged. The requests are the original contract's bytes; only to check offsets,
// the responses are also decoded with the extended contract (an original client ignores those fields).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { startGateways } from '../lib/cluster.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const loadOptions = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };
const load = (file) => grpc.loadPackageDefinition(protoLoader.loadSync(file, loadOptions)).protos.Longlived; // the client constructor
const original = load(path.join(here, '..', '..', 'LongLived.Tests', 'Protos', 'original.proto'));
const extended = load(path.join(here, '..', '..', '..', 'Contracts', 'Protos', 'longlived.proto'));
const insecure = grpc.credentials.createInsecure();

/** Subscribe with the original request; n messages, each acknowledged with the original NotifyReceived(id) first. */
function subscribeAndAck(client, id, n) {
  const method = original.service.Subscribe;
  const call = client.makeServerStreamRequest(method.path, method.requestSerialize, extended.service.Subscribe.responseDeserialize, { id });
  return new Promise((resolve, reject) => {
    const got = [];
    const timer = setTimeout(() => { call.cancel(); reject(new Error(`only ${got.length} of ${n} messages in 30 s`)); }, 30_000);
    let chain = Promise.resolve();
    call.on('data', (m) => {
      chain = chain.then(() => new Promise((ok, fail) => client.NotifyReceived({ id }, { deadline: Date.now() + 10_000 }, (e) => (e ? fail(e) : ok()))));
      got.push(m);
      if (got.length === n) chain.then(() => { clearTimeout(timer); resolve({ call, got }); }, reject);
    });
    call.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) { clearTimeout(timer); reject(e); } });
  });
}

let cluster;
before(async () => { cluster = await startGateways(2); });
after(() => cluster?.stop());

test('original contract across a gateway kill: resubscribing with Request{id} elsewhere loses nothing', async () => {
  const id = `original-failover-${process.pid}`;
  const first = new original(cluster.gateways[0].grpc, insecure);
  const before = await subscribeAndAck(first, id, 5);
  const lastAcked = before.got[4];

  cluster.gateways[0].kill(); // kill -9: the stream just breaks
  await new Promise((r) => setTimeout(r, 1500)); // the generator (every 200 ms) goes on meanwhile

  const second = new original(cluster.gateways[1].grpc, insecure);
  const { call, got } = await subscribeAndAck(second, id, 15);
  call.cancel();
  const offsets = got.map((m) => m.offset);
  assert.deepEqual(offsets, Array.from({ length: 15 }, (_, i) => lastAcked.offset + 1 + i), `offsets after the kill: ${offsets}`);
  assert.ok(got.every((m) => m.epoch === lastAcked.epoch && !m.unrecoverable));
  assert.ok(got.every((m) => m.data === `data mock for: ${id}`));
  first.close();
  second.close();
});
