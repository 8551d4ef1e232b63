/**
 * How the round loop waits for clients (issue 15 §3): for `minClients` connections, then for enough ELIGIBLE
 * clients (consent and privacy caps applied), each up to the round's deadline — and not a moment longer when
 * waiting cannot help (every client on the roster is connected) or the job was cancelled (noticed within a
 * second). After a restart, a resumed job first gives the roster's clients a grace period to reconnect.
 */
import type { ConnectedClient, Federation } from './federation.ts';
import type { RunJobOptions } from './job-runner.ts';
import type { ExcludedClient } from './round-records.ts';

/**
 * The clients a round may sample. Connected is not enough: consent or a privacy cap may exclude some, so
 * while fewer than `minClients` are eligible the coordinator waits for further connections (up to
 * `waitForClientsMs`) before the attempt counts as short.
 */
export async function eligibleClients(options: RunJobOptions, round: number): Promise<{ eligible: ConnectedClient[]; excluded: ExcludedClient[]; connected: number; everyoneConnected: boolean }> {
  const { federation, hooks = {}, spec } = options;
  const until = Date.now() + (options.waitForClientsMs ?? spec.roundDeadlineMs);
  const wanted = Math.max(spec.minClients, hooks.eligibleWanted?.(round) ?? 0);
  for (;;) {
    const connected = federation.clients();
    const r = hooks.eligible?.(connected, round) ?? { eligible: connected, excluded: [] };
    // Everyone the roster admits is here: no later connection can add an eligible client.
    const everyoneConnected = options.population !== undefined && connected.length >= options.population;
    if (r.eligible.length >= wanted || everyoneConnected || Date.now() >= until || options.signal?.aborted === true) {
      return { ...r, connected: connected.length, everyoneConnected };
    }
    // A new connection, or the wait's end (the next pass then returns what is eligible by then); a cancel is
    // noticed within a second.
    await federation.waitForConnection(Math.min(until - Date.now(), 1000));
  }
}

/** Waits until `min` clients are connected (true), the deadline passes or the job is cancelled (false); a cancel is noticed within a second. */
export async function waitForConnected(federation: Federation, min: number, until: number, signal: AbortSignal | undefined): Promise<boolean> {
  while (federation.clients().length < min) {
    if (Date.now() >= until || signal?.aborted === true) return false;
    await federation.waitForConnection(Math.min(until - Date.now(), 1000));
  }
  return true;
}

/** After a restart: wait (up to `graceMs`) until the whole population has reconnected, or a cancel. */
export async function reconnectGrace(federation: Federation, population: number, graceMs: number, signal: AbortSignal | undefined): Promise<void> {
  const until = Date.now() + graceMs;
  while (federation.clients().length < population && Date.now() < until && signal?.aborted !== true) {
    await federation.waitForConnection(Math.min(until - Date.now(), 1000));
  }
}
