/**
 * The federation's own guard against eviction, for transports that do not authenticate (the in-memory one of
 * simulations): a second connection with a connected client id is refused with TESSERA_ERR_DUPLICATE_CLIENT and
 * the first keeps its place. (Over sockets, only proven connections reach the federation; see
 * test/access-auth-socket.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { createMemoryHub } from '../simulations/memory-transport.ts';
import { Federation } from './federation.ts';

describe('Federation without an authenticating transport', () => {
  it('refuses a duplicate client id and never evicts the connected client', async () => {
    const hub = createMemoryHub();
    const federation = new Federation(hub.server, silentLogger());
    const handshake = { protocolVersion: PROTOCOL_VERSION, clientId: 'a', orgId: 'org-a', examples: 3 };
    const first = hub.connect(handshake);
    await federation.waitForClients(1, 1000);
    const connectedAt = federation.clients()[0]?.connectedAt;
    const second = hub.connect({ ...handshake, orgId: 'org-evil' });
    let secondGone = false;
    second.onDisconnect(() => (secondGone = true));
    await expect.poll(() => secondGone).toBe(true);
    expect(federation.clients()).toEqual([expect.objectContaining({ clientId: 'a', orgId: 'org-a', connectedAt })]);
    first.close();
  });
});
