import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { choosePort, describeListener, freePort, isPortFree } from '../../runtime/ports.js';
import { StartupError } from '../../runtime/startup-error.js';

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function occupy(): Promise<number> {
  const server = net.createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('choosing ports', () => {
  it('keeps a free default, and says nothing', async () => {
    const port = await freePort();
    const lines: string[] = [];
    expect(await choosePort({ service: 'the API', variable: 'PORT', preferred: [port] }, (l) => lines.push(l))).toBe(port);
    expect(lines).toEqual([]);
  });

  it('gives a taken default way to a free port, and says which and who holds the default', async () => {
    const taken = await occupy();
    const lines: string[] = [];
    const port = await choosePort({ service: 'the Temporal dev server', variable: 'DEV_TEMPORAL_PORT', preferred: [taken] }, (l) => lines.push(l));
    expect(port).not.toBe(taken);
    expect(await isPortFree(port)).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`port ${taken} is in use`);
    expect(lines[0]).toContain(`(pid ${process.pid})`);
    expect(lines[0]).toContain(`the Temporal dev server takes port ${port} (set DEV_TEMPORAL_PORT to choose)`);
  });

  it("prefers the last run's port over the default", async () => {
    const last = await freePort();
    const taken = await occupy();
    expect(await choosePort({ service: 'the API', variable: 'PORT', preferred: [last, taken] }, () => {})).toBe(last);
  });

  it('refuses a port the user asked for when it is taken, naming the variable', async () => {
    const taken = await occupy();
    const attempt = choosePort({ service: 'the API', variable: 'PORT', requested: taken, preferred: [3000] }, () => {});
    await expect(attempt).rejects.toBeInstanceOf(StartupError);
    await expect(attempt).rejects.toThrow(`port ${taken} for the API (PORT) is in use`);
  });

  it('names the listening process from /proc', async () => {
    const taken = await occupy();
    expect(describeListener(taken)).toMatch(new RegExp(` by \`.+\` \\(pid ${process.pid}\\)$`));
    expect(describeListener(await freePort())).toBe('');
  });
});
