{{- define "serin.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "serin.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "serin.selectorLabels" -}}
app.kubernetes.io/name: {{ include "serin.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "serin.labels" -}}
{{ include "serin.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "serin.adminTokenSecret" -}}
{{- default (printf "%s-admin-token" (include "serin.fullname" .)) .Values.adminToken.existingSecret -}}
{{- end -}}

{{- define "serin.webhookSecret" -}}
{{- default (printf "%s-webhook-tls" (include "serin.fullname" .)) .Values.webhook.secretName -}}
{{- end -}}

{{/* The rules serin needs wherever it watches (least privilege: read the
five kinds and the endpoint sources; write only status subresources). */}}
{{- define "serin.watchRules" -}}
- apiGroups: ["serin.dev"]
  resources: [upstreams, upstreamgroups, virtualservices, gateways, canaries]
  verbs: [get, list, watch]
- apiGroups: ["serin.dev"]
  resources: [upstreams/status, upstreamgroups/status, virtualservices/status, gateways/status, canaries/status]
  verbs: [get, update, patch]
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch]
# Pod labels, for kube upstreams with a selector over them: EndpointSlices
# name an endpoint's pod but do not carry its labels. A metadata-only
# informer lists and watches; nothing gets a pod by name.
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch]
- apiGroups: ["discovery.k8s.io"]
  resources: [endpointslices]
  verbs: [get, list, watch]
{{- end -}}
