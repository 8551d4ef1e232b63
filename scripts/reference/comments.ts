/**
 * The doc comments of the job spec's zod schemas, read from the TypeScript source (they are not in the runtime
 * schema). Each `z.object({...})` literal is keyed by its set of property names — the same set the JSON
 * Schema of the runtime object has — so comments reach the reference without the schema files changing.
 */
import { readFileSync } from 'node:fs';
import ts from 'typescript';

export interface ObjectComments {
  /** The comment on the schema itself (its `export const`, or the union member it is). */
  readonly description: string;
  readonly fields: ReadonlyMap<string, string>;
}

/** The set of property names that identifies an object schema in both worlds. */
export function shapeKey(names: Iterable<string>): string {
  return [...names].sort().join(',');
}

function jsDocText(node: ts.Node, source: string): string {
  const ranges = ts.getLeadingCommentRanges(source, node.getFullStart()) ?? [];
  const docs = ranges.map((r) => source.slice(r.pos, r.end)).filter((c) => c.startsWith('/**'));
  const last = docs.at(-1);
  if (last === undefined) return '';
  return last
    .replace(/^\/\*\*|\*\/$/g, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\*\s?/, '').trim())
    .filter((l) => l !== '')
    .join(' ');
}

function propertyName(p: ts.ObjectLiteralElementLike): string | undefined {
  if (!ts.isPropertyAssignment(p)) return undefined;
  if (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) return p.name.text;
  return undefined;
}

/** The statement or array element whose comment describes a `z.object(...)` call, if any. */
function describedBy(call: ts.Node): ts.Node | undefined {
  let n: ts.Node = call;
  // Walk up through `.strict()`, `.superRefine(…)`, `.refine(…)` chains.
  while ((ts.isPropertyAccessExpression(n.parent) || ts.isCallExpression(n.parent)) && n.parent.expression === n) n = n.parent;
  if (ts.isArrayLiteralExpression(n.parent)) return n;
  if (ts.isVariableDeclaration(n.parent)) return n.parent.parent.parent; // the VariableStatement
  return undefined;
}

export function readObjectComments(files: readonly string[]): Map<string, ObjectComments> {
  const out = new Map<string, ObjectComments>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node): void => {
      const isObjectCall =
        ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'object' && ts.isIdentifier(node.expression.expression) && node.expression.expression.text === 'z';
      const literal = isObjectCall ? node.arguments[0] : undefined;
      if (isObjectCall && literal !== undefined && ts.isObjectLiteralExpression(literal)) {
        const fields = new Map<string, string>();
        const names: string[] = [];
        for (const p of literal.properties) {
          const name = propertyName(p);
          if (name === undefined) continue;
          names.push(name);
          const doc = jsDocText(p, text);
          if (doc !== '') fields.set(name, doc);
        }
        const owner = describedBy(node);
        out.set(shapeKey(names), { description: owner ? jsDocText(owner, text) : '', fields });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return out;
}
