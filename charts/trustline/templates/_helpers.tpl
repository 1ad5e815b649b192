{{- define "trustline.fullname" -}}
{{- default (printf "%s-trustline" .Release.Name | trunc 63 | trimSuffix "-") .Values.fullnameOverride -}}
{{- end -}}

{{- define "trustline.serviceAccountName" -}}
{{- default (include "trustline.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}
