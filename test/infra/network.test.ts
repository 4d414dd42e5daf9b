import path from 'node:path';
import type { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBeamApp } from '../../infra/beam-app.js';
import type { NetworkStack } from '../../infra/network-stack.js';
import { parseConfig } from '../../pilot/config.js';
import { acknowledgements, joinText, nagFindings, offlineApp, resourcesOf, templateOf } from './synth.js';

const FLEET = 'testnet';
const CONSENSUS = '0123456789ABCDEF0123456789ABCDEF01234567';
const AMI = { arm64: 'ami-0a1b2c3d4e5f60718', x86_64: 'ami-0f1e2d3c4b5a69788' };
const CONTEXT = {
  'beam:fleet': FLEET,
  'beam:chainId': 'theta-testnet-001',
  'beam:validatorConsensusAddress': CONSENSUS,
  'beam:sentryMin': 3,
  'beam:sentryDesired': '4',
  'beam:sentryMax': 6,
  'beam:validatorInstanceType': 'm7i.xlarge',
  'beam:ami': AMI,
};

let stack: NetworkStack;
let template: Template;
let resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;

type Rule = {
  IpProtocol: string;
  FromPort?: number;
  ToPort?: number;
  CidrIp?: string;
  CidrIpv6?: string;
  SourceSecurityGroupId?: unknown;
};

/** Every ingress rule in the template, inline or standalone, with the group it belongs to. */
function ingressRules(): { group: string; rule: Rule }[] {
  const inline = Object.entries(resourcesOf(template, 'AWS::EC2::SecurityGroup')).flatMap(([id, sg]) =>
    ((sg.Properties!.SecurityGroupIngress as Rule[] | undefined) ?? []).map((rule) => ({ group: id, rule })),
  );
  const standalone = Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroupIngress')).map((r) => ({
    group: (r.Properties!.GroupId as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0],
    rule: r.Properties as Rule,
  }));
  return [...inline, ...standalone];
}

const id = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

/** The launch template data behind an instance or the sentry group. */
function launchDataOf(launchTemplateId: string): Record<string, unknown> {
  return resources[launchTemplateId]!.Properties.LaunchTemplateData as Record<string, unknown>;
}

/** User data as text, tokens rendered as `<…>` except the ones a test substitutes. */
function userDataText(userData: unknown, render?: (token: unknown) => string): string {
  return joinText(userData, render);
}

beforeAll(() => {
  const app = offlineApp(CONTEXT);
  stack = buildBeamApp(app).network!;
  template = templateOf(stack);
  resources = template.toJSON().Resources;
});

