import { App, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';

// CloudFormation's template validator costs seconds per synth and checks nothing these tests rely on.
process.env.CDK_VALIDATION = 'false';

/** An app that skips asset bundling (no commander or pilot build needed) with Beam context on top. */
export function offlineApp(context: Record<string, unknown> = {}, outdir?: string): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [], ...context }, ...(outdir ? { outdir } : {}) });
}

/** The synthesized template; the cyclic-reference check is skipped, CloudFormation rejects cycles itself. */
export function templateOf(stack: Stack): Template {
  return Template.fromStack(stack, { skipCyclicalDependenciesCheck: true });
}

/** cdk-nag AwsSolutions findings left after acknowledgements, as `rule at construct path` lines. */
export function nagFindings(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) =>
    v.violatingResources.map(
      (r) => `${v.ruleName} at ${r.resourceLogicalId ?? r.templatePath ?? '?'}: ${v.description}`,
    ),
  );
}

/** Every acknowledgement recorded on the stack's constructs, with its reason. */
export function acknowledgements(stack: Stack): { path: string; id: string; reason: string }[] {
  return stack.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id,
          reason,
        })),
      ),
  );
}

type Resources = Record<
  string,
  { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown }
>;

/** Resources of one type, by logical id. */
export function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

/** Flattens an `Fn::Join` (or a plain string) to text, rendering each token with `render`. */
export function joinText(
  value: unknown,
  render: (token: unknown) => string = (t) => `<${JSON.stringify(t)}>`,
): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map((part) => joinText(part, render)).join(join[0]);
  const base64 = (value as { 'Fn::Base64'?: unknown })['Fn::Base64'];
  if (base64 !== undefined) return joinText(base64, render);
  return render(value);
}

/** Every Lambda function's environment variables as the template has them, by logical id. */
export function lambdaEnvironments(stack: Stack): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    Object.entries(resourcesOf(templateOf(stack), 'AWS::Lambda::Function')).map(([id, fn]) => [
      id,
      (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables,
    ]),
  );
}

/**
 * An environment as CloudFormation fills it in at deploy, as recognizable text: `Ref` and
 * `Fn::GetAtt` become `deployed-<logical id>` (a table name, a secret or key ARN).
 */
export function deployedEnv(env: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => {
      if (typeof value === 'string') return [name, value];
      const ref = (value as { Ref?: string }).Ref;
      const att = (value as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
      return [name, `deployed-${ref ?? att?.[0]}`];
    }),
  );
}
