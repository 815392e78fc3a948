{{/*
The data of the ConfigMap every podkit container loads with envFrom: each enabled component's
`options` (free-form: option key -> value) as its PODKIT_<COMPONENT>_<OPTION> keys.
`components` maps component name (tls-proxy) -> values block ({enabled, options, ...}).
Usage:
{{ include "podkit.configData" (dict "components" (dict "tls-proxy" .Values.tlsProxy)) }}
*/}}
{{- define "podkit.configData" -}}
{{- range $component, $block := .components }}
{{- if $block.enabled }}
{{- range $option, $value := $block.options }}
{{ include "podkit.envName" (dict "component" $component "option" $option) }}: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
The ConfigMap of PODKIT_* keys.
Usage:
{{ include "podkit.configMap" (dict "components" $components "context" $) }}
*/}}
{{- define "podkit.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "podkit.configMapName" .context }}
  namespace: {{ .context.Release.Namespace | quote }}
  labels:
    app.kubernetes.io/instance: {{ .context.Release.Name | quote }}
    app.kubernetes.io/managed-by: {{ .context.Release.Service | quote }}
data:
{{- include "podkit.configData" (dict "components" .components) | indent 2 }}
{{- end -}}

{{/*
The pod annotation that rolls the pod when the PODKIT_* keys change.
Usage:
{{ include "podkit.checksumAnnotation" (dict "components" $components) }}
*/}}
{{- define "podkit.checksumAnnotation" -}}
checksum/config: {{ include "podkit.configData" . | sha256sum }}
{{- end -}}
