// The CDK app (`cdk.json`: `npx tsx infra/app.ts`). Context keys: infra/config.ts and infra/README.md.
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildBeamApp } from './beam-app.js';

const app = new App();
buildBeamApp(app);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
