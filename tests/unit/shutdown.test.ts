/** closeApi: requests in flight are answered, kept-alive connections do not hold the stop, the grace period bounds it. */
import http from 'node:http';
import type net from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { closeApi } from '../../runtime/shutdown.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const agents: http.Agent[] = [];
afterEach(() => agents.splice(0).forEach((agent) => agent.destroy()));

async function holdingApp(): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify();
  app.get<{ Querystring: { ms: string } }>('/hold', async (request) => {
    await sleep(Number(request.query.ms));
    return { held: Number(request.query.ms) };
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as net.AddressInfo).port };
}

function get(port: number, ms: number, agent: http.Agent): Promise<string> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path: `/hold?ms=${ms}`, agent }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(`${response.statusCode} ${body}`));
      response.on('error', (error) => resolve(`error ${error.message}`));
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code ?? error.message}`));
  });
}

function keepAlive(): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  agents.push(agent);
  return agent;
}

describe('closeApi', () => {
  it('answers the requests in flight, refuses new connections, and ends once they are answered despite keep-alive', async () => {
    const { app, port } = await holdingApp();
    const agent = keepAlive();
    const lines: string[] = [];
    const inFlight = [get(port, 600, agent), get(port, 800, agent), get(port, 1_000, agent)];
    await sleep(100);
    const started = Date.now();
    const closing = closeApi(app, 10_000, (line) => lines.push(line));
    await sleep(50);
    expect(await get(port, 0, new http.Agent())).toBe('error ECONNREFUSED');
    expect(await Promise.all(inFlight)).toEqual(['200 {"held":600}', '200 {"held":800}', '200 {"held":1000}']);
    await closing;
    expect(Date.now() - started).toBeLessThan(2_000); // not the keep-alive timeout (72 s)
    expect(lines).toEqual([expect.stringMatching(/^API closed in [\d.]+ m?s, every request in flight answered$/)]);
  });

  it('closes what is still busy at the end of the grace period', async () => {
    const { app, port } = await holdingApp();
    const agent = keepAlive();
    const lines: string[] = [];
    const quick = get(port, 200, agent);
    const stuck = get(port, 30_000, agent);
    await sleep(100);
    const started = Date.now();
    await closeApi(app, 1_000, (line) => lines.push(line));
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(3_000);
    expect(await quick).toBe('200 {"held":200}');
    expect(await stuck).toMatch(/^error /);
    expect(lines).toEqual([
      '1 connection(s) still busy after API_SHUTDOWN_GRACE (1 s): closing them',
      expect.stringMatching(/^API closed in 1(\.\d)? s \(1 connection\(s\) cut at the grace period\)$/),
    ]);
  });
});
