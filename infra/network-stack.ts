import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Duration,
  RemovalPolicy,
  Stack,
  type StackProps,
  Tags,
  Token,
  Validations,
  cx_api,
} from 'aws-cdk-lib';
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
  type IMachineImage,
  LaunchTemplate,
  MachineImage,
  OperatingSystemType,
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
import {
  DAEMON_RPC_PORT,
  type DaemonBinary,
  PILOT_INSTALL_SCRIPT,
  type PilotBoot,
  pilotBootScript,
} from './pilot-boot.js';

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
  /** The chain binary a new sentry installs before it state-syncs; none: the AMI brings it. */
  daemonBinary?: DaemonBinary;
  validatorConsensusAddress: string;
  validatorInstanceType: string;
  sentryInstanceType: string;
  validatorVolumeGiB: number;
  sentryVolumeGiB: number;
  sentries: { min: number; desired: number; max: number };
  natGateways: number;
  /** Pinned AMI ids per architecture; an architecture without one uses the AMI cached in context. */
  ami: { arm64?: string; x86_64?: string };
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
    // The validators' IMDSv2 launch templates are named after the stack too, not after the construct
    // alone (CDK's default): two fleets' networks in one region would otherwise share the names.
    this.node.setContext(cx_api.EC2_UNIQUE_IMDSV2_LAUNCH_TEMPLATE_NAME, true);

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
      // Kept as first deployed (a new description replaces the group); the RPC rule below came later.
      description: 'Beam sentries: CometBFT p2p from anywhere, nothing else',
      allowAllOutbound: true,
    });
    this.sentrySecurityGroup.addIngressRule(
      Peer.anyIpv4(),
      Port.tcp(P2P_PORT),
      'CometBFT p2p from the network',
    );
    // A new sentry state-syncs: its light client checks the trust against the RPC of two or more
    // healthy nodes (sentries and validators, on their private addresses), nobody else's.
    this.sentrySecurityGroup.addIngressRule(
      this.sentrySecurityGroup,
      Port.tcp(DAEMON_RPC_PORT),
      'CometBFT RPC from the other sentries: state sync of new sentries',
    );
    Validations.of(this.sentrySecurityGroup).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'A sentry exists to accept p2p connections from the public network, on the p2p port only.',
    });

    this.validatorSecurityGroup = new SecurityGroup(this, 'ValidatorSecurityGroup', {
      vpc: this.vpc,
      // Kept as first deployed (a new description replaces the group); the RPC rule below came later.
      description: 'Beam validators: p2p with the sentries only',
      allowAllOutbound: false,
    });
    this.validatorSecurityGroup.addIngressRule(
      this.sentrySecurityGroup,
      Port.tcp(P2P_PORT),
      'p2p from sentries',
    );
    this.validatorSecurityGroup.addIngressRule(
      this.sentrySecurityGroup,
      Port.tcp(DAEMON_RPC_PORT),
      'CometBFT RPC from sentries: state sync of new sentries',
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
          daemonBinary: role === 'sentry' ? props.daemonBinary : undefined,
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
        machineImage: this.machineImage(validatorType, props.ami),
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
      machineImage: this.machineImage(sentryType, props.ami),
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

  /**
   * A fixed AMI for `type`'s architecture, so that a new Amazon Linux release replaces no instance
   * (a validator's replacement loses its chain state): the pinned id, or the latest Amazon Linux 2023
   * AMI looked up once at synth and kept in cdk.context.json. Never the SSM parameter resolved at
   * each deploy, which `latestAmazonLinux2023` uses by default.
   */
  private machineImage(type: InstanceType, ami: NetworkStackProps['ami']): IMachineImage {
    const arm = type.architecture === InstanceArchitecture.ARM_64;
    const pinned = arm ? ami.arm64 : ami.x86_64;
    if (pinned) {
      return {
        getImage: () => ({
          imageId: pinned,
          osType: OperatingSystemType.LINUX,
          userData: UserData.forLinux(),
        }),
      };
    }
    if (Token.isUnresolved(this.account) || Token.isUnresolved(this.region)) {
      throw new Error(
        `Beam CDK context is invalid:\n  context beam:ami: no ${arm ? 'arm64' : 'x86_64'} AMI for ${type}, and without an ` +
          'account and region (AWS credentials, or CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION) the latest Amazon Linux ' +
          `2023 AMI cannot be looked up and kept in cdk.context.json: set beam:ami to {"${arm ? 'arm64' : 'x86_64'}": "ami-…"}`,
      );
    }
    return MachineImage.latestAmazonLinux2023({
      cpuType: arm ? AmazonLinuxCpuType.ARM_64 : AmazonLinuxCpuType.X86_64,
      cachedInContext: true,
    });
  }
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
