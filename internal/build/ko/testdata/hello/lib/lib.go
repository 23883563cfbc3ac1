// Package lib is not a main package.
package lib

// X does nothing.
func X() {}
