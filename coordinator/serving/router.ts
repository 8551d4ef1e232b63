/**
 * Step 1 of a prediction — route: which version answers this request. Every request reads the deployment
 * revision (one primary-key lookup), so a `tessera deploy` or `tessera rollback` from another process takes effect
 * on the next request, without a restart. The canary gets its random share, sticky per token and caller and held to
 * the token's share by a quota (canary-split.ts).
 *
 * Also holds what each routed version needs to be served: its data contract (compiled once per version: the one
 * feature pipeline of training, governance/contract/compile.ts) or, without one, its input size; and when it
 * entered its stage, which is where its durable counters start (governance/monitoring/store.ts).
 */
import type { Logger } from 'pino';
import { contractByHash } from '../../datasets/contracts/index.ts';
import { compileContract, type CompiledContract } from '../../governance/contract/compile.ts';
import type { Contract } from '../../governance/contract/schema.ts';
import { deploymentRevision, getDeploymentState, type DeploymentState } from '../../governance/deploy/deployments.ts';
import { stageSince, type ServedStage } from '../../governance/monitoring/store.ts';
import { getModel } from '../../governance/registry/registry.ts';
import type { Db } from '../../governance/state/database.ts';
import { inputShape } from '../../ml/model.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { canarySplit, type CanarySplit, type RouteKey } from './canary-split.ts';

/** What serving needs to know about one registered version. */
export interface ServedVersion {
  readonly version: string;
  /** The model's data contract, when its lineage names one this coordinator holds; instances are then raw rows. */
  readonly contract: CompiledContract | null;
  /** Set when the lineage names a contract this coordinator does not hold (instances are then input vectors). */
  readonly missingContract: string | null;
  /** Features per instance. */
  readonly inputSize: number;
  readonly classes: number;
  /** The contract's label values (class names by index), when there is a contract with a label. */
  readonly classNames: readonly string[] | null;
}

/** Routing and counters for one model name, rebuilt when its deployment revision moves. */
export interface Router {
  readonly state: DeploymentState;
  readonly split: CanarySplit;
  /** When production and canary entered their stage (the start of their durable counters). */
  readonly since: { readonly production: string | null; readonly canary: string | null };
  served: { production: number; canary: number };
  shadow: { requests: number; instances: number; agreed: number };
}

export interface Routed {
  readonly name: string;
  readonly router: Router;
  readonly version: string;
  readonly stage: ServedStage;
  readonly since: string;
}

export class ServingRouter {
  private readonly routers = new Map<string, Router>();
  private readonly versions = new Map<string, ServedVersion>();

  constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    private readonly contracts: readonly Contract[] = [],
    /** Called with the versions still routed to after a routing change (to free models and windows of the others). */
    private readonly onReload: (inUse: ReadonlySet<string>) => void = () => undefined,
  ) {}

  /** The router of `name` at the current revision (re-reading the deployment table when it changed). */
  routerFor(name: string): Router {
    const revision = deploymentRevision(this.db, name);
    const current = this.routers.get(name);
    if (current && current.state.revision === revision) return current;
    const state = getDeploymentState(this.db, name);
    const prev = current?.state;
    const sameCanary = prev !== undefined && prev.canary === state.canary && prev.canaryPercent === state.canaryPercent;
    const router: Router = {
      state,
      split: sameCanary && current ? current.split : canarySplit(state.canaryPercent ?? 0),
      since: {
        production: state.production === null ? null : stageSince(this.db, name, state.production, 'production'),
        canary: state.canary === null ? null : stageSince(this.db, name, state.canary, 'canary'),
      },
      served: sameCanary && prev.production === state.production && current ? current.served : { production: 0, canary: 0 },
      shadow: prev?.shadow === state.shadow && current ? current.shadow : { requests: 0, instances: 0, agreed: 0 },
    };
    this.routers.set(name, router);
    this.onReload(this.inUse());
    this.logger.info({ model: name, revision, production: state.production, canary: state.canary, canaryPercent: state.canaryPercent, shadow: state.shadow }, 'deployment routing loaded');
    return router;
  }

  /** Versions any model name routes to now (the model cache frees the others). */
  inUse(): Set<string> {
    const out = new Set<string>();
    for (const r of this.routers.values()) for (const v of [r.state.production, r.state.canary, r.state.shadow]) if (v) out.add(v);
    return out;
  }

  /** Picks the version for this request (by its token first, canary-split.ts); null when `name` has no production version. */
  route(name: string, key: RouteKey): Routed | null {
    const router = this.routerFor(name);
    const { state } = router;
    if (state.production === null) return null;
    const toCanary = state.canary !== null && router.split.routes(key);
    if (toCanary && state.canary !== null) return { name, router, version: state.canary, stage: 'canary', since: router.since.canary ?? new Date(0).toISOString() };
    return { name, router, version: state.production, stage: 'production', since: router.since.production ?? new Date(0).toISOString() };
  }

  /** Contract, input size and classes of a registered version (read once per version). */
  served(version: string): ServedVersion {
    const known = this.versions.get(version);
    if (known) return known;
    const model = getModel(this.db, version);
    if (!model) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `model version ${version} is not in the registry`);
    const hash = model.lineage.dataContractHash;
    const found = hash === null ? undefined : contractByHash(hash, this.contracts);
    const contract = found === undefined ? null : compileContract(found);
    const shape = inputShape(model.modelSpec);
    const inputSize = shape.reduce((a, b) => a * b, 1);
    if (contract !== null && contract.featureCount !== inputSize) {
      throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `model ${version.slice(0, 12)} takes ${inputSize} inputs but its contract ${contract.contract.name} makes ${contract.featureCount} features`);
    }
    if (hash !== null && contract === null) this.logger.warn({ version, contractHash: hash }, 'the model names a data contract this coordinator does not hold: it takes input vectors, unchecked (give the contract with --contract)');
    const entry: ServedVersion = {
      version,
      contract,
      missingContract: hash !== null && contract === null ? hash : null,
      inputSize,
      classes: model.modelSpec.classes,
      classNames: contract?.contract.label?.values ?? null,
    };
    this.versions.set(version, entry);
    return entry;
  }
}
