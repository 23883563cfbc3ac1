package helm

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/downloader"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/registry"
)

// BuildDependencies fetches the dependencies of the chart in dir from
// their chart repositories (URLs, oci:// registries) into its charts/
// directory and writes Chart.lock when there is none, as `helm dependency
// build` does. Repositories added with `helm repo add` (@name, alias:name)
// are not known to skiff. Registries on loopback are reached over plain
// HTTP.
func BuildDependencies(dir string) error {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return err
	}
	plain := true
	for _, dep := range ch.Metadata.Dependencies {
		if registry.IsOCI(dep.Repository) {
			host := strings.SplitN(strings.TrimPrefix(dep.Repository, "oci://"), "/", 2)[0]
			plain = plain && loopback(host)
		}
	}
	ropts := []registry.ClientOption{registry.ClientOptWriter(io.Discard)}
	if plain {
		ropts = append(ropts, registry.ClientOptPlainHTTP())
	}
	rc, err := registry.NewClient(ropts...)
	if err != nil {
		return err
	}
	cache, err := os.MkdirTemp("", "skiff-chart-deps-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(cache)
	// An empty repository list: skiff does not read helm's.
	repos := filepath.Join(cache, "repositories.yaml")
	if err := os.WriteFile(repos, []byte("apiVersion: v1\nrepositories: []\n"), 0o600); err != nil {
		return err
	}
	m := downloader.Manager{
		Out:              io.Discard,
		ChartPath:        dir,
		Verify:           downloader.VerifyNever,
		Getters:          getter.Getters(getter.WithRegistryClient(rc)),
		RegistryClient:   rc,
		RepositoryConfig: repos,
		RepositoryCache:  cache,
	}
	if err := m.Build(); err != nil {
		return fmt.Errorf("helm dependency build: %w", err)
	}
	return nil
}
