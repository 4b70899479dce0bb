module gitops-base.local/e2e/tools/node-driver-registrar

go 1.26.0

tool github.com/kubernetes-csi/node-driver-registrar/cmd/csi-node-driver-registrar

// Not served by the module proxy: build-addon-tools.sh puts the pinned tree
// (tests/e2e/node/addon-sources.txt) under ./src of the build directory. The k8s.io replaces
// are upstream's own (its go.mod pins the Kubernetes staging modules this way).
replace github.com/kubernetes-csi/node-driver-registrar => ./src/node-driver-registrar-v2.16.0

replace k8s.io/api => k8s.io/api v0.35.0

replace k8s.io/apimachinery => k8s.io/apimachinery v0.35.0

replace k8s.io/apiserver => k8s.io/apiserver v0.35.0

replace k8s.io/client-go => k8s.io/client-go v0.35.0

replace k8s.io/component-base => k8s.io/component-base v0.35.0

replace k8s.io/cri-api => k8s.io/cri-api v0.35.0

replace k8s.io/kubelet => k8s.io/kubelet v0.35.0

replace k8s.io/apiextensions-apiserver => k8s.io/apiextensions-apiserver v0.35.0

replace k8s.io/cli-runtime => k8s.io/cli-runtime v0.35.0

replace k8s.io/cloud-provider => k8s.io/cloud-provider v0.35.0

replace k8s.io/cluster-bootstrap => k8s.io/cluster-bootstrap v0.35.0

replace k8s.io/code-generator => k8s.io/code-generator v0.35.0

replace k8s.io/component-helpers => k8s.io/component-helpers v0.35.0

replace k8s.io/controller-manager => k8s.io/controller-manager v0.35.0

replace k8s.io/cri-client => k8s.io/cri-client v0.35.0

replace k8s.io/csi-translation-lib => k8s.io/csi-translation-lib v0.35.0

replace k8s.io/dynamic-resource-allocation => k8s.io/dynamic-resource-allocation v0.35.0

replace k8s.io/endpointslice => k8s.io/endpointslice v0.35.0

replace k8s.io/externaljwt => k8s.io/externaljwt v0.35.0

replace k8s.io/kms => k8s.io/kms v0.35.0

replace k8s.io/kube-aggregator => k8s.io/kube-aggregator v0.35.0

replace k8s.io/kube-controller-manager => k8s.io/kube-controller-manager v0.35.0

replace k8s.io/kube-proxy => k8s.io/kube-proxy v0.35.0

replace k8s.io/kube-scheduler => k8s.io/kube-scheduler v0.35.0

replace k8s.io/kubectl => k8s.io/kubectl v0.35.0

replace k8s.io/metrics => k8s.io/metrics v0.35.0

replace k8s.io/mount-utils => k8s.io/mount-utils v0.35.0

replace k8s.io/pod-security-admission => k8s.io/pod-security-admission v0.35.0

replace k8s.io/sample-apiserver => k8s.io/sample-apiserver v0.35.0

replace k8s.io/sample-cli-plugin => k8s.io/sample-cli-plugin v0.35.0

replace k8s.io/sample-controller => k8s.io/sample-controller v0.35.0

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/blang/semver/v4 v4.0.0 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/container-storage-interface/spec v1.12.0 // indirect
	github.com/davecgh/go-spew v1.1.2-0.20180830191138-d8f796af33cc // indirect
	github.com/fxamacker/cbor/v2 v2.9.0 // indirect
	github.com/go-logr/logr v1.4.3 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/go-logr/zapr v1.3.0 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/kubernetes-csi/csi-lib-utils v0.23.2 // indirect
	github.com/kubernetes-csi/node-driver-registrar v0.0.0-00010101000000-000000000000 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.3-0.20250322232337-35a7c28c31ee // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/pmezard/go-difflib v1.0.1-0.20181226105442-5d4384ee4fb2 // indirect
	github.com/prometheus/client_golang v1.23.2 // indirect
	github.com/prometheus/client_model v0.6.2 // indirect
	github.com/prometheus/common v0.67.5 // indirect
	github.com/prometheus/procfs v0.19.2 // indirect
	github.com/spf13/cobra v1.10.2 // indirect
	github.com/spf13/pflag v1.0.10 // indirect
	github.com/x448/float16 v0.8.4 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc v0.65.0 // indirect
	go.opentelemetry.io/otel v1.40.0 // indirect
	go.opentelemetry.io/otel/metric v1.40.0 // indirect
	go.opentelemetry.io/otel/trace v1.40.0 // indirect
	go.uber.org/automaxprocs v1.6.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.27.1 // indirect
	go.yaml.in/yaml/v2 v2.4.3 // indirect
	golang.org/x/net v0.49.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	golang.org/x/text v0.33.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260128011058-8636f8732409 // indirect
	google.golang.org/grpc v1.78.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
	gopkg.in/inf.v0 v0.9.1 // indirect
	k8s.io/apimachinery v0.35.0 // indirect
	k8s.io/component-base v0.35.0 // indirect
	k8s.io/klog/v2 v2.130.1 // indirect
	k8s.io/kube-openapi v0.0.0-20250910181357-589584f1c912 // indirect
	k8s.io/kubelet v0.35.0 // indirect
	k8s.io/utils v0.0.0-20251002143259-bc988d571ff4 // indirect
	sigs.k8s.io/json v0.0.0-20250730193827-2d320260d730 // indirect
	sigs.k8s.io/randfill v1.0.0 // indirect
	sigs.k8s.io/structured-merge-diff/v6 v6.3.2 // indirect
)
