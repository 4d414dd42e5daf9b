/**
 * The pilot's remote signer as the bench runs it, in its own Node process: a fresh validator key, a
 * sign state on disk (fsync on every signature, as shipped) and an open gate. It dials the socket
 * given on the command line and prints "ready" once started.
 */
import { generateCometKey } from '../pilot/custody.js';
import { RemoteSigner, SignState, ValidatorKey } from '../pilot/signer/index.js';

const [laddr, stateFile, chainId] = process.argv.slice(2);
if (!laddr || !stateFile || !chainId) throw new Error('usage: signer-child.ts LADDR STATE_FILE CHAIN_ID');

const signer = new RemoteSigner({
  laddr,
  chainId,
  key: ValidatorKey.fromCometKey(generateCometKey()),
  state: SignState.open(stateFile),
  gate: () => null,
  log: { info: () => {}, warn: (m) => process.stderr.write(`${m}\n`) },
});
signer.start();
process.on('SIGTERM', () => void signer.stop().then(() => process.exit(0)));
process.stdout.write('ready\n');
