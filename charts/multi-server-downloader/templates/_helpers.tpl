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

{{- define "msd.labels" -}}
helm.sh/chart: {{ include "msd.chart" . }}
{{ include "msd.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: multi-server-downloader
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

{{- define "msd.image" -}}
{{- $image := index . 0 }}{{- $root := index . 1 }}
{{- printf "%s:%s" $image.repository ($image.tag | default $root.Chart.AppVersion) }}
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

{{/* Security --------------------------------------------------------------- */}}

{{/* Pod-level securityContext of the restricted Pod Security Standard. */}}
{{- define "msd.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level securityContext of the restricted Pod Security Standard. */}}
{{- define "msd.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
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

{{/* Validation that the schema cannot express ---------------------------- */}}

{{- define "msd.validate" -}}
{{- $s := .Values.source }}
{{- if and (eq $s.type "existingClaim") (not $s.existingClaim) }}
{{- fail "source.existingClaim is required when source.type is existingClaim: name the PVC that holds the file" }}
{{- end }}
{{- if and (eq $s.type "hostPath") (not $s.hostPath) }}
{{- fail "source.hostPath is required when source.type is hostPath: give the node directory that holds the file" }}
{{- end }}
{{- if and (eq $s.type "initContainer") (or (not $s.initContainer.image) (not $s.initContainer.command)) }}
{{- fail "source.initContainer.image and source.initContainer.command are required when source.type is initContainer" }}
{{- end }}
{{- if and .Values.fetcher.enabled (not $s.file) (not .Values.fetcher.file) }}
{{- fail "fetcher.file is required when source.file is empty (the servers serve a directory): say which file the Job fetches" }}
{{- end }}
{{- if and .Values.segmentServer.portPerReplica (gt (add .Values.segmentServer.port .Values.segmentServer.replicas -1) 65535) }}
{{- fail (printf "segmentServer.port + replicas - 1 = %d exceeds 65535 with portPerReplica: lower segmentServer.port" (add .Values.segmentServer.port .Values.segmentServer.replicas -1)) }}
{{- end }}
{{- end }}
