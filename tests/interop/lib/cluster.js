// Starts real processes from the Release build (./test.sh builds it): a silo, a gateway and an emulator, each on
// free loopback ports, and stops them at the end. Nothing here is a stand-in for the thing under test.
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = (project, dll) => path.join(root, project, 'bin', process.env.CONFIGURATION ?? 'Release', 'net10.0', dll);

export const freePort = () => new Promise((resolve, reject) => {
  const server = net.createServer();
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
  server.on('error', reject);
});

export async function waitForPort(port, proc, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`port ${port} not open after ${timeoutMs} ms; ${proc.name} output:\n${proc.tail()}`);
}

function start(name, args) {
  const child = spawn('dotnet', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const keep = (chunk) => { lines.push(...chunk.toString().split('\n')); lines.splice(0, Math.max(0, lines.length - 200)); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return { name, child, tail: () => lines.join('\n') };
}

/** One silo, one gateway (gRPC + admin ports) and an emulator with its REST control API and no clients. */
export async function startCluster() {
  const [siloPort, siloGatewayPort, siloHttpPort, grpcPort, adminPort, controlPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const common = ['--Logging:LogLevel:Default=Warning', `--Orleans:ClusterId=interop-${process.pid}`];
  const silo = start('silo', [bin('Silo', 'LongLived.Silo.dll'), ...common, `--Orleans:SiloPort=${siloPort}`, `--Orleans:GatewayPort=${siloGatewayPort}`, `--Silo:HttpPort=${siloHttpPort}`, '--Generator:Interval=00:00:00.2']);
  const procs = [silo];
  try {
    await waitForPort(siloGatewayPort, silo);
    const gateway = start('gateway', [bin('Gateway', 'LongLived.Gateway.dll'), ...common, `--Gateway:Port=${grpcPort}`, `--Gateway:AdminPort=${adminPort}`, `--Orleans:GatewayPorts:0=${siloGatewayPort}`]);
    procs.push(gateway);
    await waitForPort(grpcPort, gateway);
    await waitForPort(adminPort, gateway);
    const emulator = start('emulator', [bin('Emulator', 'LongLived.Emulator.dll'), '--addr', `http://127.0.0.1:${grpcPort}`, '--clients', '0', '--control-port', String(controlPort), '--quiet']);
    procs.push(emulator);
    await waitForPort(controlPort, emulator);
  } catch (e) {
    for (const p of procs) p.child.kill('SIGKILL');
    throw e;
  }
  return {
    grpc: `127.0.0.1:${grpcPort}`,
    admin: `http://127.0.0.1:${adminPort}`,
    control: `http://127.0.0.1:${controlPort}`,
    stop: () => { for (const p of procs) p.child.kill('SIGKILL'); },
  };
}

/** One silo and n gateways (with gatewayArgs), each gateway killable on its own (kill -9 as an operator would). */
export async function startGateways(n, gatewayArgs = []) {
  const [siloPort, siloGatewayPort, siloHttpPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const common = ['--Logging:LogLevel:Default=Warning', `--Orleans:ClusterId=interop-gw-${process.pid}`];
  const silo = start('silo', [bin('Silo', 'LongLived.Silo.dll'), ...common, `--Orleans:SiloPort=${siloPort}`, `--Orleans:GatewayPort=${siloGatewayPort}`, `--Silo:HttpPort=${siloHttpPort}`, '--Generator:Interval=00:00:00.2']);
  const procs = [silo];
  const gateways = [];
  try {
    await waitForPort(siloGatewayPort, silo);
    for (let i = 0; i < n; i++) {
      const [grpcPort, adminPort] = await Promise.all([freePort(), freePort()]);
      const gateway = start(`gateway${i + 1}`, [bin('Gateway', 'LongLived.Gateway.dll'), ...common, `--Gateway:Port=${grpcPort}`, `--Gateway:AdminPort=${adminPort}`, `--Orleans:GatewayPorts:0=${siloGatewayPort}`, ...gatewayArgs]);
      procs.push(gateway);
      await waitForPort(grpcPort, gateway);
      gateways.push({ grpc: `127.0.0.1:${grpcPort}`, kill: () => gateway.child.kill('SIGKILL'), tail: gateway.tail });
    }
  } catch (e) {
    for (const p of procs) p.child.kill('SIGKILL');
    throw e;
  }
  return { gateways, stop: () => { for (const p of procs) p.child.kill('SIGKILL'); } };
}
