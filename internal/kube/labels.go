package kube

// Labels and names skiff puts on what it deploys. Render writes them, deploy
// prunes and deletes by them, logs and port-forwards find pods by them.
const (
	// FieldManager is the server-side apply field manager of every object
	// skiff applies.
	FieldManager = "skiff"

	// ManagedByLabel marks every object skiff deploys, with value ManagedBy.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	// ManagedBy is the value of ManagedByLabel.
	ManagedBy = "skiff"

	// ProjectLabel names the project an object belongs to. Its value is
	// stable across runs of the same project, so render also puts it on pod
	// templates without rolling pods on every run; logs and port-forwards
	// select pods by it.
	ProjectLabel = "skiff.dev/project"

	// RunIDLabel carries the id of the run that last applied an object. It
	// goes on top-level objects only: a fresh value in a pod template would
	// restart every pod on every run.
	RunIDLabel = "skiff.dev/run-id"
)
