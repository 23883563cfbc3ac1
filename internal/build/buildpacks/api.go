package buildpacks

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// APIVersion is a Buildpacks API version, major.minor.
type APIVersion struct {
	Major, Minor int
}

// The Platform API versions skiff speaks: 0.12 made run.toml and targets
// the platform's inputs, which the phase arguments here assume; 0.15 is
// the current spec.
var (
	minPlatformAPI = APIVersion{0, 12}
	maxPlatformAPI = APIVersion{0, 15}
)

// execEnvAPI is the first Platform API with CNB_EXEC_ENV.
var execEnvAPI = APIVersion{0, 15}

// ParseAPIVersion reads "0.12" (a leading "v" is allowed).
func ParseAPIVersion(s string) (APIVersion, error) {
	major, minor, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(s), "v"), ".")
	if !ok {
		return APIVersion{}, fmt.Errorf("API version %q is not major.minor", s)
	}
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil || ma < 0 || mi < 0 {
		return APIVersion{}, fmt.Errorf("API version %q is not major.minor", s)
	}
	return APIVersion{ma, mi}, nil
}

func (v APIVersion) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// Compare orders versions: -1, 0 or +1.
func (v APIVersion) Compare(o APIVersion) int {
	if v.Major != o.Major {
		return cmpInt(v.Major, o.Major)
	}
	return cmpInt(v.Minor, o.Minor)
}

// AtLeast reports whether v is o or newer.
func (v APIVersion) AtLeast(o APIVersion) bool { return v.Compare(o) >= 0 }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortAPIs(vs []APIVersion) {
	slices.SortFunc(vs, APIVersion.Compare)
}

// NegotiatePlatformAPI picks the newest Platform API that both the
// builder's lifecycle and skiff support, or explains why there is none.
func NegotiatePlatformAPI(builder string, md *BuilderMetadata) (APIVersion, error) {
	var best *APIVersion
	for _, v := range md.PlatformAPIs {
		if v.AtLeast(minPlatformAPI) && maxPlatformAPI.AtLeast(v) && (best == nil || v.AtLeast(*best)) {
			best = &v
		}
	}
	if best != nil {
		return *best, nil
	}
	return APIVersion{}, &APIError{Builder: builder, Lifecycle: md.LifecycleVersion, Supported: md.PlatformAPIs}
}
