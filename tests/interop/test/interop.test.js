// The gateway and the emulator seen by independent implementations: grpc-js, grpc-js-reflection-client, plain fetch.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { GrpcReflection } from 'grpc-js-reflection-client';
import { startCluster } from '../lib/cluster.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const loadOptions = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };
const insecure = grpc.credentials.createInsecure();

const original = grpc.loadPackageDefinition(
  protoLoader.loadSync(path.join(here, '..', '..', 'LongLived.Tests', 'Protos', 'original.proto'), loadOptions)).protos;
// grpc-js ships its own copy of the official channelz proto: independent of the one the gateway is built from.
const channelzProto = path.join(path.dirname(require.resolve('@grpc/grpc-js/package.json')), 'proto', 'channelz.proto');
const channelz = grpc.loadPackageDefinition(protoLoader.loadSync(channelzProto, loadOptions)).grpc.channelz.v1;

const unary = (client, method, request) => new Promise((resolve, reject) =>
  client[method](request, { deadline: Date.now() + 30_000 }, (error, reply) => (error ? reject(error) : resolve(reply))));

/** The first n messages of a server stream, then cancels it. */
const take = (call, n) => new Promise((resolve, reject) => {
  const got = [];
  const timer = setTimeout(() => { call.cancel(); reject(new Error(`only ${got.length} of ${n} messages in 30 s`)); }, 30_000);
  call.on('data', (m) => { got.push(m); if (got.length === n) { clearTimeout(timer); call.cancel(); resolve(got); } });
  call.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) { clearTimeout(timer); reject(e); } });
});

const getJson = async (url) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  return { http: response.status, body: await response.json() };
};

let cluster;
before(async () => { cluster = await startCluster(); });
after(() => cluster?.stop());

describe('reflection', () => {
  for (const version of ['v1', 'v1alpha']) {
    test(`lists the services and resolves protos.Longlived (${version})`, async () => {
      const reflection = new GrpcReflection(cluster.grpc, insecure, {}, version);
      const services = await reflection.listServices();
      for (const name of ['protos.Longlived', 'grpc.health.v1.Health', 'grpc.channelz.v1.Channelz']) assert.ok(services.includes(name), `${name} in ${services}`);
      const methods = (await reflection.listMethods('protos.Longlived')).map((m) => m.name);
      assert.deepEqual([...methods].sort(), ['NotifyReceived', 'Publish', 'Subscribe', 'Unsubscribe']);
    });
  }

  test('a client built from the reflected descriptor alone subscribes', async () => {
    const descriptor = await new GrpcReflection(cluster.grpc, insecure, {}, 'v1').getDescriptorBySymbol('protos.Longlived');
    const { protos } = descriptor.getPackageObject(loadOptions);
    const client = new protos.Longlived(cluster.grpc, insecure);
    const id = `reflected-${process.pid}`;
    const [first, second] = await take(client.Subscribe({ id }), 2);
    assert.equal(first.data, `data mock for: ${id}`);
    assert.equal(first.channel, `client/${id}`);
    assert.equal(Number(second.offset), Number(first.offset) + 1);
    client.close();
  });
});

describe('original contract', () => {
  test('Request{id} / Response{data} only: subscribes, receives, notifies', async () => {
    const client = new original.Longlived(cluster.grpc, insecure);
    const id = `original-${process.pid}`;
    const messages = await take(client.Subscribe({ id }), 3);
    assert.deepEqual(messages.map((m) => m.data), Array(3).fill(`data mock for: ${id}`));
    assert.deepEqual(Object.keys(messages[0]), ['data']); // nothing it does not know about
    assert.equal((await unary(client, 'NotifyReceived', { id })).data, `NotifyReceived: ${id}`);
    client.close();
  });
});

