// Prints the attribute maps of @kubernetes/client-node's models as JSON:
// { "V1StatefulSet": [["apiVersion","string"], ...], ... } (wire name, declared type).
// It is an ES module (the package is ESM-only), so the tests run it as a child process.
import * as k8s from '@kubernetes/client-node';

const maps = {};
for (const [name, model] of Object.entries(k8s)) {
  if (typeof model === 'function' && typeof model.getAttributeTypeMap === 'function') {
    maps[name] = model.getAttributeTypeMap().map((a) => [a.baseName, a.type]);
  }
}
process.stdout.write(JSON.stringify(maps));
