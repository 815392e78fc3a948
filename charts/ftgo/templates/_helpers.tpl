{{/*
Fully qualified name of the release's objects.
Usage:
{{ include "ftgo.fullname" . }}
*/}}
{{- define "ftgo.fullname" -}}
{{- $name := .Values.nameOverride | default .Chart.Name -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/*
Selector labels of one part of the release (consumer, order-v2, mariadb...).
Usage:
{{ include "ftgo.selectorLabels" (dict "part" "consumer" "context" $) | nindent 4 }}
*/}}
{{- define "ftgo.selectorLabels" -}}
app.kubernetes.io/name: {{ .context.Values.nameOverride | default .context.Chart.Name }}
app.kubernetes.io/instance: {{ .context.Release.Name }}
app.kubernetes.io/component: {{ .part }}
{{- end -}}

{{/*
Standard labels of one part.
Usage:
{{ include "ftgo.labels" (dict "part" "consumer" "context" $) | nindent 4 }}
*/}}
{{- define "ftgo.labels" -}}
{{ include "ftgo.selectorLabels" . }}
app.kubernetes.io/part-of: ftgo
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .context.Chart.Name .context.Chart.Version }}
{{- end -}}

{{/*
The FTGO services: part name -> values key, folder under examples/ftgo (the image's name), and whether it
has a database (every service but the gateway).
Usage:
{{- $services := include "ftgo.services" . | fromYaml }}
*/}}
{{- define "ftgo.services" -}}
consumer: { key: consumer, dir: consumer-service, database: true }
order: { key: order, dir: order-service, database: true }
kitchen: { key: kitchen, dir: kitchen-service, database: true }
restaurant: { key: restaurant, dir: restaurant-service, database: true }
accounting: { key: accounting, dir: accounting-service, database: true }
order-history: { key: orderHistory, dir: order-history-service, database: true }
delivery: { key: delivery, dir: delivery-service, database: true }
api-gateway: { key: apiGateway, dir: api-gateway, database: false }
{{- end -}}

{{/*
The image of an FTGO service: its own tag, else imageTag, else the chart's appVersion.
Usage:
{{ include "ftgo.serviceImage" (dict "image" .Values.consumer.image "context" $) }}
*/}}
{{- define "ftgo.serviceImage" -}}
{{- $image := deepCopy .image -}}
{{- $_ := set $image "tag" (.image.tag | default .context.Values.imageTag | default .context.Chart.AppVersion) -}}
{{- include "podkit.image" (dict "image" $image "context" .context) -}}
{{- end -}}

{{/*
The image of MariaDB or RabbitMQ: [registry/]repository:tag.
Usage:
{{ include "ftgo.storeImage" .Values.mariadb.image }}
*/}}
{{- define "ftgo.storeImage" -}}
{{- if .registry -}}{{ .registry }}/{{- end -}}{{ .repository }}:{{ .tag }}
{{- end -}}

{{/*
The Secrets the chart reads: an existing one named in values, else the one the chart generates.
Usage:
{{ include "ftgo.secretName" (dict "existing" .Values.mariadb.auth.existingSecret "suffix" "mariadb" "context" $) }}
*/}}
{{- define "ftgo.secretName" -}}
{{- .existing | default (printf "%s-%s" (include "ftgo.fullname" .context) .suffix) -}}
{{- end -}}

{{/* Usage: {{ include "ftgo.mariadbHost" . }} */}}
{{- define "ftgo.mariadbHost" -}}
{{- printf "%s-mariadb" (include "ftgo.fullname" .) -}}
{{- end -}}

{{/* Usage: {{ include "ftgo.rabbitmqHost" . }} */}}
{{- define "ftgo.rabbitmqHost" -}}
{{- printf "%s-rabbitmq" (include "ftgo.fullname" .) -}}
{{- end -}}

