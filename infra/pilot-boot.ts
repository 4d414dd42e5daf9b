import path from 'node:path';
import { registryBinary } from '../protocol/chain-registry.js';

/**
 * The boot script that installs, configures and starts beam-pilot on an instance (Amazon Linux 2023).
 * Pure: it returns shell lines with CDK tokens left in place. The enrollment token is read from
 * Secrets Manager at boot into a file only the pilot's user can read; the script carries only the
 * secret's ARN.
 */
export const PILOT_PATHS = {
  // Where the release's unit (pilot/packaging/beam-pilot.service) expects the config.
  config: '/etc/beam/pilot.toml',
  // In the pilot's state folder, which its unit lets it write: it deletes the token once enrolled
  // (in /etc/beam it could not, and `beam-pilot doctor` would report the token left behind).
  enrollmentToken: '/var/lib/beam-pilot/enrollment-token',
  stateDir: '/var/lib/beam-pilot',
  validatorKey: '/etc/beam/priv_validator_key.json',
  staging: '/tmp/beam-pilot',
} as const;

/** The pilot asset (a zip) is a pilot release folder (`npm run release`); this script installs it. */
export const PILOT_INSTALL_SCRIPT = 'install.sh';

/** CometBFT's RPC port: every node's pilot offers it (private address) for new sentries' state sync. */
export const DAEMON_RPC_PORT = 26657;

/** The chain binary a new sentry installs before its daemon's first start (`[daemon.binary]`). */
export interface DaemonBinary {
  /** A chain-registry `codebase.binaries` value (https), `?checksum=sha256:<hex>` and all. */
  url: string;
  /** Needed unless the URL carries the checksum. */
  sha256?: string;
  /** The executable the daemon unit runs, inside the daemon home (the pilot may write only there). */
  path: string;
}

export interface PilotBoot {
  role: 'validator' | 'sentry';
  /** Beam's name for the node; absent for sentries, which are named after their instance id. */
  nodeName?: string;
  chainId: string;
  daemonUnit: string;
  daemonHome: string;
  /** The daemon's user, which the pilot runs as (it edits the daemon home). */
  daemonUser: string;
  commanderUrl: string;
  enrollmentTokenSecretArn: string;
  region: string;
  /** `s3://bucket/key` of the pilot asset. */
  assetUrl: string;
  /** Validators only: the validator's consensus address (40 hex). */
  consensusAddress?: string;
  /** Sentries only: the chain binary a new instance installs (checked by `daemonBinaryProblems`). */
  daemonBinary?: DaemonBinary;
}

/**
 * What the pilot would refuse in `[daemon.binary]` from context, checked at synth: one `context key:
 * fix` line each. The boot script's heredoc expands `$`, backticks and backslashes, so a URL must
 * not hold them; the pilot runs as the daemon's user with write access to the daemon home only.
 */
export function daemonBinaryProblems(
  binary: { url?: string; sha256?: string; path?: string },
  daemonHome: string,
): string[] {
  if (!binary.url) {
    return binary.sha256 || binary.path
      ? [
          'context beam:daemonBinaryUrl: missing: set the binary URL (a chain registry codebase.binaries value), or remove beam:daemonBinarySha256 and beam:daemonBinaryPath',
        ]
      : [];
  }
  const problems: string[] = [];
  const registry = registryBinary(binary.url);
  if ('problem' in registry) problems.push(`context beam:daemonBinaryUrl: ${registry.problem}`);
  else {
    if (!registry.url.startsWith('https://'))
      problems.push('context beam:daemonBinaryUrl: use an https:// URL');
    if (/[$`\\]/.test(binary.url)) {
      problems.push(
        'context beam:daemonBinaryUrl: the boot script would expand $, ` and \\: percent-encode them (%24, %60, %5C)',
      );
    }
    const sha256 = binary.sha256?.toLowerCase();
    if (!sha256 && !registry.sha256) {
      problems.push(
        'context beam:daemonBinarySha256: missing: the sha256 of the binary (sha256sum), unless beam:daemonBinaryUrl ends in ?checksum=sha256:<hex>',
      );
    } else if (sha256 && registry.sha256 && sha256 !== registry.sha256) {
      problems.push(
        `context beam:daemonBinarySha256: differs from beam:daemonBinaryUrl's ?checksum=sha256:${registry.sha256}: keep one of them`,
      );
    }
  }
  const inside = binary.path ? path.posix.relative(daemonHome, binary.path) : '';
  if (!binary.path || inside === '' || inside.startsWith('..') || path.posix.isAbsolute(inside)) {
    problems.push(
      `context beam:daemonBinaryPath: ${binary.path ? `${binary.path} is outside` : 'missing: the executable beam:daemonUnit runs, inside'} beam:daemonHome (${daemonHome}), where the pilot may write, e.g. ${path.posix.join(daemonHome, 'cosmovisor', 'genesis', 'bin', 'gaiad')}`,
    );
  }
  return problems;
}

/** The daemon's priv_validator_laddr, which the pilot dials as its remote signer. */
export function signerLaddr(daemonHome: string): string {
  return `unix://${path.posix.join(daemonHome, 'data', 'priv_validator.sock')}`;
}

/** TOML basic string; JSON's escaping is valid TOML for these values. */
const str = (value: string) => JSON.stringify(value);

