package typed

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// discoveryServer is an API server's discovery: groups, each version's
// preferred first, answered as aggregated discovery or, when legacy, as
// the documents older servers serve.
type discoveryServer struct {
	legacy bool

	mu       sync.Mutex
	groups   []testGroup
	requests map[string]int
	// unavailable answers 503 for these group versions' documents.
	unavailable map[string]bool
}

// testGroup is one group with its versions, the preferred one first.
type testGroup struct {
	name     string
	versions []metav1.APIResourceList
}

// builtin is a small cluster's discovery: core v1, apps v1, and
// example.com serving v1 (preferred) and v1beta1.
func builtin() []testGroup {
	return []testGroup{
		{"", []metav1.APIResourceList{{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "namespaces", SingularName: "namespace", Kind: "Namespace"},
			{Name: "pods", SingularName: "pod", Kind: "Pod", Namespaced: true},
			{Name: "pods/log", Kind: "Pod", Namespaced: true},
			{Name: "events", SingularName: "event", Kind: "Event", Namespaced: true},
		}}}},
		{"apps", []metav1.APIResourceList{{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments", SingularName: "deployment", Kind: "Deployment", Namespaced: true},
			{Name: "deployments/scale", Kind: "Scale", Group: "autoscaling", Version: "v1", Namespaced: true},
		}}}},
		{"events.k8s.io", []metav1.APIResourceList{{GroupVersion: "events.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "events", SingularName: "event", Kind: "Event", Namespaced: true},
		}}}},
		{"example.com", []metav1.APIResourceList{
			{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{{Name: "gadgets", Kind: "Gadget"}}},
			{GroupVersion: "example.com/v1beta1", APIResources: []metav1.APIResource{
				{Name: "gadgets", Kind: "Gadget"},
				{Name: "oldgadgets", Kind: "OldGadget", Namespaced: true},
			}},
		}},
	}
}

// newDiscoveryServer serves groups and returns a RESTMapper of it.
func newDiscoveryServer(t *testing.T, legacy bool, groups []testGroup) (*discoveryServer, *RESTMapper) {
	t.Helper()
	s := &discoveryServer{legacy: legacy, groups: groups, requests: map[string]int{}, unavailable: map[string]bool{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	m, err := NewRESTMapper(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return s, m
}

func (s *discoveryServer) addGroup(g testGroup) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = append(s.groups, g)
}

func (s *discoveryServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

func (s *discoveryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[r.URL.Path]++
	aggregated := !s.legacy && strings.Contains(r.Header.Get("Accept"), "as=APIGroupDiscoveryList")
	var doc any
	switch path := r.URL.Path; {
	case aggregated && (path == "/api" || path == "/apis"):
		w.Header().Set("Content-Type", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
		list := apidiscoveryv2.APIGroupDiscoveryList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupDiscoveryList", APIVersion: "apidiscovery.k8s.io/v2"}}
		for _, g := range s.groups {
			if (g.name == "") == (path == "/api") {
				list.Items = append(list.Items, s.aggregated(g))
			}
		}
		doc = list
	case path == "/api":
		doc = metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}}
	case path == "/apis":
		list := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
		for _, g := range s.groups[1:] {
			group := metav1.APIGroup{Name: g.name}
			// List the preferred version last, so that only
			// PreferredVersion says which it is.
			for i := len(g.versions) - 1; i >= 0; i-- {
				gv, _ := schema.ParseGroupVersion(g.versions[i].GroupVersion)
				group.Versions = append(group.Versions, metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version})
			}
			group.PreferredVersion = group.Versions[len(group.Versions)-1]
			list.Groups = append(list.Groups, group)
		}
		doc = list
	default:
		gv := strings.TrimPrefix(strings.TrimPrefix(path, "/apis/"), "/api/")
		if s.unavailable[gv] {
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
		for _, g := range s.groups {
			for _, v := range g.versions {
				if v.GroupVersion == gv {
					list := v
					list.Kind = "APIResourceList"
					doc = list
				}
			}
		}
		if doc == nil {
			http.NotFound(w, r)
			return
		}
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	json.NewEncoder(w).Encode(doc)
}

// aggregated is g as aggregated discovery describes it.
func (s *discoveryServer) aggregated(g testGroup) apidiscoveryv2.APIGroupDiscovery {
	out := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: g.name}}
	for _, v := range g.versions {
		gv, _ := schema.ParseGroupVersion(v.GroupVersion)
		version := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		if s.unavailable[v.GroupVersion] {
			version.Freshness = apidiscoveryv2.DiscoveryFreshnessStale
		}
		for _, r := range v.APIResources {
			if strings.Contains(r.Name, "/") {
				continue // aggregated discovery lists subresources under their resource
			}
			scope := apidiscoveryv2.ScopeCluster
			if r.Namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			version.Resources = append(version.Resources, apidiscoveryv2.APIResourceDiscovery{
				Resource: r.Name, SingularResource: r.SingularName, Scope: scope,
				ResponseKind: &metav1.GroupVersionKind{Group: gv.Group, Version: gv.Version, Kind: r.Kind},
			})
		}
		out.Versions = append(out.Versions, version)
	}
	return out
}

// modes runs test against an aggregated and a legacy server.
func modes(t *testing.T, test func(t *testing.T, legacy bool)) {
	for _, mode := range []struct {
		name   string
		legacy bool
	}{{"aggregated", false}, {"legacy", true}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			test(t, mode.legacy)
		})
	}
}

