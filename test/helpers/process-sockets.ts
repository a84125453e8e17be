/** Descriptors of a running process, read from /proc/<pid>/fd: how many sockets it holds now. */
import * as fs from 'node:fs';

export function openSockets(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed between the listing and the read
    }
  }).length;
}
