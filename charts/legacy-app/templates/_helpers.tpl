{{/*
Fully qualified app name.
Usage:
{{ include "legacy-app.fullname" . }}
*/}}
{{- define "legacy-app.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
Selector labels.
Usage:
{{ include "legacy-app.selectorLabels" . | nindent 4 }}
*/}}
{{- define "legacy-app.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Standard labels.
Usage:
{{ include "legacy-app.labels" . | nindent 4 }}
*/}}
{{- define "legacy-app.labels" -}}
{{ include "legacy-app.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/*
The podkit components of this chart: component name -> its values block.
Usage:
{{- $components := include "legacy-app.components" . | fromYaml }}
*/}}
{{- define "legacy-app.components" -}}
tls-proxy: {{ toJson .Values.tlsProxy }}
config-sync: {{ toJson .Values.configSync }}
log-normalizer: {{ toJson .Values.logNormalizer }}
metrics-exporter: {{ include "legacy-app.metricsExporter" . }}
mysql-broker: {{ toJson .Values.mysqlBroker }}
db-health: {{ toJson .Values.dbHealth }}
git-pull: {{ toJson .Values.gitPull }}
traffic-split: {{ toJson .Values.trafficSplit }}
{{- end -}}

{{/*
The ServiceAccount name.
Usage:
{{ include "legacy-app.serviceAccountName" . }}
*/}}
{{- define "legacy-app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "legacy-app.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{/*
"true" when the chart mounts metricsExporter.statsMapping as the exporter's mapping file: without a
mapping metrics-exporter refuses --json-url, so the default values ship the app's.
Usage:
{{- if eq (include "legacy-app.statsMapping.on" .) "true" }}
*/}}
{{- define "legacy-app.statsMapping.on" -}}
{{- $v := .Values.metricsExporter -}}
{{- and $v.enabled $v.statsMapping (not (($v.options | default dict).jsonMappingFile)) -}}
{{- end -}}

{{/*
The metrics-exporter values block as the pod gets it: statsMapping becomes a mounted file and its
--json-mapping-file option.
Usage:
metrics-exporter: {{ include "legacy-app.metricsExporter" . }}
*/}}
{{- define "legacy-app.metricsExporter" -}}
{{- $v := omit (deepCopy .Values.metricsExporter) "statsMapping" -}}
{{- if eq (include "legacy-app.statsMapping.on" .) "true" -}}
{{- $_ := set $v "options" (merge (dict "jsonMappingFile" "/etc/metrics-exporter/stats-mapping.yml") ($v.options | default dict)) -}}
{{- $mount := dict "name" "metrics-mapping" "mountPath" "/etc/metrics-exporter" "readOnly" true -}}
{{- $_ := set $v "volumeMounts" (append ($v.volumeMounts | default list) $mount) -}}
{{- end -}}
{{- toJson $v -}}
{{- end -}}

{{/*
The chart's top-level values keys (those of values.yaml), for podkit.checkTopLevelValues;
test/charts/legacy-app.test.ts keeps it equal to values.yaml.
*/}}
{{- define "legacy-app.valuesKeys" -}}
[affinity, appConfig, configSync, containerSecurityContext, dbHealth, extraEnvVars, extraVolumeMounts,
 gitPull, image, ingress, logNormalizer, metrics, metricsExporter, mysqlBroker, nameOverride, networkPolicy,
 nodeSelector, pdb, podAnnotations, podSecurityContext, podkitVolumes, rbac, replicaCount, resources,
 service, serviceAccount, tlsProxy, tolerations, trafficSplit]
{{- end -}}
