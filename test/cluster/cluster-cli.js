'use strict';
// Runs cluster-cli.ts without a build step: the harness is test code (TypeScript that jest runs
// through ts-jest); outside jest, each .ts file is transpiled on load with the project's TypeScript.
const fs = require('node:fs');
const ts = require('typescript');

require.extensions['.ts'] = (module, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  });
  module._compile(out.outputText, filename);
};
require('./cluster-cli.ts');
