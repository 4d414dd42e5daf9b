import type { Actor, FleetOps, FleetStatus, OperationResult } from '../../../commander/chatops/ports.js';

/** A FleetOps test double: fixed fleet facts, and every mutating call recorded. */
export class FakeFleet implements FleetOps {
  readonly calls: { method: string; args: Record<string, unknown> }[] = [];
  private operations = 0;

  status: FleetStatus = {
    chainId: 'beamnet-1',
    height: 1200,
    signer: 'val-1',
    leaseEpoch: 7,
    missedBlocks: { missed: 2, window: 100 },
    failoverMode: 'confirm',
    openAlerts: 1,
    nodes: [
      { name: 'val-1', role: 'validator', state: 'active', height: 1200, lag: 0, peers: 2, signing: true },
      { name: 'val-2', role: 'validator', state: 'standby', height: 1199, lag: 1, peers: 2 },
      { name: 'sentry-a', role: 'sentry', state: 'healthy', height: 1200, lag: 0, peers: 14 },
    ],
  };

  private record(method: string, args: { by: Actor } & Record<string, unknown>): OperationResult {
    const { by, ...rest } = args;
    this.calls.push({ method, args: { ...rest, by: by.userId } });
    this.operations += 1;
    return { accepted: true, summary: `${method} started`, operationId: `op-${this.operations}` };
  }

  async fleetStatus() {
    return this.status;
  }
  async pinStatus(request: { status: FleetStatus; by: Actor }) {
    this.record('pinStatus', { by: request.by });
    return { subject: 'status:pinned', pinnedBy: `console:${request.by.userId}` };
  }
  async unpinStatus(request: { by: Actor }) {
    return this.record('unpinStatus', request);
  }
  async listNodes() {
    return this.status.nodes;
  }
  async node(name: string) {
    const node = this.status.nodes.find((n) => n.name === name);
    return node && { ...node, publicIp: '198.51.100.7', lastReportAt: Date.now() - 3000 };
  }
  async nodeConfig(name: string) {
    return this.status.nodes.some((n) => n.name === name)
      ? {
          node: name,
          version: '3',
          settings: { 'p2p.pex': 'false', 'p2p.persistent_peers': 'abc@198.51.100.7:26656' },
        }
      : undefined;
  }
  async proposals() {
    return [{ id: '42', title: 'Raise the <block> size & more', votingEnd: Date.now() + 86_400_000 }];
  }
  async recordVote(request: Parameters<FleetOps['recordVote']>[0]) {
    return this.record('recordVote', request);
  }
  async requestFailover(request: Parameters<FleetOps['requestFailover']>[0]) {
    return this.record('requestFailover', request);
  }
  async answerFailover(request: { opId: string; confirm: boolean; by: Actor }) {
    return this.record('answerFailover', request);
  }
  async holdAutoVote(request: { proposalId: string; by: Actor }) {
    return this.record('holdAutoVote', request);
  }
  async switchover(request: { by: Actor }) {
    return this.record('switchover', request);
  }
  async rotateIp(request: { sentry: string; by: Actor }) {
    return this.record('rotateIp', request);
  }
  async replaceSentry(request: { sentry: string; by: Actor }) {
    return this.record('replaceSentry', request);
  }
  async restart(request: { node: string; by: Actor }) {
    return this.record('restart', request);
  }
  async maintenance(request: Parameters<FleetOps['maintenance']>[0]) {
    return this.record('maintenance', request);
  }
  async unjail(request: { target: string; by: Actor }) {
    return this.record('unjail', request);
  }
  async decideNode(request: { node: string; approve: boolean; by: Actor }) {
    return this.record('decideNode', request);
  }
  async removeNode(request: { node: string; by: Actor }) {
    return this.record('removeNode', request);
  }
  async upgradePilots(request: { version: string; by: Actor }) {
    return this.record('upgradePilots', request);
  }
  async rotateEnrollmentToken(request: { by: Actor }) {
    this.record('rotateEnrollmentToken', request);
    return { token: 'f'.repeat(64) };
  }
  async bondPreview() {
    return {
      validator: 'cosmosvaloper1xyz',
      liquid: '5000000uatom',
      reserve: '100000uatom',
      wouldDelegate: '4900000uatom',
    };
  }
  async bond(request: { by: Actor }) {
    return this.record('bond', request);
  }
  async policy() {
    return [{ key: 'failover.mode', value: 'confirm', description: 'confirm or auto' }];
  }
  async setPolicy(request: { key: string; value: string; by: Actor }) {
    return this.record('setPolicy', request);
  }
  async mute(request: { target: string; until: number; by: Actor }) {
    return this.record('mute', request);
  }
  async ack(request: { alert: string; by: Actor }) {
    return this.record('ack', request);
  }
}
