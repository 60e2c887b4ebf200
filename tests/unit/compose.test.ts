/**
 * The production-like stack (docker-compose.yml, Dockerfile, .env.example) cannot be
 * started on the build machines, which have no Docker engine: this reads the files and
 * checks the properties the stack's start and stop depend on.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseApiKeys, roles } from '../../api/auth.js';
import { projectRoot } from '../../runtime/config.js';

type Scalar = string | number | boolean | null;
interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, Scalar> | string[];
  env_file?: unknown;
  ports?: (string | number | { host_ip?: string; published?: string | number; target?: number })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  init?: boolean;
  restart?: string;
}

const read = (file: string) => fs.readFileSync(path.join(projectRoot, file), 'utf8');
/** A file the checks need but that may be missing: empty then, so each check fails on its own. */
const readIfPresent = (file: string) => (fs.existsSync(path.join(projectRoot, file)) ? read(file) : '');
const composeText = read('docker-compose.yml');
const compose = parse(composeText, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const dockerfile = read('Dockerfile');

/** Compose interpolation of `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`; `$$` is a literal `$`. */
function interpolate(text: string, env: Record<string, string>): string {
  return text
    .replaceAll('$$', '\u0000')
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (_all, name: string, colon: string, op: string, word: string) => {
      const value = env[name];
      const unset = value === undefined || (colon === ':' && value === '');
      if (!unset) return value;
      if (op === '-') return word;
      if (op === '?') throw new Error(`${name} is required: ${word}`);
      return '';
    })
    .replaceAll('\u0000', '$');
}

/** `KEY=value` lines of an env file, as Compose reads `.env` (comments and blank lines skipped). */
function envFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!.trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return env;
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0]!, entry.split('=').slice(1).join('=')]));
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]));
}

function dependsOn(service: Service): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([name, dep]) => [name, dep.condition ?? 'service_started']));
}

const words = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : value.split(/\s+/));
const healthTest = (service: Service | undefined) => words(service?.healthcheck?.disable ? undefined : service?.healthcheck?.test).join(' ');

const builders = Object.entries(services).filter(([, service]) => service.build !== undefined);
const appImage = builders[0]?.[1].image;
const appServices = ['migrate', 'worker', 'api'];
const namespace = environmentOf(services.worker ?? {}).TEMPORAL_NAMESPACE;

