import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Duration, RemovalPolicy, Stack, type StackProps, Tags, Validations } from 'aws-cdk-lib';
import { AutoScalingGroup } from 'aws-cdk-lib/aws-autoscaling';
import {
  AmazonLinuxCpuType,
  type BlockDevice,
  BlockDeviceVolume,
  type CfnLaunchTemplate,
  EbsDeviceVolumeType,
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  Instance,
  InstanceArchitecture,
  InstanceType,
  LaunchTemplate,
  MachineImage,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  UserData,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { ManagedPolicy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { REPO_ROOT } from './bundle.js';
import { TAG } from './ec2-policy.js';
import { localBundling, requireFiles } from './local-bundling.js';
import { PILOT_INSTALL_SCRIPT, type PilotBoot, pilotBootScript } from './pilot-boot.js';

export const P2P_PORT = 26656;

/** What builds the pilot release the instances install (`npm run release`). */
export const PILOT_SOURCES = {
  release: 'pilot/release.ts',
  unit: 'pilot/packaging/beam-pilot.service',
  install: 'pilot/packaging/install.sh',
} as const;

export interface NetworkStackProps extends StackProps {
  fleet: string;
  chainId: string;
  daemonUnit: string;
  daemonHome: string;
  daemonUser: string;
  validatorConsensusAddress: string;
  validatorInstanceType: string;
  sentryInstanceType: string;
  validatorVolumeGiB: number;
  sentryVolumeGiB: number;
  sentries: { min: number; desired: number; max: number };
  natGateways: number;
  logRetention: RetentionDays;
  /** The commander's base URL (a token when it comes from the commander stack). */
  commanderUrl: string;
  /** ARN of the fleet enrollment token secret (a token when it comes from the commander stack). */
  enrollmentTokenSecretArn: string;
}

/**
 * An example validator network: a primary and a standby validator in private subnets, reachable only
 * from the sentries on the p2p port, and a sentry autoscaling group in public subnets. Every node boots
 * into a running, enrolling beam-pilot. No SSH: operators use SSM Session Manager.
 */
export class NetworkStack extends Stack {
  readonly vpc: Vpc;
  readonly sentrySecurityGroup: SecurityGroup;
  readonly validatorSecurityGroup: SecurityGroup;
  readonly validators: Instance[];
  readonly sentries: AutoScalingGroup;
  readonly instanceRole: Role;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);

    const flowLogs = new LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc = new Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: props.natGateways,
      subnetConfiguration: [
        { name: 'sentries', subnetType: SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: true },
        // Validators reach the commander (a public API) and AWS APIs through the NAT gateway.
        { name: 'validators', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
      ],
      gatewayEndpoints: { S3: { service: GatewayVpcEndpointAwsService.S3 } },
      flowLogs: {
        all: {
          destination: FlowLogDestination.toCloudWatchLogs(flowLogs),
          trafficType: FlowLogTrafficType.ALL,
        },
      },
    });

    this.sentrySecurityGroup = new SecurityGroup(this, 'SentrySecurityGroup', {
      vpc: this.vpc,
      description: 'Beam sentries: CometBFT p2p from anywhere, nothing else',
      allowAllOutbound: true,
    });
    this.sentrySecurityGroup.addIngressRule(
      Peer.anyIpv4(),
      Port.tcp(P2P_PORT),
      'CometBFT p2p from the network',
    );
    Validations.of(this.sentrySecurityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'A sentry exists to accept p2p connections from the public network, on the p2p port only.',
    });

    this.validatorSecurityGroup = new SecurityGroup(this, 'ValidatorSecurityGroup', {
      vpc: this.vpc,
      description: 'Beam validators: p2p with the sentries only',
      allowAllOutbound: false,
    });
    this.validatorSecurityGroup.addIngressRule(
      this.sentrySecurityGroup,
      Port.tcp(P2P_PORT),
      'p2p from sentries',
    );
    this.validatorSecurityGroup.addEgressRule(
      this.sentrySecurityGroup,
      Port.tcp(P2P_PORT),
      'p2p to sentries',
    );
    this.validatorSecurityGroup.addEgressRule(
      Peer.anyIpv4(),
      Port.tcp(443),
      'HTTPS: commander, S3, Secrets Manager, SSM, package repositories',
    );

    const pilotAsset = new Asset(this, 'PilotAsset', {
      path: REPO_ROOT,
      bundling: localBundling(buildPilotAsset),
    });
    this.instanceRole = new Role(this, 'InstanceRole', {
      assumedBy: new ServicePrincipal('ec2.amazonaws.com'),
      description: 'Beam validator and sentry instances: pilot asset, enrollment token, SSM Session Manager',
      managedPolicies: [ManagedPolicy.fromAwsManagedPolicyName('AmazonSSMManagedInstanceCore')],
    });
    this.instanceRole.addToPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [pilotAsset.bucket.arnForObjects(pilotAsset.s3ObjectKey)],
      }),
    );
    Secret.fromSecretCompleteArn(this, 'EnrollmentToken', props.enrollmentTokenSecretArn).grantRead(
      this.instanceRole,
    );
    Validations.of(this.instanceRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonSSMManagedInstanceCore]',
      reason: 'Session Manager replaces SSH; this AWS policy is its documented minimum for the SSM agent.',
    });

    const boot = (role: PilotBoot['role'], nodeName?: string) => {
      const userData = UserData.forLinux();
      userData.addCommands(
        ...pilotBootScript({
          role,
          nodeName,
          chainId: props.chainId,
          daemonUnit: props.daemonUnit,
          daemonHome: props.daemonHome,
          daemonUser: props.daemonUser,
          commanderUrl: props.commanderUrl,
          enrollmentTokenSecretArn: props.enrollmentTokenSecretArn,
          region: this.region,
          assetUrl: pilotAsset.s3ObjectUrl,
          consensusAddress: role === 'validator' ? props.validatorConsensusAddress : undefined,
        }),
      );
      return userData;
    };

    const validatorType = new InstanceType(props.validatorInstanceType);
    this.validators = (['primary', 'standby'] as const).map((which, index) => {
      const name = `validator-${which}`;
      const instance = new Instance(this, `Validator${which === 'primary' ? 'Primary' : 'Standby'}`, {
        vpc: this.vpc,
        // One validator per availability zone.
        vpcSubnets: { subnets: [this.vpc.privateSubnets[index % this.vpc.privateSubnets.length]!] },
        instanceType: validatorType,
        machineImage: amazonLinux(validatorType),
        securityGroup: this.validatorSecurityGroup,
        role: this.instanceRole,
        requireImdsv2: true,
        blockDevices: [encryptedRoot(props.validatorVolumeGiB)],
        propagateTagsToVolumeOnCreation: true,
        detailedMonitoring: true,
        // A validator holds chain state and possibly the key: never terminated by accident.
        disableApiTermination: true,
        userData: boot('validator', name),
      });
      // No beam:managed tag: the commander's EC2 rights never reach validators.
      Tags.of(instance).add('Name', `${props.fleet}-${name}`);
      Tags.of(instance).add(TAG.fleet, props.fleet);
      Tags.of(instance).add(TAG.role, 'validator');
      return instance;
    });

    const sentryType = new InstanceType(props.sentryInstanceType);
    const launchTemplate = new LaunchTemplate(this, 'SentryLaunchTemplate', {
      instanceType: sentryType,
      machineImage: amazonLinux(sentryType),
      securityGroup: this.sentrySecurityGroup,
      role: this.instanceRole,
      requireImdsv2: true,
      blockDevices: [encryptedRoot(props.sentryVolumeGiB)],
      detailedMonitoring: true,
      userData: boot('sentry'),
    });
    const sentryTags = { [TAG.managed]: 'true', [TAG.fleet]: props.fleet, [TAG.role]: 'sentry' };
    // The commander's EC2 rights are conditioned on these tags for the instance and its network
    // interface (AssociateAddress authorizes both), so tag both at launch.
    (launchTemplate.node.defaultChild as CfnLaunchTemplate).addPropertyOverride(
      'LaunchTemplateData.TagSpecifications',
      ['instance', 'volume', 'network-interface'].map((resourceType) => ({
        ResourceType: resourceType,
        Tags: Object.entries(sentryTags).map(([Key, Value]) => ({ Key, Value })),
      })),
    );
    this.sentries = new AutoScalingGroup(this, 'Sentries', {
      vpc: this.vpc,
      vpcSubnets: { subnetType: SubnetType.PUBLIC },
      launchTemplate,
      minCapacity: props.sentries.min,
      desiredCapacity: props.sentries.desired,
      maxCapacity: props.sentries.max,
      cooldown: Duration.minutes(5),
    });
    Tags.of(this.sentries).add('Name', `${props.fleet}-sentry`, { applyToLaunchedInstances: true });
    for (const [key, value] of Object.entries(sentryTags)) {
      Tags.of(this.sentries).add(key, value, { applyToLaunchedInstances: true });
    }
    Validations.of(this.sentries).acknowledge({
      id: 'AwsSolutions-AS3',
      reason:
        'Every sentry enrolls with the commander, which reports in chat when one joins, fails or is ' +
        'replaced; ASG notifications would duplicate those messages.',
    });
  }
}

