package typed

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"sync"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// apiGroup is one API group as the API server's discovery describes it.
type apiGroup struct {
	name string
	// versions are the group's served versions, the preferred one first.
	versions []apiVersion
}

// apiVersion is one served version of a group and the resources it
// serves.
type apiVersion struct {
	version   string
	resources []apiResource
}

// apiResource is one resource of a group version (no subresources).
type apiResource struct {
	name, singular, kind string
	namespaced           bool
}

// Discovery's media types: the aggregated document of API groups
// (Kubernetes 1.30 and later), with the legacy documents as the fallback
// that older servers answer instead.
const (
	acceptAggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
	acceptLegacy     = "application/json"
)

// discover fetches the API groups the server serves, the core group
// first: from the aggregated discovery of /api and /apis where the server
// answers it, else from /api, /apis and one request per group version,
// made concurrently. A group version whose resources cannot be fetched (an
// aggregated API whose server is down) is left out, as aggregated
// discovery leaves out such stale versions.
func discover(ctx context.Context, rc rest.Interface) ([]apiGroup, error) {
	var (
		wg            sync.WaitGroup
		core, named   []byte
		coreAgg, nAgg bool
		coreErr, nErr error
	)
	wg.Go(func() { core, coreAgg, coreErr = get(ctx, rc, "/api", acceptAggregated) })
	wg.Go(func() { named, nAgg, nErr = get(ctx, rc, "/apis", acceptAggregated) })
	wg.Wait()
	if coreErr != nil {
		return nil, coreErr
	}
	if nErr != nil {
		return nil, nErr
	}
	if coreAgg && nAgg {
		return aggregatedGroups(core, named)
	}
	return legacyGroups(ctx, rc, core, named)
}

// get fetches path with the Accept header given, and says whether the
// server answered the aggregated discovery document.
func get(ctx context.Context, rc rest.Interface, path, accept string) (body []byte, aggregated bool, err error) {
	var contentType string
	body, err = rc.Get().AbsPath(path).SetHeader("Accept", accept).Do(ctx).ContentType(&contentType).Raw()
	if err != nil {
		return nil, false, fmt.Errorf("fetching the API server's discovery (%s): %w", path, err)
	}
	media, params, err := mime.ParseMediaType(contentType)
	aggregated = err == nil && media == "application/json" &&
		params["g"] == apidiscoveryv2.SchemeGroupVersion.Group &&
		params["v"] == apidiscoveryv2.SchemeGroupVersion.Version &&
		params["as"] == "APIGroupDiscoveryList"
	return body, aggregated, nil
}

// aggregatedGroups decodes the aggregated discovery documents of /api and
// /apis.
func aggregatedGroups(core, named []byte) ([]apiGroup, error) {
	var groups []apiGroup
	for _, doc := range []struct {
		path string
		body []byte
	}{{"/api", core}, {"/apis", named}} {
		var list apidiscoveryv2.APIGroupDiscoveryList
		if err := json.Unmarshal(doc.body, &list); err != nil {
			return nil, fmt.Errorf("decoding the API server's discovery (%s): %w", doc.path, err)
		}
		for _, g := range list.Items {
			group := apiGroup{name: g.Name}
			for _, v := range g.Versions {
				if v.Freshness == apidiscoveryv2.DiscoveryFreshnessStale {
					continue
				}
				version := apiVersion{version: v.Version}
				for _, r := range v.Resources {
					if r.ResponseKind == nil || r.ResponseKind.Kind == "" {
						continue
					}
					version.resources = append(version.resources, apiResource{
						name:       r.Resource,
						singular:   r.SingularResource,
						kind:       r.ResponseKind.Kind,
						namespaced: r.Scope == apidiscoveryv2.ScopeNamespace,
					})
				}
				group.versions = append(group.versions, version)
			}
			groups = append(groups, group)
		}
	}
	return groups, nil
}

// legacyGroups decodes the legacy discovery documents of /api (the core
// group's versions) and /apis (the named groups), and fetches the
// resources of every group version they list.
func legacyGroups(ctx context.Context, rc rest.Interface, core, named []byte) ([]apiGroup, error) {
	// Where only one path answered the aggregated document, getLegacy
	// asks it again for the legacy one.
	var coreVersions metav1.APIVersions
	if err := getLegacy(ctx, rc, "/api", core, "APIVersions", &coreVersions); err != nil {
		return nil, err
	}
	var groupList metav1.APIGroupList
	if err := getLegacy(ctx, rc, "/apis", named, "APIGroupList", &groupList); err != nil {
		return nil, err
	}

	groups := make([]apiGroup, 0, 1+len(groupList.Groups))
	if len(coreVersions.Versions) > 0 {
		groups = append(groups, legacyGroup("", coreVersions.Versions[0], coreVersions.Versions))
	}
	for _, g := range groupList.Groups {
		versions := make([]string, len(g.Versions))
		for i, v := range g.Versions {
			versions[i] = v.Version
		}
		groups = append(groups, legacyGroup(g.Name, g.PreferredVersion.Version, versions))
	}

	var wg sync.WaitGroup
	failed := make([][]bool, len(groups))
	for g := range groups {
		failed[g] = make([]bool, len(groups[g].versions))
		for v := range groups[g].versions {
			wg.Go(func() {
				resources, err := legacyResources(ctx, rc, groups[g].name, groups[g].versions[v].version)
				groups[g].versions[v].resources = resources
				failed[g][v] = err != nil
			})
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fetching the API server's discovery: %w", err)
	}
	for g := range groups {
		kept := groups[g].versions[:0]
		for v, version := range groups[g].versions {
			if !failed[g][v] {
				kept = append(kept, version)
			}
		}
		groups[g].versions = kept
	}
	return groups, nil
}

// legacyGroup is the group name with versions, preferred first.
func legacyGroup(name, preferred string, versions []string) apiGroup {
	group := apiGroup{name: name}
	if preferred != "" {
		group.versions = append(group.versions, apiVersion{version: preferred})
	}
	for _, v := range versions {
		if v != preferred {
			group.versions = append(group.versions, apiVersion{version: v})
		}
	}
	return group
}

// legacyResources fetches the resources of a group version from its
// legacy discovery document, without subresources (such as pods/log).
func legacyResources(ctx context.Context, rc rest.Interface, group, version string) ([]apiResource, error) {
	path := "/apis/" + group + "/" + version
	if group == "" {
		path = "/api/" + version
	}
	var list metav1.APIResourceList
	if err := getLegacy(ctx, rc, path, nil, "APIResourceList", &list); err != nil {
		return nil, err
	}
	var resources []apiResource
	for _, r := range list.APIResources {
		if strings.Contains(r.Name, "/") || r.Kind == "" {
			continue
		}
		resources = append(resources, apiResource{name: r.Name, singular: r.SingularName, kind: r.Kind, namespaced: r.Namespaced})
	}
	return resources, nil
}

// getLegacy decodes the legacy discovery document of kind at path into
// out: body if it is that document, else what the server answers to a
// request for it.
func getLegacy(ctx context.Context, rc rest.Interface, path string, body []byte, kind string, out any) error {
	var meta metav1.TypeMeta
	if body == nil || json.Unmarshal(body, &meta) != nil || meta.Kind != kind {
		var err error
		if body, _, err = get(ctx, rc, path, acceptLegacy); err != nil {
			return err
		}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decoding the API server's discovery (%s): %w", path, err)
	}
	return nil
}
