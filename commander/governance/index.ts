/**
 * Governance and staking (design §6): proposal messages with vote buttons, reminders, votes through
 * the active validator's pilot (authz MsgExec), auto-vote with [Hold], auto-bond, grant alerts.
 * Pure decisions over one state item per chain (`GOVERNANCE / <chainId>`); the glue is
 * commander/app/governance-ops.ts (tick and chat operations).
 */
export { bondPlan, decideGovernance, GRANT_TYPES, grantProblems } from './machine.js';
export type {
  BondPlan,
  GovernanceAnswer,
  GovernanceEffect,
  GovernanceEvent,
  GovernanceInput,
  GovernanceOutput,
} from './machine.js';
export { governanceFacts, reportedKeyHolder } from './facts.js';
export type { GovernanceFacts } from './facts.js';
export { decideAndSaveGovernance, listGovernanceStates, loadGovernanceState } from './persistence.js';
export {
  DEFAULT_POLICY,
  GovernanceSettings,
  mergeOverrides,
  parsePolicyChange,
  POLICY_KEYS,
  PolicyOverrides,
  resolvePolicy,
} from './settings.js';
export type { GovernancePolicy } from './settings.js';
export { initialGovernanceState } from './state.js';
export type { GovernanceState, TrackedProposal, VoteIntent } from './state.js';
