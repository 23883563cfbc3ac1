package render

import (
	"regexp"
	"strings"
	"sync"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"skiff.dev/skiff/internal/artifact"
)

// imageRef is an image reference taken apart as Skaffold does: without
// normalizing ("nginx" stays "nginx", not docker.io/library/nginx).
type imageRef struct {
	base   string // the reference without tag and digest
	domain string // the part before the first slash, when it has one
	tag    string
	digest string
}

// koPrefix marks ko import paths used as image names.
const koPrefix = "ko://"

// caseInsensitiveRef finds the name part of a reference written with
// capitals (ko import paths may have them) so it can be lower-cased. It is
// compiled on first use: compiling it at package init cost every skiff
// command, `skiff version` included, ~0.2 ms and 170 KB (issue 16).
var caseInsensitiveRef = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)` + reference.ReferenceRegexp.String())
})

// sanitizeImage drops a ko:// prefix and lower-cases the name part of an
// image (a tag may keep its capitals).
func sanitizeImage(image string) string {
	image = strings.TrimPrefix(image, koPrefix)
	if m := caseInsensitiveRef().FindStringSubmatch(image); len(m) > 1 {
		image = strings.Replace(image, m[1], strings.ToLower(m[1]), 1)
	}
	return image
}

// parseImage parses an image reference; ok is false when it is not one.
func parseImage(image string) (imageRef, bool) {
	image = sanitizeImage(image)
	r, err := reference.Parse(image)
	if err != nil {
		return imageRef{}, false
	}
	out := imageRef{base: image}
	if n, ok := r.(reference.Named); ok {
		out.base = n.Name()
		out.domain = reference.Domain(n)
	}
	if t, ok := r.(reference.Tagged); ok {
		out.tag = t.Tag()
	}
	if d, ok := r.(reference.Digested); ok {
		out.digest = d.Digest().String()
	}
	return out, true
}

// imageReplacer maps artifact image names to the references to deploy.
type imageReplacer map[string]string

func newImageReplacer(images []artifact.Image) imageReplacer {
	r := imageReplacer{}
	for _, im := range images {
		r[sanitizeImage(im.Name)] = im.Ref
	}
	return r
}

// replace returns the reference to use instead of image: the built
// artifact's when image names it by repository (any tag), unless image is
// pinned by digest.
func (r imageReplacer) replace(image string) (string, bool) {
	ref, ok := parseImage(image)
	if !ok || ref.digest != "" {
		return "", false
	}
	to, ok := r[ref.base]
	return to, ok
}

// replaceImages rewrites the image fields of obj (of kind gk) that the
// selector allows, as Skaffold's ReplaceImages does: in a transformable
// kind every field named image (or at an allowed path) holding a string.
func (r imageReplacer) replaceImages(obj map[string]any, gk schema.GroupKind, s *selector) {
	if len(r) == 0 || !(s.transformable(gk) || configConnector.MatchString(gk.Group)) {
		return
	}
	walkFields(obj, func(m map[string]any, path, key string) bool {
		str, ok := m[key].(string)
		if !ok {
			return true
		}
		if s.imageField(gk, path, key) {
			if to, ok := r.replace(str); ok {
				m[key] = to
			}
		}
		return false
	})
}
