import { Aws } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';

/** The tags that mark what Beam may change through the EC2 API. Validators never carry `beam:managed`. */
export const TAG = {
  managed: 'beam:managed',
  fleet: 'beam:fleet',
  role: 'beam:role',
  node: 'beam:node',
} as const;

/**
 * The commander's EC2 rights: read everything (EC2's Describe actions support no resource scoping),
 * change only Elastic IPs and instances tagged as this fleet's managed resources, terminate and bind
 * (tag `beam:node`, no other key) only its sentries, and allocate Elastic IPs only when they are
 * tagged as its own at creation.
 */
export function fleetEc2Statements(fleet: string): PolicyStatement[] {
  // Pseudo parameters even where the stack's region and account are known, so the ARNs (and the
  // cdk-nag acknowledgements that name them) read the same in every environment.
  const arn = (resource: string) => `arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}/*`;
  const elasticIps = arn('elastic-ip');
  const instances = arn('instance');
  const networkInterfaces = arn('network-interface');
  const ownedExisting = {
    StringEquals: { [`ec2:ResourceTag/${TAG.managed}`]: 'true', [`ec2:ResourceTag/${TAG.fleet}`]: fleet },
  };
  const ownedSentries = {
    StringEquals: { ...ownedExisting.StringEquals, [`ec2:ResourceTag/${TAG.role}`]: 'sentry' },
  };
  return [
    new PolicyStatement({
      sid: 'DescribeFleet',
      effect: Effect.ALLOW,
      actions: ['ec2:DescribeInstances', 'ec2:DescribeAddresses', 'ec2:DescribeTags'],
      resources: ['*'],
    }),
    new PolicyStatement({
      sid: 'ChangeOwnedAddresses',
      effect: Effect.ALLOW,
      actions: ['ec2:AssociateAddress', 'ec2:DisassociateAddress', 'ec2:ReleaseAddress'],
      // Associate/Disassociate also authorize the instance's network interface, tagged at launch too.
      resources: [elasticIps, instances, networkInterfaces],
      conditions: ownedExisting,
    }),
    new PolicyStatement({
      sid: 'TerminateOwnedSentries',
      effect: Effect.ALLOW,
      actions: ['ec2:TerminateInstances'],
      resources: [instances],
      conditions: ownedSentries,
    }),
    new PolicyStatement({
      // Binding a proven sentry to its node name, the one tag the commander writes on an instance.
      sid: 'BindOwnedSentries',
      effect: Effect.ALLOW,
      actions: ['ec2:CreateTags'],
      resources: [instances],
      conditions: {
        ...ownedSentries,
        'ForAllValues:StringEquals': { 'aws:TagKeys': [TAG.node] },
      },
    }),
    new PolicyStatement({
      sid: 'AllocateTaggedAddress',
      effect: Effect.ALLOW,
      actions: ['ec2:AllocateAddress'],
      resources: [elasticIps],
      conditions: {
        StringEquals: { [`aws:RequestTag/${TAG.managed}`]: 'true', [`aws:RequestTag/${TAG.fleet}`]: fleet },
      },
    }),
    new PolicyStatement({
      sid: 'TagOnAllocate',
      effect: Effect.ALLOW,
      actions: ['ec2:CreateTags'],
      resources: [elasticIps],
      conditions: { StringEquals: { 'ec2:CreateAction': 'AllocateAddress' } },
    }),
  ];
}
