import { type App, Duration } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CommanderStack } from './commander-stack.js';
import { parseBeamContext } from './config.js';
import { NetworkStack } from './network-stack.js';

export const STACK_NAMES = { commander: 'BeamCommander', network: 'BeamNetwork' } as const;

/**
 * Adds Beam's stacks to `app` from its context: the commander always, the example network once
 * `beam:validatorConsensusAddress` is set. The network takes the commander URL and enrollment secret
 * from the commander stack, or from `beam:commanderUrl` and `beam:enrollmentTokenSecretArn` when the
 * commander is deployed elsewhere.
 */
export function buildBeamApp(app: App): { commander: CommanderStack; network?: NetworkStack } {
  const ctx = parseBeamContext(app.node.getAllContext());
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const logRetention = ctx['beam:logRetentionDays'] as RetentionDays;
  const commander = new CommanderStack(app, STACK_NAMES.commander, {
    env,
    description: `Beam commander for fleet ${ctx['beam:fleet']}`,
    fleet: ctx['beam:fleet'],
    tickRate: Duration.minutes(ctx['beam:tickRateMinutes']),
    pilotThrottle: { rateLimit: ctx['beam:pilotRateLimit'], burstLimit: ctx['beam:pilotBurstLimit'] },
    logRetention,
    autoApproveSentries: ctx['beam:autoApproveSentries'],
    alarmEmail: ctx['beam:alarmEmail'],
  });
  const consensusAddress = ctx['beam:validatorConsensusAddress'];
  if (!consensusAddress) return { commander };

  const network = new NetworkStack(app, STACK_NAMES.network, {
    env,
    description: `Beam example validator network for fleet ${ctx['beam:fleet']}`,
    fleet: ctx['beam:fleet'],
    chainId: ctx['beam:chainId'],
    daemonUnit: ctx['beam:daemonUnit'],
    daemonHome: ctx['beam:daemonHome'],
    daemonUser: ctx['beam:daemonUser'],
    validatorConsensusAddress: consensusAddress,
    validatorInstanceType: ctx['beam:validatorInstanceType'],
    sentryInstanceType: ctx['beam:sentryInstanceType'],
    validatorVolumeGiB: ctx['beam:validatorVolumeGiB'],
    sentryVolumeGiB: ctx['beam:sentryVolumeGiB'],
    sentries: { min: ctx['beam:sentryMin'], desired: ctx['beam:sentryDesired'], max: ctx['beam:sentryMax'] },
    natGateways: ctx['beam:natGateways'],
    logRetention,
    commanderUrl: ctx['beam:commanderUrl'] ?? commander.url,
    enrollmentTokenSecretArn: ctx['beam:enrollmentTokenSecretArn'] ?? commander.enrollmentToken.secretArn,
  });
  return { commander, network };
}
