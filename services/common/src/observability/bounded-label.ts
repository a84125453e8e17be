/**
 * Keeps a label's value set bounded: the first `max` distinct values pass through, any later new
 * value becomes `other`. Guards the series count of labels that take caller-supplied strings
 * (reasons, limit names, states) so a bug upstream can never explode Prometheus' cardinality.
 */
export const OVERFLOW_LABEL_VALUE = 'other';

export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(
    private readonly max: number,
    known: readonly string[] = [],
  ) {
    for (const value of known) this.seen.add(value);
  }

  /** The value to use as the label: `value` itself while the set has room, else `other`. */
  map(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size < this.max) {
      this.seen.add(value);
      return value;
    }
    return OVERFLOW_LABEL_VALUE;
  }
}