{{/*
Every podkit block as the pods get it: component name -> values block, with the options the chart
derives from the release (MariaDB's address, the gateway's upstream, the canary) where values leave them
unset. All go into one ConfigMap; each pod takes the components it runs.
Usage:
{{- $components := include "ftgo.components" . | fromYaml }}
*/}}
{{- define "ftgo.components" -}}
{{- $fullname := include "ftgo.fullname" . -}}
{{- $broker := deepCopy .Values.mysqlBroker -}}
{{- $_ := set $broker "options" (merge (deepCopy $broker.options) (dict "backends" (printf "%s:3306" (include "ftgo.mariadbHost" .)))) -}}
{{- $tls := deepCopy .Values.tlsProxy -}}
{{- $_ := set $tls "options" (merge (deepCopy $tls.options) (dict "upstream" (printf "http://127.0.0.1:%v" .Values.apiGateway.port))) -}}
{{- $split := deepCopy .Values.trafficSplit -}}
{{- $canary := .Values.order.canary -}}
{{- $order := printf "http://%s-order:%v" $fullname .Values.order.port -}}
{{- $v2 := printf "http://%s-order-v2:%v" $fullname .Values.order.port -}}
{{- $derived := dict "primary" $order -}}
{{- if eq $canary.mode "split" -}}
{{- $_ := set $derived "variant" (printf "v2=%s:%v" $v2 $canary.weight) -}}
{{- else if eq $canary.mode "mirror" -}}
{{- /* order-v2 shares Order's database and broker: a copied POST would place a second order, so only
requests without a body (the reads) are copied; the writes are counted as too_large. */ -}}
{{- $_ := set $derived "mirror" $v2 -}}
{{- $_ := set $derived "mirrorMaxBody" "0" -}}
{{- end -}}
{{- $_ := set $split "options" (merge (deepCopy $split.options) $derived) -}}
{{- $health := deepCopy .Values.dbHealth -}}
{{- $_ := set $health "options" (merge (deepCopy $health.options) (dict "mysqlUrl" "mysql://podkit-health@127.0.0.1:3306/")) -}}
mysql-broker: {{ toJson $broker }}
metrics-exporter: {{ toJson .Values.metricsExporter }}
log-normalizer: {{ toJson .Values.logNormalizer }}
tls-proxy: {{ toJson $tls }}
traffic-split: {{ toJson $split }}
db-health: {{ toJson $health }}
{{- end -}}

