{{/* The release's name when it already says trustline (`helm install trustline`), else <release>-trustline. */}}
{{- define "trustline.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains "trustline" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-trustline" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "trustline.serviceAccountName" -}}
{{- default (include "trustline.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}
