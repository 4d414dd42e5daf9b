/** Errors with the codespace, code and log format a Cosmos SDK chain returns (`detail: description`). */
export class ChainError extends Error {
  constructor(
    readonly codespace: string,
    readonly code: number,
    readonly description: string,
    readonly detail?: string,
  ) {
    super(detail ? `${detail}: ${description}` : description);
  }

  /** Wraps with more context in front, as errorsmod.Wrap does. */
  wrap(context: string): ChainError {
    const detail = this.detail ? `${context}: ${this.detail}` : context;
    return new ChainError(this.codespace, this.code, this.description, detail);
  }
}

type Factory = (detail?: string) => ChainError;
const register =
  (codespace: string, code: number, description: string): Factory =>
  (detail) =>
    new ChainError(codespace, code, description, detail);

export const sdk = {
  txDecode: register('sdk', 2, 'tx parse error'),
  unauthorized: register('sdk', 4, 'unauthorized'),
  insufficientFunds: register('sdk', 5, 'insufficient funds'),
  unknownRequest: register('sdk', 6, 'unknown request'),
  invalidAddress: register('sdk', 7, 'invalid address'),
  invalidPubKey: register('sdk', 8, 'invalid pubkey'),
  unknownAddress: register('sdk', 9, 'unknown address'),
  invalidCoins: register('sdk', 10, 'invalid coins'),
  outOfGas: register('sdk', 11, 'out of gas'),
  memoTooLarge: register('sdk', 12, 'memo too large'),
  insufficientFee: register('sdk', 13, 'insufficient fee'),
  noSignatures: register('sdk', 15, 'no signatures supplied'),
  invalidRequest: register('sdk', 18, 'invalid request'),
  keyNotFound: register('sdk', 22, 'key not found'),
  txTimeoutHeight: register('sdk', 30, 'tx timeout height'),
  wrongSequence: register('sdk', 32, 'incorrect account sequence'),
};

export const staking = {
  noValidator: register('staking', 3, 'validator does not exist'),
  selfRedelegation: register('staking', 10, 'cannot redelegate to the same validator'),
  noDelegation: register('staking', 19, 'no delegation for (address, validator) tuple'),
  badShares: register('staking', 21, 'invalid shares amount'),
};

export const slashing = {
  noValidator: register('slashing', 1, 'address is not associated with any known validator'),
  missingSelfDelegation: register('slashing', 3, 'validator has no self-delegation; cannot be unjailed'),
  jailed: register('slashing', 4, 'validator still jailed; cannot be unjailed'),
  notJailed: register('slashing', 5, 'validator not jailed; cannot be unjailed'),
};

export const distribution = {
  noValidatorCommission: register('distribution', 8, 'no validator commission to withdraw'),
  emptyDelegation: register('distribution', 6, 'no delegation distribution info'),
};

export const gov = {
  unknownProposal: register('gov', 2, 'unknown proposal'),
  inactiveProposal: register('gov', 3, 'inactive proposal'),
  invalidVote: register('gov', 7, 'invalid vote option'),
  unroutableProposalMsg: register('gov', 10, 'proposal message not recognized by router'),
  invalidProposalMsg: register('gov', 12, 'invalid proposal message'),
  invalidSigner: register('gov', 13, 'expected gov account as only signer for proposal message'),
};

export const authz = {
  notFound: register('authz', 2, 'authorization not found'),
  invalidExpiration: register(
    'authz',
    3,
    'expiration time of authorization should be more than current time',
  ),
  unknownType: register('authz', 4, 'unknown authorization type'),
  expired: register('authz', 6, 'authorization expired'),
  granteeIsGranter: register('authz', 7, 'grantee and granter should be different'),
  numSigners: register('authz', 9, 'authorization can be given to msg with only one signer'),
};

/** A gRPC status error as baseapp reports it through ABCI query (NotFound → sdk 22). */
export function grpcNotFound(message: string): ChainError {
  return sdk.keyNotFound(`rpc error: code = NotFound desc = ${message}`);
}

export function grpcInvalid(message: string): ChainError {
  return sdk.invalidRequest(`rpc error: code = InvalidArgument desc = ${message}`);
}
