// The commander's view of the cloud: what sentry defence needs from EC2, in domain terms.
// Every operation is safe to retry with the same arguments; none touches a resource Beam does not own.

/** Tags Beam puts on what it owns. */
export const BEAM_TAGS = {
  managed: 'beam:managed',
  fleet: 'beam:fleet',
  node: 'beam:node',
  role: 'beam:role',
  op: 'beam:op',
} as const;

export type SentryState = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

export interface SentryInstance {
  instanceId: string;
  /** The `beam:node` tag: the registry name of the sentry, when the instance carries one. */
  node: string | undefined;
  name: string | undefined;
  state: SentryState;
  privateIp: string | undefined;
  publicIp: string | undefined;
  /** Autoscaling group (the `aws:autoscaling:groupName` tag). */
  group: string | undefined;
  launchTime: Date | undefined;
  tags: Record<string, string>;
}

export interface ManagedAddress {
  allocationId: string;
  publicIp: string;
  associationId: string | undefined;
  instanceId: string | undefined;
  node: string | undefined;
  /** The rotation that allocated it (`beam:op`). */
  op: string | undefined;
  tags: Record<string, string>;
}

export interface RotateAddressRequest {
  fleet: string;
  /** Registry name of the sentry, tagged on the new address as `beam:node`. */
  node: string;
  instanceId: string;
  /** Identifies this rotation: a retry with the same key resumes it instead of allocating again. */
  opKey: string;
}

export interface RotationResult {
  instanceId: string;
  allocationId: string;
  /** The sentry's new `external_address` host. */
  publicIp: string;
  associationId: string;
  /** The public IP the instance had before this rotation, when this call saw it. */
  previousPublicIp: string | undefined;
  /** Beam addresses of this node released by this call (the old one, and any left by crashed attempts). */
  released: string[];
  /** An Elastic IP Beam does not own that the rotation displaced: left allocated, for a human to decide. */
  foreignAllocationId: string | undefined;
}

export interface TerminateResult {
  instanceId: string;
  previousState: SentryState;
  currentState: SentryState;
  /** Beam addresses the terminated sentry had, released (EC2 only disassociates them). */
  released: string[];
}

export interface CloudPort {
  /** The region of the fleet: the only one whose instances may enroll with an identity document. */
  readonly region: string;
  /** Any instance of the region by id, whatever its tags; undefined when EC2 does not know it. */
  describeInstance(instanceId: string): Promise<SentryInstance | undefined>;
  /**
   * Tags a Beam-managed sentry of the fleet `beam:node=<node>` (the only tag key it writes): the
   * binding that rotations and terminations require. Refuses an instance already tagged for another
   * node. Idempotent.
   */
  bindSentry(fleet: string, instanceId: string, node: string): Promise<void>;
  /** Beam-managed sentries of the fleet (`beam:role=sentry`, `beam:managed=true`, `beam:fleet`), any state. */
  describeSentries(fleet: string): Promise<SentryInstance[]>;
  /** Elastic IPs tagged `beam:managed=true` of the fleet. */
  listAddresses(fleet: string): Promise<ManagedAddress[]>;
  /**
   * Gives the sentry a fresh Elastic IP: allocate (tagged with the op), associate, release the old
   * Beam address. Only for an instance tagged `beam:node=<node>` (bindSentry). Idempotent per `opKey`: a retry after any failure converges on exactly one Beam
   * address associated to the instance and none leaked. The caller runs one rotation per node at a
   * time: leftovers are found by the node's `beam:node` tag.
   */
  rotateAddress(request: RotateAddressRequest): Promise<RotationResult>;
  /** Releases a Beam address of the fleet; refuses untagged, other-fleet or associated addresses. */
  releaseAddress(fleet: string, allocationId: string): Promise<void>;
  /**
   * Terminates a Beam-managed sentry of the fleet (its autoscaling group replaces it) and releases its
   * Beam addresses once EC2 has disassociated them; refuses other instances. A repeat releases what
   * the first call could not yet. Only an instance tagged `beam:node=<node>` is terminated: a registry
   * entry pointing at another instance (an enrollment that only claimed an instance id) never
   * terminates it.
   */
  terminateSentry(fleet: string, instanceId: string, node: string): Promise<TerminateResult>;
}

export type CloudErrorKind =
  | 'limit'
  | 'not-found'
  | 'unauthorized'
  | 'conflict'
  | 'transient'
  | 'invalid'
  | 'refused';

/**
 * A failed cloud operation. `message` says what to do; `retryable` tells the domain that the same
 * operation (same op key) may simply be tried again later. `refused` means Beam's own ownership rules
 * stopped it: nothing was changed.
 */
export class CloudError extends Error {
  constructor(
    readonly kind: CloudErrorKind,
    message: string,
    /** The AWS error code, when EC2 answered with one. */
    readonly code: string | undefined = undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CloudError';
  }

  get retryable(): boolean {
    return this.kind === 'transient';
  }
}
