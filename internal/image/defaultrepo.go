package image

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

// maxNameLength is where a rewritten name is cut, as Skaffold does.
const maxNameLength = 255

var (
	// escapeChars are replaced by '_' when a registry takes one path level.
	escapeChars = regexp.MustCompile(`[/._:@]`)
	// gcpPrefix matches a GCR or Artifact Registry repository prefix:
	// domain/project-id, with a GCP project ID's shape.
	gcpPrefix = regexp.MustCompile(`^` + reference.DomainRegexp.String() + `/[a-z][a-z0-9-]{4,28}[a-z0-9]/?`)
)

// DefaultRepo rewrites image names onto a default repository
// (--default-repo, SKAFFOLD_DEFAULT_REPO, the global config's
// default-repo) with Skaffold's rules; see Apply.
type DefaultRepo struct {
	// Repo is the repository images move under, e.g. gcr.io/my-project or
	// localhost:5000; empty leaves names unchanged.
	Repo string
}

// Apply rewrites image as Skaffold does:
//   - no default repo: the name is unchanged;
//   - a "ko://" prefix is dropped and the name (not the tag) lower-cased;
//   - a name already under the default repo is unchanged;
//   - registries that take nested paths (GCR, Artifact Registry) get the whole name appended: gcr.io/p/a with
//     gcr.io/q gives gcr.io/q/gcr.io/p/a; when both are in the same GCP
//     project, the project prefix is replaced instead;
//   - other registries (Docker Hub, ECR, local registries) get one path
//     level: the name with '/', '.', '_', ':' and '@' escaped to '_'
//     (gcr.io/p/a with localhost:5000 gives localhost:5000/gcr_io_p_a);
//   - the result is cut to 255 characters, then the tag and digest of
//     the original are kept.
func (d DefaultRepo) Apply(image string) (string, error) {
	repo := strings.TrimSuffix(d.Repo, "/")
	if repo == "" {
		return image, nil
	}
	base, suffix, err := splitImage(image)
	if err != nil {
		return "", err
	}
	out := d.rewrite(repo, base)
	if len(out) > maxNameLength {
		out = strings.TrimRight(out[:maxNameLength], "._-/")
	}
	out += suffix
	if _, err := reference.Parse(out); err != nil {
		return "", fmt.Errorf("the default repo %q turns %q into %q, which is not a valid image name: %w; check --default-repo", d.Repo, image, out, err)
	}
	return out, nil
}

func (d DefaultRepo) rewrite(repo, base string) string {
	if base == repo || strings.HasPrefix(base, repo+"/") {
		return base
	}
	repoPrefix := gcpPrefix.FindString(repo)
	multiLevel := strings.Contains(repoPrefix, "gcr.io") || strings.Contains(repoPrefix, "-docker.pkg.dev")
	if !multiLevel {
		return repo + "/" + escapeChars.ReplaceAllString(base, "_")
	}
	if basePrefix := gcpPrefix.FindString(base); basePrefix == repoPrefix {
		return repo + "/" + base[len(basePrefix):]
	}
	return repo + "/" + base
}

// splitImage parses an image name as Skaffold does, without adding
// docker.io or :latest: it drops a ko:// prefix and lower-cases the name,
// and returns the name and the ":tag@digest" that followed it.
func splitImage(image string) (base, suffix string, err error) {
	s := strings.TrimPrefix(image, "ko://")
	nameEnd := len(s)
	if i := strings.IndexByte(s, '@'); i >= 0 {
		nameEnd = i
	}
	if i := strings.LastIndexByte(s[:nameEnd], ':'); i > strings.LastIndexByte(s[:nameEnd], '/') {
		nameEnd = i
	}
	s = strings.ToLower(s[:nameEnd]) + s[nameEnd:]
	ref, err := reference.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("%q is not a valid image name: %w", image, err)
	}
	named, ok := ref.(reference.Named)
	if !ok {
		return "", "", fmt.Errorf("%q is not a valid image name: it has no repository", image)
	}
	base = named.Name()
	return base, s[len(base):], nil
}
