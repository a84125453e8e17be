import * as path from 'node:path';
import { ciValuesFiles, helmLint, renderChart } from './helm';
import { validateObject } from './k8s-validation';

/**
 * helm lint --strict and helm template over every ci/*.yaml values file, with the real helm
 * binary; every rendered object must match the Kubernetes schema and carry no unknown field.
 */
const files = ciValuesFiles();

describe('chart over ci/*.yaml', () => {
  it('has the values files the issue asks for', () => {
    expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining([
      'default-values.yaml',
      'one-replica-values.yaml',
      'eight-replicas-port-per-replica-values.yaml',
      'monitors-values.yaml',
      'fetcher-off-values.yaml',
      'existing-claims-values.yaml',
    ]));
  });

  describe.each(files.map((f) => [path.basename(f), f]))('%s', (_name, file) => {
    it('passes helm lint --strict', () => {
      const out = helmLint(file);
      expect(out).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(out).not.toMatch(/\[(WARNING|ERROR)\]/);
    });

    it.each([
      ['without monitoring CRDs', [] as string[]],
      ['with monitoring.coreos.com/v1', ['monitoring.coreos.com/v1']],
    ])('renders only schema-valid objects without unknown fields (%s)', (_label, apiVersions) => {
      const objects = renderChart({ valuesFiles: [file], apiVersions });
      expect(objects.length).toBeGreaterThan(3);
      expect(objects.flatMap(validateObject)).toEqual([]);
    });
  });
});
