#!/usr/bin/env node
'use strict';
// Entry point. `fetcher ctl ...` talks to a running fetcher's control service.
const argv = process.argv.slice(2);
if (argv[0] === 'ctl') {
  require('../dist/ctl.js').runCtl(argv.slice(1)).then((code) => process.exit(code));
} else {
  require('../dist/main.js').main(argv).then((code) => process.exit(code));
}