describe('docker-compose.yml', () => {
  it('builds the backbone image in one service only, and the other backbone services run that image', () => {
    expect(builders.map(([name]) => name)).toHaveLength(1);
    expect(appImage).toBeTruthy();
    for (const name of appServices) {
      expect(services[name]?.image, name).toBe(appImage);
    }
  });

  it('starts every backbone process as node itself under an init, and nothing through npm', () => {
    for (const [name, service] of Object.entries(services)) {
      const started = [...words(service.entrypoint), ...words(service.command)].join(' ');
      expect(started, name).not.toMatch(/\bnp[mx]\b/);
    }
    for (const name of appServices) {
      const command = words(services[name]?.command);
      expect(command.slice(0, 3), name).toEqual(['node', '--import', 'tsx']);
      expect(services[name]?.init, name).toBe(true);
    }
  });

  it('has healthchecks on postgres and temporal, and starts each process only once what it needs is ready', () => {
    expect(healthTest(services.postgres)).not.toBe('');
    expect(healthTest(services.temporal)).not.toBe('');
    expect(dependsOn(services.migrate ?? {})).toMatchObject({ postgres: 'service_healthy' });
    for (const name of ['worker', 'api']) {
      expect(dependsOn(services[name] ?? {}), name).toMatchObject({ temporal: 'service_healthy', migrate: 'service_completed_successfully' });
    }
    // A condition is only as good as what it waits on: a health condition needs a
    // healthcheck, a completion condition a job that is not restarted.
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(dependsOn(service))) {
        expect(services[dependency], `${name} -> ${dependency}`).toBeDefined();
        if (condition === 'service_healthy') expect(healthTest(services[dependency]), `${name} -> ${dependency}`).not.toBe('');
        if (condition === 'service_completed_successfully') expect(services[dependency]?.restart ?? 'no', `${name} -> ${dependency}`).toMatch(/^(no|on-failure.*)$/);
      }
    }
  });

  it('counts temporal healthy only once the namespace the backbone runs in exists, and creates that namespace', () => {
    expect(namespace).toBeTruthy();
    expect(healthTest(services.temporal)).toMatch(new RegExp(`namespaces/${namespace}\\b|namespace describe .*\\b${namespace}\\b`));
    const creators = Object.values(services).filter(
      (service) => environmentOf(service).TEMPORAL_NAMESPACE === namespace && /temporalio\/admin-tools:/.test(service.image ?? ''),
    );
    expect(creators).toHaveLength(1);
    expect(dependsOn(creators[0]!)).toMatchObject({ temporal: 'service_started' });
    // Temporal's health waits on that job, so whatever waits for the health names the
    // job too: `docker compose up api` alone then still creates the namespace.
    const [creatorName] = Object.entries(services).find(([, service]) => service === creators[0])!;
    for (const [name, service] of Object.entries(services)) {
      if (dependsOn(service).temporal === 'service_healthy') {
        expect(dependsOn(service), name).toMatchObject({ [creatorName]: 'service_completed_successfully' });
      }
    }
  });

  it('runs the maintained Temporal images: temporalio/server with admin-tools of the same release, no auto-setup', () => {
    for (const [name, service] of Object.entries(services)) expect(service.image ?? '', name).not.toMatch(/auto-setup/);
    const release = /^temporalio\/server:(\d+\.\d+\.\d+)$/.exec(services.temporal?.image ?? '')?.[1];
    expect(release).toBeTruthy();
    const adminTools = Object.values(services).filter((service) => (service.image ?? '').startsWith('temporalio/admin-tools:'));
    expect(adminTools.length).toBeGreaterThan(0);
    for (const service of adminTools) expect(service.image).toBe(`temporalio/admin-tools:${release}`);
    // The schema job runs to completion before the server starts.
    const schemaJobs = Object.entries(dependsOn(services.temporal ?? {})).filter(
      ([dependency, condition]) => condition === 'service_completed_successfully' && adminTools.includes(services[dependency]!),
    );
    expect(schemaJobs).toHaveLength(1);
  });

  it('turns on the workflow update and update-with-start APIs that the backbone calls, in the dynamic config temporal reads', () => {
    const file = environmentOf(services.temporal ?? {}).DYNAMIC_CONFIG_FILE_PATH;
    const mount = (services.temporal?.volumes ?? []).map(String).find((volume) => volume.split(':')[1] === file);
    expect(mount, `a volume mounted at ${file}`).toBeDefined();
    const config = parse(read(mount!.split(':')[0]!)) as Record<string, { value: unknown }[]>;
    expect(config['frontend.enableUpdateWorkflowExecution']?.[0]?.value).toBe(true);
    expect(config['frontend.enableExecuteMultiOperation']?.[0]?.value).toBe(true);
  });

  it('mounts only files that exist in the checkout', () => {
    const binds = Object.values(services)
      .flatMap((service) => service.volumes ?? [])
      .map((volume) => (typeof volume === 'string' ? volume.split(':')[0]! : (volume.source ?? '')))
      .filter((source) => source.startsWith('./'));
    expect(binds.length).toBeGreaterThan(0);
    for (const source of binds) expect(fs.existsSync(path.join(projectRoot, source)), source).toBe(true);
  });

  it('publishes every port on 127.0.0.1 unless told otherwise, with no .env or with the example one', () => {
    const example = envFile(readIfPresent('.env.example'));
    const published = Object.entries(services).flatMap(([name, service]) => (service.ports ?? []).map((port) => [name, port] as const));
    expect(published.length).toBeGreaterThan(0);
    for (const env of [{}, example]) {
      for (const [name, port] of published) {
        const hostIp = typeof port === 'object' ? port.host_ip && interpolate(port.host_ip, env) : interpolate(String(port), env).split(':').slice(0, -2).join(':');
        expect(hostIp, `${name}: ${JSON.stringify(port)}`).toBe('127.0.0.1');
      }
    }
  });

  it('gives API_KEYS to the API only', () => {
    const holders = Object.entries(services).filter(([, service]) => 'API_KEYS' in environmentOf(service)).map(([name]) => name);
    expect(holders).toEqual(['api']);
    // An env_file would hand every variable of .env to that service.
    for (const [name, service] of Object.entries(services)) expect(service.env_file, name).toBeUndefined();
  });

  it('connects Temporal with a database role of its own, not the ledger superuser', () => {
    const ledgerUser = environmentOf(services.postgres ?? {}).POSTGRES_USER;
    const urlUser = new URL(interpolate(environmentOf(services.worker ?? {}).DATABASE_URL ?? '', {})).username;
    expect(ledgerUser).toBeTruthy();
    expect(urlUser).toBe(ledgerUser);
    const temporal = environmentOf(services.temporal ?? {});
    const temporalUser = temporal.POSTGRES_USER;
    expect(temporalUser).toBeTruthy();
    expect(temporalUser).not.toBe(ledgerUser);
    expect(temporal.VISIBILITY_POSTGRES_USER ?? temporalUser).not.toBe(ledgerUser);
    for (const [name, service] of Object.entries(services)) {
      const user = environmentOf(service).SQL_USER;
      if (user !== undefined) expect(user, name).toBe(temporalUser);
    }
    // The postgres container makes that role when it first initialises its volume.
    expect(environmentOf(services.postgres ?? {}).TEMPORAL_DB_USER).toBe(temporalUser);
    const initScripts = (services.postgres?.volumes ?? []).map(String).filter((volume) => volume.split(':')[1]?.startsWith('/docker-entrypoint-initdb.d/'));
    expect(initScripts).toHaveLength(1);
    expect(read(initScripts[0]!.split(':')[0]!)).toMatch(/CREATE ROLE[\s\S]*TEMPORAL_DB_USER|TEMPORAL_DB_USER[\s\S]*CREATE ROLE/);
  });

  it('sets no CORS origins on the Temporal UI (nothing calls it from a browser page of another origin)', () => {
    expect(services['temporal-ui']).toBeDefined();
    expect(composeText).not.toMatch(/TEMPORAL_CORS_ORIGINS/);
  });
});

