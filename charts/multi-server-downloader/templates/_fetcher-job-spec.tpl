{{/* The fetcher Job's spec, and its name: <fullname>-fetcher-<hash of this spec>.
A Job's pod template is immutable, so an upgrade that changes anything the Job runs (an image,
the server list, a fetcher setting, the pod's labels, the source) names a new Job: Helm creates it and deletes the
old one (whose pod saves its resume state on SIGTERM), and the new pod resumes from that state,
or, when the output is already complete, checks it and exits at once. An upgrade that changes
nothing here keeps the same Job. */}}

{{- define "msd.fetcher.jobName" -}}
{{- printf "%s-%s" (include "msd.fetcher.name" .) (include "msd.fetcher.jobSpec" . | sha256sum | trunc 8) }}
{{- end }}

{{/* The source values that decide which bytes the servers serve (not their resources). */}}
{{- define "msd.source.identity" -}}
{{- $s := .Values.source }}
{{- $id := dict "type" $s.type "file" $s.file "subPath" $s.subPath }}
{{- if eq $s.type "demo" }}{{- $_ := set $id "demo" $s.demo }}{{- end }}
{{- if eq $s.type "existingClaim" }}{{- $_ := set $id "claim" $s.existingClaim }}{{- end }}
{{- if eq $s.type "http" }}{{- $_ := set $id "sha256" ($s.http.sha256 | lower) }}{{- end }}
{{- if eq $s.type "image" }}{{- $_ := set $id "image" $s.image.reference }}{{- end }}
{{- if eq $s.type "hostPath" }}{{- $_ := set $id "hostPath" $s.hostPath }}{{- end }}
{{- if eq $s.type "initContainer" }}{{- $_ := set $id "init" (pick $s.initContainer "image" "command" "args" "env") }}{{- end }}
{{- toJson $id }}
{{- end }}

{{- define "msd.fetcher.jobSpec" -}}
{{- $f := .Values.fetcher }}
{{- $fetcherImage := include "msd.image" (list $f.image .) }}
backoffLimit: {{ $f.backoffLimit }}
{{- if not (kindIs "invalid" $f.ttlSecondsAfterFinished) }}
ttlSecondsAfterFinished: {{ $f.ttlSecondsAfterFinished }}
{{- end }}
{{- if not (kindIs "invalid" $f.activeDeadlineSeconds) }}
activeDeadlineSeconds: {{ $f.activeDeadlineSeconds }}
{{- end }}
podFailurePolicy:
  rules:
    # Evictions and node drains do not count against backoffLimit: the next pod resumes.
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
          status: "True"
    # Servers still filling or indexing a large file after waitForServersSeconds: not the
    # fetcher's failure, so the wait is retried without spending backoffLimit.
    - action: Ignore
      onExitCodes:
        containerName: wait-for-servers
        operator: In
        values: [1]
    # Exit code 2 is a configuration error: retrying cannot help.
    - action: FailJob
      onExitCodes:
        containerName: fetcher
        operator: In
        values: [2]
