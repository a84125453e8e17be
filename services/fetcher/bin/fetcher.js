#!/usr/bin/env node
'use strict';
// Entry point. A download first gets the runtime settings of a flat memory profile (which only
// apply at start: see src/runtime-tuning.ts), then tracing starts (only when OTEL_* variables ask
// for it), so that instrumented modules load after it. `fetcher ctl ...` talks to a running fetcher.
const argv = process.argv.slice(2);
if (argv[0] === 'ctl') {
  require('../dist/ctl.js').runCtl(argv.slice(1)).then((code) => process.exit(code));
} else {
  require('../dist/runtime-tuning.js').relaunchTuned();
  require('../dist/tracing-init.js');
  require('../dist/main.js').main(argv).then((code) => process.exit(code));
}
