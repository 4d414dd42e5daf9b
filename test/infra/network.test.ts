import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBeamApp } from '../../infra/beam-app.js';
import type { NetworkStack } from '../../infra/network-stack.js';
import { parseConfig } from '../../pilot/config.js';
import { acknowledgements, joinText, nagFindings, offlineApp, resourcesOf, templateOf } from './synth.js';

const FLEET = 'testnet';
const CONSENSUS = '0123456789ABCDEF0123456789ABCDEF01234567';
const CONTEXT = {
  'beam:fleet': FLEET,
  'beam:chainId': 'theta-testnet-001',
  'beam:validatorConsensusAddress': CONSENSUS,
  'beam:sentryMin': 3,
  'beam:sentryDesired': '4',
  'beam:sentryMax': 6,
  'beam:validatorInstanceType': 'm7i.xlarge',
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

  it('lets validators be reached only by sentries on p2p 26656', () => {
    const validatorSg = id(stack.validatorSecurityGroup);
    const sentrySg = id(stack.sentrySecurityGroup);
    const rules = ingressRules().filter((r) => r.group === validatorSg);
    expect(rules).toHaveLength(1);
    expect(rules[0]!.rule).toMatchObject({
      IpProtocol: 'tcp',
      FromPort: 26656,
      ToPort: 26656,
      SourceSecurityGroupId: { 'Fn::GetAtt': [sentrySg, 'GroupId'] },
    });
    expect(rules[0]!.rule.CidrIp).toBeUndefined();
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
    // x86 instance type, x86 image; arm sentries, arm image.
    expect(JSON.stringify(instances[0]!.ImageId)).toMatch(/x86/);
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
    expect(JSON.stringify(lt.ImageId)).toMatch(/arm64/);
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
      expect(text).toContain(
        'aws secretsmanager get-secret-value --region "TOKEN" --secret-id "arn:aws:secretsmanager:eu-west-1:111122223333:secret:Enroll-AbCdEf" --query SecretString --output text > /etc/beam/enrollment-token',
      );
      expect(text).toMatch(/aws s3 cp "s3:\/\/.*\.zip" \/tmp\/beam-pilot\.zip/);
      // The asset is a pilot release: its install.sh installs the pilot, its unit, the daemon's stop
      // timeout and the polkit rule, after the config is written (it keeps an existing one).
      const install =
        'sh /tmp/beam-pilot/install.sh --user gaia --unit "gaiad.service" --home "/home/gaia/.gaia"';
      expect(text).toContain(install);
      expect(text.indexOf(install)).toBeGreaterThan(text.lastIndexOf('BEAM_PILOT_TOML'));
      expect(text).toContain('chown gaia:gaia /etc/beam/enrollment-token');
      expect(text).toMatch(/systemctl enable --now beam-pilot\.service$/);
      const toml = /<<BEAM_PILOT_TOML\n([\s\S]*?)\nBEAM_PILOT_TOML/.exec(text)![1]!;
      const name = index < 2 ? (index === 0 ? 'validator-primary' : 'validator-standby') : 'sentry-i-0abc123';
      // What the shell's heredoc expands, from the instance metadata.
      const expanded = toml.replace('$NODE_NAME', name).replace('$PRIVATE_IP', '10.0.1.17');
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
      });
      expect(text).toContain('/latest/meta-data/local-ipv4)');
      expect(config.commander).toMatchObject({
        url: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
        enrollment_token_file: '/etc/beam/enrollment-token',
      });
      if (index < 2) expect(config.validator?.consensus_address).toBe(CONSENSUS);
      if (index < 2) expect(text).toContain(`NODE_NAME="${name}"`);
      if (index === 2) {
        expect(text).toContain('NODE_NAME="sentry-$INSTANCE_ID"');
        expect(config.node.instance_id).toBe('$INSTANCE_ID'); // expanded by the shell's heredoc
      } else expect(config.node.instance_id).toBeUndefined();
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
