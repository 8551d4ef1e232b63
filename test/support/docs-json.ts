/**
 * What a JSON example in the docs is, and the check it gets. A ```json block is a job spec when its directive
 * says `job-spec` or when it has `model` and `rounds`; a job-spec fragment (what `tessera simulate --job`
 * merges) when it says `job-fragment` or has any top-level job-spec key; a deployment policy or a client's
 * local consent file by directive or by shape. Everything else is only parsed. JSON written by a heredoc in
 * a ```sh block (`cat > job.json <<'JSON'`) is checked the same way, named by its file.
 */
import type { z } from 'zod';
import { DeploymentSection } from '../../protocol/job/governance.ts';
import { LocalConsentFile } from '../../governance/consent/local-consent.ts';
import { ClientPolicyFile } from '../../client/policy/schema.ts';
import type { FencedBlock } from './docs-markdown.ts';
import { gridCells, parseGrid } from '../../simulations/sweep/grid.ts';
import { JOB_SPEC_KEYS, checkJobFragment, checkJobSpec, deepStrict, type SpecCheck } from './docs-strict-schema.ts';

export type JsonKind = 'job-spec' | 'job-fragment' | 'deployment-policy' | 'consent-file' | 'client-policy' | 'sweep-grid' | 'json';
const KINDS: readonly JsonKind[] = ['job-spec', 'job-fragment', 'deployment-policy', 'consent-file', 'client-policy', 'sweep-grid'];

export interface JsonExample {
  readonly where: string;
  readonly text: string;
  readonly directive: FencedBlock['directive'];
}

const StrictConsentFile = deepStrict(LocalConsentFile) as typeof LocalConsentFile;
const StrictDeploymentPolicy = deepStrict(DeploymentSection) as typeof DeploymentSection;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function classify(value: unknown, flags: ReadonlySet<string>): JsonKind {
  const named = KINDS.find((k) => flags.has(k));
  if (named) return named;
  if (!isObject(value)) return 'json';
  const keys = Object.keys(value);
  if ('model' in value && 'rounds' in value) return 'job-spec';
  // A `tessera sweep` grid (simulations/sweep/grid.ts): seeds and axes.
  if ('seeds' in value && 'axes' in value) return 'sweep-grid';
  if ('organisation' in value && 'consents' in value) return 'consent-file';
  // A client node's policy file (client/policy/schema.ts): versioned, with no job-spec-only keys.
  if ('version' in value && !('model' in value) && keys.every((k) => ['version', 'secagg', 'dp', 'disclose'].includes(k))) return 'client-policy';
  if ('roles' in value || 'canaryPercent' in value) return 'deployment-policy';
  if (keys.some((k) => JOB_SPEC_KEYS.has(k) && k !== 'name')) return 'job-fragment';
  return 'json';
}

/** The grid parser itself: strict schema, axis paths against the job spec, every cell's settings. */
function sweepGridCheck(value: unknown): SpecCheck {
  try {
    gridCells(parseGrid(value, 'grid'));
    return { ok: true };
  } catch (e) {
    return { ok: false, problems: [e instanceof Error ? e.message : String(e)] };
  }
}

function zodCheck(schema: z.ZodType, value: unknown): SpecCheck {
  const r = schema.safeParse(value);
  return r.success ? { ok: true } : { ok: false, problems: r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`) };
}

/** Parses the text and validates it as its kind (strict: unknown keys are refused). */
export function checkJsonExample(text: string, flags: ReadonlySet<string>): { kind: JsonKind; check: SpecCheck } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { kind: 'json', check: { ok: false, problems: [`not JSON: ${(e as Error).message}`] } };
  }
  const kind = classify(value, flags);
  switch (kind) {
    case 'job-spec':
      return { kind, check: checkJobSpec(value) };
    case 'job-fragment':
      return { kind, check: checkJobFragment(value) };
    case 'deployment-policy':
      return { kind, check: zodCheck(StrictDeploymentPolicy, value) };
    case 'consent-file':
      return { kind, check: zodCheck(StrictConsentFile, value) };
    case 'client-policy':
      return { kind, check: zodCheck(ClientPolicyFile, value) };
    case 'sweep-grid':
      return { kind, check: sweepGridCheck(value) };
    default:
      return { kind, check: { ok: true } };
  }
}

/** ```json blocks, and JSON heredocs (`<<'JSON'` … `JSON`, `<<'POLICY'` … `POLICY`) inside ```sh blocks, of the given blocks. */
export function jsonExamples(blocks: readonly FencedBlock[]): JsonExample[] {
  const out: JsonExample[] = [];
  for (const b of blocks) {
    if (b.directive.mode !== 'run' && b.lang === 'json') continue;
    const at = `${b.file}:${b.line}`;
    if (b.lang === 'json') out.push({ where: at, text: b.body, directive: b.directive });
    if (b.lang === 'sh' || b.lang === 'bash') {
      for (const m of b.body.matchAll(/cat > (\S+) <<'(JSON|POLICY)'\n([\s\S]*?)\n\2\n/g)) {
        const file = m[1] ?? '';
        // A heredoc with shell variables in it is a template; it is checked when the block runs.
        if ((m[3] ?? '').includes('$')) continue;
        out.push({ where: `${at} (${file})`, text: m[3] ?? '', directive: b.directive });
      }
    }
  }
  return out;
}
