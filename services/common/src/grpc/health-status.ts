import type { HealthImplementation } from 'grpc-health-check';
import { healthCheck } from './lazy-modules';

/** Serving state per service name ('' = the whole process), published through grpc.health.v1. */
export interface HealthStatus {
  setServing(service: string, serving: boolean): void;
  isServing(service: string): boolean;
}

/**
 * Wraps the official health service so that a status is only published when it
 * changes: grpc-health-check writes to every Watch stream on each setStatus,
 * while the health protocol promises a message per change.
 */
export class PublishedHealth implements HealthStatus {
  readonly implementation: HealthImplementation;
  private readonly serving = new Map<string, boolean>();

  constructor(services: readonly string[]) {
    for (const service of services) this.serving.set(service, false);
    this.implementation = new (healthCheck().HealthImplementation)(
      Object.fromEntries(services.map((service) => [service, 'NOT_SERVING' as const])),
    );
  }

  setServing(service: string, serving: boolean): void {
    if (this.serving.get(service) === serving) return;
    this.serving.set(service, serving);
    this.implementation.setStatus(service, serving ? 'SERVING' : 'NOT_SERVING');
  }

  isServing(service: string): boolean {
    return this.serving.get(service) === true;
  }

  services(): string[] {
    return [...this.serving.keys()];
  }
}
