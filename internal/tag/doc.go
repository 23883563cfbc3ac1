// Package tag implements Skaffold's tag policies: it names the tag (the part
// after ':') under which `skiff build` publishes each artifact's image.
//
// [New] turns a build.tagPolicy into a [Tagger]:
//
//   - gitCommit: the git tag, commit or tree of the artifact's context, with
//     a -dirty suffix when that context has uncommitted changes;
//   - sha256: "latest" (the image is then deployed by digest);
//   - inputDigest: a sha256 of the artifact's dependency files and build
//     definition, so the tag changes exactly when the image's inputs do;
//   - dateTime: the time of the build, in a Go time layout;
//   - envTemplate: a template over the environment;
//   - customTemplate: a template over other taggers' results.
//
// Every tag a Tagger returns is a valid Docker tag; a template or format that
// produces anything else is an error that names the setting and the result.
// Nothing here logs: [Fallback] reports failures to a function the caller
// supplies.
package tag
