// Package unused is imported by nothing.
package unused
