/** The wire contract of state sync: the `state-sync` action, the report's `bootstrap` and daemon facts. */
import { describe, expect, it } from 'vitest';
import { registryBinary } from '../../protocol/chain-registry.js';
import { Report, parseAction } from '../../protocol/index.js';
import { sampleReport } from '../fixtures/report.js';

const HASH = 'A2AB6CAFD4C48E5433CE731C4696E58097E238678EBFDED674DE84C129C24634';
const action = {
  id: 'state-sync-sentry-9-1',
  issuedAt: 1,
  type: 'state-sync',
  rpcServers: ['http://10.0.0.1:26657', 'https://rpc.example.com'],
  trustHeight: 4000,
  trustHash: HASH,
  trustPeriod: '168h0m0s',
};

describe('state sync on the wire', () => {
  it('takes a state-sync action, peers defaulting to none', () => {
    expect(parseAction(action)).toEqual({ ok: true, action: { ...action, peers: [] } });
  });

  it('refuses one CometBFT would refuse, naming the field', () => {
    const reason = (over: Record<string, unknown>) => {
      const parsed = parseAction({ ...action, ...over });
      return parsed.ok ? null : parsed.reason;
    };
    expect(reason({ rpcServers: ['http://10.0.0.1:26657'] })).toMatch(
      /^invalid action: rpcServers: list at least two RPC servers/,
    );
    expect(reason({ rpcServers: ['http://a:1,http://b:2', 'http://c:3'] })).toMatch(
      /rpcServers\.0: use a URL without commas/,
    );
    expect(reason({ rpcServers: ['tcp://a:1', 'http://c:3'] })).toMatch(/rpcServers\.0: use the http/);
    expect(reason({ trustHash: HASH.toLowerCase() })).toMatch(/trustHash: use the block hash as CometBFT/);
    expect(reason({ trustHeight: 0 })).toMatch(/trustHeight/);
    expect(reason({ trustPeriod: '0h0m0s' })).toMatch(/trustPeriod: use a duration above zero/);
    expect(reason({ trustPeriod: '1w' })).toMatch(/trustPeriod: use a Go duration/);
    expect(reason({ peers: ['not-a-peer'] })).toMatch(/peers\.0: use <40 lowercase hex node id>/);
  });

  it('reads reports of older pilots: no bootstrap, no block hash, no state sync facts', () => {
    const { bootstrap: _b, ...old } = sampleReport();
    const parsed = Report.parse(old);
    expect(parsed.bootstrap).toBeNull();
    expect(parsed.daemon.latestBlockHash).toBeUndefined();
    const now = Report.parse({
      ...sampleReport(),
      daemon: {
        ...sampleReport().daemon,
        latestBlockHash: HASH,
        stateSyncRpcUrl: 'http://10.0.0.1:26657',
        snapshotInterval: 100,
      },
      bootstrap: { state: 'syncing', since: 1, trustHeight: 4000, syncedAt: null },
    });
    expect(now.bootstrap?.state).toBe('syncing');
  });

  it("reads the chain registry's binary URLs: the checksum parameter is go-getter's, not the server's", () => {
    const url = 'https://github.com/o/r/releases/download/v1/d-linux-amd64';
    expect(registryBinary(url)).toEqual({ url, sha256: null });
    expect(registryBinary(`${url}?checksum=sha256:${HASH}`)).toEqual({ url, sha256: HASH.toLowerCase() });
    expect(registryBinary(`${url}?checksum=sha512:abc`)).toEqual({
      problem:
        '?checksum=sha512:abc: Beam checks sha256: write ?checksum=sha256:<64 hex>, as the chain registry does',
    });
    expect(registryBinary('gaiad')).toMatchObject({ problem: expect.stringMatching(/full URL/) });
  });
});
