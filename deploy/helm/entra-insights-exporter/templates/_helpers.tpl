{{/*
The chart's name, truncated to 63 characters (DNS label limit).
*/}}
{{- define "entra-insights-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The full name of the release's objects; the release name alone when it
already contains the chart name.
*/}}
{{- define "entra-insights-exporter.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "entra-insights-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "entra-insights-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "entra-insights-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "entra-insights-exporter.labels" -}}
helm.sh/chart: {{ include "entra-insights-exporter.chart" . }}
{{ include "entra-insights-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: entra-insights-exporter
{{- end -}}

{{- define "entra-insights-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "entra-insights-exporter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "entra-insights-exporter.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if .Values.image.digest -}}
{{- printf "%s/%s@%s" .Values.image.registry .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" .Values.image.registry .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The ConfigMap holding --config.file, if any. */}}
{{- define "entra-insights-exporter.configMapName" -}}
{{- if .Values.existingConfigMap -}}
{{- .Values.existingConfigMap -}}
{{- else if .Values.config -}}
{{- printf "%s-config" (include "entra-insights-exporter.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "entra-insights-exporter.configKey" -}}
{{- if .Values.existingConfigMap -}}
{{- .Values.existingConfigMapKey -}}
{{- else -}}
config.yml
{{- end -}}
{{- end -}}

{{/* http or https, as the exporter serves (webConfig.tls). */}}
{{- define "entra-insights-exporter.scheme" -}}
{{- if .Values.webConfig.tls -}}https{{- else -}}http{{- end -}}
{{- end -}}

{{- define "entra-insights-exporter.authMode" -}}
{{- if and .Values.azure.workloadIdentity.enabled (eq .Values.azure.authMode "auto") -}}
workload-identity
{{- else -}}
{{- .Values.azure.authMode -}}
{{- end -}}
{{- end -}}

{{/*
"true" when a credential may come from managed identity, which asks the
instance metadata service (IMDS, 169.254.169.254:80): azure.authMode or a
config tenant's auth_mode is managed-identity, or default (azidentity's
DefaultAzureCredential chain ends in managed identity). auto never picks it.
A tenant in existingConfigMap is not visible here.
*/}}
{{- define "entra-insights-exporter.usesIMDS" -}}
{{- $modes := list "managed-identity" "default" -}}
{{- $uses := has (include "entra-insights-exporter.authMode" .) $modes -}}
{{- range (get .Values.config "tenants" | default list) -}}
{{- if has (get . "auth_mode" | default "") $modes -}}{{- $uses = true -}}{{- end -}}
{{- end -}}
{{- if $uses -}}true{{- end -}}
{{- end -}}

{{/*
"true" when a tenant the chart can see uses the logs source, which keeps its
state in --storage.path: exporter.source is logs (the default) and no
config.tenants, or a config tenant whose source (default exporter.source) is
logs. The tenants of an existingConfigMap are not visible here: they count
as exporter.source.
*/}}
{{- define "entra-insights-exporter.usesLogs" -}}
{{- $tenants := get .Values.config "tenants" | default list -}}
{{- $uses := and (not $tenants) (eq .Values.exporter.source "logs") -}}
{{- range $tenants -}}
{{- if eq (get . "source" | default $.Values.exporter.source) "logs" -}}{{- $uses = true -}}{{- end -}}
{{- end -}}
{{- if $uses -}}true{{- end -}}
{{- end -}}

{{/*
"true" when the exporter runs as a StatefulSet with its store on a volume
claim: persistence.enabled and a tenant uses the logs source. The
userinsights source keeps no state: a Deployment, which may have replicas.
*/}}
{{- define "entra-insights-exporter.stateful" -}}
{{- if and .Values.persistence.enabled (include "entra-insights-exporter.usesLogs" .) -}}true{{- end -}}
{{- end -}}

{{/* The headless Service that governs the StatefulSet (serviceName). */}}
{{- define "entra-insights-exporter.headlessServiceName" -}}
{{- printf "%s-headless" (include "entra-insights-exporter.fullname" . | trunc 54 | trimSuffix "-") -}}
{{- end -}}

{{/*
Refuses values that would deploy an exporter that silently loses its state
or runs two processes on one store; each message is one line naming the
value to change. Included by the workload templates.
*/}}
{{- define "entra-insights-exporter.validate" -}}
{{- if include "entra-insights-exporter.usesLogs" . -}}
{{- if and (not .Values.persistence.enabled) (not .Values.persistence.acceptStateLoss) -}}
{{- fail "persistence.enabled=false with the logs source: every pod restart loses the exporter's state (it re-reads the retained logs, and this month's distinct users shrink to what the logs still hold). Set persistence.enabled=true (the default), or persistence.acceptStateLoss=true to accept that." -}}
{{- end -}}
{{- if gt (int .Values.replicaCount) 1 -}}
{{- fail (printf "replicaCount=%v with a tenant on the logs source: its state file is owned by one process, and a second replica doubles the Graph calls. Set replicaCount=1 (one replica serves any number of Prometheus servers)." .Values.replicaCount) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Where the store of the logs source lives (the image's VOLUME). */}}
{{- define "entra-insights-exporter.dataDir" -}}
/var/lib/entra_insights_exporter
{{- end -}}

{{/*
The pod's volumes, without the data volume of a StatefulSet that claims it
from its template; empty when there is none.
*/}}
{{- define "entra-insights-exporter.volumes" -}}
{{- if not (include "entra-insights-exporter.stateful" .) }}
- name: data
  emptyDir: {}
{{- else if .Values.persistence.existingClaim }}
- name: data
  persistentVolumeClaim:
    claimName: {{ .Values.persistence.existingClaim }}
{{- end }}
{{- if (include "entra-insights-exporter.configMapName" .) }}
- name: config
  configMap:
    name: {{ include "entra-insights-exporter.configMapName" . }}
{{- end }}
{{- if and .Values.azure.existingSecret (eq .Values.azure.secretMode "file") }}
- name: secret
  secret:
    secretName: {{ .Values.azure.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- with .Values.webConfig.existingSecret }}
- name: web-config
  secret:
    secretName: {{ . }}
    defaultMode: 0440
{{- end }}
{{- with .Values.extraVolumes }}
{{- toYaml . | nindent 0 }}
{{- end }}
{{- end -}}

{{/*
The pod template shared by the Deployment and the StatefulSet.
*/}}
{{- define "entra-insights-exporter.podTemplate" -}}
metadata:
  labels:
    {{- include "entra-insights-exporter.labels" . | nindent 4 }}
    {{- if .Values.azure.workloadIdentity.enabled }}
    azure.workload.identity/use: "true"
    {{- end }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- $annotations := deepCopy .Values.podAnnotations }}
  {{- if and .Values.config (not .Values.existingConfigMap) }}
  {{- /* A changed config rolls the pods (the exporter reads it at start). */}}
  {{- $_ := set $annotations "checksum/config" (include (print $.Template.BasePath "/configmap.yaml") . | sha256sum) }}
  {{- end }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  serviceAccountName: {{ include "entra-insights-exporter.serviceAccountName" . }}
  # The exporter never talks to the Kubernetes API; the workload-identity
  # webhook mounts its own projected token.
  automountServiceAccountToken: false
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  {{- with .Values.initContainers }}
  initContainers:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: exporter
      image: {{ include "entra-insights-exporter.image" . | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - serve
        - --web.listen-address=:{{ .Values.service.port }}
        - --log.level={{ .Values.exporter.logLevel }}
        - --log.format={{ .Values.exporter.logFormat }}
        - --insights.source={{ .Values.exporter.source }}
        - --insights.refresh-interval={{ .Values.exporter.refreshInterval }}
        {{- with .Values.exporter.refreshTimeout }}
        - --insights.refresh-timeout={{ . }}
        {{- end }}
        {{- with .Values.exporter.maxAge }}
        - --insights.max-age={{ . }}
        {{- end }}
        - --storage.path={{ include "entra-insights-exporter.dataDir" . }}/state.db
        - --logs.lookback={{ .Values.exporter.logsLookback }}
        - --azure.auth-mode={{ include "entra-insights-exporter.authMode" . }}
        - --azure.cloud={{ .Values.azure.cloud }}
        {{- with .Values.azure.tenantId }}
        - --azure.tenant-id={{ . }}
        {{- end }}
        {{- with .Values.azure.tenantName }}
        - --azure.tenant-name={{ . }}
        {{- end }}
        {{- with .Values.azure.clientId }}
        - --azure.client-id={{ . }}
        {{- end }}
        {{- if and .Values.azure.existingSecret (eq .Values.azure.secretMode "file") }}
        - --azure.client-secret-file=/etc/entra-insights/secret/{{ .Values.azure.existingSecretKey }}
        {{- end }}
        {{- if (include "entra-insights-exporter.configMapName" .) }}
        - --config.file=/etc/entra-insights/config/{{ include "entra-insights-exporter.configKey" . }}
        {{- end }}
        {{- with .Values.webConfig.existingSecret }}
        - --web.config.file=/etc/entra-insights/web/{{ $.Values.webConfig.key }}
        {{- end }}
        {{- if .Values.exporter.enableLifecycle }}
        - --web.enable-lifecycle
        {{- end }}
        {{- range .Values.exporter.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      {{- if or (and .Values.azure.existingSecret (eq .Values.azure.secretMode "env")) .Values.extraEnv }}
      env:
        {{- if and .Values.azure.existingSecret (eq .Values.azure.secretMode "env") }}
        - name: AZURE_CLIENT_SECRET
          valueFrom:
            secretKeyRef:
              name: {{ .Values.azure.existingSecret }}
              key: {{ .Values.azure.existingSecretKey }}
        {{- end }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
      ports:
        - name: http
          containerPort: {{ .Values.service.port }}
          protocol: TCP
      readinessProbe:
        {{- include "entra-insights-exporter.probe" (dict "probe" .Values.readinessProbe "root" .) | nindent 8 }}
      livenessProbe:
        {{- include "entra-insights-exporter.probe" (dict "probe" .Values.livenessProbe "root" .) | nindent 8 }}
      {{- if .Values.startupProbe.enabled }}
      startupProbe:
        {{- include "entra-insights-exporter.probe" (dict "probe" (omit .Values.startupProbe "enabled") "root" .) | nindent 8 }}
      {{- end }}
      {{- with .Values.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: data
          mountPath: {{ include "entra-insights-exporter.dataDir" . }}
        {{- if (include "entra-insights-exporter.configMapName" .) }}
        - name: config
          mountPath: /etc/entra-insights/config
          readOnly: true
        {{- end }}
        {{- if and .Values.azure.existingSecret (eq .Values.azure.secretMode "file") }}
        # A directory, not a subPath: a rotated secret reaches the file and
        # the exporter re-reads it without a restart.
        - name: secret
          mountPath: /etc/entra-insights/secret
          readOnly: true
        {{- end }}
        {{- if .Values.webConfig.existingSecret }}
        - name: web-config
          mountPath: /etc/entra-insights/web
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    {{- with .Values.extraContainers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with include "entra-insights-exporter.volumes" . | trim }}
  volumes:
    {{- . | nindent 4 }}
  {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
A probe from values, with the scheme the exporter serves. Helm merges a
user's probe into the default one, so a probe given another handler (exec,
tcpSocket, grpc, e.g. with basic auth) would keep the default httpGet too,
which the API server refuses: the other handler replaces it.
*/}}
{{- define "entra-insights-exporter.probe" -}}
{{- $probe := deepCopy .probe -}}
{{- if or (hasKey $probe "exec") (hasKey $probe "tcpSocket") (hasKey $probe "grpc") -}}
{{- $probe = omit $probe "httpGet" -}}
{{- end -}}
{{- if and (hasKey $probe "httpGet") .root.Values.webConfig.tls -}}
{{- $_ := set $probe.httpGet "scheme" "HTTPS" -}}
{{- end -}}
{{- toYaml $probe -}}
{{- end -}}