// TestRESTMapperMapsKinds checks resources and scopes, the preferred
// version when none is given, and the version asked for.
func TestRESTMapperMapsKinds(t *testing.T) {
	t.Parallel()
	modes(t, func(t *testing.T, legacy bool) {
		_, m := newDiscoveryServer(t, legacy, builtin())
		for _, tc := range []struct {
			gk       schema.GroupKind
			versions []string
			want     schema.GroupVersionResource
			scope    meta.RESTScopeName
		}{
			{schema.GroupKind{Kind: "Namespace"}, nil, schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, meta.RESTScopeNameRoot},
			{schema.GroupKind{Kind: "Pod"}, []string{"v1"}, schema.GroupVersionResource{Version: "v1", Resource: "pods"}, meta.RESTScopeNameNamespace},
			{schema.GroupKind{Group: "apps", Kind: "Deployment"}, []string{"v1"}, schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, meta.RESTScopeNameNamespace},
			{schema.GroupKind{Group: "events.k8s.io", Kind: "Event"}, nil, schema.GroupVersionResource{Group: "events.k8s.io", Version: "v1", Resource: "events"}, meta.RESTScopeNameNamespace},
			{schema.GroupKind{Group: "example.com", Kind: "Gadget"}, nil, schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "gadgets"}, meta.RESTScopeNameRoot},
			{schema.GroupKind{Group: "example.com", Kind: "Gadget"}, []string{"v1beta1"}, schema.GroupVersionResource{Group: "example.com", Version: "v1beta1", Resource: "gadgets"}, meta.RESTScopeNameRoot},
			{schema.GroupKind{Group: "example.com", Kind: "OldGadget"}, nil, schema.GroupVersionResource{Group: "example.com", Version: "v1beta1", Resource: "oldgadgets"}, meta.RESTScopeNameNamespace},
		} {
			mapping, err := m.RESTMappingWithContext(t.Context(), tc.gk, tc.versions...)
			if err != nil {
				t.Errorf("RESTMapping(%v, %v): %v", tc.gk, tc.versions, err)
				continue
			}
			if mapping.Resource != tc.want || mapping.Scope.Name() != tc.scope {
				t.Errorf("RESTMapping(%v, %v) = %v (%s), want %v (%s)", tc.gk, tc.versions, mapping.Resource, mapping.Scope.Name(), tc.want, tc.scope)
			}
			if want := tc.want.GroupVersion().WithKind(tc.gk.Kind); mapping.GroupVersionKind != want {
				t.Errorf("RESTMapping(%v, %v) kind = %v, want %v", tc.gk, tc.versions, mapping.GroupVersionKind, want)
			}
		}

		mappings, err := m.RESTMappingsWithContext(t.Context(), schema.GroupKind{Group: "example.com", Kind: "Gadget"})
		if err != nil {
			t.Fatal(err)
		}
		var versions []string
		for _, mp := range mappings {
			versions = append(versions, mp.GroupVersionKind.Version)
		}
		if strings.Join(versions, ",") != "v1,v1beta1" {
			t.Errorf("RESTMappings(Gadget) versions = %v, want the preferred v1 first, then v1beta1", versions)
		}

		// Events are in two groups; the core group's come first.
		if gvr, err := m.ResourceForWithContext(t.Context(), schema.GroupVersionResource{Resource: "events"}); err != nil || gvr != (schema.GroupVersionResource{Version: "v1", Resource: "events"}) {
			t.Errorf("ResourceFor(events) = %v, %v; want v1 events", gvr, err)
		}
		if gvk, err := m.KindForWithContext(t.Context(), schema.GroupVersionResource{Group: "apps", Resource: "deployment"}); err != nil || gvk != (schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}) {
			t.Errorf("KindFor(deployment.apps) = %v, %v; want apps/v1 Deployment", gvk, err)
		}
	})
}

// TestRESTMapperNoMatch checks that unknown kinds and versions are
// NoMatch errors, which the deployer tells from failed requests.
func TestRESTMapperNoMatch(t *testing.T) {
	t.Parallel()
	modes(t, func(t *testing.T, legacy bool) {
		_, m := newDiscoveryServer(t, legacy, builtin())
		for _, tc := range []struct {
			gk       schema.GroupKind
			versions []string
		}{
			{schema.GroupKind{Group: "nope.example.com", Kind: "Widget"}, nil},
			{schema.GroupKind{Group: "nope.example.com", Kind: "Widget"}, []string{"v1"}},
			{schema.GroupKind{Group: "apps", Kind: "Widget"}, nil},
			{schema.GroupKind{Group: "apps", Kind: "Deployment"}, []string{"v1beta2"}},
		} {
			_, err := m.RESTMappingWithContext(t.Context(), tc.gk, tc.versions...)
			if !meta.IsNoMatchError(err) {
				t.Errorf("RESTMapping(%v, %v) = %v, want a NoMatch error", tc.gk, tc.versions, err)
			}
		}
	})
}

