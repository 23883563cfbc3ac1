//go:build extra

package main

func init() { extra = "with-extra" }