describe('channelz', () => {
  test('GetServers / GetServer / GetServerSockets / GetSocket report known traffic exactly', async () => {
    const cz = new channelz.Channelz(cluster.grpc, insecure);
    const servers = await unary(cz, 'GetServers', { startServerId: 0 });
    assert.equal(servers.end, true);
    assert.equal(servers.server.length, 1);
    const server = servers.server[0];
    assert.ok(server.ref && server.data, 'ref and data set');
    const serverId = server.ref.serverId;
    const before = server.data;

    // Known traffic from a separate channel: 3 OK, 1 NOT_FOUND.
    const client = new original.Longlived(cluster.grpc, insecure, { 'grpc.use_local_subchannel_pool': 1 });
    for (let i = 0; i < 3; i++) await unary(client, 'NotifyReceived', { id: `cz-${i}` });
    await assert.rejects(unary(client, 'Unsubscribe', { id: `nobody-${process.pid}` }), (e) => e.code === grpc.status.NOT_FOUND);

    const afterData = (await unary(cz, 'GetServer', { serverId })).server.data;
    assert.equal(afterData.callsStarted - before.callsStarted, 4 + 1); // + this GetServer
    assert.equal(afterData.callsSucceeded - before.callsSucceeded, 3 + 1); // + the GetServers above
    assert.equal(afterData.callsFailed - before.callsFailed, 1);

    const sockets = await unary(cz, 'GetServerSockets', { serverId, startSocketId: 0, maxResults: 0 });
    assert.equal(sockets.end, true);
    assert.ok(sockets.socketRef.length >= 2, 'the channelz connection and the traffic connection');
    const details = [];
    for (const ref of sockets.socketRef) details.push((await unary(cz, 'GetSocket', { socketId: ref.socketId })).socket);
    const traffic = details.find((s) => Number(s.data.streamsStarted) === 4);
    assert.ok(traffic, `a socket with exactly the 4 streams of the traffic: ${JSON.stringify(details.map((s) => s.data.streamsStarted))}`);
    assert.equal(Number(traffic.data.streamsSucceeded), 4); // NOT_FOUND is a call failure, not a stream failure
    assert.equal(Number(traffic.data.streamsFailed), 0);
    assert.equal(Number(traffic.data.messagesReceived), 4);
    assert.equal(Number(traffic.data.messagesSent), 3);
    assert.equal(traffic.remote.tcpipAddress.ipAddress.length, 4);
    client.close();

    const listen = (await unary(cz, 'GetSocket', { socketId: server.listenSocket[0].socketId })).socket;
    assert.ok(listen.ref && listen.data, 'listen sockets resolve through GetSocket');
    assert.equal((await unary(cz, 'GetTopChannels', { startChannelId: 0 })).end, true);
    cz.close();
  });
});

describe('health', () => {
  test('SERVING, NOT_SERVING after /server/stop (and Subscribe refused), SERVING after /server/start', async () => {
    const descriptor = await new GrpcReflection(cluster.grpc, insecure, {}, 'v1').getDescriptorBySymbol('grpc.health.v1.Health');
    const { Health } = descriptor.getPackageObject(loadOptions).grpc.health.v1;
    const health = new Health(cluster.grpc, insecure);
    const check = async (service) => (await unary(health, 'Check', { service })).status;

    assert.equal(await check(''), 'SERVING');
    assert.equal(await check('protos.Longlived'), 'SERVING');

    const stopped = await getJson(`${cluster.admin}/server/stop`);
    assert.equal(stopped.body.status, 200);
    assert.equal(await check(''), 'NOT_SERVING');
    assert.equal(await check('protos.Longlived'), 'NOT_SERVING');
    const client = new original.Longlived(cluster.grpc, insecure);
    await assert.rejects(take(client.Subscribe({ id: `drained-${process.pid}` }), 1), (e) => e.code === grpc.status.UNAVAILABLE);

    const started = await getJson(`${cluster.admin}/server/start`);
    assert.equal(started.body.status, 200);
    assert.equal(await check(''), 'SERVING');
    assert.equal((await take(client.Subscribe({ id: `back-${process.pid}` }), 1)).length, 1);
    client.close();
    health.close();
  });
});

describe('REST control API (emulator)', () => {
  test('/client/start, /client/list, /client/notify, /client/stop with the original JSON shape', async () => {
    const empty = await getJson(`${cluster.control}/client/list`);
    assert.deepEqual(empty, { http: 200, body: { status: 200, message: 'OK', data: [] } });

    const started = await getJson(`${cluster.control}/client/start?n=2`);
    assert.equal(started.body.status, 200);
    assert.equal(started.body.message, 'OK');
    const ids = started.body.data.clientID;
    assert.equal(ids.length, 2);
    assert.deepEqual((await getJson(`${cluster.control}/client/list`)).body.data, ids);

    const notified = await getJson(`${cluster.control}/client/notify?n=1`);
    assert.equal(notified.body.status, 200);
    assert.equal(notified.body.message, 'notified');
    assert.match(notified.body.data.data, /^NotifyReceived: /);

    const stopped = await getJson(`${cluster.control}/client/stop?id=${ids[0]}`);
    assert.deepEqual(stopped.body, { status: 200, message: 'stop and deleted', data: { clientId: ids[0] } });
    const unknown = await getJson(`${cluster.control}/client/stop?id=nobody`);
    assert.deepEqual(unknown.body, { status: 404, message: 'client not found', data: { clientId: 'nobody' } });
    const all = await getJson(`${cluster.control}/client/stop?id=all`);
    assert.deepEqual(all.body, { status: 200, message: 'stop all clients', data: { clientIds: [ids[1]] } });
    assert.deepEqual((await getJson(`${cluster.control}/client/list`)).body.data, []);

    const missing = await getJson(`${cluster.control}/nope`);
    assert.equal(missing.http, 404);
    assert.deepEqual(missing.body, { status: 404, message: 'unsupported path', data: { path: '/nope' } });
  });
});
