/**
 * The job specs a client node was sent, by hash (protocol/messages.ts `TrainTaskOnWire`): a task carries its spec
 * the first time its connection needs it and names it by hash afterwards. The node checks that a spec it is sent
 * hashes to the hash the task names — so the hash an operator sees in its log is the spec's own, the same
 * `jobSpecHash` the coordinator's audit log and registry record — and answers a task naming a spec it does not
 * hold with a coded refusal instead of guessing.
 */
import { canonicalHash } from '../lib/canonical-json.ts';
import { deepFreeze } from '../lib/deep-freeze.ts';
import { TesseraError } from '../protocol/errors.ts';
import { isJsonData } from '../protocol/json-data.ts';
import type { EvaluateTask, EvaluateTaskOnWire, TrainTask, TrainTaskOnWire } from '../protocol/messages.ts';
import type { JobSpec } from '../protocol/job/spec.ts';

/** A node runs one job at a time, or one spec per round under adaptive clipping; old entries are dropped first. */
const KEPT = 16;

export type Resolved<T extends TrainTaskOnWire | EvaluateTaskOnWire> = T extends TrainTaskOnWire ? TrainTask : EvaluateTask;

export type Resolution<T extends TrainTaskOnWire | EvaluateTaskOnWire> =
  | { readonly ok: true; readonly task: Resolved<T> }
  | { readonly ok: false; readonly code: 'TESSERA_ERR_MESSAGE_INVALID' | 'TESSERA_ERR_UNEXPECTED_MESSAGE'; readonly message: string };

export class TaskSpecs {
  private readonly specs = new Map<string, JobSpec>();

  /**
   * The task with its spec: the one it carries (after checking `rawSpec`, the spec as it arrived, against the hash
   * the task names) or the one this node holds under that hash.
   */
  resolve<T extends TrainTaskOnWire | EvaluateTaskOnWire>(task: T, rawSpec: unknown): Resolution<T> {
    const { specHash, job, ...rest } = task;
    if (job !== undefined) {
      // socket.io carries binary anywhere in a message, and zod passes it through where a spec holds free-form
      // data (model.topology): RFC 8785 would hash a Buffer as its toJSON form — the same bytes as the JSON object
      // {"type":"Buffer","data":[…]} — and freezing one throws (a typed array with elements cannot be frozen).
      if (!isJsonData(rawSpec)) {
        return { ok: false, code: 'TESSERA_ERR_MESSAGE_INVALID', message: `the ${task.type} task carries a job spec that is not JSON data (binary or other non-JSON values)` };
      }
      let actual: string;
      try {
        actual = canonicalHash(rawSpec);
      } catch (e) {
        // JSON text can carry what RFC 8785 has no form for (a lone surrogate `\ud800`, which zod accepts in a
        // string or an unknown member it strips; `1e400`, which parses to Infinity): such a spec hashes to
        // nothing, so it is no spec a hash can name. This runs in the socket's message handler, where a throw
        // is an uncaught exception that ends the client process.
        const why = e instanceof TesseraError ? e.message : String(e);
        return { ok: false, code: 'TESSERA_ERR_MESSAGE_INVALID', message: `the ${task.type} task carries a job spec with no canonical form: ${why}`.slice(0, 500) };
      }
      if (actual !== specHash) {
        return { ok: false, code: 'TESSERA_ERR_MESSAGE_INVALID', message: `the ${task.type} task names job spec ${specHash.slice(0, 12)}… but carries a spec that hashes to ${actual.slice(0, 12)}…` };
      }
      // Tasks of one spec share the spec object, frozen: code that tried to change one task's spec (and so every
      // later task's) throws instead — cheaper than a copy per task, and it finds the bug.
      deepFreeze(job);
      this.specs.delete(specHash);
      this.specs.set(specHash, job);
      if (this.specs.size > KEPT) this.specs.delete(this.specs.keys().next().value as string);
      return { ok: true, task: { ...rest, job } as Resolved<T> };
    }
    const held = this.specs.get(specHash);
    if (held === undefined) {
      return { ok: false, code: 'TESSERA_ERR_UNEXPECTED_MESSAGE', message: `the ${task.type} task names job spec ${specHash.slice(0, 12)}…, which this node was never sent` };
    }
    return { ok: true, task: { ...rest, job: held } as Resolved<T> };
  }
}
