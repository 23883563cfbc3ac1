// Package greet is a fixture package imported by the main package.
package greet

// Greet returns a greeting.
func Greet(s string) string { return "hello " + s + suffix }
