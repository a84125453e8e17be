'use strict';
/**
 * Segment-server sets shared by the cases that use the same configuration, started on
 * first use (before the first round, so indexing is never timed) and stopped together.
 */
const { startSegmentServers } = require('./segment-servers');

class ServerPool {
  constructor() {
    /** @type {Map<string, Promise<import('./segment-servers').ServerSet>>} */
    this.sets = new Map();
  }

  /**
   * @param {string} key configuration name; one set per key
   * @param {Parameters<typeof startSegmentServers>[0]} spec
   */
  get(key, spec) {
    let set = this.sets.get(key);
    if (!set) {
      set = startSegmentServers(spec);
      this.sets.set(key, set);
    }
    return set;
  }

  async stopAll() {
    const sets = [...this.sets.values()];
    this.sets.clear();
    await Promise.all(sets.map(async (p) => (await p.catch(() => null))?.stop()));
  }
}

module.exports = { ServerPool };
