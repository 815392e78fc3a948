{{/*
The Role rules config-sync needs: get/list/watch on ConfigMaps, and on Secrets when its options set
includeSecrets (sidecars/config-sync/README.md). The Role is namespaced: one namespace only.
Usage:
{{ include "podkit.rbac.configSyncRules" .Values.configSync | nindent 2 }}
*/}}
{{- define "podkit.rbac.configSyncRules" -}}
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch"]
{{- if (.options | default dict).includeSecrets }}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
{{- end }}
{{- end -}}

{{/*
The Role rules mysql-broker needs (ambassadors/mysql-broker/README.md): EndpointSlices always; the
create rights only when its options set provision.
Usage:
{{ include "podkit.rbac.mysqlBrokerRules" .Values.mysqlBroker | nindent 2 }}
*/}}
{{- define "podkit.rbac.mysqlBrokerRules" -}}
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["get", "list", "watch"]
{{- if (.options | default dict).provision }}
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "create"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["create"]
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create"]
{{- end }}
{{- end -}}

{{/*
A Role and its RoleBinding to a ServiceAccount, from rules.
Usage:
{{ include "podkit.rbac.role" (dict "name" "app-config-sync" "rules" $rules "serviceAccount" "app" "context" $) }}
*/}}
{{- define "podkit.rbac.role" -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .name }}
  namespace: {{ .context.Release.Namespace | quote }}
rules:
{{- .rules | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .name }}
  namespace: {{ .context.Release.Namespace | quote }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ .name }}
subjects:
  - kind: ServiceAccount
    name: {{ .serviceAccount }}
    namespace: {{ .context.Release.Namespace | quote }}
{{- end -}}
