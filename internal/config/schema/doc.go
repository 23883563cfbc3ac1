// Package schema holds the Go types of the newest skaffold.yaml schema,
// skaffold/v4beta14: skiff's one configuration model. Every older
// apiVersion is upgraded (as YAML) into this shape before it is decoded.
//
// The types carry only data and their YAML keys. Struct tags tell the
// loader in package config what it needs to know about a field:
//
//   - oneof:"<group>" marks the members of a group of which at most one may
//     be set in the same struct (one builder per artifact, one tagger, ...).
//   - skiff:"template" marks a string, list or map field whose values are
//     Go templates (environment variables, Sprig functions, {{cmd}}).
//   - skiff:"path" marks a field holding paths relative to the directory of
//     the config file that declares it.
//
// Defaults, validation and loading live in package config.
package schema

// Version is the apiVersion these types describe.
const Version = "skaffold/v4beta14"
