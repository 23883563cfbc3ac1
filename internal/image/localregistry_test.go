package image

import (
	"context"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"skiff.dev/skiff/internal/kube/kubetest"
)

func hostingConfigMap(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-public", Name: "local-registry-hosting"},
		Data:       data,
	}
}

func TestLocalRegistry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		objects  []runtime.Object
		getErr   error
		wantHost string
		wantOK   bool
		wantErr  bool
		wantFull LocalRegistryHosting
	}{
		{
			name: "kind",
			objects: []runtime.Object{hostingConfigMap(map[string]string{
				"localRegistryHosting.v1": "host: \"localhost:5001\"\nhostFromContainerRuntime: \"kind-registry:5000\"\nhelp: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n",
			})},
			wantHost: "localhost:5001", wantOK: true,
			wantFull: LocalRegistryHosting{Host: "localhost:5001", HostFromContainerRuntime: "kind-registry:5000", Help: "https://kind.sigs.k8s.io/docs/user/local-registry/"},
		},
		{
			name:     "host only",
			objects:  []runtime.Object{hostingConfigMap(map[string]string{"localRegistryHosting.v1": "host: 127.0.0.1:5000\n"})},
			wantHost: "127.0.0.1:5000", wantOK: true,
			wantFull: LocalRegistryHosting{Host: "127.0.0.1:5000"},
		},
		{name: "no ConfigMap"},
		{name: "ConfigMap in another namespace", objects: []runtime.Object{&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "local-registry-hosting"},
			Data:       map[string]string{"localRegistryHosting.v1": "host: localhost:5001\n"},
		}}},
		{name: "no v1 key", objects: []runtime.Object{hostingConfigMap(map[string]string{"localRegistryHosting.v2": "host: x\n"})}},
		{name: "empty host", objects: []runtime.Object{hostingConfigMap(map[string]string{"localRegistryHosting.v1": "help: https://example.com\n"})}},
		{name: "invalid YAML", objects: []runtime.Object{hostingConfigMap(map[string]string{"localRegistryHosting.v1": "host: [\n"})}, wantErr: true},
		{name: "forbidden", getErr: apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "local-registry-hosting", errors.New("no"))},
		{name: "API server error", getErr: apierrors.NewInternalError(errors.New("etcd is down")), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs := fake.NewClientset(tt.objects...)
			if tt.getErr != nil {
				cs.PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, tt.getErr
				})
			}
			host, ok, err := LocalRegistry(context.Background(), kubetest.API(cs))
			if (err != nil) != tt.wantErr {
				t.Fatalf("LocalRegistry error = %v, want error: %v", err, tt.wantErr)
			}
			if host != tt.wantHost || ok != tt.wantOK {
				t.Errorf("LocalRegistry = %q, %v; want %q, %v", host, ok, tt.wantHost, tt.wantOK)
			}
			full, ok, err := ReadLocalRegistryHosting(context.Background(), kubetest.API(cs))
			if (err != nil) != tt.wantErr || ok != tt.wantOK {
				t.Fatalf("ReadLocalRegistryHosting = %v, %v", ok, err)
			}
			if ok && *full != tt.wantFull {
				t.Errorf("ReadLocalRegistryHosting = %+v, want %+v", *full, tt.wantFull)
			}
		})
	}
}
