{{/*
Names and labels.
*/}}
{{- define "peat-node.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "peat-node.fullname" -}}
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

{{- define "peat-node.selectorLabels" -}}
app.kubernetes.io/name: {{ include "peat-node.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "peat-node.labels" -}}
{{ include "peat-node.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "peat-node.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion (toString .Values.image.tag)) -}}
{{- end -}}

{{- define "peat-node.serviceAccountName" -}}
{{- if .Values.discovery.enabled -}}{{ include "peat-node.fullname" . }}{{- else -}}default{{- end -}}
{{- end -}}

{{/*
The API listener's kind: "tcp" (reachable from outside the pod), "loopback" (TCP on 127.0.0.0/8,
localhost or [::1]) or "unix". Anything else fails the render.
*/}}
{{- define "peat-node.apiKind" -}}
{{- $l := toString .Values.listen -}}
{{- if contains "," $l -}}
{{- fail (printf "listen: one address only (got %q); the chart derives probes and Services from it" $l) -}}
{{- else if hasPrefix "unix:///" $l -}}
unix
{{- else if hasPrefix "unix://" $l -}}
{{- fail (printf "listen: unix socket path must be absolute (unix:///abs/path), got %q" $l) -}}
{{- else -}}
{{- $hp := trimPrefix "tcp://" $l -}}
{{- if not (regexMatch "^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9_.-]*):[0-9]+$" $hp) -}}
{{- fail (printf "listen: expected tcp://HOST:PORT or unix:///abs/path, got %q" $l) -}}
{{- end -}}
{{- $host := regexReplaceAll ":[0-9]+$" $hp "" -}}
{{- if or (hasPrefix "127." $host) (eq $host "localhost") (eq $host "[::1]") -}}
loopback
{{- else -}}
tcp
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "peat-node.apiPort" -}}
{{- regexFind "[0-9]+$" (toString .Values.listen) -}}
{{- end -}}

{{/* "true" when a shared key (literal or Secret) is configured. */}}
{{- define "peat-node.keyed" -}}
{{- if or .Values.sharedKeySecret.name .Values.sharedKey -}}true{{- end -}}
{{- end -}}

{{/* "true" when the mesh listens on 0.0.0.0 (other pods and hosts can reach it). */}}
{{- define "peat-node.meshReachable" -}}
{{- if or (include "peat-node.keyed" .) .Values.mesh.allowKeyless -}}true{{- end -}}
{{- end -}}

{{- define "peat-node.meshPort" -}}
{{- if gt (int64 .Values.irohUdpPort) 0 -}}{{ int64 .Values.irohUdpPort }}{{- else -}}{{ int64 .Values.mesh.port }}{{- end -}}
{{- end -}}

{{/* Name of the Secret the chart renders for literal keys (development only). */}}
{{- define "peat-node.keysSecretName" -}}
{{- printf "%s-keys" (include "peat-node.fullname" .) -}}
{{- end -}}

{{/* A key variable by secretKeyRef: the referenced Secret wins, else the chart's own Secret. */}}
{{- define "peat-node.keyEnv" -}}
{{- $ref := .ref -}}
{{- if and $ref.name $ref.key }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name | quote }}
      key: {{ $ref.key | quote }}
{{- else if $ref.name }}
{{- fail (printf "%s.name is set without %s.key" .field .field) }}
{{- else if .literal }}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ include "peat-node.keysSecretName" .ctx | quote }}
      key: {{ .secretKey | quote }}
{{- end }}
{{- end -}}

{{- define "peat-node.probeAction" -}}
{{- $kind := include "peat-node.apiKind" .ctx -}}
{{- if eq $kind "tcp" }}
httpGet:
  path: {{ .path }}
  port: grpc
{{- else }}
exec:
  command: ["/usr/bin/peat-node", "healthcheck", "--path", {{ .path | quote }}]
{{- end }}
{{- end -}}

{{- define "peat-node.probe" -}}
{{- include "peat-node.probeAction" . | trim }}
periodSeconds: {{ .p.periodSeconds | int64 }}
failureThreshold: {{ .p.failureThreshold | int64 }}
timeoutSeconds: {{ .p.timeoutSeconds | int64 }}
{{- end -}}