/** The pilot config for `boot`; `nodeName` is a TOML value (the script quotes its shell variable). */
export function pilotConfigToml(boot: PilotBoot, nodeName: string): string {
  const lines = [
    '[node]',
    `name = ${nodeName}`,
    `role = ${str(boot.role)}`,
    `chain_id = ${str(boot.chainId)}`,
    `state_dir = ${str(PILOT_PATHS.stateDir)}`,
    // A sentry proves its instance with the EC2 identity document (IMDSv2) at enrollment: only that
    // lets it be approved without a person and bound to its instance for sentry defence. Validators
    // carry no beam:managed tag, so a proof would be refused; they always wait for an admin anyway.
    ...(boot.role === 'sentry' ? ['identity = "ec2"'] : []),
    '',
    '[daemon]',
    'mode = "systemd"',
    `unit = ${str(boot.daemonUnit)}`,
    `home = ${str(boot.daemonHome)}`,
    'p2p_host = "$PRIVATE_IP"',
    // New sentries state-sync against the fleet's RPC, on the private address (the security groups
    // let sentries reach it; the daemon's rpc.laddr must listen there, e.g. tcp://0.0.0.0:26657).
    `state_sync_rpc_url = "http://$PRIVATE_IP:${DAEMON_RPC_PORT}"`,
    ...(boot.role === 'sentry' && boot.daemonBinary ? binaryToml(boot.daemonBinary) : []),
    '',
    '[commander]',
    `url = ${str(boot.commanderUrl)}`,
    `enrollment_token_file = ${str(PILOT_PATHS.enrollmentToken)}`,
  ];
  if (boot.role === 'sentry') {
    // A replacement sentry boots with no chain data: it waits for the commander's state-sync action
    // (the trust from the fleet's healthy nodes) before its daemon's first start.
    lines.push('', '[bootstrap]', 'state_sync = true');
  }
  if (boot.role === 'validator') {
    if (!boot.consensusAddress) throw new Error('a validator pilot needs consensusAddress');
    lines.push(
      '',
      '[validator]',
      `consensus_address = ${str(boot.consensusAddress)}`,
      // Signer mode: the pilot is the daemon's remote signer; the key never enters the daemon home.
      'key_mode = "signer"',
      `key_file = ${str(PILOT_PATHS.validatorKey)}`,
      `signer_laddr = ${str(signerLaddr(boot.daemonHome))}`,
    );
  }
  return lines.join('\n');
}

/** `[daemon.binary]`: the pilot installs it (sha256-checked) before the daemon's first start. */
function binaryToml(binary: DaemonBinary): string[] {
  return [
    '',
    '[daemon.binary]',
    `url = ${str(binary.url)}`,
    ...(binary.sha256 ? [`sha256 = ${str(binary.sha256.toLowerCase())}`] : []),
    `path = ${str(binary.path)}`,
  ];
}

export function pilotBootScript(boot: PilotBoot): string[] {
  const user = boot.daemonUser;
  // From IMDSv2: the private address peers dial (the pilot's p2p_host, registered at enrollment) and
  // the instance id; sentries are interchangeable and named after their instance.
  const metadata = (path: string) =>
    `$(curl -sf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/${path})`;
  const nodeName = [
    'IMDS_TOKEN=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")',
    `PRIVATE_IP=${metadata('local-ipv4')}`,
    `INSTANCE_ID=${metadata('instance-id')}`,
    boot.nodeName ? `NODE_NAME=${str(boot.nodeName)}` : 'NODE_NAME="sentry-$INSTANCE_ID"',
  ];
  return [
    'set -euo pipefail',
    'dnf install -y nodejs22 unzip polkit',
    'alternatives --set node /usr/bin/node-22',
    `id -u ${user} >/dev/null 2>&1 || useradd --system --create-home ${user}`,
    ...nodeName,
    `install -d -m 755 ${path.posix.dirname(PILOT_PATHS.config)}`,
    `install -d -o ${user} -g ${user} ${str(boot.daemonHome)}`,
    // The unit's StateDirectory, created here first (as systemd would: the user's, 0700) for the token.
    `install -d -m 700 -o ${user} -g ${user} ${PILOT_PATHS.stateDir}`,
    // The token goes straight from Secrets Manager into a file only the pilot's user can read.
    'umask 077',
    `aws secretsmanager get-secret-value --region ${str(boot.region)} --secret-id ${str(boot.enrollmentTokenSecretArn)} --query SecretString --output text > ${PILOT_PATHS.enrollmentToken}`,
    `chown ${user}:${user} ${PILOT_PATHS.enrollmentToken}`,
    'umask 022',
    `cat > ${PILOT_PATHS.config} <<BEAM_PILOT_TOML`,
    pilotConfigToml(boot, '"$NODE_NAME"'),
    'BEAM_PILOT_TOML',
    // The release checks its files (SHA256SUMS) and Node, installs the bundle behind the `current`
    // link, the unit with a drop-in for this user and home, the daemon unit's stop timeout (the
    // pilot's default stop_timeout_ms) and the polkit rule; it keeps the config written above.
    `aws s3 cp ${str(boot.assetUrl)} ${PILOT_PATHS.staging}.zip --region ${str(boot.region)}`,
    `unzip -o ${PILOT_PATHS.staging}.zip -d ${PILOT_PATHS.staging}`,
    `sh ${PILOT_PATHS.staging}/${PILOT_INSTALL_SCRIPT} --user ${user} --unit ${str(boot.daemonUnit)} --home ${str(boot.daemonHome)}`,
    `rm -rf ${PILOT_PATHS.staging} ${PILOT_PATHS.staging}.zip`,
    'systemctl enable --now beam-pilot.service',
  ];
}
