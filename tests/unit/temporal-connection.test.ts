import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../runtime/config.js';
import { StartupError } from '../../runtime/startup-error.js';

const noFile = { TEMPORAL_CONFIG_FILE: path.join(os.tmpdir(), 'no-such-temporal.toml') };

describe('the Temporal connection, read as the Temporal CLI reads it', () => {
  it('is the local dev server when nothing is set', () => {
    const config = loadConfig(noFile);
    expect(config.temporalAddress).toBeUndefined();
    expect(config.temporalNamespace).toBe('default');
    expect(config.temporalConnection).toEqual({});
  });

  it('takes address, namespace, API key (with TLS) and gRPC metadata from TEMPORAL_* variables', () => {
    const config = loadConfig({ ...noFile, TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', TEMPORAL_API_KEY: 'secret', TEMPORAL_GRPC_META_X_TEAM: 'ops' });
    expect(config.temporalAddress).toBe('ns.acct.tmprl.cloud:7233');
    expect(config.temporalNamespace).toBe('ns.acct');
    expect(config.temporalConnection).toMatchObject({ apiKey: 'secret', tls: true });
    expect(Object.values(config.temporalConnection.metadata ?? {})).toEqual(['ops']);
  });

  it('reads a temporal.toml profile, and a variable wins over it', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ops-toml-')), 'temporal.toml');
    fs.writeFileSync(file, '[profile.cloud]\naddress = "from-file:7233"\nnamespace = "filed"\napi_key = "k"\n');
    const fromProfile = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' });
    expect([fromProfile.temporalAddress, fromProfile.temporalNamespace, fromProfile.temporalConnection.apiKey]).toEqual(['from-file:7233', 'filed', 'k']);
    const overridden = loadConfig({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud', TEMPORAL_NAMESPACE: 'other' });
    expect(overridden.temporalNamespace).toBe('other');
  });

  it('says which setting is wrong when the profile cannot be read', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ops-toml-')), 'temporal.toml');
    fs.writeFileSync(file, '[profile.cloud\naddress = ');
    expect(() => loadConfig({ TEMPORAL_CONFIG_FILE: file })).toThrow(StartupError);
  });
});
