/**
 * The boot script that installs, configures and starts beam-pilot on an instance (Amazon Linux 2023).
 * Pure: it returns shell lines with CDK tokens left in place. The enrollment token is read from
 * Secrets Manager at boot into a root-only file; the script carries only the secret's ARN.
 */
export const PILOT_PATHS = {
  dir: '/opt/beam/pilot',
  bundle: '/opt/beam/pilot/beam-pilot.mjs',
  unit: '/etc/systemd/system/beam-pilot.service',
  bin: '/usr/local/bin/beam-pilot',
  config: '/etc/beam/pilot.toml',
  enrollmentToken: '/etc/beam/enrollment-token',
  stateDir: '/var/lib/beam-pilot',
  validatorKey: '/etc/beam/priv_validator_key.json',
} as const;

/** Files of the pilot asset (a zip): the bundle and its systemd unit. */
export const PILOT_ASSET_FILES = { bundle: 'beam-pilot.mjs', unit: 'beam-pilot.service' } as const;

export interface PilotBoot {
  role: 'validator' | 'sentry';
  /** Beam's name for the node; absent for sentries, which are named after their instance id. */
  nodeName?: string;
  chainId: string;
  daemonUnit: string;
  daemonHome: string;
  commanderUrl: string;
  enrollmentTokenSecretArn: string;
  region: string;
  /** `s3://bucket/key` of the pilot asset. */
  assetUrl: string;
  /** Validators only: the validator's consensus address (40 hex). */
  consensusAddress?: string;
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
    '',
    '[daemon]',
    'mode = "systemd"',
    `unit = ${str(boot.daemonUnit)}`,
    `home = ${str(boot.daemonHome)}`,
    '',
    '[commander]',
    `url = ${str(boot.commanderUrl)}`,
    `enrollment_token_file = ${str(PILOT_PATHS.enrollmentToken)}`,
  ];
  if (boot.role === 'validator') {
    if (!boot.consensusAddress) throw new Error('a validator pilot needs consensusAddress');
    lines.push(
      '',
      '[validator]',
      `consensus_address = ${str(boot.consensusAddress)}`,
      `key_file = ${str(PILOT_PATHS.validatorKey)}`,
    );
  }
  return lines.join('\n');
}

export function pilotBootScript(boot: PilotBoot): string[] {
  // Sentries are interchangeable: their name comes from the instance id, read through IMDSv2.
  const nodeName = boot.nodeName
    ? [`NODE_NAME=${str(boot.nodeName)}`]
    : [
        'IMDS_TOKEN=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 60")',
        'NODE_NAME="sentry-$(curl -sf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/instance-id)"',
      ];
  return [
    'set -euo pipefail',
    'dnf install -y nodejs22 unzip',
    ...nodeName,
    `mkdir -p ${PILOT_PATHS.dir} /etc/beam ${PILOT_PATHS.stateDir}`,
    `aws s3 cp ${str(boot.assetUrl)} /tmp/beam-pilot.zip --region ${str(boot.region)}`,
    `unzip -o /tmp/beam-pilot.zip -d ${PILOT_PATHS.dir} && rm -f /tmp/beam-pilot.zip`,
    `printf '#!/bin/sh\\nexec /usr/bin/node-22 ${PILOT_PATHS.bundle} "$@"\\n' > ${PILOT_PATHS.bin}`,
    `chmod 755 ${PILOT_PATHS.bin}`,
    // The token goes straight from Secrets Manager into a root-only file, never through the log.
    'umask 077',
    `aws secretsmanager get-secret-value --region ${str(boot.region)} --secret-id ${str(boot.enrollmentTokenSecretArn)} --query SecretString --output text > ${PILOT_PATHS.enrollmentToken}`,
    `cat > ${PILOT_PATHS.config} <<BEAM_PILOT_TOML`,
    pilotConfigToml(boot, '"$NODE_NAME"'),
    'BEAM_PILOT_TOML',
    'umask 022',
    `install -m 644 ${PILOT_PATHS.dir}/${PILOT_ASSET_FILES.unit} ${PILOT_PATHS.unit}`,
    'systemctl daemon-reload',
    'systemctl enable --now beam-pilot.service',
  ];
}