// TestRESTMapperReset checks that discovery is fetched once, and again
// after Reset, which finds a kind installed since.
func TestRESTMapperReset(t *testing.T) {
	t.Parallel()
	modes(t, func(t *testing.T, legacy bool) {
		s, m := newDiscoveryServer(t, legacy, builtin())
		widget := schema.GroupKind{Group: "widgets.example.com", Kind: "Widget"}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := m.RESTMappingWithContext(t.Context(), widget, "v1"); !meta.IsNoMatchError(err) {
					t.Errorf("RESTMapping(Widget) before the CRD = %v, want a NoMatch error", err)
				}
			})
		}
		wg.Wait()
		if n := s.count("/apis"); n != 1 {
			t.Errorf("/apis was fetched %d times by 8 concurrent first uses, want once", n)
		}

		s.addGroup(testGroup{"widgets.example.com", []metav1.APIResourceList{{GroupVersion: "widgets.example.com/v1", APIResources: []metav1.APIResource{
			{Name: "widgets", SingularName: "widget", Kind: "Widget", Namespaced: true},
		}}}})
		if _, err := m.RESTMappingWithContext(t.Context(), widget, "v1"); !meta.IsNoMatchError(err) {
			t.Errorf("RESTMapping(Widget) before Reset = %v, want a NoMatch error from the discovery fetched before", err)
		}
		m.ResetWithContext(t.Context())
		mapping, err := m.RESTMappingWithContext(t.Context(), widget, "v1")
		if err != nil {
			t.Fatalf("RESTMapping(Widget) after Reset: %v", err)
		}
		if want := (schema.GroupVersionResource{Group: widget.Group, Version: "v1", Resource: "widgets"}); mapping.Resource != want {
			t.Errorf("RESTMapping(Widget) = %v, want %v", mapping.Resource, want)
		}
		if n := s.count("/apis"); n != 2 {
			t.Errorf("/apis was fetched %d times, want twice (once more after Reset)", n)
		}
	})
}

// TestRESTMapperAggregatedOnly checks that a server that answers
// aggregated discovery is asked nothing else, and that a legacy server's
// every group version is.
func TestRESTMapperAggregatedOnly(t *testing.T) {
	t.Parallel()
	modes(t, func(t *testing.T, legacy bool) {
		s, m := newDiscoveryServer(t, legacy, builtin())
		if _, err := m.RESTMappingWithContext(t.Context(), schema.GroupKind{Kind: "Pod"}); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/api/v1", "/apis/apps/v1", "/apis/example.com/v1", "/apis/example.com/v1beta1"} {
			want := 0
			if legacy {
				want = 1
			}
			if n := s.count(path); n != want {
				t.Errorf("%s was fetched %d times, want %d", path, n, want)
			}
		}
	})
}

// TestRESTMapperUnavailableVersion checks that a group version whose
// server is down (stale in aggregated discovery, 503 in legacy) is left
// out and the others still map.
func TestRESTMapperUnavailableVersion(t *testing.T) {
	t.Parallel()
	modes(t, func(t *testing.T, legacy bool) {
		s, m := newDiscoveryServer(t, legacy, builtin())
		s.unavailable["example.com/v1"] = true
		mapping, err := m.RESTMappingWithContext(t.Context(), schema.GroupKind{Group: "example.com", Kind: "Gadget"})
		if err != nil {
			t.Fatal(err)
		}
		if mapping.Resource.Version != "v1beta1" {
			t.Errorf("RESTMapping(Gadget) = %v, want the v1beta1 still served", mapping.Resource)
		}
		if _, err := m.RESTMappingWithContext(t.Context(), schema.GroupKind{Group: "example.com", Kind: "Gadget"}, "v1"); !meta.IsNoMatchError(err) {
			t.Errorf("RESTMapping(Gadget, v1) = %v, want a NoMatch error", err)
		}
	})
}

// TestRESTMapperRequestError checks that a failed discovery is an error
// that is not a NoMatch error, and that the next use tries again.
func TestRESTMapperRequestError(t *testing.T) {
	t.Parallel()
	fail := true
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"kind": "APIVersions", "versions": []string{"v1"}})
	}))
	t.Cleanup(srv.Close)
	m, err := NewRESTMapper(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.RESTMappingWithContext(t.Context(), schema.GroupKind{Kind: "Pod"})
	if err == nil || meta.IsNoMatchError(err) || !strings.Contains(err.Error(), "discovery") {
		t.Errorf("RESTMapping with discovery forbidden = %v, want a discovery request error", err)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	if _, err := m.RESTMappingWithContext(t.Context(), schema.GroupKind{Kind: "Pod"}); !meta.IsNoMatchError(err) {
		t.Errorf("RESTMapping after discovery recovered = %v, want a NoMatch error (the server serves no resources)", err)
	}
}
