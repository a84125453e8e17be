#!/usr/bin/env node
'use strict';
// Runs the jest suite (optionally restricted to path patterns) and ends with the plain line
// "N passed, N failed" that CI reads. Exit code: jest's.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'msd-jest-')), 'results.json');
const jest = path.join(root, 'node_modules', 'jest', 'bin', 'jest.js');
const args = [jest, '--json', `--outputFile=${out}`, ...process.argv.slice(2)];
console.log(`node ${process.version}: jest ${process.argv.slice(2).join(' ') || '(all)'}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  passed = j.numPassedTests;
  failed = j.numFailedTests + (j.numRuntimeErrorTestSuites || 0);
  skipped = j.numPendingTests + j.numTodoTests;
  for (const s of j.testResults) {
    if (s.status === 'failed' && s.message && s.assertionResults.length === 0) console.log(`suite failed to run: ${path.relative(root, s.name)}`);
  }
} catch (e) {
  console.log(`could not read jest results: ${e.message}`);
  failed = Math.max(failed, 1);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(r.status === 0 && failed === 0 ? 0 : 1);
