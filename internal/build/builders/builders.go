// Package builders lists the builders skiff has. A builder is a package
// that exports a build.Kind; adding one is a line here.
package builders

import (
	"skiff.dev/skiff/internal/build"
	"skiff.dev/skiff/internal/build/buildpacks"
	"skiff.dev/skiff/internal/build/custom"
	"skiff.dev/skiff/internal/build/dockerbuild"
	"skiff.dev/skiff/internal/build/ko"
)

// All are skiff's builders.
var All = build.Kinds{
	dockerbuild.Kind,
	ko.Kind,
	custom.Kind,
	buildpacks.Kind,
}