template:
  metadata:
    labels:
      {{- include "msd.podLabels" (list . "fetcher" $f.podLabels) | nindent 6 }}
    annotations:
      # What defines the served content: another source means another Job (its name hashes
      # this spec), so an upgrade to a new file fetches it even when the old Job had finished.
      multi-server-downloader/source: {{ include "msd.source.identity" . | sha256sum | trunc 16 | quote }}
      {{- with $f.podAnnotations }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
  spec:
    restartPolicy: Never
    {{- include "msd.podCommon" (list . $f) | trim | nindent 4 }}
    # SIGTERM makes the fetcher save its state; give it time to fsync.
    terminationGracePeriodSeconds: 30
    initContainers:
      # Waits until every server answers SERVING on grpc.health.v1, so that the Job's
      # retries are not spent while the servers are still indexing the file.
      - name: wait-for-servers
        image: {{ $fetcherImage | quote }}
        imagePullPolicy: {{ $f.image.pullPolicy }}
        command: [node, /opt/msd/check-servers.js]
        args:
          - --grpc={{ include "msd.server.grpcAddresses" . }}
          - --timeout={{ $f.waitForServersSeconds }}
        env:
          - name: NODE_PATH
            value: /app/node_modules
        {{- with $f.containerSecurityContext }}
        securityContext:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        resources:
          requests:
            cpu: 10m
            memory: 32Mi
          limits:
            memory: 128Mi
        volumeMounts:
          - name: scripts
            mountPath: /opt/msd
            readOnly: true
    containers:
      - name: fetcher
        image: {{ $fetcherImage | quote }}
        imagePullPolicy: {{ $f.image.pullPolicy }}
        command: [node, /app/services/fetcher/bin/fetcher.js]
        env:
          - name: MSD_SERVERS
            value: {{ include "msd.server.addresses" . | quote }}
          - name: MSD_OUTPUT
            value: /out/
          {{- if and (not .Values.source.file) $f.file }}
          # The servers serve a directory: fetch this file of it.
          - name: MSD_FILE
            value: {{ $f.file | quote }}
          {{- else if not .Values.source.file }}
          # The servers serve a directory and no file is named: fetch all of it into /out (relative
          # paths kept, one resume state /out/.msd-set.state for the set), narrowed by these globs.
          {{- with $f.include }}
          - name: MSD_INCLUDE
            value: {{ join "," . | quote }}
          {{- end }}
          {{- with $f.exclude }}
          - name: MSD_EXCLUDE
            value: {{ join "," . | quote }}
          {{- end }}
          {{- end }}
          - name: MSD_CONNECTIONS_PER_SERVER
            value: {{ $f.connectionsPerServer | quote }}
          - name: MSD_STATE_INTERVAL
            value: {{ $f.stateInterval | quote }}
          - name: MSD_GRPC_PORT
            value: {{ $f.grpcPort | quote }}
          - name: MSD_METRICS_PORT
            value: {{ $f.metricsPort | quote }}
          - name: MSD_METRICS_BIND
            value: 0.0.0.0
          {{- with $f.pushgatewayUrl }}
          - name: MSD_PUSHGATEWAY_URL
            value: {{ . | quote }}
          {{- end }}
          - name: MSD_LOG_FORMAT
            value: json
          - name: MSD_LOG_LEVEL
            value: {{ $f.logLevel | quote }}
          {{- include "msd.token.env" . | trim | nindent 10 }}
          {{- range $key := keys $f.otel | sortAlpha }}
          - name: {{ $key }}
            value: {{ index $f.otel $key | toString | quote }}
          {{- end }}
          {{- with $f.extraEnv }}
          {{- toYaml . | nindent 10 }}
          {{- end }}
        ports:
          - name: grpc
            containerPort: {{ $f.grpcPort }}
            protocol: TCP
          - name: metrics
            containerPort: {{ $f.metricsPort }}
            protocol: TCP
        {{- with $f.containerSecurityContext }}
        securityContext:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        {{- with $f.resources }}
        resources:
          {{- toYaml . | nindent 10 }}
        {{- end }}
        volumeMounts:
          - name: out
            mountPath: /out
          - name: tmp
            mountPath: /tmp
          {{- include "msd.token.volumeMount" . | trim | nindent 10 }}
    volumes:
      - name: out
        persistentVolumeClaim:
          claimName: {{ include "msd.output.claimName" . }}
      - name: tmp
        emptyDir:
          sizeLimit: 64Mi
      - name: scripts
        configMap:
          name: {{ include "msd.fullname" . }}-scripts
          defaultMode: 0444
      {{- include "msd.token.volume" . | trim | nindent 6 }}
    {{- with $f.nodeSelector }}
    nodeSelector:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with $f.tolerations }}
    tolerations:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    {{- with $f.affinity }}
    affinity:
      {{- toYaml . | nindent 6 }}
    {{- end }}
{{- end }}
