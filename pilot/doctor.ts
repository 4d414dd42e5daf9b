import { execFile } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseToml } from 'smol-toml';
import { request } from 'undici';
import { binaryProblem, binarySpec } from './binary-install.js';
import { ConfigError, loadConfig, type PilotConfig } from './config.js';
import { cosmovisorSettings } from './cosmovisor.js';
import { CometKey } from './custody.js';
import { systemdProblems } from './doctor-systemd.js';
import { exists, readJsonFile, secretFileProblems } from './fsx.js';
import { fetchInstanceIdentity } from './identity.js';
import { CometRpc, wrongNetwork } from './rpc.js';
import { ValidatorKey } from './signer/key.js';

const run = promisify(execFile);

/** Every problem found, one line each, saying what is wrong and how to fix it. Empty = healthy. */
export async function doctor(configFile: string): Promise<string[]> {
  let cfg: PilotConfig;
  try {
    cfg = await loadConfig(configFile);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `config ${configFile}: ${p}`);
    throw error;
  }
  const checks = await Promise.all([
    stateDirProblems(cfg),
    binaryProblems(cfg),
    daemonProblems(cfg),
    cosmovisorProblems(cfg),
    systemdProblems(cfg, configFile),
    homeProblems(cfg),
    rpcProblems(cfg),
    commanderProblems(cfg),
    identityProblems(cfg),
    keyProblems(cfg),
    signerProblems(cfg),
  ]);
  return checks.flat();
}

async function stateDirProblems(cfg: PilotConfig): Promise<string[]> {
  const dir = cfg.node.state_dir;
  try {
    await fs.access(dir, constants.W_OK);
    return [];
  } catch {
    return [
      `node.state_dir ${dir} is missing or not writable: run mkdir -p ${dir} && chmod 700 ${dir} as the pilot's user`,
    ];
  }
}

/** `[daemon.binary]`: the file at its path must be the binary its sha256 names. */
async function binaryProblems(cfg: PilotConfig): Promise<string[]> {
  const spec = binarySpec(cfg);
  const problem = spec ? await binaryProblem(spec) : null;
  return problem ? [`daemon.binary: ${problem}`] : [];
}

async function daemonProblems(cfg: PilotConfig): Promise<string[]> {
  const d = cfg.daemon;
  if (d.mode === 'process') {
    const bin = (d.command as string[])[0] as string;
    try {
      await fs.access(bin, constants.X_OK);
      return [];
    } catch {
      return [`daemon.command: ${bin} is not an executable file: use the absolute path of the daemon binary`];
    }
  }
  try {
    await run('systemctl', ['cat', d.unit as string], { timeout: 5000 });
  } catch {
    return [`daemon.unit: systemd does not know ${d.unit}: install the unit file or fix daemon.unit`];
  }
  try {
    await run('systemctl', ['is-active', '--quiet', d.unit as string], { timeout: 5000 });
    return [];
  } catch {
    return [`daemon: unit ${d.unit} is not active: run systemctl start ${d.unit} (or beam-pilot start)`];
  }
}

/** `[daemon.cosmovisor]` must name the folders cosmovisor runs from: the pilot checks staged binaries there. */
async function cosmovisorProblems(cfg: PilotConfig): Promise<string[]> {
  const c = cosmovisorSettings(cfg);
  if (!c) return [];
  const bin = path.join(c.home, 'cosmovisor', 'current', 'bin', c.name);
  try {
    await fs.access(bin, constants.X_OK);
    return [];
  } catch {
    return [
      `daemon.cosmovisor: ${bin} is not an executable file: set name = DAEMON_NAME and home = DAEMON_HOME as cosmovisor has them (or run cosmovisor init <daemon binary>)`,
    ];
  }
}

async function homeProblems(cfg: PilotConfig): Promise<string[]> {
  const file = path.join(cfg.daemon.home, 'config', 'config.toml');
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return [
      `daemon.home: ${file} does not exist: point daemon.home at the daemon's home (the folder holding config/)`,
    ];
  }
  try {
    parseToml(text);
    return [];
  } catch (error) {
    return [`${file} is not valid TOML (${(error as Error).message.split('\n')[0]}): fix the file by hand`];
  }
}

async function rpcProblems(cfg: PilotConfig): Promise<string[]> {
  try {
    const status = await new CometRpc(cfg.daemon.rpc_url, 3000).status();
    const wrong = wrongNetwork(status, cfg.node.chain_id, cfg.daemon.rpc_url);
    return wrong ? [`${wrong} (beam-pilot start refuses this node)`] : [];
  } catch (error) {
    return [
      `daemon.rpc_url ${cfg.daemon.rpc_url} does not answer status (${(error as Error).message.slice(0, 120)}): start the daemon or fix daemon.rpc_url (rpc.laddr in config.toml)`,
    ];
  }
}

