'use strict';
/**
 * Where the built programs are: the one declaration for test/ and the bench (plain JavaScript so
 * the bench, run by node, reads it too; program-bins.d.ts types it for the TypeScript tests).
 */
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const SERVER_BIN = path.join(ROOT, 'services', 'segment-server', 'bin', 'segment-server.js');
const FETCHER_BIN = path.join(ROOT, 'services', 'fetcher', 'bin', 'fetcher.js');

module.exports = { ROOT, SERVER_BIN, FETCHER_BIN };
