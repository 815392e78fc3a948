{{/*
The environment variable an option is read from: `upstreamTimeout` (or `upstream-timeout`) of tls-proxy
becomes PODKIT_TLS_PROXY_UPSTREAM_TIMEOUT, as lib/option-names.ts names it. Any option key works, so a
component's new options need no change here.
Usage:
{{ include "podkit.envName" (dict "component" "tls-proxy" "option" "upstreamTimeout") }}
*/}}
{{- define "podkit.envName" -}}
{{- $option := regexReplaceAll "([a-z0-9])([A-Z])" .option "${1}_${2}" | replace "-" "_" | upper -}}
{{- printf "PODKIT_%s_%s" (.component | replace "-" "_" | upper) $option -}}
{{- end -}}

{{/*
The name of the ConfigMap holding a release's PODKIT_* keys.
Usage:
{{ include "podkit.configMapName" . }}
*/}}
{{- define "podkit.configMapName" -}}
{{- printf "%s-podkit" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
A component's image reference: registry/repository, then @digest when set, else :tag (default: the
chart's appVersion).
Usage:
{{ include "podkit.image" (dict "image" .Values.tlsProxy.image "context" $) }}
*/}}
{{- define "podkit.image" -}}
{{- $repo := .image.repository -}}
{{- if .image.registry -}}{{- $repo = printf "%s/%s" .image.registry .image.repository -}}{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repo .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (.image.tag | default .context.Chart.AppVersion | toString) -}}
{{- end -}}
{{- end -}}
