{{/* Names ------------------------------------------------------------------ */}}

{{- define "msd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Prefix of every resource name. Capped at 37 characters so that
"<prefix>-segment-server" stays within the 52 characters a StatefulSet name may have. */}}
{{- define "msd.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 37 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 37 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 37 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "msd.server.name" -}}{{ include "msd.fullname" . }}-segment-server{{- end }}
{{- define "msd.fetcher.name" -}}{{ include "msd.fullname" . }}-fetcher{{- end }}
{{- define "msd.token.secretName" -}}{{ .Values.auth.existingSecret | default (printf "%s-token" (include "msd.fullname" .)) }}{{- end }}
{{- define "msd.output.claimName" -}}{{ .Values.fetcher.output.existingClaim | default (printf "%s-output" (include "msd.fetcher.name" .)) }}{{- end }}

{{/* Labels ----------------------------------------------------------------- */}}

{{- define "msd.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "msd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "msd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object's metadata (commonLabels last, so a user may add but the chart's own
keys stay what selectors and tools expect). */}}
{{- define "msd.labels" -}}
helm.sh/chart: {{ include "msd.chart" . }}
{{ include "msd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: multi-server-downloader
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels of a pod template: no helm.sh/chart (a chart version bump must not change a Job's
immutable template nor restart the servers). Call with (list $ component podLabels). */}}
{{- define "msd.podLabels" -}}
{{- $root := index . 0 }}
{{- include "msd.selectorLabels" $root }}
app.kubernetes.io/component: {{ index . 1 }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: multi-server-downloader
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- with index . 2 }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* "  annotations:" of an object's metadata (indented for it, nothing when empty):
commonAnnotations plus the given map. Call with (list $ extra). */}}
{{- define "msd.annotations" -}}
{{- $all := merge (dict) (index . 1 | default dict) ((index . 0).Values.commonAnnotations | default dict) }}
{{- with $all }}
  annotations:
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- end }}

{{- define "msd.server.selectorLabels" -}}
{{ include "msd.selectorLabels" . }}
app.kubernetes.io/component: segment-server
{{- end }}

{{- define "msd.fetcher.selectorLabels" -}}
{{ include "msd.selectorLabels" . }}
app.kubernetes.io/component: fetcher
{{- end }}

{{/* Images ----------------------------------------------------------------- */}}