describe('Dockerfile', () => {
  const instructions = dockerfile.split('\n').filter((line) => /^[A-Z]+\s/.test(line));

  it('builds on a current Node LTS slim image and runs as a non-root user', () => {
    const from = instructions.filter((line) => line.startsWith('FROM ')).at(-1) ?? '';
    expect(from).toMatch(/^FROM node:(22|24)[\w.-]*-slim\b/);
    const user = instructions.filter((line) => line.startsWith('USER ')).at(-1)?.split(/\s+/)[1];
    expect(user).toBeTruthy();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  it('starts node itself (exec form), not npm', () => {
    const starts = instructions.filter((line) => /^(CMD|ENTRYPOINT) /.test(line));
    expect(starts.length).toBeGreaterThan(0);
    for (const line of starts) expect(line).not.toMatch(/\bnp[mx]\b/);
    const cmd = JSON.parse(starts.find((line) => line.startsWith('CMD '))!.slice(4)) as string[];
    expect(cmd[0]).toBe('node');
  });
});

describe('.env.example', () => {
  const example = envFile(readIfPresent('.env.example'));

  it('has API keys the API accepts as written, one for every role', () => {
    const keys = parseApiKeys(example.API_KEYS ?? '');
    expect(keys.map((k) => k.role).sort()).toEqual([...roles].sort());
  });

  it('sets every variable the compose file requires', () => {
    const required = [...composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)].map((m) => m[1]!);
    expect(required.length).toBeGreaterThan(0);
    for (const name of required) expect(example[name], name).toBeTruthy();
    expect(() => interpolate(composeText, example)).not.toThrow();
  });

  it('is committed, while .env itself is ignored by git', () => {
    const ignored = (file: string) => {
      try {
        execFileSync('git', ['check-ignore', '-q', file], { cwd: projectRoot, stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    };
    expect(ignored('.env')).toBe(true);
    expect(ignored('.env.example')).toBe(false);
  });
});