function amazonLinux(type: InstanceType) {
  return MachineImage.latestAmazonLinux2023({
    cpuType:
      type.architecture === InstanceArchitecture.ARM_64
        ? AmazonLinuxCpuType.ARM_64
        : AmazonLinuxCpuType.X86_64,
  });
}

function encryptedRoot(sizeGiB: number): BlockDevice {
  return {
    deviceName: '/dev/xvda',
    volume: BlockDeviceVolume.ebs(sizeGiB, { encrypted: true, volumeType: EbsDeviceVolumeType.GP3 }),
  };
}

/**
 * Builds the pilot release with the pilot's own release script and stages its folder (bundle, unit,
 * polkit rules, install.sh, SHA256SUMS): the instances install exactly what an operator would.
 */
function buildPilotAsset(outputDir: string): void {
  requireFiles(REPO_ROOT, Object.values(PILOT_SOURCES), 'the pilot must exist before this stack is deployed');
  const staging = mkdtempSync(path.join(os.tmpdir(), 'beam-pilot-asset-'));
  try {
    execFileSync(process.execPath, ['--import', 'tsx', PILOT_SOURCES.release, '--out', staging], {
      cwd: REPO_ROOT,
      stdio: ['ignore', process.stderr, 'inherit'],
    });
    const [folder] = readdirSync(staging).filter((name) => !name.includes('.tar.gz'));
    if (!folder) throw new Error(`${PILOT_SOURCES.release} wrote no release folder into ${staging}`);
    requireFiles(
      path.join(staging, folder),
      [PILOT_INSTALL_SCRIPT],
      `${PILOT_SOURCES.release} did not produce it`,
    );
    cpSync(path.join(staging, folder), outputDir, { recursive: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
