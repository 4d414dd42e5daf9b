/** The node's p2p port over real TCP: handshake, inbound peer cap, unconditional peers, handshake timeout. */
import { type Socket, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { P2p } from '../../devnet/p2p.js';
import { waitFor } from '../helpers/wait.js';
import { freePortBase } from './ports.js';

const id = (n: number) => n.toString(16).padStart(40, '0');

describe('p2p listener', () => {
  const sockets: Socket[] = [];
  let p2p: P2p | undefined;
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    await p2p?.stop();
  });

  async function open(port: number, handshakeId?: string): Promise<Socket> {
    const socket = connect({ host: '127.0.0.2', port });
    sockets.push(socket);
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    if (handshakeId) {
      socket.write(
        `${JSON.stringify({ beamDevnetP2p: 1, id: handshakeId, network: 'net-1', moniker: handshakeId.slice(-2), listenAddr: '' })}\n`,
      );
    }
    return socket;
  }

  it('caps inbound peers, exempts unconditional ids, and drops silent connections at the handshake timeout', async () => {
    const port = await freePortBase(1);
    p2p = new P2p({
      self: { id: id(1), network: '', moniker: 'me', listenAddr: `127.0.0.2:${port}` },
      laddr: `tcp://127.0.0.2:${port}`,
      maxInbound: 1,
      handshakeTimeoutMs: 400,
      unconditionalIds: [id(9)],
    });
    p2p.setNetwork('net-1');
    await p2p.listen();
    const silent = await open(port);
    await open(port, id(2));
    await waitFor(() => p2p?.peers.has(id(2)), 'first peer');
    const second = await open(port, id(3));
    await new Promise((resolve) => second.once('close', resolve));
    expect(p2p.peers.has(id(3))).toBe(false);
    await open(port, id(9));
    await waitFor(() => p2p?.peers.has(id(9)), 'unconditional peer over the cap');
    expect(silent.destroyed).toBe(false);
    await new Promise((resolve) => silent.once('close', resolve));
    expect(p2p.peers.size).toBe(2);
  });
});