{{/*
The peat-node container. Shared by the Deployment and the injection helpers; called with
(dict "ctx" $ "native" bool).
*/}}
{{- define "peat-node.containerBody" -}}
{{- $ := .ctx -}}
{{- $v := $.Values -}}
{{- $kind := include "peat-node.apiKind" $ -}}
{{- $meshPort := include "peat-node.meshPort" $ -}}
{{- if and $v.agentTls.enabled (not $v.agentTls.secretName) -}}
{{- fail "agentTls.enabled is true but agentTls.secretName is empty: the certificate variables would point at files that are never mounted (set agentTls.secretName to a Secret with tls.crt, tls.key, ca.crt)" -}}
{{- end -}}
{{- if and $v.agentTls.enabled (not $v.agentAddr) -}}
{{- fail "agentTls.enabled needs agentAddr: TLS options without an agent stop the node at startup" -}}
{{- end -}}
{{- if and $v.attachment.inbox (not $v.attachment.extraVolumeMounts) -}}
{{- fail "attachment.inbox is set but attachment.extraVolumeMounts is empty: mount a volume at the inbox path (the root filesystem is read-only and deliveries must outlive the pod)" -}}
{{- end -}}
{{- if lt (int64 $v.terminationGracePeriodSeconds) (int64 $v.shutdownGraceSecs) -}}
{{- fail "terminationGracePeriodSeconds must be at least shutdownGraceSecs (the kubelet would kill the node mid-drain)" -}}
{{- end -}}
- name: peat-node
  image: {{ include "peat-node.image" $ | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  {{- if .native }}
  # Kubernetes >= 1.29 native sidecar: starts before the app containers (they wait for the
  # startupProbe) and stops after them.
  restartPolicy: Always
  {{- end }}
  # Replaces the image's CMD (its --listen would beat PEAT_NODE_LISTEN: flags win over env).
  args:
    - --data-dir=/data/peat-node
    {{- range $v.extraArgs }}
    - {{ . | quote }}
    {{- end }}
  env:
    - name: PEAT_NODE_LISTEN
      value: {{ $v.listen | quote }}
    {{- if eq $kind "unix" }}
    - name: PEAT_NODE_UNIX_SOCKET_MODE
      value: {{ $v.unixSocketMode | quote }}
    {{- end }}
    {{- with $v.nodeId }}
    - name: PEAT_NODE_NODE_ID
      value: {{ . | quote }}
    {{- end }}
    - name: PEAT_NODE_APP_ID
      value: {{ $v.appId | quote }}
    {{- with (include "peat-node.keyEnv" (dict "ctx" $ "env" "PEAT_NODE_SHARED_KEY" "ref" $v.sharedKeySecret "literal" $v.sharedKey "secretKey" "shared-key" "field" "sharedKeySecret") | trim) }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- with (include "peat-node.keyEnv" (dict "ctx" $ "env" "PEAT_NODE_ENCRYPTION_KEY" "ref" $v.encryptionKeySecret "literal" $v.encryptionKey "secretKey" "encryption-key" "field" "encryptionKeySecret") | trim) }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- with $v.peers }}
    - name: PEAT_NODE_PEERS
      value: {{ join "," . | quote }}
    {{- end }}
    - name: PEAT_NODE_AUTO_SYNC
      value: {{ ternary "true" "false" (eq (toString $v.autoSync) "true") | quote }}
    - name: PEAT_NODE_MESH_LISTEN
      value: {{ printf "tcp://%s:%s" (ternary "0.0.0.0" "127.0.0.1" (eq (include "peat-node.meshReachable" $) "true")) $meshPort | quote }}
    {{- if $v.mesh.allowKeyless }}
    - name: PEAT_NODE_ALLOW_KEYLESS_MESH
      value: "true"
    {{- end }}
    - name: PEAT_NODE_DISABLE_MDNS
      value: {{ ternary "true" "false" (eq (toString $v.disableMdns) "true") | quote }}
    {{- with $v.collectionPriorities }}
    - name: PEAT_NODE_COLLECTION_PRIORITIES
      value: {{ $first := true }}"{{ range $c, $p := . }}{{ if not $first }},{{ end }}{{ $c }}={{ $p }}{{ $first = false }}{{ end }}"
    {{- end }}
    {{- range $key, $envName := dict "rpcDefaultTimeoutSecs" "RPC_DEFAULT_TIMEOUT_SECS" "rpcMaxTimeoutSecs" "RPC_MAX_TIMEOUT_SECS" "httpHeaderReadTimeoutSecs" "HTTP_HEADER_READ_TIMEOUT_SECS" "httpMaxConnectionIdleSecs" "HTTP_MAX_CONNECTION_IDLE_SECS" "http2KeepaliveIntervalSecs" "HTTP2_KEEPALIVE_INTERVAL_SECS" "http2KeepaliveTimeoutSecs" "HTTP2_KEEPALIVE_TIMEOUT_SECS" "http2MaxConcurrentStreams" "HTTP2_MAX_CONCURRENT_STREAMS" "maxMessageBytes" "MAX_MESSAGE_BYTES" "maxConnections" "MAX_CONNECTIONS" "ioThreads" "IO_THREADS" }}
    {{- $n := index $v.server $key | default 0 | int64 }}
    {{- if gt $n 0 }}
    - name: PEAT_NODE_{{ $envName }}
      value: {{ $n | quote }}
    {{- end }}
    {{- end }}
    {{- if $v.agentAddr }}
    - name: PEAT_NODE_AGENT_ADDR
      value: {{ $v.agentAddr | quote }}
    - name: PEAT_NODE_AGENT_POLL_INTERVAL
      value: {{ $v.agentPollInterval | int64 | quote }}
    {{- if $v.agentTls.enabled }}
    - name: PEAT_NODE_AGENT_TLS_CERT
      value: /etc/peat-node/agent-tls/tls.crt
    - name: PEAT_NODE_AGENT_TLS_KEY
      value: /etc/peat-node/agent-tls/tls.key
    - name: PEAT_NODE_AGENT_TLS_CA
      value: /etc/peat-node/agent-tls/ca.crt
    {{- end }}
    {{- end }}
    {{- with $v.attachment.roots }}
    - name: PEAT_NODE_ATTACHMENT_ROOTS
      value: {{ $first := true }}"{{ range $name, $path := . }}{{ if not $first }},{{ end }}{{ $name }}={{ $path }}{{ $first = false }}{{ end }}"
    - name: PEAT_NODE_ATTACHMENT_MAX_FILE_BYTES
      value: {{ $v.attachment.maxFileBytes | int64 | quote }}
    - name: PEAT_NODE_ATTACHMENT_MAX_BUNDLE_BYTES
      value: {{ $v.attachment.maxBundleBytes | int64 | quote }}
    - name: PEAT_NODE_ATTACHMENT_MAX_FILES_PER_BUNDLE
      value: {{ $v.attachment.maxFilesPerBundle | int64 | quote }}
    - name: PEAT_NODE_ATTACHMENT_MAX_NODE_LIST_LEN
      value: {{ $v.attachment.maxNodeListLen | int64 | quote }}
    - name: PEAT_NODE_ATTACHMENT_MAX_CONCURRENT_DISTRIBUTIONS
      value: {{ $v.attachment.maxConcurrentDistributions | int64 | quote }}
    - name: PEAT_NODE_ATTACHMENT_QUEUE_WHEN_FULL
      value: {{ ternary "true" "false" (eq (toString $v.attachment.queueWhenFull) "true") | quote }}
    - name: PEAT_NODE_ATTACHMENT_DEFAULT_PRIORITY
      value: {{ $v.attachment.defaultPriority | quote }}
    - name: PEAT_NODE_ATTACHMENT_DISCOVERY_GRACE_SECS
      value: {{ $v.attachment.discoveryGraceSecs | int64 | quote }}
    {{- if $v.attachment.outboxWatch }}
    - name: PEAT_NODE_ATTACHMENT_OUTBOX_WATCH
      value: "true"
    {{- end }}
    {{- end }}
    {{- if or $v.attachment.roots $v.attachment.inbox }}
    - name: PEAT_NODE_ATTACHMENT_HANDLE_RETENTION_SECS
      value: {{ $v.attachment.handleRetentionSecs | int64 | quote }}
    - name: PEAT_NODE_ATTACHMENT_MAX_KNOWN_BUNDLES
      value: {{ $v.attachment.maxKnownBundles | int64 | quote }}
    {{- end }}
    {{- with $v.attachment.inbox }}
    - name: PEAT_NODE_ATTACHMENT_INBOX
      value: {{ . | quote }}
    - name: PEAT_NODE_ATTACHMENT_INBOX_POLL_SECS
      value: {{ $v.attachment.inboxPollSecs | int64 | quote }}
    {{- end }}
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    {{- if $v.discovery.enabled }}
    - name: PEAT_NODE_ENABLE_KUBERNETES_DISCOVERY
      value: "true"
    - name: PEAT_NODE_DISCOVERY_NAMESPACE
      value: {{ default $.Release.Namespace $v.discovery.namespace | quote }}
    - name: PEAT_NODE_DISCOVERY_LABEL_SELECTOR
      value: {{ $v.discovery.labelSelector | quote }}
    - name: PEAT_NODE_DISCOVERY_ANNOTATION_PREFIX
      value: {{ $v.discovery.annotationPrefix | quote }}
    - name: PEAT_NODE_DISCOVERY_INTERVAL_SECS
      value: {{ $v.discovery.intervalSecs | int64 | quote }}
    {{- end }}
    - name: PEAT_NODE_SHUTDOWN_GRACE_SECS
      value: {{ $v.shutdownGraceSecs | int64 | quote }}
    - name: PEAT_NODE_LOG_FORMAT
      value: {{ $v.logFormat | quote }}
    {{- if $v.verbose }}
    - name: PEAT_NODE_LOG_LEVEL
      value: debug
    {{- end }}
    {{- with $v.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if or (eq $kind "tcp") (include "peat-node.meshReachable" $) }}
  ports:
    {{- if eq $kind "tcp" }}
    - name: grpc
      containerPort: {{ include "peat-node.apiPort" $ | int64 }}
      protocol: TCP
    {{- end }}
    {{- if include "peat-node.meshReachable" $ }}
    - name: mesh
      containerPort: {{ $meshPort | int64 }}
      protocol: TCP
      {{- if or $v.mesh.hostPort $v.irohUdpHostPort }}
      hostPort: {{ $meshPort | int64 }}
      {{- end }}
    {{- end }}
  {{- end }}
  {{- with $v.probes }}
  {{- if .startup.enabled }}
  startupProbe:
    {{- include "peat-node.probe" (dict "ctx" $ "path" "/readyz" "p" .startup) | nindent 4 }}
  {{- end }}
  {{- if .readiness.enabled }}
  readinessProbe:
    {{- include "peat-node.probe" (dict "ctx" $ "path" "/readyz" "p" .readiness) | nindent 4 }}
  {{- end }}
  {{- if .liveness.enabled }}
  livenessProbe:
    {{- include "peat-node.probe" (dict "ctx" $ "path" "/livez" "p" .liveness) | nindent 4 }}
  {{- end }}
  {{- end }}
  resources:
    {{- toYaml $v.resources | nindent 4 }}
  securityContext:
    {{- toYaml $v.securityContext | nindent 4 }}
  volumeMounts:
    - name: peat-node-data
      mountPath: /data/peat-node
    {{- if eq $kind "unix" }}
    - name: peat-node-socket
      mountPath: {{ dir (trimPrefix "unix://" $v.listen) | quote }}
    {{- end }}
    {{- if $v.agentTls.enabled }}
    - name: peat-node-agent-tls
      mountPath: /etc/peat-node/agent-tls
      readOnly: true
    {{- end }}
    {{- with $v.attachment.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}

{{/*
Mode 2, injected sidecar: the peat-node container, for a parent pod's `containers`.
  containers:
    - name: my-app
      ...
    {{- include "peat-node.container" (index .Subcharts "peat-node") | nindent 4 }}
  volumes:
    {{- include "peat-node.volumes" (index .Subcharts "peat-node") | nindent 4 }}
A unix:// listen shares its socket through the volume "peat-node-socket": mount it in the app
container too (and run the app with the pod's fsGroup, 65532, to pass the 0660 socket mode).
*/}}
{{- define "peat-node.container" -}}
{{- include "peat-node.containerBody" (dict "ctx" . "native" false) -}}
{{- end -}}

{{/*
Mode 3, Kubernetes native sidecar (needs Kubernetes >= 1.29): the same container with
restartPolicy: Always, for a parent pod's `initContainers`. It starts before the app containers
(they start once its startupProbe passes) and stops after them.
  initContainers:
    {{- include "peat-node.sidecar" (index .Subcharts "peat-node") | nindent 4 }}
*/}}
{{- define "peat-node.sidecar" -}}
{{- if semverCompare "<1.29.0-0" .Capabilities.KubeVersion.Version -}}
{{- fail (printf "peat-node.sidecar: native sidecars (initContainers with restartPolicy: Always) need Kubernetes >= 1.29, this is %s; use peat-node.container in containers instead" .Capabilities.KubeVersion.Version) -}}
{{- end -}}
{{- include "peat-node.containerBody" (dict "ctx" . "native" true) -}}
{{- end -}}

{{/* The volumes the container mounts, for the pod's `volumes`. */}}
{{- define "peat-node.volumes" -}}
{{- $v := .Values -}}
- name: peat-node-data
  {{- if $v.persistence.existingClaim }}
  persistentVolumeClaim:
    claimName: {{ $v.persistence.existingClaim | quote }}
  {{- else if $v.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ printf "%s-data" (include "peat-node.fullname" .) | quote }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- if eq (include "peat-node.apiKind" .) "unix" }}
- name: peat-node-socket
  emptyDir: {}
{{- end }}
{{- if $v.agentTls.enabled }}
- name: peat-node-agent-tls
  secret:
    secretName: {{ $v.agentTls.secretName | quote }}
    defaultMode: 288  # 0440: owner and the pod's fsGroup
{{- end }}
{{- with $v.attachment.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod-level settings a parent pod should copy (standalone uses them as is). */}}
{{- define "peat-node.podSecurityContext" -}}
{{- toYaml .Values.podSecurityContext -}}
{{- end -}}