{{/* registry/repository:tag, or registry/repository@digest when a digest is given; the registry
is global.imageRegistry when set (the way subcharts share one mirror), else image.registry.
Call with (list image $). */}}
{{- define "msd.image" -}}
{{- $image := index . 0 }}{{- $root := index . 1 }}
{{- $registry := $image.registry }}
{{- with $root.Values.global }}{{- with .imageRegistry }}{{- $registry = . }}{{- end }}{{- end }}
{{- $repository := $image.repository }}
{{- if $registry }}{{- $repository = printf "%s/%s" (trimSuffix "/" $registry) $repository }}{{- end }}
{{- if $image.digest }}
{{- printf "%s@%s" $repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $repository ($image.tag | default $root.Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* imagePullSecrets of every pod: global.imagePullSecrets and imagePullSecrets, names or {name: ...}. */}}
{{- define "msd.imagePullSecrets" -}}
{{- $names := list }}
{{- $global := list }}
{{- with .Values.global }}{{- $global = .imagePullSecrets | default list }}{{- end }}
{{- range (concat $global (.Values.imagePullSecrets | default list)) }}
{{- $name := . }}{{- if kindIs "map" . }}{{- $name = .name }}{{- end }}
{{- if not (has $name $names) }}{{- $names = append $names $name }}{{- end }}
{{- end }}
{{- with $names }}
imagePullSecrets:
{{- range . }}
  - name: {{ . | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Service account ---------------------------------------------------------- */}}

{{- define "msd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- .Values.serviceAccount.name | default (include "msd.fullname" .) }}
{{- else }}
{{- .Values.serviceAccount.name | default "default" }}
{{- end }}
{{- end }}

{{/* Pod-spec fields every pod of the chart shares. Call with (list $ component-values). */}}
{{- define "msd.podCommon" -}}
{{- $root := index . 0 }}{{- $c := index . 1 }}
serviceAccountName: {{ include "msd.serviceAccountName" $root }}
automountServiceAccountToken: {{ $root.Values.serviceAccount.automountServiceAccountToken }}
enableServiceLinks: false
{{- include "msd.imagePullSecrets" $root }}
{{- with $c.priorityClassName }}
priorityClassName: {{ . | quote }}
{{- end }}
{{- with $c.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Ports ------------------------------------------------------------------ */}}

{{/* Data port of server <ordinal>: the same for all, or port + ordinal. Call with (list $ ordinal). */}}
{{- define "msd.server.dataPort" -}}
{{- $root := index . 0 }}{{- $ordinal := index . 1 }}
{{- if $root.Values.segmentServer.portPerReplica }}{{ add $root.Values.segmentServer.port $ordinal }}{{ else }}{{ $root.Values.segmentServer.port }}{{ end }}
{{- end }}

{{/* Ports of the data listeners as NetworkPolicy/Service port ranges: "first last". */}}
{{- define "msd.server.lastDataPort" -}}
{{- if .Values.segmentServer.portPerReplica }}{{ add .Values.segmentServer.port (sub .Values.segmentServer.replicas 1) }}{{ else }}{{ .Values.segmentServer.port }}{{ end }}
{{- end }}

{{/* Stable DNS name of server <ordinal> through the headless Service. Call with (list $ ordinal). */}}
{{- define "msd.server.host" -}}
{{- $root := index . 0 }}{{- $ordinal := index . 1 }}
{{- $svc := include "msd.server.name" $root }}
{{- printf "%s-%d.%s.%s.svc.%s" $svc (int $ordinal) $svc $root.Release.Namespace $root.Values.clusterDomain }}
{{- end }}

{{/* "host:dataPort,..." for all N servers, in ID order. */}}
{{- define "msd.server.addresses" -}}
{{- $root := . }}
{{- $out := list }}
{{- range $i := until (int .Values.segmentServer.replicas) }}
{{- $out = append $out (printf "%s:%s" (include "msd.server.host" (list $root $i)) (include "msd.server.dataPort" (list $root $i))) }}
{{- end }}
{{- join "," $out }}
{{- end }}

{{/* "host:grpcPort,..." for all N servers, in ID order. */}}
{{- define "msd.server.grpcAddresses" -}}
{{- $root := . }}
{{- $out := list }}
{{- range $i := until (int .Values.segmentServer.replicas) }}
{{- $out = append $out (printf "%s:%d" (include "msd.server.host" (list $root $i)) (int $root.Values.segmentServer.grpcPort)) }}
{{- end }}
{{- join "," $out }}
{{- end }}

{{/* Token ------------------------------------------------------------------ */}}

{{- define "msd.token.mountPath" -}}/var/run/secrets/msd{{- end }}

{{- define "msd.token.volume" -}}
{{- if .Values.auth.enabled }}
- name: token
  secret:
    secretName: {{ include "msd.token.secretName" . }}
    defaultMode: 0440
    items:
      - key: {{ .Values.auth.secretKey }}
        path: token
{{- end }}
{{- end }}

{{- define "msd.token.volumeMount" -}}
{{- if .Values.auth.enabled }}
- name: token
  mountPath: {{ include "msd.token.mountPath" . }}
  readOnly: true
{{- end }}
{{- end }}

{{- define "msd.token.env" -}}
{{- if .Values.auth.enabled }}
- name: MSD_TOKEN_FILE
  value: {{ include "msd.token.mountPath" . }}/token
{{- end }}
{{- end }}

{{/* Sources ---------------------------------------------------------------- */}}

{{/* Bytes of a size written as digits with an optional Ki/Mi/Gi suffix (source.demo.size). */}}
{{- define "msd.bytes" -}}
{{- if not (regexMatch "^[0-9]+(Ki|Mi|Gi)?$" .) }}{{- fail (printf "source.demo.size %q is not a size: write bytes or a number with Ki, Mi or Gi (e.g. 64Mi)" .) }}{{- end }}
{{- $num := regexFind "^[0-9]+" . }}
{{- $unit := trimPrefix $num . }}
{{- $n := atoi $num }}
{{- if eq $unit "Ki" }}{{ mul $n 1024 }}{{- else if eq $unit "Mi" }}{{ mul $n 1048576 }}{{- else if eq $unit "Gi" }}{{ mul $n 1073741824 }}{{- else }}{{ $n }}{{- end }}
{{- end }}

{{/* The init container that puts the file on the server's /data volume, for the sources that
fill it (demo, http, initContainer); nothing for the sources that only mount (existingClaim,
image, hostPath). Call with $. */}}
{{- define "msd.source.initContainers" -}}
{{- $s := .Values.source }}
{{- $srv := .Values.segmentServer }}
{{- if has $s.type (list "demo" "http") }}
- name: {{ ternary "generate-demo" "fetch-source" (eq $s.type "demo") }}
  image: {{ include "msd.image" (list $srv.image .) | quote }}
  imagePullPolicy: {{ $srv.image.pullPolicy }}
  {{- if eq $s.type "demo" }}
  # Deterministic bytes from source.demo.seed and .size: every replica writes the same file.
  command: [node, /opt/msd/generate-demo.js]
  args:
    - --out=/data/{{ $s.file }}
    - --size={{ include "msd.bytes" (toString $s.demo.size) }}
    - --seed={{ $s.demo.seed }}
  {{- else }}
  # Downloads source.http.url once per volume and checks its SHA-256; a replica whose volume
  # already holds the verified file skips the download. A wrong digest fails here, so the
  # server never starts and the pod never becomes ready (kubectl describe shows why).
  command: [node, /opt/msd/fill-from-url.js]
  args:
    - --url={{ $s.http.url }}
    - --sha256={{ $s.http.sha256 | lower }}
    - --out=/data/{{ $s.file }}
    - --stall-timeout={{ $s.http.stallTimeoutSeconds }}
  {{- with $s.http.extraEnv }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
  terminationMessagePolicy: FallbackToLogsOnError
  {{- with $srv.containerSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.fill.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: data
      mountPath: /data
    - name: scripts
      mountPath: /opt/msd
      readOnly: true
    - name: tmp
      mountPath: /tmp
{{- else if eq $s.type "initContainer" }}
- name: fill-data
  image: {{ $s.initContainer.image | quote }}
  {{- with $s.initContainer.imagePullPolicy }}
  imagePullPolicy: {{ . }}
  {{- end }}
  command:
    {{- toYaml $s.initContainer.command | nindent 4 }}
  {{- with $s.initContainer.args }}
  args:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.initContainer.env }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  terminationMessagePolicy: FallbackToLogsOnError
  {{- with $srv.containerSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $s.initContainer.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: data
      mountPath: /data
    - name: tmp
      mountPath: /tmp
{{- end }}
{{- end }}

{{/* The server pod's "data" volume (http: none here, it comes from volumeClaimTemplates). */}}
{{- define "msd.source.volume" -}}
{{- $s := .Values.source }}
{{- if eq $s.type "existingClaim" }}
- name: data
  persistentVolumeClaim:
    claimName: {{ $s.existingClaim | quote }}
    readOnly: true
{{- else if eq $s.type "image" }}
- name: data
  image:
    reference: {{ $s.image.reference | quote }}
    pullPolicy: {{ $s.image.pullPolicy }}
{{- else if eq $s.type "hostPath" }}
- name: data
  hostPath:
    path: {{ $s.hostPath | quote }}
    type: Directory
{{- else if eq $s.type "demo" }}
- name: data
  emptyDir:
    {{- $n := regexFind "^[0-9]+" (toString $s.demo.size) }}
    sizeLimit: {{ printf "%d%s" (mul (atoi $n) 2) (trimPrefix $n (toString $s.demo.size)) }}
{{- else if eq $s.type "initContainer" }}
- name: data
  emptyDir:
    sizeLimit: {{ $s.initContainer.sizeLimit }}
{{- end }}
{{- end }}

{{/* Validation the schema cannot express, each message naming the value and what to do -- */}}

{{- define "msd.validate" -}}
{{- $s := .Values.source }}
{{- if and (eq $s.type "existingClaim") (not $s.existingClaim) }}
{{- fail "source.existingClaim is empty: name the PersistentVolumeClaim that holds the file (ReadOnlyMany or ReadWriteMany when the servers run on several nodes), or use source.type=http to fill a volume per replica" }}
{{- end }}
{{- if eq $s.type "http" }}
{{- if not (regexMatch "^https?://" ($s.http.url | default "")) }}
{{- fail (printf "source.http.url %q is not an http:// or https:// URL: give the address the servers download the file from" ($s.http.url | default "")) }}
{{- end }}
{{- if not (regexMatch "^[0-9a-fA-F]{64}$" ($s.http.sha256 | default "")) }}
{{- fail (printf "source.http.sha256 %q is not a SHA-256 digest: give the 64 hex digits of the file (sha256sum FILE)" ($s.http.sha256 | default "")) }}
{{- end }}
{{- end }}
{{- if and (eq $s.type "image") (not $s.image.reference) }}
{{- fail "source.image.reference is empty: name the OCI image (or artifact) that holds the file, e.g. registry.example/datasets/big:1" }}
{{- end }}
{{- if and (eq $s.type "image") (semverCompare "<1.33.0-0" .Capabilities.KubeVersion.Version) }}
{{- fail (printf "source.type=image needs Kubernetes 1.33 or later with the ImageVolume feature gate; this cluster is %s: use source.type=http or existingClaim" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- if and (eq $s.type "hostPath") (not $s.hostPath) }}
{{- fail "source.hostPath is empty: give the node directory that holds the file (hostPath is refused in namespaces with the restricted Pod Security level; prefer source.type=http)" }}
{{- end }}
{{- if and (eq $s.type "initContainer") (or (not $s.initContainer.image) (not $s.initContainer.command)) }}
{{- fail "source.initContainer.image and source.initContainer.command are required when source.type is initContainer: give the image and the command that writes the file into /data" }}
{{- end }}
{{- if and (has $s.type (list "demo" "http")) (not $s.file) }}
{{- fail (printf "source.file is empty: source.type=%s writes one file, name it (e.g. data.bin)" $s.type) }}
{{- end }}
{{- $globs := concat (.Values.fetcher.include | default list) (.Values.fetcher.exclude | default list) }}
{{- if and $globs .Values.fetcher.file }}
{{- fail (printf "fetcher.file=%q and fetcher.include/exclude are both set: name one file, or leave fetcher.file empty and choose the directory's files with include/exclude" .Values.fetcher.file) }}
{{- end }}
{{- if and $globs $s.file }}
{{- fail (printf "fetcher.include/exclude choose files of a directory, but source.file=%q makes the servers serve one file: set source.file to \"\" to serve the directory, or drop include/exclude" $s.file) }}
{{- end }}
{{- if and .Values.segmentServer.portPerReplica (gt (add .Values.segmentServer.port .Values.segmentServer.replicas -1) 65535) }}
{{- fail (printf "segmentServer.port + replicas - 1 = %d exceeds 65535 with portPerReplica: lower segmentServer.port" (add .Values.segmentServer.port .Values.segmentServer.replicas -1)) }}
{{- end }}
{{- /* volumeClaimTemplates of a StatefulSet never change: say so in our words, before the API server refuses the upgrade. */}}
{{- $sts := lookup "apps/v1" "StatefulSet" .Release.Namespace (include "msd.server.name" .) }}
{{- if and $sts $sts.spec }}
{{- $had := list }}
{{- range ($sts.spec.volumeClaimTemplates | default list) }}{{- $had = append $had (printf "%s=%s" .metadata.name (.spec.resources.requests.storage | toString)) }}{{- end }}
{{- $want := list }}
{{- if eq $s.type "http" }}{{- $want = list (printf "data=%s" ($s.http.volume.size | toString)) }}{{- end }}
{{- if ne (toJson $had) (toJson $want) }}
{{- fail (printf "source.type=%s needs the volumes %v but StatefulSet %s was created with %v, and Kubernetes never changes a StatefulSet's volumeClaimTemplates: run 'kubectl -n %s delete statefulset %s --cascade=orphan' (the pods keep serving) and upgrade again" $s.type $want $sts.metadata.name $had .Release.Namespace $sts.metadata.name) }}
{{- end }}
{{- end }}
{{- if not (has .Values.segmentServer.podAntiAffinityPreset (list "" "soft" "hard")) }}
{{- fail (printf "segmentServer.podAntiAffinityPreset %q: use soft (spread when possible), hard (one server per node) or \"\" (none)" .Values.segmentServer.podAntiAffinityPreset) }}
{{- end }}
{{- if and (not .Values.serviceAccount.create) .Values.serviceAccount.annotations }}
{{- fail "serviceAccount.annotations are set but serviceAccount.create is false: annotate your own ServiceAccount, or let the chart create it" }}
{{- end }}
{{- end }}
