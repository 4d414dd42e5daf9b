/**
 * A privval remote signer for tests: dials a devnet node's priv_validator_laddr and answers with a
 * validator key, well or badly on demand. It keeps no sign state, so beside another signer of the
 * same key it double-signs (what the evidence tests need), and it redials whenever the node drops
 * it, until `disconnect()`.
 */
import { type Socket, connect } from 'node:net';
import { type Proposal, SignedMsgType, type Vote } from 'cosmjs-types/tendermint/types/types';
import {
  isZeroBlockId,
  proposalSignBytes,
  voteExtensionSignBytes,
  voteSignBytes,
} from '../../cometbft/canonical.js';
import {
  FrameReader,
  type PrivvalMessage,
  type RemoteSignerError,
  decodeMessage,
  emptyProposal,
  emptyVote,
  frameMessage,
} from '../../cometbft/privval.js';
import { readJsonFile } from '../../devnet/jsonfile.js';
import {
  type Ed25519Key,
  PrivValidatorKeyFile,
  keyFromPrivKeyValue,
  signEd25519,
} from '../../devnet/keys.js';

/**
 * sign: as it should; refuse: RemoteSignerError; bad-signature: a corrupted signature; hang: no
 * answer until the node drops the connection, then it redials healthy (a hung signer restarted).
 */
export type SignerBehaviour = 'sign' | 'refuse' | 'bad-signature' | 'hang';

export const REFUSAL: RemoteSignerError = { code: 1, description: 'test signer refuses to sign' };
const REDIAL_MS = 50;

export class TestSigner {
  behaviour: SignerBehaviour = 'sign';
  /** Every request received, in order. */
  readonly requests: PrivvalMessage[] = [];
  private socket: Socket | null = null;
  private dialing = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly laddr: string,
    private readonly key: Ed25519Key,
  ) {}

  static withKeyFile(laddr: string, keyFile: string): TestSigner {
    return new TestSigner(
      laddr,
      keyFromPrivKeyValue(readJsonFile(keyFile, PrivValidatorKeyFile).priv_key.value),
    );
  }

  get connected(): boolean {
    return this.socket !== null;
  }

  /** Dials until the node listens, then serves it; redials when the node drops the connection. */
  connect(): this {
    this.dialing = true;
    this.dial();
    return this;
  }

  disconnect(): void {
    this.dialing = false;
    clearTimeout(this.timer);
    this.socket?.destroy();
    this.socket = null;
  }

  private dial(): void {
    if (!this.dialing) return;
    const socket = connect(this.laddr.replace(/^unix:\/\//, ''));
    const reader = new FrameReader();
    socket.on('connect', () => {
      this.socket = socket;
    });
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        const reply = this.answer(decodeMessage(frame));
        if (reply) socket.write(frameMessage(reply));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (this.socket === socket) this.socket = null;
      if (this.behaviour === 'hang') this.behaviour = 'sign';
      if (this.dialing) this.timer = setTimeout(() => this.dial(), REDIAL_MS);
    });
  }

  private answer(m: PrivvalMessage): PrivvalMessage | null {
    this.requests.push(m);
    switch (m.type) {
      case 'pingRequest':
        return { type: 'pingResponse' };
      case 'pubKeyRequest':
        return { type: 'pubKeyResponse', pubKey: this.key.publicKey, error: null };
      case 'signVoteRequest':
        if (this.behaviour === 'hang') return null;
        return this.behaviour === 'refuse'
          ? { type: 'signedVoteResponse', vote: emptyVote(), error: REFUSAL }
          : { type: 'signedVoteResponse', vote: this.signVote(m.chainId, m.vote), error: null };
      case 'signProposalRequest':
        if (this.behaviour === 'hang') return null;
        return this.behaviour === 'refuse'
          ? { type: 'signedProposalResponse', proposal: emptyProposal(), error: REFUSAL }
          : {
              type: 'signedProposalResponse',
              proposal: this.signProposal(m.chainId, m.proposal),
              error: null,
            };
      default:
        return null;
    }
  }

  private sign(bytes: Uint8Array): Uint8Array {
    const signature = signEd25519(this.key, bytes);
    if (this.behaviour === 'bad-signature') signature[0] = (signature[0] ?? 0) ^ 0xff;
    return signature;
  }

  private signVote(chainId: string, vote: Vote): Vote {
    const precommitForBlock =
      vote.type === SignedMsgType.SIGNED_MSG_TYPE_PRECOMMIT && !isZeroBlockId(vote.blockId);
    return {
      ...vote,
      signature: this.sign(voteSignBytes(chainId, vote)),
      extensionSignature: precommitForBlock
        ? signEd25519(this.key, voteExtensionSignBytes(chainId, vote))
        : new Uint8Array(),
    };
  }

  private signProposal(chainId: string, proposal: Proposal): Proposal {
    return { ...proposal, signature: this.sign(proposalSignBytes(chainId, proposal)) };
  }
}