describe('network stack', () => {
  it('spans two AZs with public sentry subnets, private validator subnets, NAT, S3 endpoint and flow logs', () => {
    const subnets = Object.values(resourcesOf(template, 'AWS::EC2::Subnet')).map((s) => s.Properties!);
    expect(subnets.filter((s) => s.MapPublicIpOnLaunch === true)).toHaveLength(2);
    expect(subnets.filter((s) => s.MapPublicIpOnLaunch === false)).toHaveLength(2);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' });
  });

  it('lets validators be reached only by sentries: p2p 26656, and RPC 26657 for state sync', () => {
    const validatorSg = id(stack.validatorSecurityGroup);
    const sentrySg = id(stack.sentrySecurityGroup);
    const rules = ingressRules().filter((r) => r.group === validatorSg);
    expect(rules.map((r) => r.rule.FromPort).sort()).toEqual([26656, 26657]);
    for (const { rule } of rules) {
      expect(rule).toMatchObject({
        IpProtocol: 'tcp',
        ToPort: rule.FromPort,
        SourceSecurityGroupId: { 'Fn::GetAtt': [sentrySg, 'GroupId'] },
      });
      expect(rule.CidrIp).toBeUndefined();
    }
  });

  it("lets sentries reach each other's RPC 26657 (a new sentry state-syncs), nobody else", () => {
    const sentrySg = id(stack.sentrySecurityGroup);
    const rpc = ingressRules().filter((r) => r.group === sentrySg && r.rule.FromPort === 26657);
    expect(rpc).toEqual([
      {
        group: sentrySg,
        rule: expect.objectContaining({
          IpProtocol: 'tcp',
          ToPort: 26657,
          SourceSecurityGroupId: { 'Fn::GetAtt': [sentrySg, 'GroupId'] },
        }),
      },
    ]);
  });

  it('opens p2p 26656 to the world on sentries and nothing else to the world, SSH nowhere', () => {
    const world = ingressRules().filter((r) => r.rule.CidrIp === '0.0.0.0/0' || r.rule.CidrIpv6 === '::/0');
    expect(world).toEqual([
      {
        group: id(stack.sentrySecurityGroup),
        rule: expect.objectContaining({ IpProtocol: 'tcp', FromPort: 26656, ToPort: 26656 }),
      },
    ]);
    for (const { rule } of ingressRules()) {
      const coversSsh =
        rule.IpProtocol === '-1' || ((rule.FromPort ?? 0) <= 22 && (rule.ToPort ?? 65535) >= 22);
      expect(coversSsh && (rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0')).toBe(false);
      expect(coversSsh).toBe(false);
    }
  });

  it('runs a primary and a standby validator in different AZs: IMDSv2, encrypted gp3, termination protection', () => {
    const instances = Object.values(resourcesOf(template, 'AWS::EC2::Instance')).map((i) => i.Properties!);
    expect(instances).toHaveLength(2);
    expect(new Set(instances.map((i) => JSON.stringify(i.SubnetId))).size).toBe(2);
    for (const instance of instances) {
      expect(instance).toMatchObject({
        InstanceType: 'm7i.xlarge',
        DisableApiTermination: true,
        Monitoring: true,
        BlockDeviceMappings: [{ Ebs: { Encrypted: true, VolumeType: 'gp3', VolumeSize: 500 } }],
      });
      const tags = Object.fromEntries(
        (instance.Tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]),
      );
      expect(tags).toMatchObject({ 'beam:fleet': FLEET, 'beam:role': 'validator' });
      expect(tags['beam:managed']).toBeUndefined();
      const ltId = (instance.LaunchTemplate as { Version: { 'Fn::GetAtt': [string] } }).Version[
        'Fn::GetAtt'
      ][0];
      expect(launchDataOf(ltId).MetadataOptions).toEqual({ HttpTokens: 'required' });
    }
    // x86 instance type, the pinned x86 image (arm sentries: the arm one, below).
    for (const instance of instances) expect(instance.ImageId).toBe(AMI.x86_64);
  });

  it('runs sentries in an autoscaling group sized from context, tagged at launch, instance and ENI alike', () => {
    const asg = Object.values(resourcesOf(template, 'AWS::AutoScaling::AutoScalingGroup'))[0]!.Properties!;
    expect(asg).toMatchObject({ MinSize: '3', DesiredCapacity: '4', MaxSize: '6' });
    const tags = asg.Tags as { Key: string; Value: string; PropagateAtLaunch: boolean }[];
    for (const [key, value] of [
      ['beam:role', 'sentry'],
      ['beam:managed', 'true'],
      ['beam:fleet', FLEET],
    ]) {
      expect(tags).toContainEqual({ Key: key, Value: value, PropagateAtLaunch: true });
    }
    const lt = launchDataOf(
      (asg.LaunchTemplate as { LaunchTemplateId: { Ref: string } }).LaunchTemplateId.Ref,
    );
    expect(lt).toMatchObject({
      MetadataOptions: { HttpTokens: 'required' },
      BlockDeviceMappings: [{ Ebs: { Encrypted: true, VolumeType: 'gp3' } }],
    });
    expect(lt.ImageId).toBe(AMI.arm64);
    const specs = lt.TagSpecifications as { ResourceType: string; Tags: { Key: string; Value: string }[] }[];
    expect(specs.map((s) => s.ResourceType).sort()).toEqual(['instance', 'network-interface', 'volume']);
    for (const spec of specs) expect(spec.Tags).toContainEqual({ Key: 'beam:managed', Value: 'true' });
  });

  it('gives instances only the pilot asset, the enrollment token secret and SSM core', () => {
    const managed = resources[id(stack.instanceRole)]!.Properties.ManagedPolicyArns;
    expect(JSON.stringify(managed)).toMatch(/AmazonSSMManagedInstanceCore/);
    expect(managed).toHaveLength(1);
    const statements = Object.values(resourcesOf(template, 'AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties!.Roles).includes(id(stack.instanceRole)))
      .flatMap(
        (p) =>
          (p.Properties!.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
            .Statement,
      );
    expect(statements.map((s) => s.Action)).toEqual([
      's3:GetObject',
      ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
    ]);
    expect(JSON.stringify(statements[0]!.Resource)).toMatch(/\/[0-9a-f]{64}\.zip"/);
    expect(JSON.stringify(statements[1]!.Resource)).toMatch(/EnrollmentToken/);
    for (const policy of Object.values(resourcesOf(template, 'AWS::IAM::Policy'))) {
      expect(JSON.stringify(policy.Properties!.PolicyDocument)).not.toMatch(
        /"Action":"[^"]*\*|"[a-z0-9]+:[A-Za-z]*\*"/,
      );
    }
  });

  it('boots every node into an enrolled pilot with a config the pilot accepts and no secret in user data', () => {
    const userDatas = [
      ...Object.values(resourcesOf(template, 'AWS::EC2::Instance')).map((i) => i.Properties!.UserData),
      launchDataOf(ltIdOfAsg()).UserData,
    ];
    expect(userDatas).toHaveLength(3);
    for (const [index, userData] of userDatas.entries()) {
      const raw = JSON.stringify(userData);
      expect(raw).not.toMatch(/resolve:secretsmanager|xox[abpr]-|-----BEGIN|SecretString"?\s*[:}]/);
      expect(raw).not.toMatch(/"Fn::GetAtt":\["[A-Za-z]*(Secret|Token)[A-Za-z0-9]*","SecretString/);
      const text = userDataText(userData, (token) => {
        const json = JSON.stringify(token);
        if (json.includes('ApiEndpoint')) return 'https://abc123.execute-api.eu-west-1.amazonaws.com';
        const sub = (token as { 'Fn::Sub'?: string })['Fn::Sub'];
        if (sub) return sub;
        if (json.includes('EnrollmentToken'))
          return 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:Enroll-AbCdEf';
        return 'TOKEN';
      });
      // The token goes into the pilot's state folder, its user's (0700), which it may write: it
      // deletes the token once enrolled.
      expect(text).toContain('install -d -m 700 -o gaia -g gaia /var/lib/beam-pilot');
      expect(text).toContain(
        'aws secretsmanager get-secret-value --region "TOKEN" --secret-id "arn:aws:secretsmanager:eu-west-1:111122223333:secret:Enroll-AbCdEf" --query SecretString --output text > /var/lib/beam-pilot/enrollment-token',
      );
      expect(text.indexOf('install -d -m 700')).toBeLessThan(text.indexOf('get-secret-value'));
      expect(text).toMatch(/aws s3 cp "s3:\/\/.*\.zip" \/tmp\/beam-pilot\.zip/);
      // The asset is a pilot release: its install.sh installs the pilot, its unit, the daemon's stop
      // timeout and the polkit rule, after the config is written (it keeps an existing one).
      const install =
        'sh /tmp/beam-pilot/install.sh --user gaia --unit "gaiad.service" --home "/home/gaia/.gaia"';
      expect(text).toContain(install);
      expect(text.indexOf(install)).toBeGreaterThan(text.lastIndexOf('BEAM_PILOT_TOML'));
      expect(text).toContain('chown gaia:gaia /var/lib/beam-pilot/enrollment-token');
      expect(text).toMatch(/systemctl enable --now beam-pilot\.service$/);
      const toml = /<<BEAM_PILOT_TOML\n([\s\S]*?)\nBEAM_PILOT_TOML/.exec(text)![1]!;
      const name = index < 2 ? (index === 0 ? 'validator-primary' : 'validator-standby') : 'sentry-i-0abc123';
      // What the shell's heredoc expands, from the instance metadata.
      const expanded = toml.replace('$NODE_NAME', name).replaceAll('$PRIVATE_IP', '10.0.1.17');
      expect(toml).toContain('p2p_host = "$PRIVATE_IP"');
      const config = parseConfig(expanded, '/etc/beam/pilot.toml');
      expect(config.node).toMatchObject({
        name,
        chain_id: 'theta-testnet-001',
        role: index < 2 ? 'validator' : 'sentry',
      });
      expect(config.daemon).toMatchObject({
        mode: 'systemd',
        unit: 'gaiad.service',
        home: '/home/gaia/.gaia',
        p2p_host: '10.0.1.17', // peers dial the private address
        // New sentries state-sync against every node's RPC on its private address.
        state_sync_rpc_url: 'http://10.0.1.17:26657',
      });
      // Only sentries are replaced with an empty disk: they wait for state sync; validators never do.
      expect(config.bootstrap.state_sync).toBe(index === 2);
      expect(text).toContain('/latest/meta-data/local-ipv4)');
      expect(config.commander).toMatchObject({
        url: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
        enrollment_token_file: '/var/lib/beam-pilot/enrollment-token',
      });
      expect(path.dirname(config.commander!.enrollment_token_file!)).toBe(config.node.state_dir);
      if (index < 2) expect(config.validator?.consensus_address).toBe(CONSENSUS);
      if (index < 2) expect(text).toContain(`NODE_NAME="${name}"`);
      // A sentry proves its instance with the identity document (approved and bound by the tick);
      // a validator proves nothing (it carries no beam:managed tag) and waits for an admin.
      expect(config.node.instance_id).toBeUndefined();
      if (index === 2) {
        expect(text).toContain('NODE_NAME="sentry-$INSTANCE_ID"');
        expect(config.node.identity).toBe('ec2');
      } else expect(config.node.identity).toBe('none');
    }
  });

  it('passes cdk-nag AwsSolutions, every acknowledgement giving its reason', () => {
    expect(nagFindings(stack)).toEqual([]);
    for (const ack of acknowledgements(stack))
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThan(40);
  });
});

describe('network stack apart from the commander', () => {
  it('takes the commander URL and enrollment secret from context instead of stack exports', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:beam-enrollment-AbCdEf';
    const app = offlineApp({
      ...CONTEXT,
      'beam:commanderUrl': 'https://beam.example.org',
      'beam:enrollmentTokenSecretArn': arn,
    });
    const network = buildBeamApp(app).network!;
    const json = JSON.stringify(templateOf(network).toJSON());
    expect(json).not.toContain('Fn::ImportValue');
    expect(json).toContain('url = \\"https://beam.example.org\\"');
    expect(json).toContain(`--secret-id \\"${arn}\\"`);
  });
});

function ltIdOfAsg(): string {
  const asg = Object.values(resourcesOf(template, 'AWS::AutoScaling::AutoScalingGroup'))[0]!.Properties!;
  return (asg.LaunchTemplate as { LaunchTemplateId: { Ref: string } }).LaunchTemplateId.Ref;
}

describe('network stack AMIs', () => {
  const AL2023 = /^\/aws\/service\/ami-amazon-linux-latest\/al2023-ami-kernel-.*-(arm64|x86_64)$/;
  const withoutAmi = { ...CONTEXT, 'beam:ami': {} };

  /** The network stack in a concrete environment, as under the CDK CLI with credentials. */
  function concrete(context: Record<string, unknown>): NetworkStack {
    vi.stubEnv('CDK_DEFAULT_ACCOUNT', '111122223333');
    vi.stubEnv('CDK_DEFAULT_REGION', 'eu-west-1');
    try {
      return buildBeamApp(offlineApp(context)).network!;
    } finally {
      vi.unstubAllEnvs();
    }
  }
  const imageIds = (network: NetworkStack) => {
    const t = templateOf(network).toJSON();
    const ids = Object.values(
      t.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    )
      .flatMap((r) =>
        r.Type === 'AWS::EC2::Instance'
          ? [r.Properties.ImageId]
          : r.Type === 'AWS::EC2::LaunchTemplate'
            ? [(r.Properties.LaunchTemplateData as { ImageId?: unknown }).ImageId]
            : [],
      )
      .filter((id) => id !== undefined);
    return { ids, parameters: JSON.stringify(t.Parameters ?? {}) };
  };

  it('looks the latest Amazon Linux 2023 AMI up once and keeps it in context: no deploy resolves it again', () => {
    // First synth: nothing cached yet, so CDK asks for the lookups (`cdk synth` then saves the
    // answers in cdk.context.json and synthesizes again).
    const first = concrete(withoutAmi);
    const lookups = ((first.node.root as App).synth().manifest.missing ?? []).filter((m) =>
      AL2023.test(String((m.props as { parameterName?: string }).parameterName)),
    );
    const arch = (m: (typeof lookups)[number]) =>
      String((m.props as { parameterName: string }).parameterName).endsWith('arm64') ? 'arm64' : 'x86_64';
    expect(lookups.map(arch).sort()).toEqual(['arm64', 'x86_64']);
    // With the answers in context, the ids are in the template itself: no SSM parameter to resolve.
    const cached = Object.fromEntries(lookups.map((m) => [m.key, AMI[arch(m)]]));
    const { ids, parameters } = imageIds(concrete({ ...withoutAmi, ...cached }));
    expect(ids.sort()).toEqual([AMI.arm64, AMI.x86_64, AMI.x86_64].sort());
    expect(parameters).not.toMatch(/AWS::EC2::Image::Id|ami-amazon-linux-latest/);
  });

  it('uses pinned ids as they are, and without them or an environment refuses to synthesize', () => {
    const { ids, parameters } = imageIds(buildBeamApp(offlineApp(CONTEXT)).network!);
    expect(ids.sort()).toEqual([AMI.arm64, AMI.x86_64, AMI.x86_64].sort());
    expect(parameters).not.toMatch(/AWS::EC2::Image::Id/);
    expect(() => buildBeamApp(offlineApp({ ...CONTEXT, 'beam:ami': { arm64: AMI.arm64 } }))).toThrow(
      /context beam:ami: no x86_64 AMI for m7i\.xlarge, and without an account and region .* set beam:ami to \{"x86_64": "ami-…"\}/,
    );
  });
});
