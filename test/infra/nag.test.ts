import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { buildBeamApp } from '../../infra/beam-app.js';
import { offlineApp, templateOf } from './synth.js';

// With acknowledgements switched off, cdk-nag's findings must be exactly what the code acknowledges:
// no finding left unexplained, and no acknowledgement that answers nothing.
const recorded: string[] = [];
const spy = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(function (
  this: Validations,
  ...rules
) {
  const scope = (this as unknown as { scope: { node: { path: string } } }).scope;
  for (const rule of rules)
    if (rule.id.startsWith('AwsSolutions-')) recorded.push(`${rule.id} @ ${scope.node.path}`);
});
afterAll(() => {
  spy.mockRestore();
  vi.unstubAllEnvs();
});

describe('cdk-nag acknowledgements', () => {
  it('match the AwsSolutions findings one to one, in a concrete environment as under the CDK CLI', () => {
    vi.stubEnv('CDK_DEFAULT_ACCOUNT', '111122223333');
    vi.stubEnv('CDK_DEFAULT_REGION', 'eu-west-1');
    const app = offlineApp({
      'beam:validatorConsensusAddress': 'A'.repeat(40),
      'beam:alarmEmail': 'ops@example.com',
    });
    const { commander, network } = buildBeamApp(app);
    const findings = [commander, network!].flatMap((stack) => {
      templateOf(stack);
      return new AwsSolutionsChecks()
        .validateScope(stack)
        .violations.flatMap((v) =>
          v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })),
        );
    });
    expect(findings.length).toBeGreaterThan(0);
    // An acknowledgement on a construct covers findings on it and on everything below it.
    const covers = (ack: string, f: { rule: string; path: string }) => {
      const [rule, path] = ack.split(' @ ');
      return rule === f.rule && (f.path === path || f.path.startsWith(`${path}/`));
    };
    expect(findings.filter((f) => !recorded.some((ack) => covers(ack, f)))).toEqual([]);
    const unused = recorded.filter((ack) => !findings.some((f) => covers(ack, f)));
    expect(unused).toEqual([]);
  });
});
