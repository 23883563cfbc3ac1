// Package artifact holds the built image as every stage sees it: the build
// writes it, render substitutes it, the deployers run it and the dev loop
// syncs into it. It imports nothing, so every stage may import it.
package artifact

// Image is one built artifact: its image name from skaffold.yaml and the
// reference to deploy. Its JSON is Skaffold's, as `skiff build
// --file-output` writes it and `skiff deploy -a` reads it.
type Image struct {
	// Name is the artifact's image name as written in skaffold.yaml, such
	// as "hello" or "gcr.io/x/web".
	Name string `json:"imageName"`
	// Ref is the reference to deploy: repository:tag@sha256:digest when
	// pushed, repository:tag when loaded into the local daemon.
	Ref string `json:"tag"`
}
