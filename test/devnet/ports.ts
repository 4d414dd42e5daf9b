import { createServer } from 'node:net';

function free(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A port base whose devnet ports (hub on 127.0.0.1, nodes on 127.0.0.2..) are all free right now. */
export async function freePortBase(nodes: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 10_000) * 2;
    const checks = [free('127.0.0.1', base + 2)];
    for (let i = 0; i < nodes; i++)
      checks.push(free(`127.0.0.${i + 2}`, base), free(`127.0.0.${i + 2}`, base + 1));
    if ((await Promise.all(checks)).every(Boolean)) return base;
  }
  throw new Error('no free port base found');
}
