/**
 * Renders the job spec's reference (docs/reference/job-spec.md) from the zod schema itself: types,
 * constraints and defaults from its JSON Schema (zod's `toJSONSchema`, input side: what a person writes),
 * meanings from the doc comments of protocol/job/*.ts (comments.ts). Cross-field checks written as
 * refinements (e.g. "a DP job needs an epsilon budget") are not in the JSON Schema; the reference names the
 * file that holds them.
 */
import { z } from 'zod';
import { JobSpec } from '../../protocol/job/spec.ts';
import { readObjectComments, shapeKey, type ObjectComments } from './comments.ts';
import { FALLBACK_MEANINGS } from './fallback-meanings.ts';

type Json = { [k: string]: unknown };

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const SAFE_INT = 9007199254740991;

function literal(v: unknown): string {
  return JSON.stringify(v);
}

/** "integer > 0", "number in [0, 1)", "string matching ^…$", "one of …". */
function describeType(s: Json): string {
  if (Array.isArray(s.oneOf) || Array.isArray(s.anyOf)) {
    const opts = ((s.oneOf ?? s.anyOf) as unknown[]).filter(isObj);
    return opts.map((o) => (isObj(o.properties) ? 'object' : describeType(o))).join(' or ');
  }
  if (s.const !== undefined) return literal(s.const);
  if (Array.isArray(s.enum)) return (s.enum as unknown[]).map(literal).join(' | ');
  const t = Array.isArray(s.type) ? (s.type as string[]).join(' or ') : String(s.type ?? 'any');
  const bounds: string[] = [];
  if (typeof s.minimum === 'number') bounds.push(`≥ ${s.minimum}`);
  if (typeof s.exclusiveMinimum === 'number') bounds.push(`> ${s.exclusiveMinimum}`);
  if (typeof s.maximum === 'number' && s.maximum !== SAFE_INT) bounds.push(`≤ ${s.maximum}`);
  if (typeof s.exclusiveMaximum === 'number') bounds.push(`< ${s.exclusiveMaximum}`);
  if (t === 'string' && typeof s.minLength === 'number' && s.minLength > 0) bounds.push('non-empty');
  if (typeof s.pattern === 'string') bounds.push(`matching \`${s.pattern}\``);
  if (t === 'array') {
    const items = isObj(s.items) ? describeType(s.items) : Array.isArray(s.prefixItems) ? `[${(s.prefixItems as Json[]).map(describeType).join(', ')}]` : 'any';
    const n = typeof s.minItems === 'number' && s.minItems > 0 ? ` (at least ${s.minItems})` : '';
    return Array.isArray(s.prefixItems) ? `tuple ${items}` : `array of ${items}${n}`;
  }
  if (t === 'object' && isObj(s.additionalProperties) && !isObj(s.properties)) return `map of string → ${describeType(s.additionalProperties)}`;
  return bounds.length > 0 ? `${t} ${bounds.join(', ')}` : t;
}

interface Section {
  readonly path: string;
  readonly schema: Json;
  readonly comments: ObjectComments | undefined;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderJobSpecReference(commentFiles: readonly string[]): string {
  const comments = readObjectComments(commentFiles);
  const root = z.toJSONSchema(JobSpec, { io: 'input', unrepresentable: 'any' }) as Json;
  const lookup = (s: Json): ObjectComments | undefined => (isObj(s.properties) ? comments.get(shapeKey(Object.keys(s.properties))) : undefined);
  const sections: Section[] = [];
  const queue: Section[] = [{ path: '', schema: root, comments: lookup(root) }];
  const lines: string[] = [];
  while (queue.length > 0) {
    const sec = queue.shift() as Section;
    sections.push(sec);
    const props = isObj(sec.schema.properties) ? sec.schema.properties : {};
    const required = new Set(Array.isArray(sec.schema.required) ? (sec.schema.required as string[]) : []);
    lines.push(sec.path === '' ? '## Top level' : `## \`${sec.path}\``, '');
    if (sec.comments?.description) lines.push(sec.comments.description, '');
    lines.push('| field | type | default | meaning |', '|---|---|---|---|');
    for (const [name, raw] of Object.entries(props)) {
      if (!isObj(raw)) continue;
      const path = sec.path === '' ? name : `${sec.path}.${name}`;
      const hasDefault = raw.default !== undefined;
      const def = hasDefault ? `\`${literal(raw.default)}\`` : required.has(name) ? '**required**' : 'optional';
      let meaning = sec.comments?.fields.get(name) ?? FALLBACK_MEANINGS.get(path.replace(/ \(.*\)/, '')) ?? '';
      const variants = ((raw.oneOf ?? raw.anyOf) as unknown[] | undefined)?.filter(isObj).filter((o) => isObj(o.properties));
      const nested = isObj(raw.properties) ? raw : isObj(raw.items) && isObj(raw.items.properties) ? raw.items : undefined;
      let type = '';
      if (variants && variants.length > 0) {
        const links: string[] = [];
        let by = '';
        variants.forEach((v) => {
          const kind = Object.entries(v.properties as Json).find(([, p]) => isObj(p) && p.const !== undefined);
          by = kind?.[0] ?? by;
          const label = kind && isObj(kind[1]) ? `${path} (${literal(kind[1].const)})` : path;
          links.push(`[\`${label}\`](#${anchor(label)})`);
          queue.push({ path: label, schema: v, comments: lookup(v) });
        });
        type = `object, one of ${variants.length} by \`${by}\``;
        meaning = `${meaning} See ${links.join(', ')}.`.trim();
      } else if (nested) {
        const sub = nested === raw ? path : `${path}[]`;
        queue.push({ path: sub, schema: nested, comments: lookup(nested) });
        meaning = `${meaning} See [\`${sub}\`](#${anchor(sub)}).`.trim();
      }
      if (type === '') type = nested === raw ? 'object' : describeType(raw);
      lines.push(`| \`${name}\` | ${cell(type)} | ${cell(def)} | ${cell(meaning)} |`);
    }
    lines.push('');
  }
  return [
    '# Job spec reference',
    '',
    '<!-- Generated by `npx tsx scripts/docs-reference.ts` from protocol/job/*.ts; do not edit by hand. -->',
    '',
    'Every field of the job spec (`protocol/job/spec.ts`), as a person writes it in JSON: its type and',
    'constraints, its default (a field with a default may be left out), and what it means. A job spec is parsed',
    'with these schemas at every boundary; checks across fields (a DP job needs `dp.epsilon`; central placement',
    'needs `dp.trustedCoordinator`; `secagg.degree` and `secagg.threshold` come together; fairness rules name',
    'declared sensitive attributes; deployment roles are listed once) are refinements in the same files, and',
    'the DP plan is checked again against the sampling and secure-aggregation sections when a job starts',
    '(`privacy/dp/config.ts`, `TESSERA_ERR_DP_CONFIG`).',
    '',
    ...lines,
  ].join('\n');
}

/** GitHub's heading anchor for a heading made of one code span. */
function anchor(path: string): string {
  return path.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}
