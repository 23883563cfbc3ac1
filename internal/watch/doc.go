// Package watch reports changes to the files under a set of directories, in
// batches, for the dev loop.
//
// A [Watcher] watches its roots recursively: directories created later are
// watched as they appear, and the files already inside them when they
// appear are reported. `.git` is never watched; [Options.Ignore] drops
// anything else (see [Patterns] for .dockerignore patterns).
//
// Changes are collected until the tree has been quiet for
// [Options.Debounce] (a few milliseconds: an editor's save is one batch,
// and a sync waits no longer), or for [Options.BurstDebounce] once they
// touch more than [BurstPaths] paths (a git checkout is one batch, or a
// few), but for no longer than [Options.MaxWait] after the first change,
// and delivered as one [Batch] of absolute paths: files that
// exist (created or modified) and paths that are gone. Only the paths
// reported by the file system are examined when a batch is made; nothing is
// rescanned, except by the polling trigger, whose job that is.
//
// The package is silent: it logs nothing, and failures come back from
// [New], [Watcher.Add] and [Watcher.Run] as errors that say what to do.
package watch
