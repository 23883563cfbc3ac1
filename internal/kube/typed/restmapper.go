package typed

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// RESTMapper maps kinds to the resources that serve them (and back) from
// the API server's discovery, which it fetches on first use and again
// after Reset. Without a version, a kind maps to its group's preferred
// version, as with client-go's discovery REST mapper; unknown kinds are
// meta.NoKindMatchError or meta.NoResourceMatchError. It is safe for
// concurrent use.
type RESTMapper struct {
	client rest.Interface

	mu     sync.Mutex
	mapper meta.RESTMapper // nil until discovery is fetched
}

var _ meta.ResettableRESTMapperWithContext = (*RESTMapper)(nil)

// NewRESTMapper returns a RESTMapper of the cluster that config connects
// to. It makes no request until it is used.
func NewRESTMapper(config *rest.Config) (*RESTMapper, error) {
	rc, err := rest.UnversionedRESTClientFor(clientConfig(config, nil, ""))
	if err != nil {
		return nil, err
	}
	return &RESTMapper{client: rc}, nil
}

// current is the mapper of the discovery fetched last, fetched now if
// there is none. Callers that arrive during a fetch wait for it.
func (m *RESTMapper) current(ctx context.Context) (meta.RESTMapper, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mapper == nil {
		groups, err := discover(ctx, m.client)
		if err != nil {
			return nil, err
		}
		m.mapper = mapperOf(groups)
	}
	return m.mapper, nil
}

// ResetWithContext forgets the discovery fetched, so that the next use
// fetches it again (and knows the kinds of CRDs created since).
func (m *RESTMapper) ResetWithContext(context.Context) {
	m.mu.Lock()
	m.mapper = nil
	m.mu.Unlock()
}

// RESTMappingWithContext maps gk to its resource in the first of versions
// the cluster serves it in, or in its group's preferred version.
func (m *RESTMapper) RESTMappingWithContext(ctx context.Context, gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	mapper, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	return mapper.RESTMapping(gk, versions...)
}

// RESTMappingsWithContext maps gk to its resource in every version the
// cluster serves it in, preferred first, or in the first of versions.
func (m *RESTMapper) RESTMappingsWithContext(ctx context.Context, gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	mapper, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	return mapper.RESTMappings(gk, versions...)
}

// KindForWithContext is the kind of the partial resource given.
func (m *RESTMapper) KindForWithContext(ctx context.Context, resource schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	mapper, err := m.current(ctx)
	if err != nil {
		return schema.GroupVersionKind{}, err
	}
	return mapper.KindFor(resource)
}

// KindsForWithContext are the kinds of the partial resource given,
// preferred first.
func (m *RESTMapper) KindsForWithContext(ctx context.Context, resource schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	mapper, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	return mapper.KindsFor(resource)
}

// ResourceForWithContext completes the partial resource given.
func (m *RESTMapper) ResourceForWithContext(ctx context.Context, input schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	mapper, err := m.current(ctx)
	if err != nil {
		return schema.GroupVersionResource{}, err
	}
	return mapper.ResourceFor(input)
}

// ResourcesForWithContext are the completions of the partial resource
// given, preferred first.
func (m *RESTMapper) ResourcesForWithContext(ctx context.Context, input schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	mapper, err := m.current(ctx)
	if err != nil {
		return nil, err
	}
	return mapper.ResourcesFor(input)
}

// ResourceSingularizerWithContext is the singular name of resource.
func (m *RESTMapper) ResourceSingularizerWithContext(ctx context.Context, resource string) (string, error) {
	mapper, err := m.current(ctx)
	if err != nil {
		return "", err
	}
	return mapper.ResourceSingularizer(resource)
}

// mapperOf maps the kinds and resources of groups, the core group's
// first and each group's preferred version before its others.
func mapperOf(groups []apiGroup) meta.RESTMapper {
	var order []schema.GroupVersion
	for _, g := range groups {
		for _, v := range g.versions {
			order = append(order, schema.GroupVersion{Group: g.name, Version: v.version})
		}
	}
	mapper := meta.NewDefaultRESTMapper(order)
	var kinds []schema.GroupVersionKind
	var resources []schema.GroupVersionResource
	for _, gv := range order {
		kinds = append(kinds, gv.WithKind(meta.AnyKind))
		resources = append(resources, gv.WithResource(meta.AnyResource))
	}
	for _, g := range groups {
		for _, v := range g.versions {
			gv := schema.GroupVersion{Group: g.name, Version: v.version}
			for _, r := range v.resources {
				scope := meta.RESTScopeRoot
				if r.namespaced {
					scope = meta.RESTScopeNamespace
				}
				singular := gv.WithResource(r.singular)
				if r.singular == "" { // older servers name none
					_, singular = meta.UnsafeGuessKindToResource(gv.WithKind(r.kind))
				}
				mapper.AddSpecific(gv.WithKind(r.kind), gv.WithResource(r.name), singular, scope)
			}
		}
	}
	// The default mapper alone finds a resource named in several groups
	// (events, in the core group and events.k8s.io) ambiguous; the
	// priorities pick the first in order.
	return meta.PriorityRESTMapper{Delegate: mapper, KindPriority: kinds, ResourcePriority: resources}
}
