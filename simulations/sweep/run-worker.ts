/**
 * One run thread of a parallel sweep (simulations/sweep/run-pool.ts): it runs whole simulations on request, one
 * at a time — `runSimulation` with the run's settings, its outputs written to the run's directory — and answers
 * with the run's figures. It is the very code a sequential sweep runs on the main thread (run.ts runOne), on its
 * own TensorFlow.js backend of the kind the sweep's thread chose (RunThreadSetup.backend), so a run's result does
 * not depend on the thread that ran it. The thread lives for the whole sweep: its second run starts with the code
 * the first one compiled and warmed up.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../../lib/logger.ts';
import { initBackend } from '../../ml/backend.ts';
import { describeZodIssues, TesseraError } from '../../protocol/errors.ts';
import type { SimulationConfigInput } from '../simulate.ts';
import { DatasetMemo } from '../dataset-memo.ts';
import { runOne } from './run.ts';
import { RunErrorDetails, RunRequest, RunThreadSetup, type RunReply } from './run-messages.ts';

const port = parentPort;
if (!port) throw new TesseraError('TESSERA_ERR_INTERNAL', 'simulations/sweep/run-worker.ts runs only as a worker thread');

const setup = RunThreadSetup.parse(workerData);
// The sweep's backend or none: a thread that cannot load it dies before its first run, which fails naming why.
await initBackend(setup.backend === 'tensorflow' ? 'node' : setup.backend);
const logger = createLogger({ level: setup.logLevel });
// This thread's runs read each data set once (simulations/dataset-memo.ts).
const datasets = new DatasetMemo();
const send = (reply: RunReply): void => port.postMessage(reply);

/**
 * An error's details as the CLI's `--json` prints them (TesseraError.toJSON): JSON data, which the message port can
 * always carry (a value it could not clone would make the reply itself throw and lose the run's error).
 */
function jsonDetails(details: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> | undefined {
  if (details === undefined) return undefined;
  try {
    const copy = RunErrorDetails.safeParse(JSON.parse(JSON.stringify(details)));
    return copy.success ? copy.data : undefined;
  } catch {
    return undefined;
  }
}

async function run(req: RunRequest): Promise<void> {
  try {
    // The settings are the grid file's JSON; runSimulation parses them with its own schema.
    send({ type: 'finished', id: req.id, figures: await runOne(req.input as SimulationConfigInput, req.seed, req.dir, { logger, datasets }) });
  } catch (e) {
    const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
    const details = jsonDetails(err.details);
    send({ type: 'failed', id: req.id, code: err.code, message: err.message, ...(details === undefined ? {} : { details }) });
  }
}

// One run at a time, in arrival order (the pool sends the next only after the answer).
let chain: Promise<void> = Promise.resolve();
port.on('message', (raw: unknown) => {
  const parsed = RunRequest.safeParse(raw);
  if (!parsed.success) {
    const id = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'number' ? raw.id : 0;
    send({ type: 'failed', id, code: 'TESSERA_ERR_MESSAGE_INVALID', message: `run request refused: ${describeZodIssues(parsed.error.issues)}` });
    return;
  }
  const req = parsed.data;
  chain = chain.then(() => run(req));
});
