import * as z from 'zod';
import { Role } from '../protocol/index.js';
import { SecretsSettings } from './adapters/secrets/settings.js';
import { AccessSettings } from './chatops/access.js';
import { AlertPolicy, PagingSettings } from './alerting/settings.js';
import { ChainUpgradeSettings } from './chain-upgrade/settings.js';
import { FailoverSettings } from './failover/settings.js';
import { GovernanceSettings } from './governance/settings.js';
import { ExplorerTemplates } from './domain/explorer.js';
import { HealthThresholds } from './domain/health.js';
import { IdentitySettings } from './identity/settings.js';
import { ChatRoute } from './notify/notifier.js';
import { SentrySettings } from './sentry/settings.js';
import { PilotSettings } from './upgrade/settings.js';

/** What every commander runs with, in Lambda or self-hosted; built from env vars or a config file. */
export const CommanderSettings = z.strictObject({
  tableName: z.string().regex(/^[a-zA-Z0-9_.-]{3,255}$/, 'use 3-255 characters of [a-zA-Z0-9_.-]'),
  /** Endpoint of dynalite or another DynamoDB-compatible service; AWS when absent. */
  dynamodbEndpoint: z.url().optional(),
  enrollmentToken: z.string().min(16, 'use at least 16 characters (e.g. `openssl rand -hex 32`)').max(256),
  reportIntervalMs: z.number().int().min(500).max(300_000).default(5000),
  /** How long a pending pilot waits between enrollment polls. */
  enrollRetryMs: z.number().int().min(100).max(300_000).default(10_000),
  /** Roles approved without a person, only on a verified instance identity (`identity.ec2`). */
  autoApprove: z
    .strictObject({
      roles: z
        .array(Role)
        .refine(
          (roles) => !roles.includes('validator'),
          'validators are never auto-approved: remove "validator" and approve them in chat (`approve <node>`)',
        )
        .default([]),
    })
    .prefault({}),
  /** How enrollments prove their EC2 instance (commander/identity). */
  identity: IdentitySettings.prefault({}),
  /** The key that seals node secrets at rest (adapters/secrets). */
  secrets: SecretsSettings.optional(),
  thresholds: HealthThresholds.prefault({}),
  /** Reminders, quiet hours, pending durations per kind and chain, the pinned status, the daily digest. */
  alerts: AlertPolicy.prefault({}),
  /** PagerDuty and a generic webhook for critical alerts (secrets: never logged). */
  paging: PagingSettings.prefault({}),
  chat: z.array(ChatRoute).default([]),
  /**
   * Validator failover (docs/failover.md): lease, detection and mode; defaults when absent. Beam
   * checks these timings against the commander's `reportIntervalMs` (set both when shortening them).
   */
  failover: FailoverSettings.optional(),
  /** Sentry defence (commander/sentry): flood thresholds, cooldowns, minimum healthy sentries, replacement. */
  sentry: SentrySettings.prefault({}),
  /** Chat roles by Slack / Telegram user id, allow-listed chats, button lifetimes (chatops/access.ts). */
  access: AccessSettings.prefault({}),
  /** Proposal alerts, votes, auto-vote and auto-bond (docs/governance.md); `chains.<id>` overrides per chain. */
  governance: GovernanceSettings.prefault({}),
  /** Pilot versions: the target (drift alert), releases `upgrade pilots <version>` may roll out, timeout. */
  pilot: PilotSettings.prefault({}),
  /**
   * Explorer pages per chain id (`${txHash}`, `${proposalId}`, `${validatorAddress}`,
   * `${accountAddress}` in the URL), over those of chains added with `beam-commander chain add`.
   */
  explorers: z.record(z.string(), ExplorerTemplates).default({}),
  /** Chain upgrades (x/upgrade plans): reminder lead times, how long the halt may last, cancellation. */
  chainUpgrade: ChainUpgradeSettings.prefault({}),
});
export type CommanderSettings = z.infer<typeof CommanderSettings>;
export type CommanderSettingsInput = z.input<typeof CommanderSettings>;