{{/*
The components of one pod (names), those enabled among: mysql-broker for a service with a database,
metrics-exporter and log-normalizer for every service, tls-proxy and traffic-split for the gateway.
Usage:
{{- $names := include "ftgo.podComponents" (dict "part" "consumer" "database" true "context" $) | fromYamlArray }}
*/}}
{{- define "ftgo.podComponents" -}}
{{- $v := .context.Values -}}
{{- $names := list -}}
{{- if and .database $v.mysqlBroker.enabled }}{{ $names = append $names "mysql-broker" }}{{ end -}}
{{- if $v.metricsExporter.enabled }}{{ $names = append $names "metrics-exporter" }}{{ end -}}
{{- if $v.logNormalizer.enabled }}{{ $names = append $names "log-normalizer" }}{{ end -}}
{{- if eq .part "api-gateway" -}}
{{- if $v.tlsProxy.enabled }}{{ $names = append $names "tls-proxy" }}{{ end -}}
{{- if $v.trafficSplit.enabled }}{{ $names = append $names "traffic-split" }}{{ end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}

{{/*
The metrics-exporter mapping of a service's /readyz ({"status":"UP"|"DOWN"}, 503 when down).
Usage:
{{ include "ftgo.readyMapping" . | nindent 4 }}
*/}}
{{- define "ftgo.readyMapping" -}}
modules:
  default:
    valid_status_codes: [200, 503]
    metrics:
      - name: ftgo_service_ready
        path: "{.status}"
        valuetype: gauge
        help: 1 when the service's MySQL and RabbitMQ answer (its /readyz), else 0.
        valueconverter:
          "{.status}": { UP: 1, DOWN: 0 }
{{- end -}}

{{/*
The shape of values.yaml: key -> nested shape, or 1 for a value taken as it is (a leaf or a free-form
map). ftgo.checkShape fails the render on any key not in it; test/charts/ftgo.test.ts keeps it equal to
values.yaml. helm hides the chart's own values.yaml from templates, hence the copy.
*/}}
{{- define "ftgo.valuesShape" -}}
{{- $image := dict "registry" 1 "repository" 1 "tag" 1 "pullPolicy" 1 -}}
{{- $service := dict "replicaCount" 1 "image" $image "port" 1 "extraEnvVars" 1 "resources" 1 -}}
{{- $podkitImage := merge (dict "digest" 1) $image -}}
{{- $podkit := dict "enabled" 1 "image" $podkitImage "adminPort" 1 "options" 1 "secrets" 1 "args" 1 "extraEnvVars" 1 "resources" 1 "containerSecurityContext" 1 -}}
{{- $security := dict "runAsNonRoot" 1 "runAsUser" 1 "runAsGroup" 1 "readOnlyRootFilesystem" 1 "allowPrivilegeEscalation" 1 "capabilities" (dict "drop" 1) "seccompProfile" (dict "type" 1) -}}
{{- $persistence := dict "enabled" 1 "size" 1 "storageClass" 1 -}}
{{- $shape := dict
  "nameOverride" 1 "imageTag" 1 "logLevel" 1 "outboxPollMs" 1
  "podSecurityContext" (dict "runAsNonRoot" 1 "fsGroup" 1 "seccompProfile" (dict "type" 1))
  "containerSecurityContext" $security
  "logs" (dict "sizeLimit" 1)
  "consumer" $service "kitchen" $service "restaurant" $service "accounting" $service
  "orderHistory" $service "delivery" $service
  "order" (merge (dict "canary" (dict "mode" 1 "weight" 1 "replicaCount" 1 "tag" 1)) (deepCopy $service))
  "apiGateway" (merge (dict
      "service" (dict "type" 1 "port" 1 "nodePort" 1)
      "tls" (dict "existingSecret" 1)
      "jwt" (dict "enabled" 1 "existingSecret" 1 "key" 1)) (deepCopy $service))
  "mariadb" (dict "image" $image "persistence" $persistence "resources" 1 "containerSecurityContext" $security
      "auth" (dict "username" 1 "existingSecret" 1 "passwordKey" 1 "rootPasswordKey" 1))
  "rabbitmq" (dict "image" $image "persistence" $persistence "resources" 1 "containerSecurityContext" $security
      "auth" (dict "username" 1 "existingSecret" 1 "passwordKey" 1 "urlKey" 1))
  "mysqlBroker" $podkit "metricsExporter" $podkit "logNormalizer" $podkit
  "tlsProxy" (merge (dict "port" 1) (deepCopy $podkit)) "trafficSplit" $podkit "dbHealth" $podkit
-}}
{{- toJson $shape -}}
{{- end -}}

{{/*
Fails the render on a values key the shape does not have, naming its path (`order.canary.mdoe`), so a
typo stops `helm install` instead of being ignored. helm's `global` and the library's `podkit` pass.
Usage:
{{- include "ftgo.checkShape" (dict "values" .Values "shape" $shape "path" "") }}
*/}}
{{- define "ftgo.checkShape" -}}
{{- $shape := .shape -}}
{{- $path := .path -}}
{{- range $key, $value := .values -}}
{{- $here := ternary $key (printf "%s.%s" $path $key) (eq $path "") -}}
{{- if and (eq $path "") (has $key (list "global" "podkit")) -}}
{{- else if not (hasKey $shape $key) -}}
{{- fail (printf "values: unknown key %q (known here: %s)" $here (join ", " (keys $shape | sortAlpha))) -}}
{{- else if and (kindIs "map" (get $shape $key)) (kindIs "map" $value) -}}
{{- include "ftgo.checkShape" (dict "values" $value "shape" (get $shape $key) "path" $here) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
Every check of the values, once per render: the shape, each podkit block through the library, the
canary mode, and the Kubernetes API (no component of this chart may call it: its pods get no token).
Usage:
{{- include "ftgo.checkValues" . }}
*/}}
{{- define "ftgo.checkValues" -}}
{{- include "ftgo.checkShape" (dict "values" .Values "shape" (include "ftgo.valuesShape" . | fromJson) "path" "") -}}
{{- $components := include "ftgo.components" . | fromYaml -}}
{{- range $name, $block := $components -}}
{{- include "podkit.checkValues" (dict "component" $name "values" $block "chartKeys" (list "port")) -}}
{{- end -}}
{{- if not (has .Values.order.canary.mode (list "split" "mirror" "off")) -}}
{{- fail (printf "order.canary.mode: %q is not split, mirror or off" .Values.order.canary.mode) -}}
{{- end -}}
{{- if and (ne .Values.order.canary.mode "off") (not .Values.trafficSplit.enabled) -}}
{{- fail (printf "order.canary.mode %s needs trafficSplit.enabled: traffic-split sends order-v2 its share" .Values.order.canary.mode) -}}
{{- end -}}
{{- if eq (include "podkit.kubeApi.any" (dict "components" $components)) "true" -}}
{{- fail "mysql-broker discovery kubernetes is not supported by this chart: its pods get no Kubernetes API token; MariaDB is its Service (options.backends)" -}}
{{- end -}}
{{- end -}}

{{/*
The services' plain settings (the env ConfigMap): no secret goes here, they come from Secrets through
valueFrom. MySQL is mysql-broker on the pod's 127.0.0.1:3306, or MariaDB's Service without it; the
gateway reaches Order through traffic-split in its pod, the others through their Services.
Usage:
data: {{- include "ftgo.envData" . | nindent 2 }}
*/}}
{{- define "ftgo.envData" -}}
{{- $fullname := include "ftgo.fullname" . -}}
LOG_LEVEL: {{ .Values.logLevel | quote }}
OUTBOX_POLL_MS: {{ .Values.outboxPollMs | quote }}
{{- if .Values.mysqlBroker.enabled }}
MYSQL_HOST: "127.0.0.1"
{{- else }}
MYSQL_HOST: {{ include "ftgo.mariadbHost" . | quote }}
{{- end }}
MYSQL_PORT: "3306"
MYSQL_USER: {{ .Values.mariadb.auth.username | quote }}
{{- range $part, $s := include "ftgo.services" . | fromYaml }}
{{- if and (ne $part "api-gateway") (ne $part "restaurant") }}
{{- $url := printf "http://%s-%s:%v" $fullname $part (index $.Values $s.key).port }}
{{- if and (eq $part "order") $.Values.trafficSplit.enabled }}
{{- $url = printf "http://%s" $.Values.trafficSplit.options.listen }}
{{- end }}
{{ $part | replace "-" "_" | upper }}_SERVICE_URL: {{ $url | quote }}
{{- end }}
{{- end }}
{{- end -}}
