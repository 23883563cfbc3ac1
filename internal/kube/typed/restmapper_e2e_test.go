//go:build e2e

package typed_test

import (
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"skiff.dev/skiff/internal/kube"
	"skiff.dev/skiff/internal/kube/typed"
)

// TestRESTMapperAgreesWithClientGo checks that on a real cluster every
// kind maps as client-go's discovery REST mapper maps it: the preferred
// version's resource and scope, and every version served.
func TestRESTMapperAgreesWithClientGo(t *testing.T) {
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal("KUBECONFIG is not set: run `hack/cluster.sh up && eval \"$(hack/cluster.sh env)\"` before go test -tags e2e")
	}
	kc, err := kube.Load("")
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(kc.REST)
	if err != nil {
		t.Fatal(err)
	}
	groupResources, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		t.Fatal(err)
	}
	want := restmapper.NewDiscoveryRESTMapper(groupResources)
	// Count the mapper's requests: the cluster answers aggregated
	// discovery, so /api and /apis should be all it asks.
	var mu sync.Mutex
	var paths []string
	cfg := rest.CopyConfig(kc.REST)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			paths = append(paths, r.URL.Path)
			mu.Unlock()
			return rt.RoundTrip(r)
		})
	})
	got, err := typed.NewRESTMapper(cfg)
	if err != nil {
		t.Fatal(err)
	}

	kinds := map[schema.GroupKind][]string{}
	for _, g := range groupResources {
		for version, resources := range g.VersionedResources {
			for _, r := range resources {
				if !strings.Contains(r.Name, "/") {
					gk := schema.GroupKind{Group: g.Group.Name, Kind: r.Kind}
					kinds[gk] = append(kinds[gk], version)
				}
			}
		}
	}
	if len(kinds) < 40 {
		t.Fatalf("client-go's discovery found only %d kinds", len(kinds))
	}
	summary := func(ms []*meta.RESTMapping) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.Resource.String()+" "+string(m.Scope.Name()))
		}
		return out
	}
	for gk, versions := range kinds {
		asks := [][]string{nil} // the preferred version, then each
		for _, v := range versions {
			asks = append(asks, []string{v})
		}
		for _, vs := range asks {
			w, werr := want.RESTMapping(gk, vs...)
			g, gerr := got.RESTMappingWithContext(t.Context(), gk, vs...)
			if werr != nil || gerr != nil {
				t.Errorf("RESTMapping(%v, %v): client-go %v, skiff %v", gk, vs, werr, gerr)
				continue
			}
			if !reflect.DeepEqual(summary([]*meta.RESTMapping{g}), summary([]*meta.RESTMapping{w})) || g.GroupVersionKind != w.GroupVersionKind {
				t.Errorf("RESTMapping(%v, %v) = %v, client-go's %v", gk, vs, summary([]*meta.RESTMapping{g}), summary([]*meta.RESTMapping{w}))
			}
		}
		w, werr := want.RESTMappings(gk)
		g, gerr := got.RESTMappingsWithContext(t.Context(), gk)
		if werr != nil || gerr != nil || !reflect.DeepEqual(summary(g), summary(w)) {
			t.Errorf("RESTMappings(%v) = %v, %v; client-go's %v, %v", gk, summary(g), gerr, summary(w), werr)
		}
	}
	slices.Sort(paths)
	if !slices.Equal(paths, []string{"/api", "/apis"}) {
		t.Errorf("the mapper requested %v, want /api and /apis once each (aggregated discovery)", paths)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
