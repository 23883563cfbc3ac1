// Package deps finds the source files each artifact depends on: the files a
// Docker build reads from its context, the files a custom or buildpacks
// builder declares, the files a dependency command prints, and the Go files a
// ko-style build compiles.
//
// The results feed `skiff diagnose`, the build cache key (the content of each
// file), the dev loop's watcher (which changed file belongs to which
// artifact) and sync's infer mode, which reads the COPY and ADD instructions
// of the parsed Dockerfile model ([ParseDockerfile]) and maps a changed file
// to its places in the image ([ParsedDockerfile.Destinations]).
//
// Dockerfiles are read with BuildKit's own parser and evaluated the way
// BuildKit's Dockerfile frontend evaluates them: only the stages the target
// needs count, and the .dockerignore is applied as BuildKit applies it.
//
// Every function returns paths relative to the workspace, slash-separated,
// sorted and without duplicates, and is safe for concurrent use. Nothing here
// logs or reads global state other than the file system, except that a build
// argument without a value takes its value from the environment, as
// `docker build --build-arg NAME` does (see [WithLookupEnv]).
package deps
