import { type App, Duration } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { settingsSourceOf } from './commander-settings.js';
import { CommanderStack } from './commander-stack.js';
import { type BeamContext, parseBeamContext } from './config.js';
import { NetworkStack } from './network-stack.js';

/**
 * The stacks of one fleet, named after it: an account and region hold as many fleets as it has
 * names. Nothing else in them is named by hand (CloudFormation derives resource names from the stack,
 * and cross-stack exports carry the stack's name), so two fleets never collide.
 */
export function stackNames(fleet: string) {
  return { commander: `Beam-${fleet}-Commander`, network: `Beam-${fleet}-Network` } as const;
}

export interface FleetStacks {
  commander: CommanderStack;
  network?: NetworkStack;
}

/** Adds Beam's stacks to `app` from its context (infra/config.ts). */
export function buildBeamApp(app: App): FleetStacks {
  return addFleet(app, parseBeamContext(app.node.getAllContext()));
}

/**
 * Adds one fleet's stacks: the commander always, the example network once
 * `beam:validatorConsensusAddress` is set. The network takes the commander URL and enrollment secret
 * from the commander stack, or from `beam:commanderUrl` and `beam:enrollmentTokenSecretArn` when the
 * commander is deployed elsewhere.
 */
export function addFleet(app: App, ctx: BeamContext): FleetStacks {
  const fleet = ctx['beam:fleet'];
  const names = stackNames(fleet);
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const logRetention = ctx['beam:logRetentionDays'] as RetentionDays;
  const commander = new CommanderStack(app, names.commander, {
    env,
    description: `Beam commander for fleet ${fleet}`,
    fleet,
    tickRate: Duration.minutes(ctx['beam:tickRateMinutes']),
    pilotThrottle: { rateLimit: ctx['beam:pilotRateLimit'], burstLimit: ctx['beam:pilotBurstLimit'] },
    logRetention,
    autoApproveSentries: ctx['beam:autoApproveSentries'],
    alarmEmail: ctx['beam:alarmEmail'],
    settings: settingsSourceOf(ctx),
  });
  const consensusAddress = ctx['beam:validatorConsensusAddress'];
  if (!consensusAddress) return { commander };

  const network = new NetworkStack(app, names.network, {
    env,
    description: `Beam example validator network for fleet ${fleet}`,
    fleet,
    chainId: ctx['beam:chainId'],
    daemonUnit: ctx['beam:daemonUnit'],
    daemonHome: ctx['beam:daemonHome'],
    daemonUser: ctx['beam:daemonUser'],
    ...(ctx['beam:daemonBinaryUrl']
      ? {
          daemonBinary: {
            url: ctx['beam:daemonBinaryUrl'],
            sha256: ctx['beam:daemonBinarySha256'],
            path: ctx['beam:daemonBinaryPath'] as string,
          },
        }
      : {}),
    validatorConsensusAddress: consensusAddress,
    validatorInstanceType: ctx['beam:validatorInstanceType'],
    sentryInstanceType: ctx['beam:sentryInstanceType'],
    validatorVolumeGiB: ctx['beam:validatorVolumeGiB'],
    sentryVolumeGiB: ctx['beam:sentryVolumeGiB'],
    sentries: { min: ctx['beam:sentryMin'], desired: ctx['beam:sentryDesired'], max: ctx['beam:sentryMax'] },
    natGateways: ctx['beam:natGateways'],
    ami: ctx['beam:ami'],
    logRetention,
    commanderUrl: ctx['beam:commanderUrl'] ?? commander.url,
    enrollmentTokenSecretArn: ctx['beam:enrollmentTokenSecretArn'] ?? commander.enrollmentToken.secretArn,
  });
  return { commander, network };
}
