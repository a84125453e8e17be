'use strict';
// Kills the control plane's processes when the process that started them dies, however it dies
// (a jest worker that is SIGKILLed runs no afterAll and no exit handler). The owner keeps this
// process's stdin open and writes one PID per line for every child it starts ("-PID" when that
// child has been stopped); when stdin closes, whatever is still listed gets SIGKILL, by PID.
const pids = new Set();
let partial = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  const lines = (partial + chunk).split('\n');
  partial = lines.pop();
  for (const line of lines) {
    const n = Number(line.replace(/^-/, ''));
    if (!Number.isInteger(n) || n <= 1) continue;
    if (line.startsWith('-')) pids.delete(n);
    else pids.add(n);
  }
});
process.stdin.on('end', () => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  process.exit(0);
});
// The owner's own Ctrl-C reaches this process too (same process group): stay until stdin closes.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
