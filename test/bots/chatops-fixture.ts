import { ChatOps } from '../../commander/chatops/chatops.js';
import { MemoryAuditLog, MemoryInteractionStore, MemorySubjectRefs } from '../../commander/chatops/memory.js';
import { FakeFleet } from '../commander/chatops/fake-fleet.js';

/** Real ChatOps over in-memory ports, as the bots' input handler in transport tests. */
export function chatopsFixture() {
  const fleet = new FakeFleet();
  const audit = new MemoryAuditLog();
  let ids = 0;
  const chatops = new ChatOps({
    fleet,
    audit,
    subjects: new MemorySubjectRefs(),
    interactions: new MemoryInteractionStore(),
    newId: () => `id${++ids}`,
    access: {
      slack: { users: { UADMIN: 'admin', UOPS: 'operator' }, chats: ['COPS'] },
      telegram: { users: { '1001': 'operator' }, chats: ['-500'] },
      console: { users: { me: 'admin' }, chats: ['console'] },
    },
  });
  return { fleet, audit, chatops };
}
