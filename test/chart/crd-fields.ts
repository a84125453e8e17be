import * as path from 'node:path';
import ts from 'typescript';

/**
 * Unknown-field check for the Prometheus Operator CRDs, which @kubernetes/client-node does not
 * model: the object is walked against the TypeScript declaration kubernetes-models ships for
 * the kind (interface I<Kind>), asking the type checker for each field.
 */
const MODEL_DIR = path.dirname(require.resolve('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'));

let program: ts.Program | undefined;
function checkerFor(file: string): { checker: ts.TypeChecker; source: ts.SourceFile } {
  program ??= ts.createProgram([file], { noEmit: true, skipLibCheck: true, strict: true, moduleResolution: ts.ModuleResolutionKind.Node10 });
  const source = program.getSourceFile(file) ?? (program = ts.createProgram([file], { noEmit: true, skipLibCheck: true })).getSourceFile(file);
  if (!source) throw new Error(`cannot load ${file}`);
  return { checker: program.getTypeChecker(), source };
}

function walk(checker: ts.TypeChecker, value: unknown, declared: ts.Type, at: string): string[] {
  if (value === null || typeof value !== 'object') return [];
  let type = checker.getNonNullableType(declared);
  if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return [];
  if (type.isUnion()) {
    const members = type.types.filter((t) => t.flags & ts.TypeFlags.Object);
    const pick = members.find((t) => checker.isArrayType(t) === Array.isArray(value));
    if (!pick) return [];
    type = pick;
  }
  if (Array.isArray(value)) {
    if (!checker.isArrayType(type)) return [];
    const element = checker.getTypeArguments(type as ts.TypeReference)[0];
    return element ? value.flatMap((v, i) => walk(checker, v, element, `${at}[${i}]`)) : [];
  }
  const index = checker.getIndexInfoOfType(type, ts.IndexKind.String);
  const errors: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const prop = checker.getPropertyOfType(type, key);
    if (prop) errors.push(...walk(checker, v, checker.getTypeOfSymbol(prop), `${at}.${key}`));
    else if (index) errors.push(...walk(checker, v, index.type, `${at}.${key}`));
    else errors.push(`${at}.${key}: unknown field`);
  }
  return errors;
}

export function unknownCrdFields(obj: object, kind: string): string[] {
  const file = path.join(MODEL_DIR, `${kind}.d.ts`);
  const { checker, source } = checkerFor(file);
  const symbol = checker.getSymbolAtLocation(source);
  const iface = symbol && checker.getExportsOfModule(symbol).find((s) => s.name === `I${kind}`);
  if (!iface) throw new Error(`no interface I${kind} in ${file}`);
  return walk(checker, obj, checker.getDeclaredTypeOfSymbol(iface), '');
}
