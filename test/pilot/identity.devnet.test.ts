/**
 * A sentry's pilot with `identity = "ec2"`: it reads its instance's identity document through the
 * (emulated) IMDSv2, the self-hosted commander verifies it and approves the sentry without a person,
 * and the pilot deletes its enrollment token file once it holds its own node secret.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningCommander, ServeConfig, serve } from '../../commander/server/serve.js';
import { type Ec2Emulator, type Instance, startEc2Emulator } from '../../devnet/ec2/emulator.js';
import { doctor } from '../../pilot/doctor.js';
import { exists } from '../../pilot/fsx.js';
import { RecordingTransport, TOKEN } from '../commander/helpers.js';
import { waitFor } from '../helpers/wait.js';
import { type PilotWorld, pilotWorld } from '../security/kit.js';

let dir: string;
let ec2: Ec2Emulator;
let instance: Instance;
let commander: RunningCommander;
let world: PilotWorld;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pilot-identity-'));
  ec2 = await startEc2Emulator();
  instance = ec2.addInstance({
    group: 'sentries',
    tags: { 'beam:managed': 'true', 'beam:fleet': 'beam', 'beam:role': 'sentry' },
  });
  commander = await serve(
    ServeConfig.parse({
      listen: '127.0.0.1:0',
      stateDir: path.join(dir, 'commander'),
      tick: '0 0 1 1 *',
      settings: {
        enrollmentToken: TOKEN,
        autoApprove: { roles: ['sentry'] },
        identity: { ec2: { accountId: ec2.accountId, certificate: ec2.identityCertificate } },
      },
      ec2: { endpoint: ec2.url, region: ec2.region, accessKeyId: 'devnet', secretAccessKey: 'devnet' },
    }),
    { transports: { console: new RecordingTransport() }, env: {} },
  );
  world = await pilotWorld('sentry-1', commander.url, {
    prepare: async (setup) => {
      // The machine the instance stands for: the devnet sentry's address is the instance's own.
      ec2.setPrivateIp(instance.instanceId, setup.config.daemon.p2p_host!);
      Object.assign(setup.config.node, { identity: 'ec2', imds_url: ec2.imdsUrl(instance.instanceId) });
    },
  });
});
afterAll(async () => {
  await world?.stop();
  await commander?.close();
  await ec2?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('a sentry pilot with identity = "ec2"', () => {
  it('proves its instance, is approved without a person, and deletes its enrollment token', async () => {
    const tokenFile = world.setup.config.commander!.enrollment_token_file!;
    await waitFor(() => world.pilot.status().lastAcceptedAt, 'sentry-1 reporting', { timeoutMs: 30_000 });
    const node = (await commander.deps.store.getNode('sentry-1'))!.value;
    expect(node).toMatchObject({
      status: 'approved',
      decidedBy: 'auto-approve policy',
      instanceId: instance.instanceId,
      identity: { kind: 'ec2', instanceId: instance.instanceId },
    });
    expect(ec2.instance(instance.instanceId).tags['beam:node']).toBe('sentry-1');
    expect(await exists(tokenFile)).toBe(false);
    // Doctor flags a token file left behind on an enrolled node.
    const configFile = path.join(world.setup.stateDir, 'doctor.toml');
    await fs.copyFile(world.setup.file, configFile);
    const text = (await fs.readFile(configFile, 'utf8')).replace(
      /^\[commander\]$/m,
      `[commander]\nenrollment_token_file = ${JSON.stringify(tokenFile)}`,
    );
    await fs.writeFile(configFile, text, { mode: 0o600 });
    await fs.writeFile(tokenFile, TOKEN, { mode: 0o600 });
    const problems = await doctor(configFile);
    expect(problems).toContainEqual(
      expect.stringContaining(
        `enrollment token file ${tokenFile} is still there although the node is enrolled: run rm`,
      ),
    );
  });
});
