import { Counter, Gauge, Registry } from 'prom-client';

/**
 * Hot-path counters and gauges. The data path updates a plain number field of a `MetricCell`
 * (one per label tuple, created once and cached by the caller): no hashing, no allocation, O(1).
 * prom-client only sees the values at scrape time, through the metric's `collect` hook, which
 * adds the delta since the last scrape (counters) or sets the current value (gauges).
 */
export class MetricCell {
  /** The live value; the data path adds to it (`cell.value += n`). */
  value = 0;
  /** Part of `value` already handed to prom-client (counters only). */
  flushed = 0;

  constructor(readonly labels: Readonly<Record<string, string>>) {}
}

interface CellMetricConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registry: Registry;
}

/** A prom-client counter fed from cells. */
export class CellCounter<L extends string> {
  private readonly cells: MetricCell[] = [];
  private readonly counter: Counter<L>;

  constructor(config: CellMetricConfig<L>) {
    const cells = this.cells;
    this.counter = new Counter<L>({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames,
      registers: [config.registry],
      collect() {
        for (const cell of cells) {
          const delta = cell.value - cell.flushed;
          if (delta > 0) {
            this.inc(cell.labels as Partial<Record<L, string>>, delta);
            cell.flushed = cell.value;
          }
        }
      },
    });
  }

  /** Creates the cell of one label tuple; the series appears at 0 at once. Cache the result. */
  cell(labels: Record<L, string>): MetricCell {
    const cell = new MetricCell(labels);
    this.cells.push(cell);
    this.counter.inc(labels as Partial<Record<L, string>>, 0);
    return cell;
  }
}

/** A prom-client gauge fed from cells. */
export class CellGauge<L extends string> {
  private readonly cells: MetricCell[] = [];

  constructor(config: CellMetricConfig<L>) {
    const cells = this.cells;
    new Gauge<L>({
      name: config.name,
      help: config.help,
      labelNames: config.labelNames,
      registers: [config.registry],
      collect() {
        for (const cell of cells) this.set(cell.labels as Partial<Record<L, string>>, cell.value);
      },
    });
  }

  /** Creates the cell of one label tuple (value 0 until set). Cache the result. */
  cell(labels: Record<L, string>): MetricCell {
    const cell = new MetricCell(labels);
    this.cells.push(cell);
    return cell;
  }
}

/**
 * Cells keyed by a numeric server ID and a second key, created on first use. Lookup is two Map
 * reads with keys the caller already holds: nothing is allocated after the first call per tuple.
 */
export class CellTable<K> {
  private readonly byServer = new Map<number, Map<K, MetricCell>>();

  constructor(private readonly create: (serverId: number, key: K) => MetricCell) {}

  get(serverId: number, key: K): MetricCell {
    let row = this.byServer.get(serverId);
    if (row === undefined) {
      row = new Map<K, MetricCell>();
      this.byServer.set(serverId, row);
    }
    let cell = row.get(key);
    if (cell === undefined) {
      cell = this.create(serverId, key);
      row.set(key, cell);
    }
    return cell;
  }
}

export interface ServerCellsConfig {
  registry: Registry;
  name: string;
  help: string;
  /** A second label whose value is the table key (`String(key)`); none when the key is null. */
  label?: string;
  /** A gauge (current value) instead of a counter. */
  gauge?: boolean;
}

/**
 * A counter (or gauge) labelled `server_id` and optionally one more label, as a table of cells:
 * `table.get(serverId, key).value += n`.
 */
export function serverCells<K extends string | number | null>(config: ServerCellsConfig): CellTable<K> {
  const { registry, name, help, label } = config;
  const labelNames = label === undefined ? ['server_id'] : ['server_id', label];
  const metric = config.gauge === true ? new CellGauge({ registry, name, help, labelNames }) : new CellCounter({ registry, name, help, labelNames });
  return new CellTable<K>((serverId, key) =>
    metric.cell(label === undefined ? { server_id: String(serverId) } : { server_id: String(serverId), [label]: String(key) }),
  );
}