async function commanderProblems(cfg: PilotConfig): Promise<string[]> {
  const c = cfg.commander;
  if (!c) return [];
  const problems: string[] = [];
  try {
    const res = await request(c.url, { headersTimeout: 5000, bodyTimeout: 5000 });
    await res.body.text();
  } catch (error) {
    problems.push(
      `commander.url ${c.url} is unreachable (${(error as Error).message}): check the URL, DNS and outbound firewall`,
    );
  }
  const secret = path.join(cfg.node.state_dir, 'node-secret.json');
  if (await exists(secret)) {
    problems.push(...(await secretFileProblems(secret, 'node secret')));
    // Enrolled: the fleet token has no more use here and would let whoever reads it enroll nodes.
    if (c.enrollment_token_file && (await exists(c.enrollment_token_file))) {
      problems.push(
        `enrollment token file ${c.enrollment_token_file} is still there although the node is enrolled: run rm ${c.enrollment_token_file} (the pilot deletes it after enrolling; give its user write access to the folder)`,
      );
    }
  } else if (!c.enrollment_token_file) {
    problems.push(
      'commander.enrollment_token_file: missing and the node is not enrolled: add the fleet enrollment token file',
    );
  } else problems.push(...(await secretFileProblems(c.enrollment_token_file, 'enrollment token file')));
  return problems;
}

/** identity = "ec2": the identity document must be readable before the first enrollment. */
async function identityProblems(cfg: PilotConfig): Promise<string[]> {
  if (!cfg.commander || cfg.node.identity !== 'ec2') return [];
  if (await exists(path.join(cfg.node.state_dir, 'node-secret.json'))) return [];
  try {
    await fetchInstanceIdentity(cfg.node.imds_url, 3000);
    return [];
  } catch (error) {
    return [
      `node.identity = "ec2": ${(error as Error).message.slice(0, 200)} (on EC2: keep the instance metadata service enabled with IMDSv2 and a hop limit that reaches the pilot)`,
    ];
  }
}

async function keyProblems(cfg: PilotConfig): Promise<string[]> {
  const problems: string[] = [];
  const v = cfg.validator;
  if (v?.key_file && cfg.node.role === 'validator') {
    const fileProblems = await secretFileProblems(v.key_file, 'validator key file');
    problems.push(...fileProblems);
    if (fileProblems.length === 0) {
      const key = await readCometKey(v.key_file);
      if (!key)
        problems.push(
          `validator.key_file ${v.key_file} is not a priv_validator_key.json: copy the real key there`,
        );
      else if (key.address.toUpperCase() !== v.consensus_address) {
        problems.push(
          `validator.consensus_address ${v.consensus_address} does not match the key file's address ${key.address}: set it to ${key.address}`,
        );
      } else if (v.key_mode === 'signer') {
        try {
          ValidatorKey.fromCometKey(key, `validator.key_file ${v.key_file}`);
        } catch (error) {
          problems.push((error as Error).message);
        }
      }
    }
    if (path.resolve(v.key_file).startsWith(path.resolve(cfg.daemon.home) + path.sep)) {
      problems.push(`validator.key_file is inside the daemon home: move it outside ${cfg.daemon.home}`);
    }
  }
  if (cfg.chain?.hot_mnemonic_file)
    problems.push(...(await secretFileProblems(cfg.chain.hot_mnemonic_file, 'hot key mnemonic file')));
  if (cfg.alerts?.telegram_bot_token_file) {
    problems.push(...(await secretFileProblems(cfg.alerts.telegram_bot_token_file, 'telegram token file')));
  }
  return problems;
}

async function readCometKey(file: string): Promise<CometKey | undefined> {
  const parsed = CometKey.safeParse(await readJsonFile(file).catch(() => undefined));
  return parsed.success ? parsed.data : undefined;
}

/**
 * Signer mode: the daemon asks this pilot for every signature (priv_validator_laddr) and its home
 * holds no copy of the validator key that could sign on its own.
 */
async function signerProblems(cfg: PilotConfig): Promise<string[]> {
  const v = cfg.validator;
  if (cfg.node.role !== 'validator' || v?.key_mode !== 'signer' || !v.key_file) return [];
  const configToml = path.join(cfg.daemon.home, 'config', 'config.toml');
  let daemon: Record<string, unknown>;
  try {
    daemon = parseToml(await fs.readFile(configToml, 'utf8'));
  } catch {
    return []; // homeProblems reports it.
  }
  const problems: string[] = [];
  const laddr = typeof daemon['priv_validator_laddr'] === 'string' ? daemon['priv_validator_laddr'] : '';
  if (laddr !== v.signer_laddr) {
    const now = laddr ? `is "${laddr}"` : 'is empty (the daemon signs with its own key file)';
    problems.push(
      `${configToml}: priv_validator_laddr ${now}, not validator.signer_laddr: set priv_validator_laddr = "${v.signer_laddr}" and restart the daemon (beam-pilot start does this)`,
    );
  }
  const real = await readCometKey(v.key_file);
  if (!real) return problems; // keyProblems reports it.
  const named =
    typeof daemon['priv_validator_key_file'] === 'string' ? daemon['priv_validator_key_file'] : '';
  const keyFiles = new Set([
    path.join(cfg.daemon.home, 'config', 'priv_validator_key.json'),
    ...(named ? [path.resolve(cfg.daemon.home, named)] : []),
  ]);
  for (const file of keyFiles) {
    if ((await readCometKey(file))?.priv_key.value === real.priv_key.value)
      problems.push(
        `${file} holds the validator key: in signer mode no daemon home may (a second copy can double-sign): stop the daemon and run rm ${file} (the daemon writes a key of its own at start; the real key stays in ${v.key_file})`,
      );
  }
  return problems;
}
