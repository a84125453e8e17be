import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { ConfigMap, Namespace, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodMonitor, PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { REPO_ROOT, type K8sObject } from './helm';
import { unknownCrdFields } from './crd-fields';

/**
 * Validates rendered objects two ways:
 *  1. kubernetes-models: the Kubernetes OpenAPI schema of the apiVersion/kind (types, required
 *     fields, enums, formats);
 *  2. unknown fields (which the schema lets through): each field is looked up in the
 *     @kubernetes/client-node model attribute maps for built-in kinds, and in the
 *     kubernetes-models type declarations for the Prometheus Operator CRDs.
 */
interface Validatable {
  validate(): void;
}
type ModelConstructor = new (data: never) => Validatable;

const MODELS: Record<string, ModelConstructor> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Pod': Pod,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

type AttributeMaps = Record<string, Array<[string, string]>>;
let attributeMaps: AttributeMaps | undefined;

function loadAttributeMaps(): AttributeMaps {
  if (!attributeMaps) {
    const out = execFileSync(process.execPath, [path.join(__dirname, 'attribute-maps.mjs')], { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
    attributeMaps = JSON.parse(out) as AttributeMaps;
  }
  return attributeMaps;
}

/** Paths of fields the client-node model of `typeName` does not know. */
export function unknownBuiltinFields(value: unknown, typeName: string, at = ''): string[] {
  if (value === null || value === undefined) return [];
  const array = /^Array<(.+)>$/.exec(typeName);
  if (array) return Array.isArray(value) ? value.flatMap((v, i) => unknownBuiltinFields(v, array[1] as string, `${at}[${i}]`)) : [];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(typeName);
  if (map) {
    return typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => unknownBuiltinFields(v, map[1] as string, `${at}.${k}`)) : [];
  }
  const attrs = loadAttributeMaps()[typeName];
  if (!attrs || typeof value !== 'object' || Array.isArray(value)) return []; // primitive, any, IntOrString, Date
  const errors: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const attr = attrs.find(([wire]) => wire === key);
    if (!attr) errors.push(`${at}.${key}: unknown field (not in ${typeName})`);
    else errors.push(...unknownBuiltinFields(v, attr[1], `${at}.${key}`));
  }
  return errors;
}

/** Every problem with one object, as "Kind/name: path: message" lines; empty when valid. */
export function validateObject(obj: K8sObject): string[] {
  const id = `${obj.kind}/${obj.metadata?.name ?? '?'}`;
  const key = `${obj.apiVersion}/${obj.kind}`;
  const Model = MODELS[key];
  if (!Model) return [`${id}: no schema known for ${key}; add it to test/chart/k8s-validation.ts`];
  const errors: string[] = [];
  try {
    new Model(obj as never).validate();
  } catch (err) {
    errors.push(`${id}: ${(err as Error).message}`);
  }
  const unknown = obj.apiVersion.startsWith('monitoring.coreos.com/')
    ? unknownCrdFields(obj, obj.kind)
    : unknownBuiltinFields(obj, `V1${obj.kind}`);
  errors.push(...unknown.map((e) => `${id}: ${e}`));
  return errors;
}
